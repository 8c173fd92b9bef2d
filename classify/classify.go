// Package classify reads one mail and says what happened: RFC 3464/6533
// delivery status notifications, RFC 5965 ARF feedback reports, RFC 3834
// auto-replies and the free-text bounces of real MTAs.
//
// It does no I/O, no logging and reads no clock: bytes in, Verdict out.
// It does not decide what to do about a recipient (storage's policy does).
package classify

// This file holds the entry point and the order of precedence: Message,
// run (the dispatcher: ARF, then SES, Apple, DSN and prose) and finish,
// which completes every recipient the readers found. Where the rest is:
//
//	arf.go, amazonses.go   feedback reports (RFC 5965) and SES notifications
//	dsn.go                 the RFC 3464 branch: status parts and their fields
//	prose.go               the branch without a DSN, and bounce detection
//	text.go                the report text, and the addresses its prose names
//	autoreply.go           RFC 3834 auto-replies; challenge-response requests
//	families.go            every sender family and its quirks
//	reason.go              the decision order of a recipient's reason
//	phrases.go, match.go   the phrase data, and the matcher that reads it
//	status.go, smtp.go     RFC 3463 status codes; RFC 5321 replies, commands, hosts
//	parse.go, addr.go      the lenient MIME reader; addresses in prose

import (
	"bytes"
	"fmt"
	"strings"
)

// Message classifies one raw mail. The error is ErrNotMessage for input
// that is no mail at all; anything else, however broken, yields a Verdict
// whose Notes say what was repaired or skipped.
func Message(raw []byte) (Verdict, error) {
	if len(bytes.TrimSpace(raw)) < 4 || bytes.IndexByte(firstLine(raw), 0) >= 0 {
		return Verdict{}, ErrNotMessage
	}
	m, err := parse(raw)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{
		MessageID:   strings.Trim(strings.TrimSpace(m.Header.get("Message-Id")), "<>"),
		From:        decodeWords(m.Header.get("From")),
		Subject:     decodeWords(m.Header.get("Subject")),
		To:          decodeWords(m.Header.get("To")),
		DeliveredTo: m.Header.get("Delivered-To"),
		Date:        parseDate(m.Header.get("Date")),
	}
	if v.DeliveredTo == "" {
		v.DeliveredTo = m.Header.get("X-Original-To")
	}
	c := &classifier{m: m, v: &v}
	c.run()
	v.Notes = append(v.Notes, m.Notes...)
	if v.Recipients == nil {
		v.Recipients = []Recipient{}
	}
	return v, nil
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		return b[:i]
	}
	return b
}

// classifier holds the state of one classification.
type classifier struct {
	m      *message
	v      *Verdict
	report string // human-readable bounce text
	quoted string // text after the cut marker
	orig   header
	depth  int // 1 inside a returned message

	lower string // the first 8 KiB of report, lower case; see lowerReport

	exclAll, exclFrom map[string]bool // see exclusions

	// extra is what the classifier knows of a recipient beyond its
	// Recipient fields, by lower-case address.
	extra map[string]recipientExtra
}

// recipientExtra is what finish needs to know of a recipient that the
// Verdict does not carry.
type recipientExtra struct {
	diagType   string // type of the DSN's Diagnostic-Code ("smtp", "x-unix")
	prose      string // the report's lines about this recipient, beside a DSN
	transcript string // the reply lines of the report, when the DSN has one recipient the prose does not name
	fromReport bool   // the diagnostic is the whole report, not the recipient's own
}

// note records what the classifier knows of addr's recipient.
func (c *classifier) note(addr string, x recipientExtra) {
	if c.extra == nil {
		c.extra = map[string]recipientExtra{}
	}
	c.extra[lower(addr)] = x
}

// noteLimit says in the Verdict's notes that recipients past
// maxRecipients were dropped: kept were kept, dropped were not.
func (c *classifier) noteLimit(kept, dropped int) {
	if dropped > 0 {
		c.v.Notes = append(c.v.Notes, fmt.Sprintf("recipients: kept %d of %d", kept, kept+dropped))
	}
}

// lowerReport returns the start of the report text in lower case, computed
// once: the phrase checks all read it.
func (c *classifier) lowerReport() string {
	if c.lower == "" && c.report != "" {
		c.lower = lower(clip(c.report, 8192))
	}
	return c.lower
}

