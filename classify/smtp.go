package classify

// RFC 5321: reply codes, the command a reply answered, the remote MTA,
// and the replies that relays quote inside their own.

import "strings"

// findReplyCode returns the first SMTP reply code (RFC 5321 §4.2: three
// digits, first 2-5) in s that stands as a word, or "".
func findReplyCode(s string) string { return findReplyFrom(s, "2345") }

// findFailReply returns the first 4xx or 5xx reply code in s.
func findFailReply(s string) string { return findReplyFrom(s, "45") }

func findReplyFrom(s, classes string) string {
	lo := classes[0] // classes are consecutive digits: "45", "2345"
	hi := classes[len(classes)-1]
	for i := 0; i+2 < len(s); i++ {
		c := s[i]
		if c < lo || c > hi || !isDigit(s[i+1]) || !isDigit(s[i+2]) {
			continue
		}
		if s[i+1] > '5' {
			continue
		}
		if i > 0 && strings.IndexByte(" (<;:\"'[=#\t", s[i-1]) < 0 {
			continue
		}
		if i+3 < len(s) && strings.IndexByte(" -)\t],:;\"'\n", s[i+3]) < 0 {
			continue
		}
		// "5.1.1 550" is fine; "550 ms" or "421 bytes" are rare enough.
		return s[i : i+3]
	}
	return ""
}

// isReplyContinuation reports whether w is the "550-" or "550-5.7.1" that
// starts a continued line of a multi-line SMTP reply (RFC 5321 §4.2.1).
func isReplyContinuation(w string) bool {
	if len(w) < 4 || w[3] != '-' {
		return false
	}
	for i := 0; i < 3; i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	for i := 4; i < len(w); i++ {
		if (w[i] < '0' || w[i] > '9') && w[i] != '.' {
			return false
		}
	}
	return true
}

// findCommand returns the SMTP command a diagnostic says failed.
func findCommand(s string) string {
	return findCommandLower(lower(s))
}

// findCommandLower is findCommand for lower-case text.
func findCommandLower(s string) string {
	for _, c := range commandMarkers {
		if c.cmd == "MAIL" && c.marker == "mail from" {
			if mailFromCommand(s) {
				return c.cmd
			}
			continue
		}
		if strings.Contains(s, c.marker) {
			return c.cmd
		}
	}
	return ""
}

// proseVerbs are the words after which "mail from" is the object of a
// sentence ("they are not accepting mail from a@b.example"), not the
// command.
var proseVerbs = []string{"accepting ", "accept ", "receiving ", "receive ", "accepts ", "receives "}

// mailFromCommand reports whether lower-case s names the MAIL FROM
// command: "mail from" that no verb of proseVerbs governs.
func mailFromCommand(s string) bool {
	for from := 0; ; {
		i := strings.Index(s[from:], "mail from")
		if i < 0 {
			return false
		}
		before := s[max(0, from+i-12) : from+i]
		prose := false
		for _, v := range proseVerbs {
			prose = prose || strings.HasSuffix(before, v)
		}
		if !prose {
			return true
		}
		from += i + len("mail from")
	}
}

// commandMarkers are tried in order; markers are lower case.
var commandMarkers = []struct{ marker, cmd string }{
	{"rcpt to", "RCPT"},
	{">>> rcpt", "RCPT"},
	{"mail from", "MAIL"},
	{">>> mail", "MAIL"},
	{"end of data", "DATA"},
	{"after data", "DATA"},
	{">>> data", "DATA"},
	{"data command", "DATA"},
	{"ehlo", "EHLO"},
	{"helo", "HELO"},
	{"starttls", "STARTTLS"},
	{"initial connection", "CONN"},
	{"connect to", "CONN"},
}

// proseCommand returns the SMTP command that bounce prose says was
// answered, read only from the explicit forms ("in reply to RCPT TO
// command", "SMTP error from remote mail server after RCPT TO:", ">>> RCPT
// TO:"): prose is loose, and "mail from you" names no command.
func proseCommand(s string) string { return proseCommandLower(lower(s)) }

// proseCommandLower is proseCommand for lower-case text.
func proseCommandLower(s string) string {
	for _, lead := range []string{"in reply to ", "after ", ">>> "} {
		for from := 0; from < len(s); {
			i := strings.Index(s[from:], lead)
			if i < 0 {
				break
			}
			from += i + len(lead)
			for _, c := range proseCommands {
				if strings.HasPrefix(s[from:], c.marker) {
					return c.cmd
				}
			}
		}
	}
	// "User Unknown in RCPT TO", "Server rejected MAIL FROM address":
	// only the envelope commands, which no prose names
	if !strings.Contains(s, "rcpt to") && !strings.Contains(s, "mail from") {
		return "" // every form below holds one of the two
	}
	for _, f := range []struct{ form, cmd string }{
		{" in rcpt to", "RCPT"}, {"rejected rcpt to", "RCPT"}, {" in mail from", "MAIL"}, {"rejected mail from", "MAIL"},
	} {
		if strings.Contains(s, f.form) {
			return f.cmd
		}
	}
	return ""
}

var proseCommands = []struct{ marker, cmd string }{
	{"rcpt to", "RCPT"}, {"mail from", "MAIL"}, // the envelope commands first
	{"end of data", "DATA"}, {"data", "DATA"},
	{"ehlo", "EHLO"}, {"helo", "HELO"}, {"starttls", "STARTTLS"}, {"initial connection", "CONN"},
}

