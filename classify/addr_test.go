package classify

import (
	"strings"
	"testing"
)

func TestFindAddrs(t *testing.T) {
	tests := []struct{ in, want string }{
		// the usual prose forms
		{"<alice@example.org>: host said", "alice@example.org"},
		{"550 5.1.1 <bob.smith+tag@mail.example.co.jp>... User unknown", "bob.smith+tag@mail.example.co.jp"},
		{"Mail to alice@example.org.", "alice@example.org"},
		{"Mail to alice@example.org...", "alice@example.org"},
		{"(alice@example.org)", "alice@example.org"},
		{`"alice@example.org"`, "alice@example.org"},
		{"'alice@example.org'", "alice@example.org"},
		{"'alice@example.org'.", "alice@example.org"},
		{"'alice@example.org.'", "alice@example.org"},
		{"`alice@example.org'", "alice@example.org"},
		{"{alice@example.org}", "alice@example.org"},
		{"|alice@example.org|", "alice@example.org"},
		{"[alice@example.org]", "alice@example.org"},
		{"mailto:alice@example.org", "alice@example.org"},
		// Exchange 5.5/2000 proxy address types
		{"SMTP=alice@example.org on 1/2/2003 10:15 AM", "alice@example.org"},
		{"'RFC-822=alice@example.org'", "alice@example.org"},
		{"smtp=@example.org", "smtp=@example.org"},
		{"Recipient: ...alice@example.org", "alice@example.org"},
		{"alice@example.org, bob@example.org; carol@example.org", "alice@example.org,bob@example.org,carol@example.org"},
		{`"Alice" <alice@example.org>`, "alice@example.org"},
		{"=?utf-8?B?8J+QiA==?=@example.org", "=?utf-8?B?8J+QiA==?=@example.org"},
		{"山田@例え.jp unknown", "山田@例え.jp"},
		{"no address here", ""},
		{"user@localhost", ""},
		{"a@b@c.example", "b@c.example"},
		{"user@.example.org", ""},
		{"user@-example.org", ""},
		{"user@example..org", ""},
		// RFC 5321 dot-string local parts are kept as written
		{"user-@example.org", "user-@example.org"},
		{"-leading@example.org", "-leading@example.org"},
		{"<-leading@example.org>", "-leading@example.org"},
		{"~user@example.org", "~user@example.org"},
		{"{ab}@example.org", "{ab}@example.org"},
		{"<{ab}@example.org>", "{ab}@example.org"},
		{"o'brien@example.ie", "o'brien@example.ie"},
		{"'tis@example.org", "'tis@example.org"},
		{"`tick`@example.org", "`tick`@example.org"},
		{"a/b=c@example.org", "a/b=c@example.org"},
		{"|pipe@example.org", "|pipe@example.org"},
		{"user.@docomo.example.jp", "user.@docomo.example.jp"},
		{"a..b@docomo.example.jp", "a..b@docomo.example.jp"},
		{"=cmd|'/Ccalc'!A0@example.org", "=cmd|'/Ccalc'!A0@example.org"},
		// RFC 5321 quoted-string local parts are kept whole
		{`<"neko..nyaan"@example.org>: 550`, `"neko..nyaan"@example.org`},
		{`"a,b\"c"@example.org`, `"a,b\"c"@example.org`},
		{`"john doe"@example.org`, `"john doe"@example.org`},
		{`<"john doe"@example.org>: 550 unknown`, `"john doe"@example.org`},
		{`said "hi" to "a b"@example.org`, `"a b"@example.org`},
		{`"back\\slash"@example.org`, `"back\\slash"@example.org`},
		{`"a<b>c"@example.org`, `"a<b>c"@example.org`},
		{`"escaped close\"@example.org`, ""},
		{`""@example.org`, ""},
		{"\"tab\there\"@example.org", ""},
		{`"` + strings.Repeat("x", 65) + `"@example.org`, ""},
		{`"` + strings.Repeat("x", 64) + `"@example.org`, `"` + strings.Repeat("x", 64) + `"@example.org`},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range findAddrs(tt.in) {
			got = append(got, a.Addr)
			if tt.in[a.Start:a.End] != a.Addr {
				t.Errorf("findAddrs(%q): %q at [%d:%d] is %q", tt.in, a.Addr, a.Start, a.End, tt.in[a.Start:a.End])
			}
		}
		if g := strings.Join(got, ","); g != tt.want {
			t.Errorf("findAddrs(%q) = %q, want %q", tt.in, g, tt.want)
		}
	}
}