// run classifies c.m into c.v. The readers are tried in order of
// precedence and the first that recognises the mail decides: a feedback
// report or an SES notification says outright what it is, a DSN's fields
// name the recipients that its prose only describes, and prose is read
// when nothing machine-readable names anybody.
func (c *classifier) run() {
	c.report, c.quoted = reportText(c.m)
	c.orig = originalHeader(c.m, c.quoted)
	if c.orig != nil {
		c.v.Original = originalFrom(c.orig)
	}
	// 1. RFC 5965 feedback reports (arf.go).
	if c.feedbackReport() {
		return
	}
	// 2. Amazon SES notifications (amazonses.go).
	if c.amazonSES() {
		return
	}
	// 3. Apple Mail's unsubscribe request (families.go).
	if c.appleUnsubscribe() {
		return
	}
	// 4. A DSN that names a recipient (dsn.go), each recipient completed
	// with what the prose says of it (text.go).
	dsn := c.readDSN()
	family := c.family() // the sender family, if known (families.go)
	texts, dropped := c.textRecipients()
	if c.fromDSN(dsn, family, texts) {
		return
	}
	// 5. No DSN: bounce prose, auto-replies or ordinary mail (prose.go).
	c.fromProse(family, texts, dropped)
}

// finish completes every recipient (status, reply code, command, reason,
// hard) and sets the kind from their actions.
func (c *classifier) finish(decoder, how string) {
	v := c.v
	kept := v.Recipients[:0]
	for _, r := range v.Recipients {
		if r.Address != "" {
			kept = append(kept, r)
		}
	}
	v.Recipients = kept
	if len(v.Recipients) == 0 {
		v.Kind, v.Rule = KindUnknown, how+":no-recipient"
		return
	}
	for i := range v.Recipients {
		r := &v.Recipients[i]
		if r.Action != ActionFailed && r.Action != ActionDelayed {
			if r.Action == ActionDelivered || r.Action == ActionRelayed || r.Action == ActionExpanded {
				r.Reason, r.Rule = ReasonDelivered, how+":delivered"
			}
			continue
		}
		x := c.extra[lower(r.Address)]
		r.Diagnostic = collapseSpace(r.Diagnostic)
		reply := quotedReply(r.Diagnostic)
		c.codes(r, x, reply)
		c.reason(r, x, reply, decoder, how)
		r.Hard = IsHard(r.Reason, r.ReplyCode, r.Status)
	}
	failed, delayed := 0, 0
	for _, r := range v.Recipients {
		switch r.Action {
		case ActionFailed:
			failed++
		case ActionDelayed:
			delayed++
		}
	}
	switch {
	case failed > 0:
		v.Kind = KindBounce
	case delayed > 0:
		v.Kind = KindDelay
	default:
		v.Kind = KindDelivered
	}
	v.Rule = how + ":" + string(v.Kind)
}

// codes completes a failed or delayed recipient's status, reply code,
// remote MTA and command from its diagnostic (whose remote reply is
// reply), the transcript and the prose.
func (c *classifier) codes(r *Recipient, x recipientExtra, reply string) {
	s := findFailStatus(reply)
	if s == "" {
		s = findFailStatus(r.Diagnostic) // the relay's label
	}
	if s != "" {
		// The reply's own code is more precise than a DSN Status that
		// MTAs fill with a generic or timeout code.
		switch {
		case r.Status == "" || sameClass(s, r.Status) && !strings.HasSuffix(s, ".0.0"):
			r.Status = s
		case r.Action == ActionFailed && s[0] == '5' && r.Status[0] == '4':
			// a transient Status on a recipient that failed for good
			// on a permanent reply (Postfix, refused at the greeting)
			r.Status = s
		}
	}
	r.ReplyCode = findFailReply(reply)
	if r.ReplyCode == "" && x.transcript != "" {
		r.ReplyCode = findFailReply(x.transcript)
		if s := findFailStatus(x.transcript); s != "" && sameClass(s, r.Status) && strings.HasSuffix(r.Status, ".0.0") {
			r.Status = s
		}
	}
	if r.RemoteMTA == "" {
		r.RemoteMTA = findRemoteMTA(r.Diagnostic)
	}
	r.Command = findCommand(r.Diagnostic)
	if r.Command == "" && x.prose != "" {
		// the DSN's diagnostic names no command, the report's lines
		// about this recipient may ("(in reply to RCPT TO command)")
		r.Command = proseCommand(x.prose)
	}
	if r.Command == "" && len(c.v.Recipients) == 1 {
		// only the explicit forms: the report's prose may say
		// "cannot connect to database" or "mail from you"
		r.Command = proseCommandLower(c.lowerReport())
	}
}

