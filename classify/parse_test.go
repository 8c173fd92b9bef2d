package classify

import (
	"fmt"
	"mime"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
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

// FuzzParse checks the MIME reader alone: no panic, limits kept, every
// part's body inside what was read.
func FuzzParse(f *testing.F) {
	for _, p := range fixtures(f) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parse(raw)
		if err != nil {
			return
		}
		if len(m.Parts) > maxParts {
			t.Fatalf("parse: %d parts, limit %d", len(m.Parts), maxParts)
		}
	})
}

// FuzzParseDSN checks the delivery-status reader: no panic, and every
// recipient block it keeps names somebody.
func FuzzParseDSN(f *testing.F) {
	for _, b := range fixtureParts(f, "message/delivery-status", "message/global-delivery-status") {
		f.Add(b)
	}
	f.Add([]byte("Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.1.1\n"))
	f.Add([]byte("Final-Recipient: rfc822; a@b.example\nFinal-Recipient: rfc822; c@d.example\n Diagnostic-Code: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range parseDSN(b).Recipients {
			if r.Final == "" && r.Original == "" && r.Actual == "" {
				t.Fatalf("parseDSN kept a block naming nobody: %+v", r)
			}
		}
	})
}

// FuzzParseARF checks the feedback report reader: no panic, a lower-case
// feedback type, and every recipient it keeps is one whole address.
func FuzzParseARF(f *testing.F) {
	for _, b := range fixtureParts(f, "message/feedback-report") {
		f.Add(b)
	}
	f.Add([]byte("Feedback-Type: abuse\nOriginal-Rcpt-To: <a@b.example>\nArrival-Date: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := parseARF(b)
		if r.FeedbackType != strings.ToLower(r.FeedbackType) {
			t.Fatalf("parseARF: feedback type %q is not lower case", r.FeedbackType)
		}
		for _, a := range r.Recipients {
			if a == "" || cleanAddr(a) != a {
				t.Fatalf("parseARF: recipient %q is not one whole address", a)
			}
		}
	})
}

// fixtureParts returns the bodies of every fixture's parts of the given
// types: the seeds of the fuzz tests of one part's reader.
func fixtureParts(t testing.TB, types ...string) [][]byte {
	var out [][]byte
	for _, p := range fixtures(t) {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := parse(raw)
		if err != nil {
			continue
		}
		for _, part := range m.Parts {
			for _, typ := range types {
				if part.Type == typ {
					out = append(out, part.Body)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixture has a part of type %v", types)
	}
	return out
}

func TestParseDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Mon, 2 Mar 2026 09:14:02 +0100", "2026-03-02T08:14:02Z"},
		{"Thu, 29 Apr 2010 23:34:45 +0900 (JST)", "2010-04-29T14:34:45Z"},
		{"24 Apr 2013 00:00:00 +0900", "2013-04-23T15:00:00Z"},
		{"Wed,  4 Mar 2026 11:20:29 +0000 (UTC)", "2026-03-04T11:20:29Z"},
		{"Sat, 14 Mar 2026 15:00 GMT", "2026-03-14T15:00:00Z"},
		{"Fri, 1 Oct 2010 19:15:24 -0700 (PDT)", "2010-10-02T02:15:24Z"},
		{"29-04-2017 23:34", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got := parseDate(tt.in)
		s := ""
		if !got.IsZero() {
			s = got.Format(time.RFC3339)
		}
		if s != tt.want {
			t.Errorf("parseDate(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
}

// TestNormalizeLineEnds compares normalize with the byte-by-byte rule it
// implements (lineEndCRs: a run of CRs ending in LF is one line end, a
// lone CR is one) on every string of up to 7 bytes over CR, LF and "a".
func TestNormalizeLineEnds(t *testing.T) {
	byteByByte := func(raw []byte) []byte {
		out := []byte{}
		for i := 0; i < len(raw); i++ {
			if raw[i] == '\r' {
				i += lineEndCRs(raw[i:]) - 1
				out = append(out, '\n')
				if i+1 < len(raw) && raw[i+1] == '\n' {
					i++
				}
				continue
			}
			out = append(out, raw[i])
		}
		return out
	}
	alphabet := []byte("\r\na")
	var gen func(prefix []byte)
	gen = func(prefix []byte) {
		in := append([]byte("X: y\n"), prefix...)
		got, _ := normalize(in)
		if want := byteByByte(in); string(got) != string(want) {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
		if len(prefix) == 7 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix[:len(prefix):len(prefix)], c))
		}
	}
	gen(nil)
}

func TestFastMediaType(t *testing.T) {
	for _, c := range []struct {
		v  string
		ok bool
	}{
		{"text/plain", true},
		{"TEXT/Plain; Charset=\"UTF-8\"", true},
		{"multipart/report; report-type=delivery-status;\tboundary=\"=_a b/c\";", true},
		{"text", true},
		{"text/plain; name*=utf-8''x", false},
		{"text/plain; a=1; A=2", false},
		{"text/plain; name=\"C:\\\\x\"", false},
		{"text/plain charset=x", false},
		{"text/plain; charset", false},
		{"text/", false},
		{"/plain", false},
		{"text/plain/x", false},
		{"", false},
		{"text/plain;;", false},
	} {
		got, params, ok := fastMediaType(c.v)
		if ok != c.ok {
			t.Errorf("fastMediaType(%q): ok %v, want %v", c.v, ok, c.ok)
			continue
		}
		if ok {
			checkMediaType(t, c.v, got, params)
		}
	}
	// Every Content-Type of the fixtures that the fast path takes.
	taken, all := 0, 0
	for _, text := range fixtureTexts(t) {
		m, err := parse([]byte(text))
		if err != nil {
			continue
		}
		for _, h := range append([]header{m.Header}, partHeaders(m)...) {
			v := h.get("Content-Type")
			if v == "" {
				continue
			}
			all++
			if got, params, ok := fastMediaType(v); ok {
				taken++
				checkMediaType(t, v, got, params)
			}
		}
	}
	if taken*10 < all*9 {
		t.Errorf("the fast path took %d of the fixtures' %d Content-Type values, want 90%%", taken, all)
	}
}

func partHeaders(m *message) []header {
	var hs []header
	for _, p := range m.Parts {
		hs = append(hs, p.Header)
	}
	return hs
}

// checkMediaType fails unless mime.ParseMediaType reads v as mediatype
// and params.
func checkMediaType(t *testing.T, v, mediatype string, params map[string]string) {
	t.Helper()
	want, wantParams, err := mime.ParseMediaType(v)
	if err != nil || want != mediatype || !reflect.DeepEqual(wantParams, params) {
		t.Errorf("fastMediaType(%q) = %q %v; ParseMediaType: %q %v %v", v, mediatype, params, want, wantParams, err)
	}
}

func FuzzFastMediaType(f *testing.F) {
	for _, v := range []string{"text/plain; charset=\"utf-8\"", "multipart/mixed;\n boundary=x;", "a/b; c*=d", "a/b; c=\"\\\"\""} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, params, ok := fastMediaType(v); ok {
			checkMediaType(t, v, got, params)
		}
	})
}
