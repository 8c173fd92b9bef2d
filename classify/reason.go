package classify

import (
	"strings"
)

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

// maxReasonText bounds the diagnostic text that the phrase rules read, so
// that the work per recipient is bounded on hostile input. Real diagnostics
// name their reason within the first few hundred bytes.
const maxReasonText = 4096

// reasonFor picks the reason for one failed or delayed recipient. It returns "" when nothing
// matched, and names the rule that decided (e.g. "text:userunknown", "status:5.1.1").
//
// The order of precedence, first answer wins:
//
//  1. a specific phrase of the diagnostic text (reasonPhrases), except that
//     phrases blaming the recipient yield to a specific status that says
//     otherwise, and phrases only valid at some SMTP commands are skipped at
//     the others;
//  2. a specific RFC 3463 status (x.1.1, x.2.2, x.3.4, x.7.25, ...);
//  3. a vague phrase of the text (reasonVague);
//  4. the SMTP reply code or the failed command (521 notaccept, 525
//     suspend, STARTTLS failedstarttls, HELO blocked, 50x syntaxerror);
//  5. a generic status (x.7.x securityerror, x.6.x contenterror, ...);
//  6. a delayed recipient without a better answer: expired.
func reasonFor(in reasonInput) (Reason, string) {
	text := normalizeReasonText(in.Diagnostic)
	status := statusCode(in.Status)
	cmd := strings.ToUpper(strings.TrimSpace(in.Command))
	if len(cmd) > 4 {
		cmd = cmd[:4] // "RCPT TO", "MAIL FROM"
	}
	specific, specificOK := specificStatus[statusDetail(status)]

	if r, ok := matchPhrases(text, cmd, reasonPhrases); ok {
		if r == ReasonUserUnknown {
			r = unknownRecipient(cmd, status, specific)
		}
		if !specificOK || specific == r || !yieldsToStatus(r) {
			return r, "text:" + string(r)
		}
	}
	if specificOK {
		return specific, "status:" + status
	}
	if r, ok := matchPhrases(text, cmd, reasonVague); ok {
		return r, "text:" + string(r)
	}
	switch in.ReplyCode {
	case "521", "556":
		// RFC 7504: 521 and 556 say the host or domain takes no mail at all.
		return ReasonNotAccept, "code:" + in.ReplyCode
	case "525":
		// RFC 4954 §6: 525 user account disabled.
		return ReasonSuspend, "code:" + in.ReplyCode
	case "523", "524", "538":
		return ReasonFailedSTARTTLS, "code:" + in.ReplyCode
	}
	switch cmd {
	case "STAR":
		return ReasonFailedSTARTTLS, "command:STARTTLS"
	case "HELO", "EHLO":
		return ReasonBlocked, "command:" + cmd
	}
	if r, ok := genericStatus(status); ok {
		return r, "status:" + status
	}
	if c := in.ReplyCode; len(c) == 3 && (c[0] == '4' || c[0] == '5') && c[1] == '0' && c[2] >= '1' && c[2] <= '7' {
		// RFC 5321 §4.2.3: 500-504 and their transient twins are protocol
		// syntax errors.
		return ReasonSyntaxError, "code:" + c
	}
	if strings.EqualFold(in.Action, string(ActionDelayed)) {
		return ReasonExpired, "action:delayed"
	}
	return "", ""
}

// unknownRecipient decides what a text saying "no such user" means. At RCPT
// it is an unknown recipient; once the message was sent (DATA, or no
// command known) the same words are what content and per-user filters
// answer, so it is "filtered" unless the status names the mailbox as bad
// (x.1.1). A status of x.2.0 or x.2.1 (mailbox disabled) likewise makes it
// a filter, except at RCPT.
func unknownRecipient(cmd, status string, specific Reason) Reason {
	switch {
	case cmd == "RCPT":
		return ReasonUserUnknown
	case specific == ReasonUserUnknown:
		return ReasonUserUnknown
	case cmd == "DATA":
		return ReasonFiltered
	}
	switch statusDetail(status) {
	case "2.0", "2.1", "2.4", "1.4":
		return ReasonFiltered
	}
	if cmd == "" {
		return unknownRecipientDefault
	}
	return ReasonUserUnknown
}