// reason sets a failed or delayed recipient's reason and rule (reasonFor,
// then the family's default, then what the action and the diagnostic
// leave), and the status the reason implies when the mail gave none.
func (c *classifier) reason(r *Recipient, x recipientExtra, reply, decoder, how string) {
	reasonText := reply
	if bracketedReply(r.Diagnostic) != "" {
		// the notice's own words say why it gave up ("Message
		// expired"), the last reply only what happened last
		reasonText = r.Diagnostic
	}
	reason, rule := reasonFor(reasonInput{
		Diagnostic: reasonText,
		Status:     r.Status,
		ReplyCode:  r.ReplyCode,
		Command:    r.Command,
		Action:     string(r.Action),
		Decoder:    decoder,
		DiagType:   x.diagType,
	})
	if reason == "" {
		reason, rule = familyReason(decoder), "family:"+decoder
	}
	if reason == "" && x.prose != "" {
		// The DSN's diagnostic names no reason; the report's own lines
		// about the recipient may say it plainly ("mailbox full").
		if pr, prule := reasonFor(reasonInput{Diagnostic: x.prose, Status: r.Status, ReplyCode: r.ReplyCode,
			Command: r.Command, Action: string(r.Action), Decoder: decoder}); pr != "" {
			reason, rule = pr, "prose:"+prule
		}
	}
	if reason == "" && x.prose == "" && !x.fromReport && len(c.v.Recipients) == 1 {
		// The only recipient's own lines name no reason, and the report
		// says it elsewhere: a DSN's prose that never names the address
		// (Exchange names the person: "Jane Doe on 3/19/2026 ... The
		// e-mail account does not exist"), or a paragraph after the
		// reply ("550 Cannot deliver", a blank line, "The mailbox you
		// tried to reach is full"). The report's words are its when they
		// are specific (a vague "rejected" in boilerplate is not).
		if rt := c.reportDiagnostic(); matchPhrases(normalizeReasonText(rt), "", &reasonPhrases) != nil {
			if pr, prule := reasonFor(reasonInput{Diagnostic: rt, Status: r.Status, ReplyCode: r.ReplyCode,
				Command: r.Command, Action: string(r.Action), Decoder: decoder}); pr != "" {
				reason, rule = pr, "report:"+prule
			}
		}
	}
	if reason == "" {
		switch {
		case r.Action == ActionDelayed:
			reason, rule = ReasonExpired, how+":delayed"
		case r.Diagnostic != "" && !x.fromReport:
			// The recipient's own diagnostic says something no rule
			// knows: a person must read it (the reference parser's
			// "onhold"). Without one, nothing is known: "undefined".
			reason, rule = ReasonOnHold, how+":onhold"
		default:
			reason, rule = ReasonUndefined, how+":undefined"
		}
	}
	r.Reason, r.Rule = reason, rule
	if r.Status == "" {
		class := byte('5')
		switch {
		case r.ReplyCode != "" && (r.ReplyCode[0] == '4' || r.ReplyCode[0] == '5'):
			class = r.ReplyCode[0]
		case r.Action == ActionDelayed:
			class = '4'
		case temporaryWords(r.Diagnostic) && !strings.Contains(c.lowerReport(), "permanent"):
			// unless the report says it gave up for good (qmail's "This
			// is a permanent error; I've given up" above a local
			// delivery agent's "please try again later")
			class = '4'
		}
		r.Status = defaultStatus(reason, class)
	}
}

// temporaryWords reports whether a diagnostic without a code says the
// failure is temporary (RFC 3463 §3.1: class 4, persistent transient
// failure) and never that it is permanent: "mailbox full, temporary
// failure, please try again later".
func temporaryWords(d string) bool {
	ld := lower(d)
	if strings.Contains(ld, "permanent") {
		return false
	}
	for _, w := range []string{"temporary failure", "temporary error", "temporarily unavailable",
		"try again later", "please try later"} {
		if strings.Contains(ld, w) {
			return true
		}
	}
	return false
}