// textCommand finds the SMTP command a text says was answered, for the
// diagnostics whose command the decoder did not know: the earliest of
// "in reply to RCPT TO command", "after end of data", "[RCPT_TO]", "did not
// like recipient" (qmail) and their kin.
func textCommand(text string) string {
	if !strings.Contains(text, "rcpt") && !strings.Contains(text, "data") && !strings.Contains(text, "mail from") &&
		!strings.Contains(text, "does not like recipient") && !strings.Contains(text, "remote host said") {
		return "" // every hint holds one of these
	}
	best, at := "", len(text)
	for _, c := range commandHints {
		if i := strings.Index(text, c.hint); i >= 0 && i < at {
			best, at = c.cmd, i
		}
	}
	return best
}

var commandHints = []struct{ hint, cmd string }{
	{"rcpt to", "RCPT"}, {"rcpt_to", "RCPT"}, {"smtp:rcpt", "RCPT"}, {"after rcpt", "RCPT"},
	{"rcpt command", "RCPT"}, {"does not like recipient", "RCPT"},
	{"end of data", "DATA"}, {"after data", "DATA"}, {"data command", "DATA"}, {"(data)", "DATA"},
	{"sent the message. remote host said", "DATA"},
	{"in reply to mail from", "MAIL"}, {"after mail from", "MAIL"}, {"mail from command", "MAIL"},
}

// quotedReply returns the remote server's reply that a relay quotes inside
// its own label, as Amazon SES and some appliances do ("5.1.0 - Unknown
// address error 550-'5.7.1 <a@b.example>... Access denied' (delivery
// attempts: 0)" gives "550 5.7.1 <a@b.example>... Access denied"), or d
// itself when it has no such form. The label's own status is generic; the
// quoted reply says what happened.
//
// The label may stand inside a longer diagnostic ("The following message
// to <a@b.example> was undeliverable. The reason for the problem: 5.1.0 -
// Unknown address error 550-'5.1.1 ...'", Mimecast's notice): the first
// few status codes of d that start a word are tried.
func quotedReply(d string) string {
	if inner := bracketedReply(d); inner != "" {
		return inner
	}
	tries := 0
	for i := 0; i < len(d) && tries < 8; i++ {
		if (d[i] != '4' && d[i] != '5') || i > 0 && d[i-1] != ' ' || statusCode(d[i:]) == "" {
			continue
		}
		tries++
		if r, ok := labelledReply(d[i:]); ok {
			return r
		}
	}
	return d
}

// labelledReply reads the form of quotedReply at the start of d.
func labelledReply(d string) (string, bool) {
	rest := strings.TrimLeft(d[len(statusCode(d)):], " ")
	if !strings.HasPrefix(rest, "- ") {
		return "", false
	}
	q := strings.IndexByte(rest, '\'')
	if q < 5 {
		return "", false
	}
	code := rest[q-4 : q-1]
	if sep := rest[q-1]; (sep != '-' && sep != ' ') || rest[q-5] != ' ' || findFailReply(code) != code {
		return "", false
	}
	inner := rest[q+1:]
	if end := strings.LastIndexByte(inner, '\''); end >= 0 {
		inner = inner[:end]
	}
	return code + " " + strings.TrimSpace(inner), true
}

// bracketedReply returns the last remote reply that a giving-up notice
// appends in angle brackets ("554 4.4.7 Message expired: unable to deliver
// in 840 minutes.<421 4.4.2 Connection timed out>" gives "421 4.4.2
// Connection timed out"), or "". The bracket must open on a 4xx or 5xx
// reply code followed by a status code, so an address never matches.
func bracketedReply(d string) string {
	i := strings.LastIndexByte(d, '<')
	if i < 0 || i+10 > len(d) {
		return ""
	}
	inner := d[i+1:]
	if j := strings.IndexByte(inner, '>'); j >= 0 {
		inner = inner[:j]
	}
	if len(inner) < 9 || inner[3] != ' ' || findFailReply(inner[:3]) != inner[:3] || statusCode(inner[4:]) == "" {
		return ""
	}
	return strings.TrimSpace(inner)
}

// findRemoteMTA returns the remote host a diagnostic names ("host
// mx.example.org[192.0.2.1] said", "while talking to mx.example.org.:"),
// or "".
func findRemoteMTA(s string) string {
	for _, marker := range []string{"host ", "while talking to ", "remote host ", "remote-mta: dns; "} { // any case
		from := 0
		for from < len(s) {
			i := indexFold(s[from:], marker)
			if i < 0 {
				break
			}
			start := from + i + len(marker)
			from = start
			end := start
			for end < len(s) && (isDomainChar(s[end]) && s[end] < 0x80) {
				end++
			}
			name := strings.Trim(s[start:end], ".-")
			if strings.Count(name, ".") >= 1 && !isDottedNumber(name) && end > start {
				return lower(name)
			}
		}
	}
	return ""
}

// isDottedNumber reports whether s is an IPv4 address or a version.
func isDottedNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

// cleanHost reduces a Remote-MTA value to the host name or address
// ("mx.example.jp (TCP|...)" and "[192.0.2.1]" become "mx.example.jp"
// and "192.0.2.1").
func cleanHost(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		s = f[0]
	}
	return strings.TrimRight(strings.Trim(s, "[]<>()"), ".")
}