// unknownRecipientDefault is the reason of a "no such user" text when
// neither the command nor the status tells when it was said.
const unknownRecipientDefault = ReasonFiltered

// yieldsToStatus reports whether a phrase naming text should give way to a
// specific status naming status. Phrases about the recipient's address are
// often loose ("mailbox unavailable" on a full mailbox); phrases about the
// sender, the content or the size are not.
func yieldsToStatus(text Reason) bool {
	switch text {
	case ReasonUserUnknown, ReasonHostUnknown, ReasonFiltered, ReasonExpired,
		ReasonNetworkError, ReasonSystemError, ReasonNotAccept, ReasonRejected:
		return true
	}
	return false
}

// normalizeReasonText lower-cases text and folds every run of white space
// into one space.
func normalizeReasonText(s string) string {
	if len(s) > maxReasonText {
		s = s[:maxReasonText]
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch r {
		case ' ', '\t', '\r', '\n', '\v', '\f':
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		} else if r >= 0x80 {
			r = []rune(strings.ToLower(string(r)))[0]
		}
		b.WriteRune(r)
	}
	return b.String()
}

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
	"1.10": ReasonNotAccept,     // RFC 7505: recipient address has null MX
	"2.2":  ReasonMailboxFull,   // mailbox full
	"2.3":  ReasonEmailTooLarge, // message length exceeds administrative limit
	"3.1":  ReasonSystemFull,    // mail system full
	"3.4":  ReasonEmailTooLarge, // message too big for system
	"4.7":  ReasonExpired,       // delivery time expired
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
	case "4.1":
		return ReasonExpired, true // no answer from host
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

// phraseRule is one way a diagnostic text names a reason.
type phraseRule struct {
	reason Reason
	// parts are lower-case substrings that must occur in this order.
	parts []string
	// notAt lists SMTP commands (first four letters) at which the phrase
	// means something else, e.g. "user unknown" after MAIL FROM is the
	// sender's address.
	notAt string
}

// matchPhrases returns the reason of the first rule whose parts all occur,
// in order, in text. Each part is searched once from where the previous
// one ended, so a rule costs one pass over text.
func matchPhrases(text, cmd string, rules []phraseRule) (Reason, bool) {
	if text == "" {
		return "", false
	}
	for i := range rules {
		r := &rules[i]
		if cmd != "" && r.notAt != "" && strings.Contains(r.notAt, cmd) {
			continue
		}
		rest, ok := text, true
		for _, p := range r.parts {
			j := strings.Index(rest, p)
			if j < 0 {
				ok = false
				break
			}
			rest = rest[j+len(p):]
		}
		if ok {
			return r.reason, true
		}
	}
	return "", false
}

// phrases builds the rules of one reason: each phrase is a lower-case
// substring, or several joined by "*" that must occur in order.
func phrases(r Reason, notAt string, list ...string) []phraseRule {
	out := make([]phraseRule, 0, len(list))
	for _, p := range list {
		out = append(out, phraseRule{reason: r, parts: strings.Split(p, "*"), notAt: notAt})
	}
	return out
}

// Commands before the message is sent: a content rule cannot fire there.
const beforeData = "CONN HELO EHLO STAR AUTH MAIL RCPT"

