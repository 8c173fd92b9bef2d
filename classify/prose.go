package classify

// The branch without a DSN: bounce detection (header and prose evidence
// that mail software reports a failure), auto-replies and ordinary mail told
// apart, and the failed recipients read from the prose.

import "strings"

// fromProse makes the verdict of a mail without a DSN that names anybody:
// an auto-reply, a complaint, ordinary mail, or a bounce whose recipients
// are read from X-Failed-Recipients or the prose (texts).
func (c *classifier) fromProse(family string, texts []textRecipient, dropped int) {
	if rule := challengeRule(c.lowerReport(), c.report); rule != "" {
		// before the bounce evidence: a challenge borrows its words
		c.challenge(rule)
		return
	}
	if !c.strongBounce() && c.notBounce() {
		return
	}
	v := c.v
	decoder := family
	if decoder == "" {
		decoder = "text"
	}
	v.Decoder = decoder
	action := ActionFailed
	if delayedText(v.Subject, c.lowerReport()) {
		action = ActionDelayed
	}
	c.proseRecipients(texts, dropped, action)
	c.proseDiagnostics()
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

// notBounce decides a mail without header evidence of a bounce that is an
// auto-reply, a complaint or ordinary mail. It reports whether it
// decided.
func (c *classifier) notBounce() bool {
	m, v := c.m, c.v
	if rule := autoreplyRule(m); rule != "" {
		c.autoreply(rule)
		return true
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
		return true
	}
	// Bounce words in the text are not enough: ordinary mail talks
	// about full mailboxes too. The mail must also come from mail
	// software (a system sender, a null Return-Path, Auto-Submitted).
	if !looksLikeBounceBody(c.lowerReport()) || !c.machineSent() {
		v.Kind, v.Decoder, v.Rule = KindNotBounce, "none", "notbounce"
		return true
	}
	return false
}

// autoreply makes the verdict of an auto-reply (RFC 3834): its sender is
// the recipient that answered.
func (c *classifier) autoreply(rule string) {
	c.autoreplyFrom(firstAddr(c.m.Header.get("From")), rule)
}

// challenge makes the verdict of a challenge-response request: an
// auto-reply on behalf of the protected recipient (challengeRecipient),
// whom the request's sender, often the filtering service, is not.
func (c *classifier) challenge(rule string) {
	c.autoreplyFrom(c.challengeRecipient(), rule)
}

// autoreplyFrom makes the verdict of an auto-reply for the recipient
// addr, or for nobody when addr is "".
func (c *classifier) autoreplyFrom(addr, rule string) {
	v := c.v
	v.Kind, v.Decoder, v.Rule = KindAutoreply, "rfc3834", rule
	v.Recipients = nil
	if addr != "" {
		v.Recipients = []Recipient{{Address: addr, Reason: ReasonVacation, Rule: rule}}
	}
}

// proseRecipients picks the failed recipients of a bounce without a DSN:
// those X-Failed-Recipients names, or else the addresses of the prose
// (texts) that it says failed.
func (c *classifier) proseRecipients(texts []textRecipient, dropped int, action Action) {
	v := c.v
	failed := headerAddrs(c.m.Header.get("X-Failed-Recipients"))
	if len(failed) > maxRecipients {
		c.noteLimit(maxRecipients, len(failed)-maxRecipients)
		failed = failed[:maxRecipients]
	} else if len(failed) == 0 {
		c.noteLimit(len(texts), dropped)
	}
	if len(failed) > 0 {
		for _, a := range failed {
			diag := textFor(texts, a)
			if diag == "" && len(texts) == 1 {
				diag = texts[0].Diagnostic
			}
			v.Recipients = append(v.Recipients, Recipient{Address: a, Action: action, Diagnostic: diag})
		}
		return
	}
	// Addresses the prose offers for help or complaints are no
	// recipients: when they are all it names, the returned message's one
	// recipient failed (fromProse takes it), or nobody the report names.
	texts = dropContacts(texts)
	// When some addresses come with a reply code or failure words,
	// those without are ones the prose merely mentions (a help
	// address, a list's control address, a quoted sender).
	// An address alone on its line is listed, not mentioned: Domino
	// lists the recipients of one failure under "was not delivered to:"
	// and gives the reason once, under "because:".
	failing := make([]bool, len(texts))
	anyFailing := false
	for i, t := range texts {
		failing[i] = c.failureText(t.Diagnostic) || weakDiagnostic(t.Diagnostic)
		anyFailing = anyFailing || failing[i]
	}
	for i, t := range texts {
		if anyFailing && !failing[i] {
			continue
		}
		v.Recipients = append(v.Recipients, Recipient{Address: t.Addr, Action: action, Diagnostic: t.Diagnostic})
	}
}

// dropContacts returns texts without the addresses offered as contacts
// (textRecipient.Contact).
func dropContacts(texts []textRecipient) []textRecipient {
	var kept []textRecipient
	for _, t := range texts {
		if !t.Contact {
			kept = append(kept, t)
		}
	}
	return kept
}

// proseDiagnostics gives each recipient of a bounce without a DSN a
// diagnostic that says why it failed, from elsewhere in the report when
// its own lines say nothing.
func (c *classifier) proseDiagnostics() {
	v := c.v
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

// reportDiagnostic is the whole report text, unfolded and bounded: the
// diagnostic of a recipient whose own lines say nothing.
func (c *classifier) reportDiagnostic() string {
	return clip(collapseSpace(c.report), 1500)
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

// strongBounce reports header evidence that a mail is a bounce: a
// delivery report content type, X-Failed-Recipients, a mail-system
// sender or a bounce subject.
func (c *classifier) strongBounce() bool {
	h := c.m.Header
	ct := lower(h.get("Content-Type"))
	if strings.Contains(ct, "delivery-status") || h.has("X-Failed-Recipients") {
		return true
	}
	subj := lower(decodeWords(h.get("Subject")))
	bounceSubject := false
	for _, s := range bounceSubjects {
		if strings.Contains(subj, s) {
			bounceSubject = true
			break
		}
	}
	if bounceSubject && (c.machineSent() || forwardedBounce(subj, c.report) || mtaReport(c.lowerReport())) {
		return true
	}
	return bounceSender(h.get("From")) && looksLikeBounceBody(c.lowerReport())
}

// mtaReports are lower-case sentences that only mail software writes at
// the head of a failure report: with a bounce subject they are evidence
// enough when the header names no mail system (old Exchange sent its
// reports from "System Administrator" at an ordinary address).
var mtaReports = []string{
	"did not reach the following recipient",         // Exchange 5.5 and 2000
	"your message did not reach some or all of the", // Exchange 2003
	"delivery has failed to these recipients or groups",
	"diagnostic information for administrators", // Exchange 2007 and later
	"the following recipient(s) could not be reached",
	"was undeliverable to the following",                  // GroupWise
	"was not delivered to:", "wurde nicht zugestellt an:", // Lotus Domino, in English and German
	"the following addresses had permanent fatal errors", // sendmail
	"transcript of session follows",
	"this is the mail system at host", "this is the postfix program at host",
	"this is the qmail-send program",
	"this message was created automatically by mail delivery software", // Exim
	"had permanent fatal delivery errors",                              // MDaemon: "The attached message had PERMANENT fatal delivery errors!"
}

// mtaReport reports whether lower-case report text holds a sentence of
// mtaReports.
func mtaReport(lower string) bool {
	for _, p := range mtaReports {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// forwardedBounce reports a bounce that a person forwarded: a forward's
// subject and the mail system's sender quoted in the text.
func forwardedBounce(subj, report string) bool {
	if !strings.HasPrefix(subj, "fwd:") && !strings.HasPrefix(subj, "fw:") {
		return false
	}
	lr := lower(report)
	return strings.Contains(lr, "mailer-daemon") || strings.Contains(lr, "mail delivery subsystem") ||
		strings.Contains(lr, "mail delivery system")
}

// machineSent reports header signs that mail software, not a person,
// sent the mail: a mail-system sender, a null Return-Path (RFC 5321
// §4.5.5) or Auto-Submitted (RFC 3834).
func (c *classifier) machineSent() bool {
	h := c.m.Header
	if bounceSender(h.get("From")) {
		return true
	}
	if rp := strings.TrimSpace(h.get("Return-Path")); rp == "<>" || strings.EqualFold(rp, "<MAILER-DAEMON>") {
		return true
	}
	as := lower(h.get("Auto-Submitted"))
	if as != "" && as != "no" {
		return true
	}
	// a mailing list manager's notice (fml, Mailman, ezmlm...)
	if h.has("X-MLServer") {
		return true
	}
	if h.has("X-MS-Exchange-Message-Is-Ndr") {
		return true
	}
	local := localPart(firstAddr(h.get("From")))
	if strings.HasPrefix(local, "microsoftexchange") {
		// Exchange and Office 365 send their reports from
		// MicrosoftExchange<hex>@ the organisation's domain
		return true
	}
	switch local {
	case "no-reply", "noreply", "do-not-reply", "donotreply":
		return true
	}
	return strings.HasSuffix(local, "-admin") || strings.HasSuffix(local, "-owner") ||
		strings.HasPrefix(local, "owner-") || strings.HasSuffix(local, "-bounces")
}

// delayedText reports whether bounce prose says delivery is still being
// tried rather than given up.
func delayedText(subject, lowerReport string) bool {
	s := lower(subject)
	if strings.Contains(s, "delayed") || strings.Contains(s, "(delay)") || strings.Contains(s, "warning:") ||
		strings.Contains(s, "delivery delay") || strings.Contains(s, "still being retried") {
		return true
	}
	r := lowerReport
	if strings.Contains(r, "permanent error") || strings.Contains(r, "permanent fatal") || strings.Contains(r, "given up") ||
		strings.Contains(r, "could not be delivered") || strings.Contains(r, "couldn't be delivered") {
		return false
	}
	for _, p := range []string{"will continue trying", "will keep trying", "still trying", "not yet been delivered",
		"will be retried", "will retry", "has been delayed", "is delayed", "delivery is delayed", "continue to attempt",
		"no action is required on your part", "will try again"} {
		if strings.Contains(r, p) {
			return true
		}
	}
	return false
}

// bounceSubjects are lower-case phrases of bounce subjects.
var bounceSubjects = []string{
	"undeliver", "delivery status notification", "failure notice", "returned mail", "mail delivery failed",
	"undelivered mail", "delivery failure", "delivery failed", "delivery notification", "mail delivery system",
	"non remis", "non-remis", "nondeliverable", "non-deliverable", "could not send message", "delivery problem",
	"mail system error", "message delivery has failed", "returned to sender", "rejected:", "unzustellbar",
	"nicht zustellbar", "delivery report", "delivery has failed", "mail could not be delivered",
	"message not delivered", "delivery error", "notice of delivery", "delivery final", "bounce", "failed delivery",
	"error sending", "warning: could not", "delayed mail", "delivery delay", "message delayed",
	"mail failure", "permanent failure", "error delivering", "delivery notice", "mensagem não entregue",
	"no se puede entregar", "non recapitabile", "unable to deliver", "returning message to sender",
	"returning to sender", "mail failed", // Smail 3: "mail failed, returning to sender"
	"mail status report", "not delivered", "nondelivery", "non-delivery", "system administrator",
	"email undeliverable", "message could not be delivered", "returned message", "failed mail",
	"zustellungsfehler", // German Domino's "DELIVERY FAILURE"
	"配信", "エラー", "不達", "unknown user", "user unknown",
	"не доставлено", "недоставленное", // Russian: "(письмо) не доставлено", "недоставленное сообщение"
}

// bounceSender reports whether a From field names mail software or a
// postmaster.
func bounceSender(from string) bool {
	lf := lower(from)
	for _, p := range []string{"mailer-daemon", "postmaster", "post_master", "mail delivery", "mailer_daemon", "mail-daemon",
		"maildaemon", "mailerdaemon", "mmdf", "mail administrator", "internet mail delivery", "notes mail router",
		"bounce", "delivery subsystem", "delivery system", "nobody@", "root@"} {
		if strings.Contains(lf, p) {
			return true
		}
	}
	return false
}

// bounceBody are lower-case phrases of bounce prose.
var bounceBody = []string{
	"could not be delivered", "couldn't be delivered", "was not delivered", "delivery has failed",
	"undeliverable", "permanent error", "permanent fatal", "the following address", "following recipient",
	"delivery to the following", "user unknown", "unknown user", "no such user", "mailbox unavailable",
	"this is the qmail-send program", "this is the mail system", "mail delivery software",
	"could not deliver", "unable to deliver", "delivery failed", "message delivery failed",
	"returned mail", "not be delivered", "transcript of session", "smtp error", "was undeliverable",
	"rejected your message", "address rejected", "recipient address rejected", "has been delayed",
	"delivery status notification", "failed to deliver", "retry timeout exceeded", "host unknown",
	"mailbox is full", "quota", "could not reach", "did not reach", "not reachable",
	"not a member of this mailing list", "are not member", "duplicated message-id",
	"failed addresses follow", "unknown host", // Smail 3 and the providers that copied its layout
	"wurde nicht zugestellt", "nicht zugestellt werden", "nicht erreicht werden", // German Domino, Exchange
	"не может быть доставлено", "не было доставлено", // Russian
}

// looksLikeBounceBody reports whether lower-cased report text holds a
// phrase of bounce prose.
func looksLikeBounceBody(lower string) bool {
	for _, p := range bounceBody {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}
