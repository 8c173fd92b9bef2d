// Package classify reads one mail and says what happened: RFC 3464/6533
// delivery status notifications, RFC 5965 ARF feedback reports, RFC 3834
// auto-replies and the free-text bounces of real MTAs.
//
// It does no I/O, no logging and reads no clock: bytes in, Verdict out.
// It does not decide what to do about a recipient (storage's policy does).
package classify

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

	exclAll map[string]bool // see exclusions

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
	c.extra[strings.ToLower(addr)] = x
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
		c.lower = strings.ToLower(clip(c.report, 8192))
	}
	return c.lower
}

func (c *classifier) run() {
	m, v := c.m, c.v
	c.report, c.quoted = reportText(m)
	c.orig = originalHeader(m, c.quoted)
	if c.orig != nil {
		v.Original = originalFrom(c.orig)
	}

	// 1. ARF feedback reports (RFC 5965).
	for _, p := range m.Parts {
		if p.Type == "message/feedback-report" {
			c.arf(parseARF(p.Body))
			return
		}
	}
	if strings.Contains(strings.ToLower(m.Header.get("Content-Type")), "feedback-report") {
		// a report whose feedback part was lost: read fields from the text
		c.arf(parseARF([]byte(extractFields(c.report))))
		return
	}

	// Amazon SES notifications (JSON through SNS).
	if c.amazonSES() {
		return
	}
	// Apple Mail's unsubscribe request (RFC 8058 is for the sender's
	// side; this is the mail the button sends).
	if strings.EqualFold(m.Header.get("X-Apple-Unsubscribe"), "true") {
		v.Kind, v.FeedbackType, v.Decoder, v.Rule = KindComplaint, "opt-out", "apple", "complaint:apple-unsubscribe"
		if a := firstAddr(m.Header.get("From")); a != "" {
			v.Recipients = []Recipient{{Address: a, Reason: ReasonFeedback, Rule: v.Rule}}
		}
		return
	}

	// 2. Delivery status notifications (RFC 3464 / RFC 6533).
	var dsn dsnReport
	for _, p := range m.Parts {
		if p.Type == "message/delivery-status" || p.Type == "message/global-delivery-status" {
			d := parseDSN(p.Body)
			// maxRecipients bounds the whole mail, not each of its
			// (up to maxParts) status parts; the rest is counted for the
			// note.
			dsn.Dropped += d.Dropped
			if room := maxRecipients - len(dsn.Recipients); len(d.Recipients) > room {
				dsn.Dropped += len(d.Recipients) - room
				d.Recipients = d.Recipients[:room]
			}
			dsn.Recipients = append(dsn.Recipients, d.Recipients...)
			if dsn.ReportingMTA == "" {
				dsn.ReportingMTA = d.ReportingMTA
			}
			if dsn.ArrivalDate == "" {
				dsn.ArrivalDate = d.ArrivalDate
			}
		}
	}
	decoder := "rfc3464"
	if len(dsn.Recipients) == 0 && strings.Contains(c.report, "-Recipient:") {
		// DSN fields written into text/plain
		if d := parseDSN([]byte(c.report)); len(d.Recipients) > 0 {
			dsn = d
		}
	}
	if len(dsn.Recipients) > maxRecipients { // from several DSN parts
		dsn.Dropped += len(dsn.Recipients) - maxRecipients
		dsn.Recipients = dsn.Recipients[:maxRecipients]
	}
	v.ReportingMTA = cleanHost(stripDiagType(dsn.ReportingMTA))
	v.ArrivalDate = parseDate(dsn.ArrivalDate)
	family := c.family()
	if family != "" {
		decoder = family
	}
	texts, textDropped := scanText(c.report, c.exclusions(true))
	if tr := transcriptRecipients(c.report, c.exclusions(true)); len(tr) > 0 {
		// An old sendmail's transcript ties each reply to its recipient;
		// recipients the transcript does not name keep their prose.
		for _, t := range texts {
			if textFor(tr, t.Addr) == "" {
				tr = append(tr, t)
			}
		}
		texts = tr
	}
	if len(texts) == 0 {
		// the sender may be anonymised to the recipient's address
		texts, textDropped = scanText(c.report, c.exclusions(false))
	}

	if len(dsn.Recipients) > 0 {
		v.Decoder = decoder
		c.noteLimit(len(dsn.Recipients), dsn.Dropped)
		// One mail reports an address once: a status part repeated (a
		// bounce of a bounce returned inside it) must not count one
		// failure twice toward the recipient's soft score.
		seen := map[string]bool{}
		for _, r := range dsn.Recipients {
			addr := r.address()
			if addr == "" || seen[strings.ToLower(addr)] {
				continue
			}
			seen[strings.ToLower(addr)] = true
			diagType, diag := splitDiagType(r.Diagnostic)
			rec := Recipient{
				Address:    addr,
				Action:     normAction(r.Action),
				Status:     findStatus(r.Status),
				Diagnostic: diag,
				RemoteMTA:  cleanHost(stripDiagType(r.RemoteMTA)),
			}
			rec.LastAttempt = parseDate(r.LastAttempt)
			if rec.Action == "" {
				switch {
				case strings.HasPrefix(rec.Status, "2"):
					rec.Action = ActionDelivered
				case strings.HasPrefix(rec.Status, "4"):
					rec.Action = ActionDelayed
				default:
					rec.Action = ActionFailed
				}
			}
			t := textFor(texts, addr)
			if t != "" && (rec.Diagnostic == "" || findReplyCode(rec.Diagnostic) == "" && findReplyCode(t) != "") {
				if rec.Diagnostic == "" {
					rec.Diagnostic = t
				} else {
					rec.Diagnostic += " " + t
				}
			}
			x := recipientExtra{diagType: diagType, prose: t}
			if len(dsn.Recipients) == 1 && findFailReply(rec.Diagnostic) == "" {
				// "X-Unix; 255" from "|/home/u/bin/filter": the session
				// transcript of the report holds the reply ("554 5.3.0
				// unknown mailer error 255")
				x.transcript = codeLines(t)
				if findFailReply(x.transcript) == "" {
					x.transcript = codeLines(c.report)
				}
			}
			c.note(addr, x)
			v.Recipients = append(v.Recipients, rec)
		}
		if len(v.Recipients) > 0 {
			c.finish(decoder, "dsn")
			return
		}
	}

	// 3. No DSN: bounce prose, auto-replies or ordinary mail.
	strong := c.strongBounce()
	if !strong {
		if rule := autoreplyRule(m); rule != "" {
			v.Kind, v.Decoder, v.Rule = KindAutoreply, "rfc3834", rule
			v.Recipients = []Recipient{{Address: firstAddr(m.Header.get("From")), Reason: ReasonVacation, Rule: rule}}
			return
		}
		if ft := providerComplaint(m, c.lowerReport()); ft != "" {
			// the type is a guess, so feedback_type stays empty
			v.Kind, v.Decoder, v.Rule = KindComplaint, "complaint", "complaint:provider:"+ft
			if c.orig != nil {
				for _, name := range []string{"X-HmXmrOriginalRecipient", "X-Original-Recipient", "To"} {
					if a := firstAddr(c.orig.get(name)); a != "" {
						v.Recipients = []Recipient{{Address: a, Reason: ReasonFeedback, Rule: v.Rule}}
						break
					}
				}
			}
			return
		}
		// Bounce words in the text are not enough: ordinary mail talks
		// about full mailboxes too. The mail must also come from mail
		// software (a system sender, a null Return-Path, Auto-Submitted).
		if !looksLikeBounceBody(c.lowerReport()) || !c.machineSent() {
			v.Kind, v.Decoder, v.Rule = KindNotBounce, "none", "notbounce"
			return
		}
	}
	if decoder == "rfc3464" {
		decoder = "text"
	}
	v.Decoder = decoder
	failed := headerAddrs(m.Header.get("X-Failed-Recipients"))
	action := ActionFailed
	if delayedText(v.Subject, c.lowerReport()) {
		action = ActionDelayed
	}
	if len(failed) > maxRecipients {
		c.noteLimit(maxRecipients, len(failed)-maxRecipients)
		failed = failed[:maxRecipients]
	} else if len(failed) == 0 {
		c.noteLimit(len(texts), textDropped)
	}
	if len(failed) > 0 {
		for _, a := range failed {
			diag := textFor(texts, a)
			if diag == "" && len(texts) == 1 {
				diag = texts[0].Diagnostic
			}
			v.Recipients = append(v.Recipients, Recipient{Address: a, Action: action, Diagnostic: diag})
		}
	} else {
		// When some addresses come with a reply code or failure words,
		// those without are ones the prose merely mentions (a help
		// address, a list's control address, a quoted sender).
		failing := make([]bool, len(texts))
		anyFailing := false
		for i, t := range texts {
			failing[i] = c.failureText(t.Diagnostic)
			anyFailing = anyFailing || failing[i]
		}
		for i, t := range texts {
			if anyFailing && !failing[i] {
				continue
			}
			v.Recipients = append(v.Recipients, Recipient{Address: t.Addr, Action: action, Diagnostic: t.Diagnostic})
		}
	}
	for i := range v.Recipients {
		r := &v.Recipients[i]
		fromReport, section := false, false
		if weakDiagnostic(r.Diagnostic) {
			if fr := failureReasons(c.report); fr != "" {
				r.Diagnostic, section = fr, true
			} else {
				r.Diagnostic, fromReport = c.reportDiagnostic(), true
			}
		}
		if len(v.Recipients) == 1 && !section && !hasCode([]string{r.Diagnostic}) {
			// the reply may stand apart from the address ("Could not be
			// delivered because of 550 5.1.1 User unknown ... recipients:")
			if cl := codeLines(c.report); cl != "" {
				r.Diagnostic += " " + cl
			} else if !c.failureText(r.Diagnostic) {
				// or the reason is prose elsewhere ("reject reason:
				// Mailbox full ... target mail address: ...")
				r.Diagnostic, fromReport = c.reportDiagnostic(), true
			}
		}
		c.note(r.Address, recipientExtra{fromReport: fromReport})
	}
	if len(v.Recipients) == 0 && c.nested() {
		return
	}
	if len(v.Recipients) == 0 && c.orig != nil {
		// The prose names nobody: the returned message was addressed to
		// the recipient that failed.
		if to := headerAddrs(c.orig.get("To")); len(to) == 1 {
			v.Recipients = append(v.Recipients, Recipient{Address: to[0], Action: action, Diagnostic: c.reportDiagnostic()})
			c.note(to[0], recipientExtra{fromReport: true})
			c.finish(decoder, "original-to")
			return
		}
	}
	if len(v.Recipients) == 0 {
		v.Kind, v.Rule = KindUnknown, "bounce:no-recipient"
		return
	}
	c.finish(decoder, "text")
}

