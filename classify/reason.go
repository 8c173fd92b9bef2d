package classify

import "strings"

// reasonInput is what the classifier knows about one failed or delayed
// recipient when it asks for a reason.
type reasonInput struct {
	Diagnostic string // unfolded diagnostic text (SMTP reply, MTA prose), any case
	Status     string // RFC 3463 x.y.z or ""
	ReplyCode  string // SMTP three digits or ""
	Command    string // failed SMTP command (RCPT, DATA, MAIL, CONN, HELO...) or ""
	Action     string // failed | delayed | ...
	Decoder    string // family that decoded the bounce: rfc3464, postfix, exim, qmail, gmail, ...
}

// reasonPhrase is one lower-cased substring that names a reason.
type reasonPhrase struct {
	reason Reason
	phrase string
}

// reasonPhrases are tried in order; the first match wins.
var reasonPhrases = []reasonPhrase{
	{ReasonSpamDetected, "spam"},
	{ReasonBlocked, "blocked using"},
	{ReasonMailboxFull, "mailbox full"},
	{ReasonMailboxFull, "over quota"},
	{ReasonUserUnknown, "user unknown"},
	{ReasonUserUnknown, "no such user"},
	{ReasonHostUnknown, "host not found"},
}

// reasonFor picks the reason for one failed or delayed recipient. It returns "" when nothing
// matched, and names the rule that decided (e.g. "text:userunknown", "status:5.1.1").
func reasonFor(in reasonInput) (Reason, string) {
	text := strings.ToLower(in.Diagnostic)
	for _, p := range reasonPhrases {
		if strings.Contains(text, p.phrase) {
			return p.reason, "text:" + string(p.reason)
		}
	}
	switch in.Status {
	case "5.1.1", "4.1.1":
		return ReasonUserUnknown, "status:" + in.Status
	case "5.1.2", "4.1.2":
		return ReasonHostUnknown, "status:" + in.Status
	case "5.2.2", "4.2.2":
		return ReasonMailboxFull, "status:" + in.Status
	case "4.4.7", "5.4.7":
		return ReasonExpired, "status:" + in.Status
	}
	return "", ""
}
