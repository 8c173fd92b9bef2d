package classify

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// reasonCorpusFloor is the agreement of reasonFor with the reference
// parser's reasons on the shared corpus, measured with the crude extraction
// below (no classifier). It is a ratchet: raise it when the rules improve.
const reasonCorpusFloor = 0.82

// corpusCase is one line of the shared corpus's expected.jsonl.
type corpusCase struct {
	File      string `json:"file"`
	Msg       int    `json:"msg"`
	Recipient string `json:"recipient"`
	Action    string `json:"action"`
	Status    string `json:"status"`
	ReplyCode string `json:"replycode"`
	Reason    string `json:"reason"`
	DecodedBy string `json:"decodedby"`
}

// TestReasonCorpus measures reasonFor alone against the reference parser's
// reasons. The diagnostic text is extracted crudely (the classifier does
// that properly), so the figure is a floor for the rules, not the score of
// bounced.
func TestReasonCorpus(t *testing.T) {
	root := filepath.Join("..", "..", "shared", "corpus", "sisimai")
	data, err := os.ReadFile(filepath.Join(root, "expected.jsonl"))
	if err != nil {
		t.Skipf("shared corpus absent: %v", err)
	}
	var cases []corpusCase
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var c corpusCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("expected.jsonl: %v", err)
		}
		switch c.Reason {
		case "", "feedback", "vacation", "delivered":
			continue
		}
		cases = append(cases, c)
	}
	files := map[string][]byte{}
	total, agree := 0, 0
	perReason := map[string][2]int{}
	for _, c := range cases {
		raw, ok := files[c.File]
		if !ok {
			raw, err = os.ReadFile(filepath.Join(root, c.File))
			if err != nil {
				t.Errorf("reading %s: %v", c.File, err)
				continue
			}
			files[c.File] = raw
		}
		if IsMbox(raw) {
			msgs := SplitMbox(raw)
			if c.Msg < 1 || c.Msg > len(msgs) {
				continue
			}
			raw = msgs[c.Msg-1]
		}
		in := crudeReasonInput(raw, c)
		got, rule := reasonFor(in)
		total++
		pr := perReason[c.Reason]
		pr[1]++
		if string(got) == c.Reason {
			agree++
			pr[0]++
			if os.Getenv("REASON_HITS") != "" {
				t.Logf("hit %s#%d %s: got %q (%s); status=%q code=%q cmd=%q diag=%.200q",
					c.File, c.Msg, c.Recipient, got, rule, in.Status, in.ReplyCode, in.Command, in.Diagnostic)
			}
		} else {
			t.Logf("miss %s#%d %s: got %q (%s), want %q; status=%q code=%q cmd=%q diag=%.300q",
				c.File, c.Msg, c.Recipient, got, rule, c.Reason, in.Status, in.ReplyCode, in.Command, in.Diagnostic)
		}
		perReason[c.Reason] = pr
	}
	if total == 0 {
		t.Skip("no corpus cases")
	}
	for r, pr := range perReason {
		t.Logf("reason %-16s %3d/%3d", r, pr[0], pr[1])
	}
	rate := float64(agree) / float64(total)
	t.Logf("reason agreement: %d/%d = %.1f%% (floor %.1f%%)", agree, total, 100*rate, 100*reasonCorpusFloor)
	if rate < reasonCorpusFloor {
		t.Errorf("reason agreement %.1f%% fell below the recorded floor %.1f%%", 100*rate, 100*reasonCorpusFloor)
	}
}

var (
	crudeStatusRe  = regexp.MustCompile(`\b[245]\.\d{1,3}\.\d{1,3}\b`)
	crudeCodeRe    = regexp.MustCompile(`\b[245]\d\d\b`)
	crudeCommandRe = regexp.MustCompile(`(?i)(?:in reply to |after |>>> |following |\[)(RCPT|MAIL|DATA|HELO|EHLO|STARTTLS|AUTH|end of data)\b`)
)

