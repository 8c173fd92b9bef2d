package classify

// Every sender family and its quirks in one place: the markers that name
// a family, and what the rest of the package does differently for one
// (Google Groups' default reason, Postfix's RCPT, Orange's codes, qmail's
// give-up trailer, Lotus Notes' failure section, old sendmail's
// transcript, AOL's screen names, Apple Mail's unsubscribe request).

import "strings"

// familyRule is one marker of an MTA or provider family. The family names
// are those of the Sisimai bounce parser's decoders, lower-cased, so that
// users and reasonFor know them.
type familyRule struct {
	family string
	where  string // "text" (report text), "quoted" (its start), "from", "subject", "received" (any), or a field name
	marker string // lower-case substring; "" = the field exists
}

// familyRules are tried in order; the first match names the family.
var familyRules = []familyRule{
	{"googlegroups", "text", "google groups"},
	{"googlegroups", "text", "googlegroups.com"},
	{"googlegroups", "X-Failed-Recipients", "googlegroups.com"},
	{"googleworkspace", "text", "google workspace"},
	{"amazonses", "from", "amazonses.com"},
	{"amazonses", "from", "sns.amazonaws.com"},
	{"amazonses", "X-SES-Outgoing", ""},
	{"dragonfly", "text", "dragonfly mail agent"},
	{"opensmtpd", "text", "opensmtpd"},
	{"opensmtpd", "text", "this is the mailer-daemon, please do not reply to this email"},
	{"qmail", "text", "this is the qmail-send program"},
	{"qmail", "text", "qmail-send"},
	{"qmail", "received", "invoked for bounce"},
	{"qmail", "quoted", "below this line is a copy of the message"},
	{"postfix", "X-Postfix-Queue-Id", ""},
	{"postfix", "text", "this is the mail system at host"},
	{"postfix", "text", "the mail system\n"},
	{"einsundeins", "from", "kundenserver"},
	{"einsundeins", "text", "the header of the original message is following"},
	{"gmx", "from", "gmx."},
	{"gmail", "from", "googlemail.com"},
	{"zoho", "from", "zoho.com"}, // before Exim: Zoho's notices borrow its wording
	{"zoho", "X-Zohomail", ""},
	{"exim", "X-Failed-Recipients", ""},
	{"exim", "text", "this message was created automatically by mail delivery software"},
	{"v5sendmail", "text", "unsent message follows"},
	{"v5sendmail", "quoted", "unsent message follows"}, // the report is cut there
	{"sendmail", "text", "transcript of session follows"},
	{"sendmail", "text", "the original message was received at"},
	{"googlegroups", "subject", "group"},
	{"gmail", "text", "delivery to the following recipient failed"},
	{"office365", "X-MS-Exchange-CrossTenant-Id", ""},
	{"exchange2007", "X-MS-Exchange-Message-Is-Ndr", ""},
	{"exchange2007", "text", "diagnostic information for administrators"},
	{"exchange2007", "text", "delivery has failed to these recipients"},
	{"exchange2003", "text", "your message did not reach some or all of the intended recipients"},
	{"exchange2003", "X-Mailer", "microsoft exchange"},
	{"exchange2003", "text", "delivery to the following recipients failed"}, // its DSN's text part
	{"mdaemon", "text", "had permanent fatal delivery errors"},
	{"messagingserver", "text", "this report relates to a message you sent"},
	{"messagingserver", "text", "messaging server"},
	{"ezweb", "from", "ezweb.ne.jp"},
	{"kddi", "from", "dion.ne.jp"},
	{"kddi", "from", "kddi"},
	{"biglobe", "from", "biglobe.ne.jp"},
	{"notes", "text", "lotus notes"},
	{"notes", "subject", "undeliverable message"},
	{"domino", "text", "domino"},
	{"domino", "subject", "delivery failure:"},
	{"imailserver", "X-Mailer", "imail"},
	{"imailserver", "text", "original message follows."},
	{"courier", "text", "courier mail server"},
	{"courier", "subject", "notice: mail delivery status"},
	{"mfilter", "text", "mfilter"},
	{"mailfoundry", "subject", "message delivery has failed"},
	{"mailmarshalsmtp", "text", "mailmarshal"},
	{"mimecast", "subject", "[postmaster] email delivery failure"},
	{"activehunter", "subject", "failure notice :"},
	{"interscanmss", "from", "interscan"},
	{"verizon", "from", "vzwpix.com"},
	{"fml", "X-Mlserver", ""},
	{"fml", "text", "you are not a member"},
	{"apachejames", "text", "james"},
	{"opensmtpd", "received", "(opensmtpd)"}, // last: a relay may run it
}

