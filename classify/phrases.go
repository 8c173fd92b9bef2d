package classify

// The phrase data: which words of a diagnostic name which reason. Order
// matters: the first rule that matches wins (see reasonPhrases).

import "strings"

// phraseRule is one way a diagnostic text names a reason.
type phraseRule struct {
	reason Reason
	// parts are lower-case substrings that must occur in this order.
	parts []string
	// notAt lists SMTP commands (first four letters) at which the phrase
	// means something else, e.g. "relay access denied" answered to HELO.
	notAt string
	// definite phrases mean their reason whatever the command and status
	// (apart from MAIL FROM, which makes any refusal the sender's).
	definite bool
}

// reasonPhrases are the specific phrases, in priority order: a reason
// higher in the list wins when a text names two. Sender-side reasons come
// before the recipient's own, so that "blocked using a DNSBL ... user
// unknown" never blames the recipient.
var reasonPhrases = newPhraseTable(concatRules(
	phrases(ReasonMailboxFull, "",
		"mailbox full", "mailbox is full", "mailbox*is full", "mailbox*exceeded*limit", "mailbox size limit",
		"mailbox would exceed", "mailbox exceeds allowed size", "mailfolder is full", "full mailbox",
		"over quota", "over*quota", "quota exceeded", "quota*exceeded", "exceeded*quota", "exceeds*quota",
		"disk quota", "mailbox quota", "maildir*quota", "account is*quota", "quota violation",
		"not enough*space", "not sufficient disk space", "no space left on device",
		"exceeded storage allocation", "user's space has been used up", "too much mail data",
		"too many messages on the server", "boite du destinataire pleine", "mailbox has exceeded",
		"out of storage", "postfach voll", "casella piena", "has reached its limit", "storage limit",
		"exceeding receiving limits", "mail file is full", // Domino: "recipient's mail file is full"
		"postfach*ist voll", "ящик*переполнен"), // German, Russian: "(почтовый) ящик (получателя) переполнен"
	// A phrase that contains a shorter phrase of a later group comes
	// before that group, or the shorter one would always win (TestPhrases).
	phrases(ReasonContentError, "", "header size exceeds maximum permitted"), // not "size exceeds"
	phrases(ReasonEmailTooLarge, "",
		"message too big", "message too large", "message is too large", "message file too big",
		"message size exceeds", "message length exceeds", "max message size", "maximum message size",
		"exceeded maximum inbound message size", "exceeded the maximum incoming message size",
		"size limit", "message header size exceeds", "line limit exceeded", "message is larger than",
		"taille limite du message", "mail size too large", "email is too large", "size exceeds",
		"too big for"),
	phrases(ReasonMailerError, "",
		"mailer error", "command failed: ", "command died with status", "command output:",
		"procmail:", "bin/procmail", "bin/maildrop", "pipe to |", " || exit ", "unknown mailer error"),
	phrases(ReasonSuspend, "",
		"is currently suspended", "has been suspended", "mailbox currently suspended", "user suspended",
		"account suspended", "account has been disabled", "account is disabled", "account disabled",
		"mailbox disabled", "mailbox is disabled", "mailbox is frozen", "temporary locked", "account is locked",
		"account has been locked", "account is blocked", "inactive account", "account is inactive",
		"inactive email address", "invalid/inactive user", "is a deactivated mailbox", "user is terminated",
		"user or domain is disabled", "temporarily inactive", "recipient suspend the service",
		"archived recipient", "boite du destinataire archivee", "email account that you tried to reach is disabled",
		"email account that you tried to reach is inactive", "has been disabled or discontinued",
		"this address no longer accepts mail", "mailbox unavailable or access denied"),
	phrases(ReasonHasMoved, "",
		" has been replaced by ", "mailbox has moved", "address has moved"),
	phrases(ReasonNoRelaying, "CONN HELO EHLO",
		"relay access denied", "relaying denied", "relay denied", "relay not permitted", "relaying not allowed",
		"relaying mail to ", "unable to relay", "no relaying", "not allowed to relay", "not permitted to relay",
		"as a relay", "not a relay for", "is not a relay", "we do not relay", "insecure mail relay", "not an open relay", "not a gateway",
		"this system is not configured to relay", "we don't handle mail for", "not local host",
		"that domain isn't in my list of allowed rcpthost", "specified domain is not allowed",
		"requires authentication when attempting to send to a non-local", "email address is not verified"),
	phrases(ReasonRejected, "", "does not accept mail from"), // the sender, not "does not accept mail"
	phrases(ReasonNotAccept, "",
		"null mx", "nullmx", "no mx found", "no mx record found for domain=", "indicated no smtp service",
		"couldn't find a mail exchanger", "doesn't receive email", "does not receive email",
		"does not accept mail", "mail receiving disabled", "no route for current request",
		"name server: .: host not found", "smtp protocol returned a permanent error", "accepts no mail"),
	// Postfix's "Host or domain name not found. Name service error for
	// name=... type=MX: Malformed or unexpected name server reply": the
	// domain has no usable DNS, which the malformed reply alone is not
	phrases(ReasonHostUnknown, "", "host or domain name not found", "malformed dns"),
	phrases(ReasonNetworkError, "",
		"host not found, try again", "dns error", "dns query failed", "network error", "host is unreachable",
		"host unreachable", "no route to host", "network is unreachable", "host name lookup failure",
		"malformed name server reply", "malformed or unexpected name server reply", "unable to resolve route",
		"unrouteable mail domain", "dns records for the destination computer could not be found",
		"could not connect and send the mail", "establish an smtp connection", "hop count exceeded",
		"routing loop", "too many hops", "mail forwarding loop", "forwarding loop count", "message looping",
		"lost connection"),
	phrases(ReasonExpired, "",
		"message expired", "envelope expired", "delivery expired", "delivery time expired"),
	phrases(ReasonFailedSTARTTLS, "",
		"does not support tls", "tls required but not supported", "starttls is required", "must issue a starttls",
		"tls is required"),
	phrases(ReasonAuthFailure, "",
		"dmarc policy", "dmarc verification", "dmarc check", "dmarc reject", "fails dmarc", "failed dmarc",
		"spf check: fail", "spf fail", "spf validation", "its spf record", "it's spf record", "spf settings", "spf) fail",
		"sender policy framework", "bad spf records", "//spf.pobox.com", "spf) domain authentication",
		"spf or dkim", "spf: ", "spf check failed", "spf permerror", "spf softfail", "spf hardfail",
		"failed spf", "spf authentication", "dkim signature", "dkim check", "dkim validation", "failed dkim", "dkim fail",
		"authentication requirements defined for the sender", "required authentication level",
		"authentication checks failed", "not pass authentication", "fails to pass authentication", "fails to pass spf", "spf record with a",
		"does not have authentication information", "sender is unauthenticated", "unauthenticated email",
		"5322.from address doesn't meet", "is not allowed to send mail.*_401",
		"is not allowed to send from <*spf record"),
	phrases(ReasonRequirePTR, "",
		"ptr record", "ptr-record", "reverse hostname", "ptr resource record", "reverse dns", "rdns", "ip name lookup failed",
		"cannot find your hostname", "cannot resolve your address", "unresolvable relay host name",
		"mismatches client ip", "reverse lookup", "dns lookup failure:*try again later",
		"unverifyable sending ip", "unverifiable sending ip", "forward dns entry does not point to the sending ip"),
	phrases(ReasonBadReputation, "",
		"poor email reputation", "poor reputation", "bad reputation", "reputation problem",
		"low reputation", "sender reputation", "ip reputation", "domain reputation",
		"temporarily deferred due to unexpected volume or user complaints"),
	phrases(ReasonSpamDetected, "",
		"surbl", "uribl", "blacklisted url"), // URI blocklists judge the content, not the client
	phrases(ReasonBlocked, "",
		"blocked using", "blacklisted by", "spamhaus", "spamcop", "dnsbl", "rbl", "barracudacentral",
		"abuseat.org", "sorbs.net", "client host rejected", "client host blocked", "adresse ip source bloquee",
		"sender ip address rejected", "bad sender ip", "banned sending ip", "dynamic ip", "dynamic/zombied",
		"open proxy", "not currently accepting mail from your ip", "bad ip profile",
		"listed as abusive", "my name was rejected", "helo command rejected", "sc-001", "sc-002", "sc-003",
		"sc-004", "unfortunately, messages from", "traffic not accepted from this ip",
		"not authorized to send email directly to our servers", "banned sender"),
	phrases(ReasonRateLimited, "",
		"rate limit", "rate-limit", "ratelimit", "rate that prevents additional messages", "frequency limited",
		"too many connections", "too many concurrent", "too many sessions", "too many smtp sessions",
		"too many recipients", "too many *recipients", "too many messages", "too many errors from your ip", "throttl",
		"please try again slower", "max emails per hour", "trop de connexions", "connection limit",
		"sending too fast", "exceeded the rate", "numerous attempts to deliver this message"),
	phrases(ReasonNotCompliantRFC, "",
		"not rfc 5322 compliant", "rfc 5322", "rfc5322", "rfcmessagenoncompliant", "duplicate header",
		" multiple * header", "multiple addresses in from", "not compliant with rfc", "rfc 2822", "rfc2822"),
	phrases(ReasonVirusDetected, "",
		"virus detected", "virus found", "infected with a virus", "contains a virus",
		"potentially executable attachment", "used by recent viruses", "malicious_url detected",
		"prohibited virus", "malware detected"),
	// the client or the sender, not the content ("spam")
	phrases(ReasonBlocked, "", "you are sending spam"),
	phrases(ReasonRejected, "", "sender is spammer", "spam reporting address"),
	phrases(ReasonSpamDetected, "",
		"spam", "unsolicited", "bulk mail", "bulk email", "bulk.advertising",
		"content filter rejection", "mail content denied", "message content rejected",
		"rejecting mail content", "rejecting banned content", "unacceptable content",
		"recurrent pattern detection", "probable junk", "junk mail",
		"mail score (*over ", "this message scored * points", "reject, id=", "greylisted", "greylisting",
		"has been temporarily blocked by our filter", "mail rejete. mail rejected.*506"),
	phrases(ReasonPolicyViolation, "",
		"local policy violation", "email policy violation", "anti-spoofing policy",
		"has a policy that prohibited the mail", "content restrictions", "does not allow external forwarding", "violates our policy", "denied by policy", "policy reasons", "local policy",
		"organization policy", "organizational settings", "security policies", "closed mailing list",
		"members-only list", "not subscribed to this group", "illegal attachment",
		"we do not accept messages containing", "not accepting mail with ", "mass mailer",
		"message given low priority", "protocol violation", "content presents a potential", "header error",
		"exceeded the*allowable number of posts",
		"delivery to this address is restricted", "resolver.rst.notauthorized"), // Exchange: the recipient's delivery restrictions
	phrases(ReasonFiltered, "",
		"550 : user unknown", "recipients was rejected by a remote mail server", "message filtered",
		"refused due to recipient preferences",
		"they are not accepting mail from", "recipient is not accepting mail from"), // AOL: the member's mail controls
	phrases(ReasonRejected, "",
		"sender address rejected", "sender rejected", "sender was rejected", "sender email address rejected",
		"sender verify failed", "sender verification", "invalid sender", "bogus mail from", "null sender",
		"empty envelope sender", "sender domain is empty", "sender not pre-approved", "sender is in my black list",
		"sender address has been blacklisted", "your email address has been blacklisted",
		"domain of sender address", "unroutable sender address", "mail from not owned by user",
		"returned mail not accepted here", "no third-party dsns", "batv", "backscatter",
		"fully qualified email address required", "not a registered gateway user", "emetteur invalide",
		"not on the recipient's list of senders", "not allowed to post to this mailing list",
		"not a member of this mailing list", "permission to post messages to the group",
		"administrative prohibition", "delivery not authorized, message refused",
		"domain is invalid. please provide a valid from",
		"sending to/from an address that has been blacklisted", "purported responsible address",
		"unsigned dsn", "envelope blocked", "access denied (sender blacklisted)",
		"recipient addresses rejected : access denied", "send mail as", "sending this from a different address",
		"sender denied"),
	phrases(ReasonHostUnknown, "",
		"host unknown", "unknown host", "no such domain", "domain does not exist",
		"domain not found", "domain is not reachable", "domain must exist", "unknown domain",
		"name or service not known", "unroutable address", "unrouteable address",
		"mail domain mentioned in email address is unknown", "the account or domain may not exist",
		"dns lookup failure: host",
		"553 * does not exist", "host not found", "domain doesn't exist",
		"no route found to domain",                // Domino's router
		"mx records point to non-existent hosts"), // Exim: "all relevant MX records point to non-existent hosts"
	definitely(phrases(ReasonUserUnknown, "",
		"recipient name is not recognized", "invalid final delivery userid", "address couldn't be found",
		"550 <*>: user unknown", "550: <*>: user unknown", "unknown user: ", "delivery error: dd this user doesn't have a",
		"and other recipients in the same domain", "not listed in domino directory", "not listed in public name",
		"please check if address is correct", "no valid recipients", "recipient address rejected: access denied",
		"recipient email address is possibly incorrect",
		"wasn't found at the destination domain", "wasn’t found at the destination domain",
		"recipientnotfound", "recipient not found", "invalid recipient", "mailbox unavailable",
		"#5.1.0 address rejected")),
	phrases(ReasonUserUnknown, "",
		"user unknown", "unknown user", "unknown recipient", "recipient unknown", "unknown mailbox",
		"mailbox unknown", "address unknown", "unknown address", "unknown local part", "unknown local-part",
		"unknown e-mail address", "unknown email address", "no such user", "no such mailbox", "no such recipient",
		"no such person", "no such address", "no such account", "no mailbox", "no mail box", "no account by that name",
		"user does not exist", "user doesn't exist", "user not exist", "user not found", "user not known",
		"user*does not exist", "user*was not found", "user (*) unknown", "user missing home directory",
		"doesn't have a * account",
		"mailbox does not exist", "mailbox*does not exist", "mailbox not found", "mailbox not present",
		"mailbox invalid", "invalid mailbox", "mailbox is inactive", "mailbox is unavailable",
		"mailbox unavaiable", "not a valid mailbox", "recipient does not exist",
		"recipient not exist", "recipient*was not found", "recipient is not local", "recipient not ok",
		"recipient is not accepted", "recipient refuses to accept your mail", "recipient address rejected: unknown",
		"recipient address rejected: invalid", "recipient address rejected: user",
		"address does not exist", "address not present in directory", "address invalid", "invalid address",
		"not a valid recipient", "not a valid user", "not a known user",
		"bad recipient", "bad destination", "bad address", "bad*recipient",
		"email account that you tried to reach does not exist", "email address could not be found",
		"no longer valid",
		"not an active address", "isn't in my list of allowed rcpthosts",
		"badrcptto", "validrcptto", "badrecipientto", "non-existent user", "nonexistent user",
		"non existent user", "does not exist", "not found in directory", "in name directory",
		"there is no one at this address",
		"vdeliver: invalid or unknown virtual user", "can't accept user", "account not found",
		"utilisateur inconnu", "nessun utente", "no existe", "destinataire invalide",
		"destinataire inconnu", "this spectator does not exist", "your envelope recipient has been denied",
		"not email addresses", "destination addresses were unknown",
		"destination server rejected recipients", "the following recipients was undeliverable",
		"empfänger*unbekannt", "benutzer*unbekannt", "unbekannter empfänger", "unbekannter benutzer", // German
		"пользователь не найден", "нет такого пользователя", "такого пользователя не существует"), // Russian
	phrases(ReasonFiltered, "",
		"recipient preferences", "user refuses to receive",
		"user reject", "recipient id refuse to receive", "is only accepting mail from specific",
		"you have been blocked by the recipient", "blocked by the recipient", "has restricted sms e-mail",
		"is not accepting any mail", "message rejected due to user rules", "account is protected by",
		"not found recipient account", "bounced address"),
	phrases(ReasonContentError, "",
		"improper use of 8-bit data", "invalid mime headers", "improperly-formatted binary content",
		"unnecessary base64 encoding", "mime complexity",
		"headers too large", "too many received: headers", "recipient list, exceeds policy limit",
		"content error", "media error"),
	phrases(ReasonBlocked, "",
		"blacklisted", "blocklist", "block list", "black list", "blacklist", "spews", "blocked - see",
		"refused - see", "blocked by", "was blocked", "is blocked", "ip blocked", "your ip", "your network", "your server",
		"your remotehost", "invalid ip for sending mail", "go away", "you are not allowed to connect",
		"no access from mail server", "host network not allowed", "please use the smtp server of your isp",
		"confirm this mail server", "not accepting connections", "connection refused by", "connection dropped",
		"connection was dropped by remote host", "connection reset by peer", "service refused, please try later",
		"user complaints", "part of their network is on our block list", "not allowed to send mail from",
		"rejected because the sending mta", "smtp error from remote mail server after initial connection",
		"service not available, closing transmission channel", "server access forbidden",
		"your access ip", "is not allowed to send mail", "550 blocked", "blocked"),
	phrases(ReasonSystemError, "",
		"system error", "internal error", "server error", "local error", "configuration error", "config error",
		"misconfigured", "temporary local problem", "interrupted system call", "queue file write error",
		"can't create user output file", "it encountered an error while being processed",
		"aliasing/forwarding loop", "loops back to myself", "mail loop", "loop was found",
		"timeout waiting for input", "could not load drd", "no mdb", "service currently unavailable",
		"transaction failed", "unable to connect *daemon", "duplicated message-id", "unable to contact ldap"),
	phrases(ReasonNetworkError, "",
		"dns failure", "lookup of*failed", "connection refused"),
	phrases(ReasonSystemFull, "",
		"mail system full", "system full", "insufficient disk space", "insufficient system storage"),
	phrases(ReasonFailedSTARTTLS, "",
		"starttls required", "tls required", "requires tls", "requiretls",
		"tls negotiation failed", "starttls failed", "tls handshake"),
	phrases(ReasonSecurityError, "",
		"authentication failure", "authentication failed", "authentication required", "authentication credentials invalid",
		"authentication turned on in your email client", "smtp authentication", "unauthenticated senders not allowed",
		"you are not authorized to send mail", "not authorized to perform ses", "account not subscribed to ses",
		"verification failure", "executable files are not allowed", "is a dead domain",
		"authentification invalide", "authentification requise", "encryption required"),
	phrases(ReasonSuppressed, "",
		"suppression list", "on the account-level suppression"),
	phrases(ReasonSyntaxError, "",
		"malformed address", "syntax error in parameters", "command unrecognized", "syntax error"),
))