// failureText reports whether a recipient's own prose says it failed: an
// SMTP reply or status code, or words the reason rules know.
func (c *classifier) failureText(d string) bool {
	if hasCode([]string{d}) {
		return true
	}
	r, _ := reasonFor(reasonInput{Diagnostic: d, Action: string(ActionFailed)})
	return r != ""
}

// weakDiagnostic reports whether a diagnostic says nothing beyond an
// address.
func weakDiagnostic(d string) bool {
	d = strings.TrimSpace(d)
	return d == "" || bareAddr(d)
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

// reportDiagnostic is the whole report text, unfolded and bounded: the
// diagnostic of a recipient whose own lines say nothing.
func (c *classifier) reportDiagnostic() string {
	return clip(collapseSpace(c.report), 1500)
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
		x := c.extra[strings.ToLower(r.Address)]
		r.Diagnostic = collapseSpace(r.Diagnostic)
		reply := quotedReply(r.Diagnostic)
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
		if r.Command == "" && len(v.Recipients) == 1 {
			// only the explicit forms: the report's prose may say
			// "cannot connect to database" or "mail from you"
			r.Command = proseCommandLower(c.lowerReport())
		}
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
			}
			r.Status = defaultStatus(reason, class)
		}
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

// arf fills the verdict of a feedback report.
func (c *classifier) arf(r arfReport) {
	v := c.v
	v.Decoder, v.FeedbackType = "arf", r.FeedbackType
	if v.FeedbackType == "" {
		v.FeedbackType = "other"
	}
	v.Kind = complaintKind(v.FeedbackType)
	v.Rule = "arf:" + v.FeedbackType
	v.ReportingMTA = stripDiagType(r.ReportingMTA)
	v.ArrivalDate = parseDate(r.ArrivalDate)
	addrs := r.Recipients
	if len(addrs) == 0 && c.orig != nil {
		addrs = headerAddrs(c.orig.get("To"))
	}
	for _, a := range addrs {
		v.Recipients = append(v.Recipients, Recipient{Address: a, Reason: ReasonFeedback, Rule: v.Rule})
	}
}

