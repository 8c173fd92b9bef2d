package classify

// Bounce detection without a DSN: header and prose evidence that a mail
// comes from mail software and reports a failure.

import "strings"

// strongBounce reports header evidence that a mail is a bounce: a
// delivery report content type, X-Failed-Recipients, a mail-system
// sender or a bounce subject.
func (c *classifier) strongBounce() bool {
	h := c.m.Header
	ct := strings.ToLower(h.get("Content-Type"))
	if strings.Contains(ct, "delivery-status") || h.has("X-Failed-Recipients") {
		return true
	}
	subj := strings.ToLower(decodeWords(h.get("Subject")))
	bounceSubject := false
	for _, s := range bounceSubjects {
		if strings.Contains(subj, s) {
			bounceSubject = true
			break
		}
	}
	if bounceSubject && (c.machineSent() || forwardedBounce(subj, c.report)) {
		return true
	}
	return bounceSender(h.get("From")) && looksLikeBounceBody(c.lowerReport())
}

// forwardedBounce reports a bounce that a person forwarded: a forward's
// subject and the mail system's sender quoted in the text.
func forwardedBounce(subj, report string) bool {
	if !strings.HasPrefix(subj, "fwd:") && !strings.HasPrefix(subj, "fw:") {
		return false
	}
	lr := strings.ToLower(report)
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
	as := strings.ToLower(h.get("Auto-Submitted"))
	if as != "" && as != "no" {
		return true
	}
	// a mailing list manager's notice (fml, Mailman, ezmlm...)
	if h.has("X-MLServer") {
		return true
	}
	local := localPart(firstAddr(h.get("From")))
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
	s := strings.ToLower(subject)
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
	"mail status report", "not delivered", "nondelivery", "non-delivery", "system administrator",
	"email undeliverable", "message could not be delivered", "returned message", "failed mail",
	"配信", "エラー", "不達", "unknown user", "user unknown",
}

// bounceSender reports whether a From field names mail software or a
// postmaster.
func bounceSender(from string) bool {
	lf := strings.ToLower(from)
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