// crudeReasonInput pulls a recipient's diagnostic text out of one mail the
// simple way: the Diagnostic-Code field of the delivery-status block naming
// the recipient, else the lines of prose around the recipient's address.
func crudeReasonInput(raw []byte, c corpusCase) reasonInput {
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	text := crudeText(raw)
	in := reasonInput{Action: c.Action, Decoder: strings.ToLower(c.DecodedBy)}
	rcpt := strings.ToLower(c.Recipient)
	if f, ok := crudeDSNFields(text, rcpt); ok {
		in.Diagnostic = f["diagnostic-code"]
		if i := strings.IndexByte(in.Diagnostic, ';'); i >= 0 && i < 12 && !strings.EqualFold(in.Diagnostic[:i], "x-unix") {
			in.Diagnostic = strings.TrimSpace(in.Diagnostic[i+1:])
		}
		in.Status = f["status"]
		if a := f["action"]; a != "" {
			in.Action = strings.ToLower(a)
		}
	}
	if in.Diagnostic == "" {
		in.Diagnostic = crudeProse(text, rcpt)
	}
	if in.Status == "" {
		in.Status = crudeStatusRe.FindString(in.Diagnostic)
	}
	if m := crudeCodeRe.FindString(in.Diagnostic); m != "" {
		in.ReplyCode = m
	}
	if m := crudeCommandRe.FindString(in.Diagnostic); m != "" {
		in.Command = crudeCommand(m)
	} else if m := crudeCommandRe.FindString(crudeProse(text, rcpt)); m != "" {
		in.Command = crudeCommand(m)
	}
	return in
}

// crudeText decodes the text parts of a mail (skipping returned originals)
// and gives up to the raw bytes when the MIME structure does not parse.
func crudeText(raw []byte) string {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return cutOriginal(string(raw))
	}
	var b strings.Builder
	body, _ := io.ReadAll(msg.Body)
	crudePart(&b, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), body, 0)
	if b.Len() == 0 {
		return cutOriginal(string(body))
	}
	return b.String()
}

func crudePart(b *strings.Builder, ctype, cte string, body []byte, depth int) {
	if depth > 5 {
		return
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt = "text/plain"
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				if b.Len() == 0 {
					b.WriteString(cutOriginal(string(body)))
				}
				return
			}
			pb, _ := io.ReadAll(p)
			crudePart(b, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), pb, depth+1)
		}
	case mt == "message/rfc822" || mt == "text/rfc822-headers" || mt == "message/rfc822-headers":
		return
	case strings.HasPrefix(mt, "text/") || strings.HasPrefix(mt, "message/"):
		var dec []byte
		switch strings.ToLower(strings.TrimSpace(cte)) {
		case "base64":
			dec, _ = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.Join(bytes.Fields(body), nil))))
		case "quoted-printable":
			dec, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		default:
			dec = body
		}
		b.WriteString(cutOriginal(string(dec)))
		b.WriteString("\n\n")
	}
}

// cutOriginal drops a returned original that non-MIME bounces append.
func cutOriginal(s string) string {
	low := strings.ToLower(s)
	for _, m := range []string{
		"below this line is a copy of the message",
		"original message follows",
		"------ this is a copy of the message",
		"----- original message -----",
		"content-type: message/rfc822",
		"\nreturn-path: <",
		"\nreceived: from",
	} {
		if i := strings.Index(low, m); i > 0 {
			s, low = s[:i], low[:i]
		}
	}
	return s
}

// crudeDSNFields finds the per-recipient block of a delivery-status part
// naming rcpt and returns its fields, lower-case keys, folded lines joined.
func crudeDSNFields(text, rcpt string) (map[string]string, bool) {
	for _, block := range strings.Split(text, "\n\n") {
		low := strings.ToLower(block)
		if !strings.Contains(low, "recipient:") || !strings.Contains(low, rcpt) {
			continue
		}
		f := map[string]string{}
		key := ""
		for _, line := range strings.Split(block, "\n") {
			if line == "" {
				continue
			}
			if (line[0] == ' ' || line[0] == '\t') && key != "" {
				f[key] += " " + strings.TrimSpace(line)
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				key = ""
				continue
			}
			key = strings.ToLower(strings.TrimSpace(k))
			f[key] = strings.TrimSpace(v)
		}
		return f, true
	}
	return nil, false
}

// crudeProse returns the lines from the first mention of rcpt on, up to a
// blank line after some text, at most eight lines.
func crudeProse(text, rcpt string) string {
	lines := strings.Split(text, "\n")
	start := -1
	for i, l := range lines {
		if strings.Contains(strings.ToLower(l), rcpt) {
			start = i
			break
		}
	}
	if start < 0 {
		if len(text) > 1500 {
			text = text[:1500]
		}
		return strings.Join(strings.Fields(text), " ")
	}
	var out []string
	for i := start; i < len(lines) && i < start+8; i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			if len(out) > 1 {
				break
			}
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, " ")
}

func crudeCommand(m string) string {
	m = strings.ToUpper(crudeCommandRe.FindStringSubmatch(m)[1])
	if m == "END OF DATA" {
		return "DATA"
	}
	return m
}
