package classify

import (
	"strings"
	"testing"
)

func TestFindAddrs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<alice@example.org>: host said", "alice@example.org"},
		{"550 5.1.1 <bob.smith+tag@mail.example.co.jp>... User unknown", "bob.smith+tag@mail.example.co.jp"},
		{`<"neko..nyaan"@example.org>: 550`, `"neko..nyaan"@example.org`},
		{"=?utf-8?B?8J+QiA==?=@example.org", "=?utf-8?B?8J+QiA==?=@example.org"},
		{"山田@例え.jp unknown", "山田@例え.jp"},
		{"no address here", ""},
		{"user@localhost", ""},
		{"a@b@c.example", "b@c.example"},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range findAddrs(tt.in) {
			got = append(got, a.Addr)
		}
		if g := strings.Join(got, ","); g != tt.want {
			t.Errorf("findAddrs(%q) = %q, want %q", tt.in, g, tt.want)
		}
	}
}

func TestCleanAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rfc822; alice@example.org", "alice@example.org"},
		{"RFC822;<bob@example.org>", "bob@example.org"},
		{`rfc822; "a..b"@example.org`, `"a..b"@example.org`},
		{"utf-8; 山田@例え.jp", "山田@例え.jp"},
		{"LOCAL; |/usr/bin/procmail", ""},
		{"x400; c=jp;a=;p=neko", ""},
	}
	for _, tt := range tests {
		if got := cleanAddr(tt.in); got != tt.want {
			t.Errorf("cleanAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCodes(t *testing.T) {
	tests := []struct{ in, status, reply string }{
		{"smtp; 550 5.1.1 <a@b.example>: User unknown", "5.1.1", "550"},
		{"Out: 250 2.1.5 Ok Out: 451 4.3.0 Error: queue file write error", "4.3.0", "451"},
		{"host 192.0.2.250 said: 552-5.2.2 quota", "5.2.2", "552"},
		{"ERROR_CODE :550, ERROR_CODE :5.1.1 unknown", "5.1.1", "550"},
		{"SIZE=1543 at 10.250.5.1", "", ""},
		{"status 5.1.10 RecipientNotFound", "5.1.10", ""},
	}
	for _, tt := range tests {
		if got := findFailStatus(tt.in); got != tt.status {
			t.Errorf("findFailStatus(%q) = %q, want %q", tt.in, got, tt.status)
		}
		if got := findFailReply(tt.in); got != tt.reply {
			t.Errorf("findFailReply(%q) = %q, want %q", tt.in, got, tt.reply)
		}
	}
}

func TestFindRemoteMTA(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<a@b.example>: host mx.b.example[192.0.2.25] said: 550 5.1.1", "mx.b.example"},
		{"SMTP error from remote mail server after RCPT TO: host MX.Corp.Example [203.0.113.40]: 550", "mx.corp.example"},
		{"... while talking to mx.example.jp.: >>> RCPT", "mx.example.jp"},
		{"remote host 192.0.2.1 said: 550", ""},
		{"Host or domain name not found", ""},
	}
	for _, tt := range tests {
		if got := findRemoteMTA(tt.in); got != tt.want {
			t.Errorf("findRemoteMTA(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