// FuzzFindAddrs checks that an address found is where it says, and that
// it is found again, whole, on its own and in angle brackets: nothing of
// it was prose, and none of it was lost.
func FuzzFindAddrs(f *testing.F) {
	f.Add(`<"a,b\"c"@example.org>: 550 'x@y.example'`)
	f.Add("{ab}@example.org `c@d.example' ...e@f.example.")
	f.Add(`"john doe"@example.org, -x@y.example, ~u@v.example`)
	f.Fuzz(func(t *testing.T, s string) {
		prev := 0
		for _, a := range findAddrs(s) {
			if a.Start < prev || a.End <= a.Start || a.End > len(s) || s[a.Start:a.End] != a.Addr {
				t.Fatalf("findAddrs(%q): %q at [%d:%d] after %d", s, a.Addr, a.Start, a.End, prev)
			}
			prev = a.End
			for _, in := range []string{a.Addr, "<" + a.Addr + ">", "rfc822; " + a.Addr} {
				if got := cleanAddr(in); got != a.Addr {
					t.Fatalf("findAddrs(%q) = %q, but cleanAddr(%q) = %q", s, a.Addr, in, got)
				}
			}
		}
	})
}

func TestCleanAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rfc822; alice@example.org", "alice@example.org"},
		{"RFC822;<bob@example.org>", "bob@example.org"},
		{"rfc822; 'alice@example.org'", "alice@example.org"},
		{`rfc822; "alice@example.org"`, "alice@example.org"},
		{`rfc822; "a..b"@example.org`, `"a..b"@example.org`},
		{`rfc822; "john doe"@example.org`, `"john doe"@example.org`},
		{`rfc822; <"a,b\"c"@example.org>`, `"a,b\"c"@example.org`},
		{"rfc822; user-@example.org", "user-@example.org"},
		{"rfc822;<~user@example.org>", "~user@example.org"},
		{"rfc822; {ab}@example.org", "{ab}@example.org"},
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

// TestMessageKeepsLocalParts checks that a DSN's recipients come out of
// Message with their local parts as the DSN wrote them.
func TestMessageKeepsLocalParts(t *testing.T) {
	addrs := []string{"user-@example.org", "-leading@example.org", "~user@example.org", "{ab}@example.org",
		`"a,b\"c"@example.org`, `"john doe"@example.org`}
	var fields strings.Builder
	for _, a := range addrs {
		fields.WriteString("Final-Recipient: rfc822; " + a + "\nAction: failed\nStatus: 5.1.1\n" +
			"Diagnostic-Code: smtp; 550 5.1.1 <" + a + ">: User unknown\n\n")
	}
	raw := dsnMail("MAILER-DAEMON@mail.shop.example", "Undelivered Mail Returned to Sender",
		"This is the mail system at host mail.shop.example.\n", fields.String())
	v, err := Message(raw)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range v.Recipients {
		got = append(got, r.Address)
	}
	if g, w := strings.Join(got, " "), strings.Join(addrs, " "); g != w {
		t.Errorf("Message: recipients = %s, want %s", g, w)
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

func TestContactAddr(t *testing.T) {
	tests := []struct {
		before, prev string
		want         bool
	}{
		{"For assistance, contact the Help Desk at ", "", true},
		{"    be removed write to ", "", true},
		{"spamdesk@corp.example or ", "jane@corp.example, was not delivered. If this is an error, please contact", true},
		{"", "For further assistance, please send mail to", true},
		{"Your message to ", "", false},
		{"<", "                   The mail system", false},
		{"  Recipient: ", "  Sender:    news@shop.example", false},
	}
	for _, tt := range tests {
		if got := contactAddr(tt.before, tt.prev); got != tt.want {
			t.Errorf("contactAddr(%q, %q) = %v, want %v", tt.before, tt.prev, got, tt.want)
		}
	}
}
