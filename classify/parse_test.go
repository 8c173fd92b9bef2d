package classify

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseLimits(t *testing.T) {
	// nested deeper than maxDepth
	var b strings.Builder
	b.WriteString("From: x@example.org\nSubject: deep\n")
	for i := 0; i < maxDepth+10; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\n\nhello\n")
	m, err := parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !hasNote(m.Notes, "deeper than") {
		t.Errorf("parse(deep): notes = %q, want a depth note", m.Notes)
	}

	// more parts than maxParts
	b.Reset()
	b.WriteString("From: x@example.org\nContent-Type: multipart/mixed; boundary=p\n\n")
	for i := 0; i < maxParts*3; i++ {
		fmt.Fprintf(&b, "--p\nContent-Type: text/plain\n\npart %d\n", i)
	}
	b.WriteString("--p--\n")
	m, err = parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Parts) > maxParts {
		t.Errorf("parse(many parts): %d parts, want at most %d", len(m.Parts), maxParts)
	}
}

func TestParseLenient(t *testing.T) {
	tests := []struct {
		name, in string
		wantType string
		wantText string
	}{
		{"mbox from line and CRLF", "From MAILER-DAEMON Mon Jan 1 00:00:00 2026\r\nFrom: a@b.example\r\nSubject: x\r\n\r\nbody line\r\n", "text/plain", "body line\n"},
		{"CR only", "From: a@b.example\rSubject: x\r\rbody\r", "text/plain", "body\n"},
		{"param line without folding space", "From: a@b.example\nContent-Type: multipart/mixed;\nboundary=\"zz\"\n\n--zz\nContent-Type: text/plain\n\ninside\n--zz--\n", "text/plain", "inside"},
		{"no closing boundary", "From: a@b.example\nContent-Type: multipart/mixed; boundary=q\n\n--q\n\nfirst\n--q\nContent-Type: text/plain\n\nsecond part\n", "text/plain", "second part\n"},
		{"utf-7", "From: a@b.example\nContent-Type: text/plain; charset=unicode-1-1-utf-7\n\nHi +AOk-t+AOk- a+-b\n", "text/plain", "Hi été a+b\n"},
		{"unknown charset kept raw", "From: a@b.example\nContent-Type: text/plain; charset=x-no-such\n\nplain\n", "text/plain", "plain\n"},
		{"base64 with garbage", "From: a@b.example\nContent-Transfer-Encoding: base64\n\naGVsbG8g!!d29y\nbGQ=\n", "text/plain", "hello world"},
	}
	for _, tt := range tests {
		m, err := parse([]byte(tt.in))
		if err != nil {
			t.Fatalf("parse(%s): %v", tt.name, err)
		}
		last := m.Parts[len(m.Parts)-1]
		if last.Type != tt.wantType || string(last.Body) != tt.wantText {
			t.Errorf("parse(%s): last part %q %q, want %q %q", tt.name, last.Type, last.Body, tt.wantType, tt.wantText)
		}
	}
}

func hasNote(notes []string, sub string) bool {
	for _, n := range notes {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}