// familyText finds every "text" marker of familyRules in one pass over
// the report; familyTextID is each rule's pattern id (-1: not a text rule).
var familyText, familyTextID = newFamilyText()

func newFamilyText() (phraseMatcher, []int32) {
	ids := make([]int32, len(familyRules))
	seen := map[string]int32{}
	var pats []string
	for i, f := range familyRules {
		ids[i] = -1
		if f.where != "text" {
			continue
		}
		id, ok := seen[f.marker]
		if !ok {
			id = int32(len(pats))
			seen[f.marker] = id
			pats = append(pats, f.marker)
		}
		ids[i] = id
	}
	return newPhraseMatcher(pats), ids
}

// family names the MTA or provider family of a bounce, or "".
func (c *classifier) family() string {
	var found [maxPhrasePatterns / 64]uint64
	familyText.scan(c.lowerReport(), &found)
	from := lower(c.m.Header.get("From"))
	subj := lower(c.v.Subject) // decodeWords of the Subject field (Message)
	for i, f := range familyRules {
		var v string
		switch f.where {
		case "text":
			if id := familyTextID[i]; found[id/64]&(1<<(id%64)) != 0 {
				return f.family
			}
			continue
		case "from":
			v = from
		case "subject":
			v = subj
		case "quoted":
			v = lower(c.quoted[:min(len(c.quoted), 200)])
		case "received":
			v = ""
			for _, fl := range c.m.Header {
				if len(fl.Name) == len("Received") && strings.EqualFold(fl.Name, "Received") && indexFold(fl.value(), f.marker) >= 0 {
					v = f.marker
					break
				}
			}
			if v == "" {
				continue
			}
		default:
			if !c.m.Header.has(f.where) {
				continue
			}
			v = lower(c.m.Header.get(f.where))
		}
		if strings.Contains(v, f.marker) {
			return f.family
		}
	}
	return ""
}

// familyReason is what a family's notices mean when their text names no
// reason the phrase table knows: Google Groups rejects posts of
// non-members.
func familyReason(family string) Reason {
	switch family {
	case "googlegroups":
		return ReasonRejected
	}
	return ""
}

// familyCommand is the SMTP command a family's refusals answer when the
// text names none. Postfix names the command of every remote refusal ("in
// reply to RCPT TO command"); when the decoder could not tie one to this
// recipient, RCPT is by far the likeliest.
func familyCommand(cmd, family string) string {
	if cmd == "" && family == "postfix" {
		return "RCPT"
	}
	return cmd
}

// appleUnsubscribe reads Apple Mail's unsubscribe request (RFC 8058 is for
// the sender's side; this is the mail the button sends). It reports
// whether the mail is one.
func (c *classifier) appleUnsubscribe() bool {
	m, v := c.m, c.v
	if !strings.EqualFold(m.Header.get("X-Apple-Unsubscribe"), "true") {
		return false
	}
	v.Kind, v.FeedbackType, v.Decoder, v.Rule = KindComplaint, "opt-out", "apple", "complaint:apple-unsubscribe"
	if a := firstAddr(m.Header.get("From")); a != "" {
		v.Recipients = []Recipient{{Address: a, Reason: ReasonFeedback, Rule: v.Rule}}
	}
	return true
}

