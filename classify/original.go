package classify

import (
	"bytes"
	"net/textproto"
	"strings"
)

// originalFrom reads what a returned header says of the message that was
// sent.
func originalFrom(h header) Original {
	o := Original{
		MessageID: strings.Trim(strings.TrimSpace(h.get("Message-Id")), "<>"),
		From:      decodeWords(h.get("From")),
		To:        decodeWords(h.get("To")),
		Subject:   decodeWords(h.get("Subject")),
		Date:      h.get("Date"),
	}
	for _, f := range h {
		if len(f.Name) > 2 && (f.Name[0] == 'X' || f.Name[0] == 'x') && f.Name[1] == '-' {
			if o.Headers == nil {
				o.Headers = map[string]string{}
			}
			k := textproto.CanonicalMIMEHeaderKey(f.Name)
			if _, dup := o.Headers[k]; !dup {
				o.Headers[k] = decodeWords(f.value())
			}
		}
	}
	return o
}

// originalHeader finds the header of the returned message: a message/*
// or text/rfc822-headers part, else a header block quoted after the
// report text (quoted is what followed the cut marker).
func originalHeader(m *message, quoted string) header {
	for _, p := range m.Parts {
		switch p.Type {
		case "message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers",
			"message/global-headers", "message/partial", "text/rfc822":
			h := readQuotedHeader(bytes.TrimLeft(p.Body, "\n"))
			if len(h) > 0 && looksLikeMailHeader(h) {
				return h
			}
		}
	}
	if quoted == "" {
		return nil
	}
	// Find the first line that starts a header block.
	s := quoted
	for n := 0; len(s) > 0 && n < 200; n++ {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line = s[:i]
		}
		t := strings.TrimLeft(line, " \t>")
		if name, _, ok := strings.Cut(t, ":"); ok && isFieldName(name) && knownOriginalField(name) {
			// quoted headers may be indented or quoted with "> ": drop the
			// first line's prefix from every line
			h := readQuotedHeader([]byte(unindent(s, line[:len(line)-len(t)])))
			if looksLikeMailHeader(h) {
				return h
			}
		}
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		} else {
			break
		}
	}
	return nil
}

func knownOriginalField(name string) bool {
	switch lower(name) {
	case "return-path", "received", "from", "to", "subject", "date", "message-id", "mime-version", "x-mailer", "delivered-to", "reply-to", "content-type", "sender", "dkim-signature", "authentication-results":
		return true
	}
	return false
}

func looksLikeMailHeader(h header) bool {
	return h.has("From") || h.has("Message-Id") || h.has("Subject") || h.has("To") || h.has("Received")
}

// unindent removes prefix from the start of every line of s that has it.
func unindent(s, prefix string) string {
	if prefix == "" {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i+1], s[i+1:]
		} else {
			s = ""
		}
		b.WriteString(strings.TrimPrefix(line, prefix))
	}
	return b.String()
}
