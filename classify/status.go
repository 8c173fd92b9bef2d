package classify

// RFC 3463 enhanced status codes: finding them, and the reasons they name.

import "strings"

// statusCode returns the leading x.y.z of s, or "".
func statusCode(s string) string {
	s = strings.TrimSpace(s)
	n, dots := 0, 0
	for n < len(s) {
		c := s[n]
		if c == '.' {
			dots++
			if dots > 2 {
				break
			}
		} else if c < '0' || c > '9' {
			break
		}
		n++
	}
	s = strings.TrimRight(s[:n], ".")
	if dots < 2 || len(s) < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.' {
		return ""
	}
	return s
}

// statusDetail returns the subject and detail of an x.y.z status: "1.1".
// The reference parser's private codes (x.0.9NN) carry no detail.
func statusDetail(status string) string {
	if status == "" {
		return ""
	}
	return status[2:]
}

// specificStatus maps the RFC 3463 subject.detail codes that name one
// reason (class 4 and 5 alike) to it. RFC 3463 §3, RFC 7372, RFC 7505.
var specificStatus = map[string]Reason{
	"1.1":  ReasonUserUnknown,   // bad destination mailbox address
	"1.2":  ReasonHostUnknown,   // bad destination system address
	"1.3":  ReasonUserUnknown,   // bad destination mailbox address syntax
	"1.6":  ReasonHasMoved,      // destination mailbox has moved
	"2.2":  ReasonMailboxFull,   // mailbox full
	"2.3":  ReasonEmailTooLarge, // message length exceeds administrative limit
	"3.1":  ReasonSystemFull,    // mail system full
	"3.4":  ReasonEmailTooLarge, // message too big for system
	"7.13": ReasonSuspend,       // RFC 3463 update: user account disabled
	"7.16": ReasonEmailTooLarge, // RFC 6710: too big for the priority
	"7.17": ReasonHasMoved,      // RFC 7293: mailbox owner has changed
	"7.18": ReasonHasMoved,      // RFC 7293: domain owner has changed
	"7.20": ReasonAuthFailure,   // RFC 7372: no passing DKIM signature
	"7.21": ReasonAuthFailure,   // no acceptable DKIM signature
	"7.22": ReasonAuthFailure,   // no author-matched DKIM signature
	"7.23": ReasonAuthFailure,   // SPF validation failed
	"7.24": ReasonAuthFailure,   // SPF validation error
	"7.25": ReasonRequirePTR,    // reverse DNS validation failed
	"7.26": ReasonAuthFailure,   // multiple authentication checks failed
	"7.27": ReasonNotAccept,     // RFC 7505: sender address has null MX
	"7.28": ReasonSpamDetected,  // mail flood of similar abusive messages
	"7.29": ReasonAuthFailure,   // ARC validation failure
	"7.30": ReasonFailedSTARTTLS,
}

// genericStatus maps a status whose detail is vague to the reason its
// class and subject suggest, or to nothing.
func genericStatus(status string) (Reason, bool) {
	if status == "" {
		return "", false
	}
	switch statusDetail(status) {
	case "1.0":
		return ReasonUserUnknown, true
	case "1.10":
		return ReasonNotAccept, true // RFC 7505: recipient address has null MX
	case "1.4":
		return ReasonFiltered, true
	case "1.7", "1.8":
		return ReasonRejected, true // the sender's address
	case "2.0", "2.1", "2.4":
		if status[0] == '4' && statusDetail(status) == "2.1" {
			return ReasonBlocked, true
		}
		return ReasonFiltered, true
	case "3.2":
		return ReasonNotAccept, true
	case "3.0", "3.3", "3.5", "4.3", "5.3", "5.4", "5.5", "1.9":
		return ReasonSystemError, true
	case "4.7":
		return ReasonExpired, true // delivery time expired
	case "4.1":
		if status[0] == '4' {
			return ReasonExpired, true // no answer from host, still trying
		}
		return "", false
	case "4.2", "4.4", "4.6", "4.8":
		if status[0] == '5' && statusDetail(status) == "4.4" {
			return ReasonHostUnknown, true
		}
		return ReasonNetworkError, true
	case "4.5":
		return ReasonSystemFull, true
	case "5.2", "5.6":
		return ReasonSyntaxError, true
	case "4.0":
		if status[0] == '5' {
			return ReasonNetworkError, true
		}
	}
	switch status[2] {
	case '6':
		return ReasonContentError, true
	case '7':
		if status[0] == '4' && (statusDetail(status) == "7.1" || statusDetail(status) == "7.2") {
			return ReasonBlocked, true
		}
		return ReasonSecurityError, true
	}
	return "", false
}

// textStatus returns the first RFC 3463 code of class 4 or 5 in text
// whose detail is not x.0.0, or "".
func textStatus(text string) string {
	for i := 0; i+5 <= len(text); i++ {
		c := text[i]
		if (c != '4' && c != '5') || text[i+1] != '.' || (i > 0 && (isDigit(text[i-1]) || text[i-1] == '.')) {
			continue
		}
		s := statusCode(text[i:])
		if s == "" {
			continue
		}
		end := i + len(s)
		if end < len(text) && (isDigit(text[end]) || (text[end] == '.' && end+1 < len(text) && isDigit(text[end+1]))) {
			continue
		}
		if statusDetail(s) != "0.0" {
			return s
		}
		i = end
	}
	return ""
}

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
