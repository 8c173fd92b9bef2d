package classify

import "strings"

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// findStatus returns the first RFC 3463 enhanced status code (class 2, 4
// or 5, "x.y.z") in s, or "".
func findStatus(s string) string { return findStatusFrom(s, "245") }

// findFailStatus returns the first class 4 or 5 status code in s: in a
// session transcript the 2.x.x replies before the failure are no answer.
func findFailStatus(s string) string { return findStatusFrom(s, "45") }

func findStatusFrom(s, classes string) string {
	// Candidates are found by their first dot ("5." of "5.1.1"), with
	// IndexByte: a status code is rare in a long text.
	for from := 1; from < len(s); {
		d := strings.IndexByte(s[from:], '.')
		if d < 0 {
			return ""
		}
		i := from + d - 1 // the class digit
		from += d + 1
		if i+4 >= len(s) {
			return ""
		}
		c := s[i]
		if strings.IndexByte(classes, c) < 0 {
			continue
		}
		if i > 0 && (isDigit(s[i-1]) || s[i-1] == '.') {
			continue
		}
		j := i + 2
		k := j
		for k < len(s) && isDigit(s[k]) && k-j < 3 {
			k++
		}
		if k == j || k >= len(s) || s[k] != '.' {
			continue
		}
		l := k + 1
		m := l
		for m < len(s) && isDigit(s[m]) && m-l < 3 {
			m++
		}
		if m == l || m < len(s) && (isDigit(s[m]) || s[m] == '.' && m+1 < len(s) && isDigit(s[m+1])) {
			continue
		}
		return s[i:m]
	}
	return ""
}

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

// findCommand returns the SMTP command a diagnostic says failed.
func findCommand(s string) string {
	return findCommandLower(strings.ToLower(s))
}

// findCommandLower is findCommand for lower-case text.
func findCommandLower(s string) string {
	for _, c := range commandMarkers {
		if strings.Contains(s, c.marker) {
			return c.cmd
		}
	}
	return ""
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
func proseCommand(s string) string { return proseCommandLower(strings.ToLower(s)) }

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

// quotedReply returns the remote server's reply that a relay quotes inside
// its own label, as Amazon SES and some appliances do ("5.1.0 - Unknown
// address error 550-'5.7.1 <a@b.example>... Access denied' (delivery
// attempts: 0)" gives "550 5.7.1 <a@b.example>... Access denied"), or d
// itself when it has no such form. The label's own status is generic; the
// quoted reply says what happened.
func quotedReply(d string) string {
	if inner := bracketedReply(d); inner != "" {
		return inner
	}
	if statusCode(d) == "" {
		return d
	}
	rest := strings.TrimLeft(d[len(statusCode(d)):], " ")
	if !strings.HasPrefix(rest, "- ") {
		return d
	}
	q := strings.IndexByte(rest, '\'')
	if q < 5 {
		return d
	}
	code := rest[q-4 : q-1]
	if sep := rest[q-1]; (sep != '-' && sep != ' ') || rest[q-5] != ' ' || findFailReply(code) != code {
		return d
	}
	inner := rest[q+1:]
	if end := strings.LastIndexByte(inner, '\''); end >= 0 {
		inner = inner[:end]
	}
	return code + " " + strings.TrimSpace(inner)
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

// sameClass reports whether two codes share their class digit.
func sameClass(a, b string) bool { return a != "" && b != "" && a[0] == b[0] }

// defaultStatus is the status a reason implies when the bounce gives
// none (class from the reply code or the action).
func defaultStatus(r Reason, class byte) string {
	c := string(class)
	switch r {
	case ReasonUserUnknown:
		return c + ".1.1"
	case ReasonHostUnknown:
		return c + ".1.2"
	case ReasonHasMoved:
		return c + ".1.6"
	case ReasonMailboxFull:
		return c + ".2.2"
	case ReasonEmailTooLarge:
		return c + ".3.4"
	case ReasonExpired:
		return c + ".4.7"
	case ReasonSuspend:
		return c + ".2.1"
	case ReasonNetworkError:
		return c + ".4.0"
	case ReasonRejected:
		return c + ".1.8"
	case ReasonSystemFull:
		return c + ".3.1"
	case ReasonContentError:
		return c + ".6.0"
	case ReasonNoRelaying:
		return c + ".7.1"
	case ReasonSecurityError, ReasonBlocked, ReasonSpamDetected, ReasonPolicyViolation:
		return c + ".7.0"
	}
	return c + ".0.0"
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
				return strings.ToLower(name)
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