// orangeCode reads the error label that Orange and La Poste (France
// Telecom) append to their replies ("OFR_416", "OFR005_505 [505]",
// "LPN007_426") and returns the reason its code documents, with the code.
// Their wording alone is often the same for different causes ("Service
// refused, please try later").
func orangeCode(text string) (Reason, string) {
	for _, label := range []string{"ofr", "lpn"} {
		if !strings.Contains(text, label) {
			continue // the common case, found faster than LastIndex's hashing finds it absent
		}
		i := strings.LastIndex(text, label)
		if i > 0 && isLetterOrDigit(text[i-1]) {
			continue
		}
		j := i + len(label)
		for j < len(text) && (isDigit(text[j]) || text[j] == '_') {
			j++
		}
		tok := text[i+len(label) : j]
		if len(tok) < 3 || (j < len(text) && isLetterOrDigit(text[j])) {
			continue
		}
		code := tok[len(tok)-3:]
		if r, ok := orangeCodes[code]; ok && isDigit(code[0]) && isDigit(code[1]) && isDigit(code[2]) {
			return r, code
		}
	}
	return "", ""
}

// orangeCodes are the codes of Orange's published SMTP error list (the
// three digits after OFR or LPN) that name one reason.
var orangeCodes = map[string]Reason{
	"101": ReasonBlocked,       // IP blocked (DNSBL)
	"102": ReasonBlocked,       // source IP blocked for spam
	"103": ReasonBlocked,       // service refused
	"104": ReasonRateLimited,   // too many connections
	"305": ReasonSecurityError, // invalid authentication
	"401": ReasonAuthFailure,   // SPF: not allowed to send
	"402": ReasonSecurityError, // authentication required
	"403": ReasonRejected,      // invalid sender
	"405": ReasonRejected,      // invalid sender
	"415": ReasonRejected,      // invalid sender
	"416": ReasonUserUnknown,   // invalid recipient
	"417": ReasonMailboxFull,   // recipient over quota
	"420": ReasonSuspend,       // archived recipient
	"421": ReasonRejected,      // mail from not owned by user
	"426": ReasonSuspend,       // recipient account blocked
	"505": ReasonSystemError,   // service refused at end of data
	"506": ReasonSpamDetected,  // mail rejected
	"510": ReasonBlocked,       // service refused
	"514": ReasonEmailTooLarge, // message size limit
	"517": ReasonAuthFailure,   // DMARC verification failed
	"630": ReasonPolicyViolation,
	"999": ReasonBlocked,
}

func isLetterOrDigit(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' }

// notGoingToTryAgain reports whether text ends as qmail's queue does when
// it gives up ("I'm not going to try again; this message has been in the
// queue too long"). The qmail decoder keeps the cause that precedes it;
// elsewhere the trailer is what the reporting host decided: expired.
// Sendmail's "Message will be deleted from queue" is not read so: the
// last reply before it names the cause (the shared corpus agrees).
func notGoingToTryAgain(text, decoder string) bool {
	return decoder != "qmail" && strings.Contains(text, "not going to try again; this message has been in the queue too long")
}

// failureReasons returns the section of a Lotus Notes report headed
// "------- Failure Reasons --------" (the reason, then the address), up to
// the next decorated line, or "".
func failureReasons(report string) string {
	i := indexFold(report, "failure reasons")
	if i < 0 {
		return ""
	}
	rest := report[i:]
	if j := strings.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[j+1:]
	} else {
		return ""
	}
	var b strings.Builder
	for _, line := range strings.SplitN(clip(rest, 2000), "\n", 20) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "---") {
			break
		}
		if t != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(t)
		}
	}
	return b.String()
}