// plainUnknown are the words that say without doubt that a recipient's
// address does not exist, unlike the loose ones ("mailbox unavailable",
// "invalid recipient"): they win over a status that says the mailbox moved
// or was disabled (plainWordsWin). Each is also a userunknown phrase of
// reasonPhrases (TestPhrases).
var plainUnknown = []string{
	"user unknown", "unknown user", "unknown recipient", "recipient unknown", "unknown mailbox", "mailbox unknown",
	"no such user", "no such mailbox", "no such recipient", "user does not exist", "user doesn't exist",
	"user not found", "mailbox does not exist", "mailbox not found", "recipient does not exist",
	"address does not exist",
}

// reasonVague are phrases that hint at a reason without naming it; they
// decide only when no specific phrase and no status did.
var reasonVague = newPhraseTable(concatRules(
	phrases(ReasonExpired, "",
		"expired after", "message timed out",
		"connection timed out", "timed out", "queue too long", "giving up on", "gave up", "given up",
		"have been failing for a long time", "retry time not reached", "after multiple retries",
		"could not be delivered for*days", "could not be delivered for*hours", "despite repeated attempts",
		"allowed queue period", "it has not been collected after", "server did not respond",
		"could not find a gateway for", "failed to deliver to domain ", "will be deleted from queue",
		"retry timeout exceeded", "too old", "delivery attempts will continue", "has been delayed",
		"not yet been delivered", "i'm not going to try again", "giving up", "could not deliver for the last",
		"did not accept our requests to connect", "delivery failed * attempts", "was not delivered within",
		"host not reachable"),
	phrases(ReasonUserUnknown, "",
		"requested action not taken: mailbox", "recipient address rejected", "recipient rejected",
		"rejected recipient", "undeliverable address", "invalid rcpt", "#5.1.1", "5.1.1"),
	phrases(ReasonRejected, "",
		"access denied", "address rejected", "rejected", "denied", "refused", "not allowed"),
))

// phrases builds the rules of one reason: each phrase is a lower-case
// substring, or several joined by "*" that must occur in order.
func phrases(r Reason, notAt string, list ...string) []phraseRule {
	out := make([]phraseRule, 0, len(list))
	for _, p := range list {
		out = append(out, phraseRule{reason: r, parts: strings.Split(p, "*"), notAt: notAt})
	}
	return out
}

// definitely marks rules as definite.
func definitely(rules []phraseRule) []phraseRule {
	for i := range rules {
		rules[i].definite = true
	}
	return rules
}

func concatRules(groups ...[]phraseRule) []phraseRule {
	var out []phraseRule
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