// reasonPhrases are the specific phrases, in priority order: a reason
// higher in the list wins when a text names two. Sender-side reasons come
// before the recipient's own, so that "blocked using a DNSBL ... user
// unknown" never blames the recipient.
var reasonPhrases = concatRules(
	phrases(ReasonMailboxFull, "",
		"mailbox full", "mailbox is full", "mailbox*is full", "mailbox*exceeded*limit", "mailbox size limit",
		"mailbox would exceed", "mailbox exceeds allowed size", "mailfolder is full", "full mailbox",
		"over quota", "over*quota", "quota exceeded", "quota*exceeded", "exceeded*quota", "exceeds*quota",
		"disk quota", "mailbox quota", "maildir*quota", "account is*quota", "quota violation",
		"insufficient disk space", "not sufficient disk space", "not enough*space", "no space left on device",
		"exceeded storage allocation", "user's space has been used up", "too much mail data",
		"too many messages on the server", "boite du destinataire pleine", "mailbox has exceeded",
		"recipient's mailbox is full", "out of storage", "postfach voll", "casella piena",
		"has reached its limit", "storage limit"),
	phrases(ReasonEmailTooLarge, "",
		"message too big", "message too large", "message is too large", "message file too big",
		"message size exceeds", "message length exceeds", "max message size", "maximum message size",
		"exceeded maximum inbound message size", "exceeded the maximum incoming message size",
		"size limit", "message header size exceeds", "line limit exceeded", "message is larger than",
		"exceeds the size limit", "exceeds size limit", "taille limite du message", "mail size too large",
		"email is too large", "size exceeds", "too big for"),
	phrases(ReasonSuspend, "",
		"is currently suspended", "has been suspended", "mailbox currently suspended", "user suspended",
		"account suspended", "account has been disabled", "account is disabled", "account disabled",
		"mailbox disabled", "mailbox is disabled", "this mailbox is disabled", "mailbox is frozen",
		"temporary locked", "account is locked", "account has been locked", "inactive account", "account is inactive",
		"invalid/inactive user", "is a deactivated mailbox", "user is terminated", "user or domain is disabled",
		"temporarily inactive", "recipient suspend the service", "archived recipient",
		"boite du destinataire archivee", "is disabled", "is inactive",
		"has been disabled or discontinued", "this address no longer accepts mail",
		"mailbox unavailable or access denied"),
	phrases(ReasonHasMoved, "",
		" has been replaced by ", "mailbox has moved", "address has moved", "has moved to"),
	phrases(ReasonNoRelaying, "CONN HELO EHLO",
		"relay access denied", "relaying denied", "relay denied", "relay not permitted", "relaying not allowed",
		"relaying mail to ", "unable to relay", "no relaying", "not allowed to relay", "not permitted to relay",
		"as a relay", "insecure mail relay", "not an open relay", "not a gateway",
		"this system is not configured to relay", "we don't handle mail for", "not local host",
		"that domain isn't in my list of allowed rcpthost", "specified domain is not allowed",
		"requires authentication when attempting to send to a non-local"),
	phrases(ReasonAuthFailure, "",
		"dmarc policy", "dmarc verification", "dmarc check", "dmarc reject", "fails dmarc", "failed dmarc",
		"spf check: fail", "spf fail", "spf validation", "spf record", "spf settings", "spf) fail",
		"sender policy framework", "bad spf records", "//spf.pobox.com", "spf) domain authentication",
		"dkim signature", "dkim check", "dkim validation", "failed dkim", "dkim fail",
		"authentication requirements defined for the sender", "required authentication level",
		"not pass authentication checks", "5322.from address doesn't meet", "unauthenticated email",
		"is not allowed to send mail.*_401", "is not allowed to send from <*spf record",
		"did not pass authentication"),
	phrases(ReasonRequirePTR, "",
		"ptr record", "ptr-record", "ptr resource record", "reverse dns", "reverse lookup", "rdns",
		"ip name lookup failed", "cannot find your hostname", "cannot resolve your address",
		"unresolvable relay host name", "mismatches client ip", "reverse dns lookup for host",
		"dns lookup failure:*try again later", "unverifyable sending ip", "unverifiable sending ip",
		"forward dns entry does not point to the sending ip", "no reverse"),
	phrases(ReasonBadReputation, "",
		"poor email reputation", "poor reputation", "bad reputation", "reputation problem",
		"due to ip reputation", "very low reputation", "low reputation", "sender reputation",
		"ip reputation", "domain reputation"),
	phrases(ReasonBlocked, "",
		"blocked using", "blacklisted by", "spamhaus", "spamcop", "dnsbl", "rbl", "barracudacentral",
		"abuseat.org", "sorbs", "client host rejected", "sender ip address rejected", "bad sender ip",
		"banned sending ip", "dynamic ip", "dynamic/zombied", "open proxy", "your ip", "your network",
		"not currently accepting mail from your ip", "bad ip profile", "listed as abusive"),
	phrases(ReasonVirusDetected, "",
		"virus detected", "virus found", "infected with a virus", "contains a virus",
		"potentially executable attachment", "used by recent viruses", "malicious_url detected",
		"prohibited virus", "malware detected"),
	phrases(ReasonSpamDetected, "",
		"spam", "unsolicited", "bulk mail", "bulk email", "bulk.advertising", "blacklisted url",
		"uribl", "content filter rejection", "mail content denied", "message content rejected",
		"rejecting mail content", "rejecting banned content", "unacceptable content",
		"recurrent pattern detection", "message filtered", "probable junk", "junk mail",
		"mail score (*over ", "this message scored * points", "reject, id=", "greylisted*please try again in",
		"has been temporarily blocked by our filter"),
	phrases(ReasonRateLimited, "",
		"rate limit", "rate-limit", "ratelimit", "rate that prevents additional messages", "too many connections",
		"too many concurrent", "too many sessions", "too many smtp sessions", "too many recipients",
		"too many messages", "too many errors from your ip", "throttl", "please try again slower",
		"max emails per hour", "trop de connexions", "connection limit", "sending too fast",
		"exceeded the rate", "too many mails", "numerous attempts to deliver this message"),
	phrases(ReasonPolicyViolation, "",
		"policy violation", "violates our policy", "denied by policy", "policy reasons", "local policy",
		"organization policy", "organizational settings", "security policies", "closed mailing list",
		"members-only list", "not subscribed to this group", "illegal attachment",
		"we do not accept messages containing", "not accepting mail with ", "mass mailer",
		"message given low priority", "messages with multiple addresses", "protocol violation",
		"content presents a potential", "header error", "header are not accepted",
		"exceeded the*allowable number of posts"),
	phrases(ReasonUserUnknown, "CONN HELO EHLO MAIL",
		"user unknown", "unknown user", "unknown recipient", "recipient unknown", "unknown mailbox",
		"mailbox unknown", "address unknown", "unknown address", "unknown local part", "unknown local-part",
		"unknown e-mail address", "unknown email address", "no such user", "no such mailbox", "no such recipient",
		"no such person", "no such address", "no such account", "no mailbox", "no mail box", "no account by that name",
		"user does not exist", "user doesn't exist", "user not exist", "user not found", "user not known",
		"user*does not exist", "user*was not found", "user (*) unknown", "user missing home directory",
		"mailbox does not exist", "mailbox*does not exist", "mailbox not found", "mailbox not present",
		"mailbox invalid", "invalid mailbox", "mailbox is inactive", "mailbox unavailable", "mailbox is unavailable",
		"mailbox unavaiable", "not a valid mailbox", "recipient does not exist", "recipient not found",
		"recipient not exist", "recipient*was not found", "recipient is not local", "recipient not ok",
		"recipient is not accepted", "recipient refuses to accept your mail",
		"address does not exist", "address not present in directory", "address invalid", "invalid address",
		"invalid recipient", "not a valid recipient", "not a valid user", "not a known user", "is not a known user",
		"bad recipient", "bad destination", "bad address", "bad*recipient", "recipient address rejected",
		"email account that you tried to reach does not exist", "email address could not be found",
		"no longer valid", "not an active address", "isn't in my list of allowed rcpthosts",
		"badrcptto", "validrcptto", "badrecipientto", "non-existent user", "nonexistent user",
		"non existent user", "does not exist", "not found in directory", "in name directory",
		"resolver.adr.recipientnotfound", "recipientnotfound", "recipient address rejected: access denied",
		"there is no one at this address", "not our customer", "unrouteable address",
		"vdeliver: invalid or unknown virtual user", "can't accept user", "account not found",
		"utilisateur inconnu", "nessun utente", "no existe", "adresse d au moins un destinataire invalide",
		"destinataire inconnu", "unbekannt", "nicht gefunden", "this spectator does not exist",
		"your envelope recipient has been denied", "no valid recipients", "not email addresses",
		"destination addresses were unknown", "destination server rejected recipients",
		"the following recipients was undeliverable"),
	phrases(ReasonFiltered, "",
		"refused due to recipient preferences", "recipient preferences", "user refuses to receive",
		"user reject", "recipient id refuse to receive", "is only accepting mail from specific",
		"you have been blocked by the recipient", "blocked by the recipient", "has restricted sms e-mail",
		"is not accepting any mail", "message rejected due to user rules", "account is protected by",
		"not found recipient account", "bounced address"),
	phrases(ReasonNotCompliantRFC, "",
		"not rfc 5322 compliant", "rfc 5322", "rfc5322", "rfcmessagenoncompliant", "duplicate header",
		" multiple * header", "not compliant with rfc", "rfc 2822", "rfc2822", "non-compliant"),
	phrases(ReasonContentError, "",
		"improper use of 8-bit data", "invalid mime headers", "improperly-formatted binary content",
		"unnecessary base64 encoding", "mime complexity", "header size exceeds maximum permitted",
		"headers too large", "too many received: headers", "recipient list, exceeds policy limit",
		"content error", "message content"),
	phrases(ReasonRejected, "RCPT",
		"sender address rejected", "sender rejected", "sender was rejected", "sender email address rejected",
		"sender verify failed", "sender verification", "invalid sender", "bogus mail from", "null sender",
		"empty envelope sender", "sender domain is empty", "sender not pre-approved", "sender is in my black list",
		"sender address has been blacklisted", "your email address has been blacklisted",
		"domain of sender address", "unroutable sender address", "mail from not owned by user",
		"returned mail not accepted here", "no third-party dsns", "batv", "backscatter",
		"fully qualified email address required", "not a registered gateway user", "emetteur invalide",
		"not on the recipient's list of senders", "not allowed to post to this mailing list",
		"does not accept mail from", "administrative prohibition", "delivery not authorized",
		"you are sending to/from an address that has been blacklisted", "sender is spammer",
		"unsigned dsn", "envelope blocked", "spam reporting address", "access denied (sender blacklisted)",
		"address rejected", "sender denied"),
	phrases(ReasonHostUnknown, "",
		"host unknown", "unknown host", "host or domain name not found", "no such domain", "domain does not exist",
		"domain not found", "domain name not found", "domain is not reachable", "domain must exist",
		"unknown domain", "name or service not known", "unroutable address",
		"mail domain mentioned in email address is unknown", "the account or domain may not exist",
		"553 * does not exist", "host not found", "no mx record", "nxdomain", "domain doesn't exist"),
	phrases(ReasonBlocked, "",
		"blacklisted", "blocklist", "block list", "black list", "blacklist", "spews",
		"blocked - see", "refused - see", "blocked by", "was blocked", "is blocked", "ip blocked",
		"your server", "your remotehost", "invalid ip for sending mail", "access denied*ip", "helo command rejected",
		"go away", "you are not allowed to connect", "no access from mail server", "host network not allowed",
		"please use the smtp server of your isp", "confirm this mail server", "not accepting connections",
		"connection refused by", "connection dropped", "connection was dropped by remote host",
		"connection reset by peer", "service refused, please try later",
		"temporarily deferred due to unexpected volume or user complaints", "user complaints",
		"part of their network is on our block list", "not allowed to send mail from",
		"rejected because the sending mta", "smtp error from remote mail server after initial connection",
		"service not available, closing transmission channel", "server access forbidden",
		"you are sending spam", "access denied", "rejected due to",
		"your access ip", "has been rejected", "is not allowed to send mail", "blocked"),
	phrases(ReasonSystemError, "",
		"system error", "internal error", "server error", "local error", "configuration error", "config error",
		"misconfigured", "temporary local problem", "interrupted system call", "queue file write error",
		"can't create user output file", "it encountered an error while being processed",
		"aliasing/forwarding loop", "loops back to myself", "mail loop", "loop was found",
		"timeout waiting for input", "could not load drd", "no mdb", "service currently unavailable",
		"transaction failed ", "unable to connect *daemon", "routing loop", "mail forwarding loop",
		"forwarding loop", "too many hops", "hop count exceeded", "message looping"),
	phrases(ReasonNetworkError, "",
		"host is unreachable", "host unreachable", "no route to host", "network is unreachable",
		"host name lookup failure", "host not found, try again", "name server reply", "dns error",
		"dns records for the destination computer could not be found", "unable to resolve route",
		"unrouteable mail domain", "could not connect and send the mail", "dns failure", "dns lookup failure",
		"connection refused", "lookup of*failed"),
	phrases(ReasonSystemFull, "",
		"mail system full", "exceeded storage allocation", "system full", "insufficient system storage"),
	phrases(ReasonNotAccept, "",
		"does not accept mail", "null mx", "nullmx", "mail receiving disabled", "no route for current request",
		"no mx record found for domain=", "name server: .: host not found",
		"smtp protocol returned a permanent error", "doesn't receive email", "does not receive email",
		"not accepting mail", "accepts no mail"),
	phrases(ReasonExpired, "",
		"delivery expired", "delivery time expired", "message expired", "expired after", "message timed out",
		"connection timed out", "timed out", "queue too long", "in the queue too long", "giving up on",
		"gave up", "given up", "have been failing for a long time", "retry time not reached",
		"unable to deliver message after multiple retries", "could not be delivered for*days",
		"could not be delivered for*hours", "for more than", "allowed queue period", "it has not been collected after",
		"server did not respond", "could not find a gateway for", "failed to deliver to domain ",
		"message will be deleted from queue", "retry timeout exceeded", "too old",
		"delivery attempts will continue", "has been delayed", "not yet been delivered"),
	phrases(ReasonFailedSTARTTLS, "",
		"starttls is required", "starttls required", "tls required", "requires tls", "requiretls",
		"must issue a starttls", "tls negotiation failed", "starttls failed", "tls handshake"),
	phrases(ReasonSecurityError, "",
		"authentication failure", "authentication failed", "authentication required", "authentication credentials invalid",
		"authentication turned on in your email client", "unauthenticated senders not allowed",
		"you are not authorized to send mail", "not authorized to perform ses", "account not subscribed to ses",
		"verification failure", "executable files are not allowed", "is a dead domain",
		"authentification invalide", "authentification requise", "security policy", "encryption required",
		"certificate"),
	phrases(ReasonSuppressed, "",
		"suppression list", "suppressed", "on the account-level suppression"),
	phrases(ReasonMailerError, "",
		"mailer error", "mailer-daemon error", "command failed: ", "command died with status", "command output:",
		"procmail", "maildrop", "pipe to |", " || exit ", "x-unix;", "unknown mailer error", "exit status"),
)

// reasonVague are phrases that hint at a reason without naming it; they
// decide only when no specific phrase and no specific status did.
var reasonVague = concatRules(
	phrases(ReasonUserUnknown, "CONN HELO EHLO MAIL",
		"requested action not taken: mailbox", "recipient rejected", "rejected recipient",
		"undeliverable address", "invalid rcpt", "550 5.1.1", "#5.1.1", "5.1.1"),
	phrases(ReasonRejected, "",
		"rejected", "denied", "refused", "not allowed"),
)

func concatRules(groups ...[]phraseRule) []phraseRule {
	var out []phraseRule
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
