package classify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAOLScreenNames(t *testing.T) {
	report := "Your mail to the following recipients could not be delivered because they\n" +
		"are not accepting mail from a@shop.example:\n\tJaneDoe1972\n\tkitty cat\n\n" +
		"   ----- The following addresses had permanent fatal errors -----\nbob77 (user not found)\n\nhelp\n"
	tests := []struct {
		from string
		want []string
	}{
		{"Mail Delivery Subsystem <MAILER-DAEMON@aol.com>", []string{"janedoe1972@aol.com", "bob77@aol.com"}},
		{"MAILER-DAEMON@air-xb03.mail.aol.com", []string{"janedoe1972@aol.com", "bob77@aol.com"}},
		{"MAILER-DAEMON@isp.example", nil},
		{"MAILER-DAEMON@notaol.com", nil},
	}
	for _, tt := range tests {
		got := aolScreenNames(tt.from, report)
		var addrs []string
		for _, r := range got {
			addrs = append(addrs, r.Addr)
		}
		if strings.Join(addrs, " ") != strings.Join(tt.want, " ") {
			t.Errorf("aolScreenNames(%q) = %v, want %v", tt.from, addrs, tt.want)
		}
	}
}

// FuzzAOLScreenNames: no panic, and every recipient is one whole address
// at aol.com.
func FuzzAOLScreenNames(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "bounces", "aol", "*.eml"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("heading:\n\tabc\n")
	f.Fuzz(func(t *testing.T, report string) {
		for _, r := range aolScreenNames("MAILER-DAEMON@aol.com", report) {
			if !strings.HasSuffix(r.Addr, "@aol.com") || cleanAddr(r.Addr) != r.Addr {
				t.Fatalf("aolScreenNames: recipient %q is not one address at aol.com", r.Addr)
			}
		}
	})
}

// FuzzQuotedReply: no panic, and the answer is d itself or starts with a
// 4xx or 5xx reply code.
func FuzzQuotedReply(f *testing.F) {
	f.Add("5.1.0 - Unknown address error 550-'5.2.2 <a@b.example>... Mailbox Full' (delivery attempts: 0)")
	f.Add("The reason for the problem: 5.1.0 - Unknown address error 550-'5.1.1 <a@b.example>: User unknown'")
	f.Add("554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>")
	f.Add("5.0.0 - '")
	f.Fuzz(func(t *testing.T, d string) {
		got := quotedReply(d)
		if got != d && findFailReply(got[:min(3, len(got))]) == "" {
			t.Fatalf("quotedReply(%q) = %q: neither d nor a reply", d, got)
		}
	})
}