// transcriptRecipients reads the session transcript of an old sendmail
// (V5) bounce, which has no DSN part: each failed recipient is a line
// "554 <a@b.example>... reason", and the exchange that led to it comes
// before, not after: "While talking to mx.b.example:", ">>> RCPT To:<a@b>",
// "<<< 550 No such user", or a host's own line "550 b.example (smtp)... 550
// Host unknown". A recipient's diagnostic is those lines (since the last
// recipient line or "While talking to", whichever is later) and its own
// line, so that the first reply in it is the remote server's. It returns
// nil when the report has no such lines.
func transcriptRecipients(report string, exclude map[string]bool) []textRecipient {
	i := indexFold(report, "transcript of session follows")
	if i < 0 {
		return nil
	}
	rest := report[i:]
	if j := strings.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[j+1:] // the transcript starts on the next line
	} else {
		return nil
	}
	var out []textRecipient
	var ctx []string
	for _, line := range strings.Split(rest, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "-----") {
			continue
		}
		if hasPrefixFold(t, "while talking to") {
			ctx = append(ctx[:0], t)
			continue
		}
		if addr, ok := transcriptRecipient(t); ok {
			key := lower(addr)
			if !exclude[key] && !isSystemAddr(key) && len(out) < maxRecipients {
				diag := clip(strings.Join(append(ctx, t), " "), 2000)
				out = append(out, textRecipient{Addr: addr, Diagnostic: diag})
			}
			ctx = ctx[:0]
			continue
		}
		if len(ctx) < 20 {
			ctx = append(ctx, t)
		}
	}
	return out
}

// transcriptRecipient reports whether a transcript line is sendmail's
// verdict on one recipient, "554 <a@b.example>... text", and returns the
// address.
func transcriptRecipient(line string) (string, bool) {
	if len(line) < 8 || findFailReply(line[:3]) != line[:3] || line[3] != ' ' || line[4] != '<' {
		return "", false
	}
	end := strings.Index(line, ">...")
	if end < 0 {
		return "", false
	}
	a := cleanAddr(line[5:end])
	return a, a != ""
}

// aolScreenNames reads the failed recipients that AOL's own reports name
// by screen name alone, one to a line under a heading ("Your mail to the
// following recipients could not be delivered because they are not
// accepting mail from a@b.example:" then "\tJaneDoe1972"; or sendmail's
// "----- The following addresses had permanent fatal errors -----" then
// "bobsmith77 (user not found)"). An AOL member's address is the screen
// name at aol.com, so only a report from aol.com (from, the bounce's
// From field) is read so. A recipient's diagnostic is its line and the
// heading, which may hold the reason.
func aolScreenNames(from, report string) []textRecipient {
	d := lower(firstAddr(from))
	if i := strings.LastIndexByte(d, '@'); i < 0 || d[i+1:] != "aol.com" && !strings.HasSuffix(d[i+1:], ".aol.com") {
		return nil
	}
	var out []textRecipient
	heading := "" // the heading of the list the line is in, "" outside one
	para := ""    // the paragraph so far, which a heading may end
	for _, line := range strings.Split(clip(report, 8192), "\n") {
		t := strings.TrimSpace(line)
		name, rest, _ := strings.Cut(t, " ")
		rest = strings.TrimSpace(rest)
		switch {
		case t == "":
			heading, para = "", ""
		case heading != "" && screenName(name) && (rest == "" || rest[0] == '('):
			if len(out) < maxRecipients {
				out = append(out, textRecipient{Addr: lower(name) + "@aol.com", Diagnostic: t + " " + heading})
			}
		case strings.HasPrefix(t, "-----"):
			heading, para = strings.Trim(t, "- "), ""
		case strings.HasSuffix(t, ":"):
			heading, para = strings.TrimSpace(para+" "+t), ""
		default:
			heading, para = "", clip(strings.TrimSpace(para+" "+t), 1000)
		}
	}
	return out
}

// screenName reports whether s can be an AOL screen name as its mail
// address writes it: 3 to 16 letters and digits, starting with a letter.
func screenName(s string) bool {
	if len(s) < 3 || len(s) > 16 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; !(c >= 'a' && c <= 'z' || isDigit(s[i])) {
			return false
		}
	}
	return true
}