// exclusions are the addresses in bounce prose that are no recipients:
// the bounce's own addressee (the sender of the original) and the
// original's sender. With all false, only the bounce's From. The sets are
// made once per message.
func (c *classifier) exclusions(all bool) map[string]bool {
	if all {
		if c.exclAll == nil {
			c.exclAll = c.makeExclusions(true)
		}
		return c.exclAll
	}
	return c.makeExclusions(false)
}

func (c *classifier) makeExclusions(all bool) map[string]bool {
	ex := map[string]bool{}
	for _, a := range headerAddrs(c.m.Header.get("From")) {
		ex[a] = true
	}
	if !all {
		return ex
	}
	for _, name := range []string{"To", "Return-Path", "Reply-To", "Sender", "Cc"} {
		for _, a := range headerAddrs(c.m.Header.get(name)) {
			ex[a] = true
		}
	}
	if c.orig != nil {
		for _, name := range []string{"From", "Return-Path", "Sender", "Reply-To"} {
			for _, a := range headerAddrs(c.orig.get(name)) {
				ex[a] = true
			}
		}
	}
	return ex
}

// nested classifies a bounce that came back inside another message (a
// bounce of a bounce, or one forwarded by a relay) and adopts its
// recipients. It reports whether it found any.
func (c *classifier) nested() bool {
	if c.depth > 0 {
		return false
	}
	for _, p := range c.m.Parts {
		if p.Type != "message/rfc822" && p.Type != "message/global" {
			continue
		}
		inner, err := parse(p.Body)
		if err != nil {
			continue
		}
		iv := Verdict{Subject: decodeWords(inner.Header.get("Subject"))}
		ic := &classifier{m: inner, v: &iv, depth: c.depth + 1}
		ic.run()
		if (iv.Kind == KindBounce || iv.Kind == KindDelay) && len(iv.Recipients) > 0 {
			c.v.Recipients = iv.Recipients
			c.v.Kind, c.v.Decoder, c.v.Rule = iv.Kind, iv.Decoder, "nested:"+iv.Rule
			c.v.ReportingMTA = iv.ReportingMTA
			return true
		}
	}
	return false
}

// textFor returns the diagnostic the prose gives for addr.
func textFor(texts []textRecipient, addr string) string {
	for _, t := range texts {
		if strings.EqualFold(t.Addr, addr) {
			return t.Diagnostic
		}
	}
	return ""
}

// extractFields returns the "Name: value" lines of s.
func extractFields(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && isFieldName(name) {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func firstAddr(v string) string {
	if a := headerAddrs(v); len(a) > 0 {
		return a[0]
	}
	return ""
}

// collapseSpace unfolds a diagnostic: runs of blanks become one space.
func collapseSpace(s string) string {
	if !strings.ContainsAny(s, "\n\t\r") && !strings.Contains(s, "  ") {
		return strings.TrimSpace(s)
	}
	return strings.Join(strings.Fields(s), " ")
}
