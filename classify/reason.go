package classify

// The decision order of a recipient's reason: which evidence wins when a
// text, a status and a reply code disagree. The phrases are in phrases.go,
// the codes in status.go and smtp.go, the family quirks in families.go.

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
	// DiagType is the type of the DSN's Diagnostic-Code, lower case:
	// "smtp", "x-unix" (a local delivery program), "x-postfix", or "".
	DiagType string
}

// maxReasonText bounds the diagnostic text that the phrase rules read, so
// that the work per recipient is bounded on hostile input. Real diagnostics
// name their reason within the first few hundred bytes.
const maxReasonText = 4096

// reasonFor picks the reason for one failed or delayed recipient. It returns "" when nothing
// matched, and names the rule that decided (e.g. "text:userunknown", "status:5.1.1").
//
// The vocabulary is the Sisimai bounce parser's; so is, where it is
// consistent, the meaning of ambiguous texts ("user unknown" answered
// after DATA is a content filter, "filtered"). The order of precedence,
// first answer wins:
//
//  1. a diagnostic that is only a program's exit status (X-Unix):
//     mailererror; qmail's give-up trailer outside qmail: expired;
//  2. a specific phrase of the diagnostic text (reasonPhrases, sender-side
//     reasons before the recipient's own). Phrases that blame the
//     recipient's address yield to a specific status that says otherwise,
//     prose yields to the RFC 7372 authentication codes, plain "user
//     unknown" wins over a weaker phrase or status (moved, disabled), and
//     the SMTP command that was answered (given, or read from the text)
//     changes the meaning of some: any refusal of MAIL FROM is the
//     sender's address;
//  3. a specific RFC 3463 status (x.1.1, x.2.2, x.3.4, x.7.25, ...);
//  4. the failed command or the SMTP reply code (STARTTLS failedstarttls,
//     HELO blocked, 521 notaccept, 525 suspend);
//  5. a vague refusal at MAIL FROM (rejected) or at connection (blocked);
//  6. a generic status (x.7.x securityerror, x.6.x contenterror, 4.4.7
//     expired, ...);
//  7. a vague phrase of the text (reasonVague: "gave up", "rejected",
//     "access denied");
//  8. a 50x reply code (syntaxerror), then a delayed recipient: expired.
func reasonFor(in reasonInput) (Reason, string) {
	text := normalizeReasonText(in.Diagnostic)
	status := statusCode(in.Status)
	if d := statusDetail(status); d == "" || d == "0.0" {
		// The text often carries a finer code than the Status field:
		// "Status: 5.0.0" beside "550 5.1.1 <a@b.example>... User unknown".
		if t := textStatus(text); t != "" {
			status = t
		}
	}
	cmd := strings.ToUpper(strings.TrimSpace(in.Command))
	if cmd == "" {
		cmd = textCommand(text)
	}
	if len(cmd) > 4 {
		cmd = cmd[:4] // "RCPT TO", "MAIL FROM", "STARTTLS"
	}
	specific, specificOK := specificStatus[statusDetail(status)]

	localProgram := in.DiagType == "x-unix"
	if localProgram && isExitStatus(text) {
		// "Diagnostic-Code: X-Unix; 75": the exit status of a local
		// delivery program.
		return ReasonMailerError, "diagtype:x-unix"
	}
	if r, code := orangeCode(text); r != "" {
		return r, "code:orange-" + code
	}
	if notGoingToTryAgain(text, in.Decoder) {
		return ReasonExpired, "text:" + string(ReasonExpired)
	}
	if rule := matchPhrases(text, cmd, &reasonPhrases); rule != nil {
		r := rule.reason
		if (cmd == "" || cmd == "RCPT") && plainWordsWin(text, r) {
			// "550 Mailbox disabled: user unknown": the plain words
			// win over the weaker phrase as over a weaker status (below)
			return ReasonUserUnknown, "text:" + string(ReasonUserUnknown)
		}
		if !rule.definite {
			r = atCommand(r, familyCommand(cmd, in.Decoder), status, specific)
		} else if cmd == "MAIL" {
			r = ReasonRejected
		}
		if !specificOK || specific == r || specific == rule.reason || !yieldsToStatus(rule.reason, specific) {
			return r, "text:" + string(r)
		}
		if rule.reason == ReasonUserUnknown && (cmd == "" || cmd == "RCPT") && plainWordsWin(text, specific) {
			// "550 5.1.6 User unknown": the words say plainly what the
			// status only hints at (a moved or disabled mailbox is one
			// that is not there any more).
			return ReasonUserUnknown, "text:" + string(ReasonUserUnknown)
		}
	}
	if specificOK {
		return specific, "status:" + status
	}
	if localProgram {
		// A local delivery program failed and its words named nothing
		// more precise ("X-Unix; temporary failure").
		return ReasonMailerError, "diagtype:x-unix"
	}
	switch cmd {
	case "STAR":
		return ReasonFailedSTARTTLS, "command:STARTTLS"
	case "HELO", "EHLO":
		return ReasonBlocked, "command:" + cmd
	}
	switch in.ReplyCode {
	case "521", "556":
		// RFC 7504: 521 and 556 say the host or domain takes no mail at all.
		return ReasonNotAccept, "code:" + in.ReplyCode
	case "525":
		// RFC 4954 §6: 525 user account disabled.
		return ReasonSuspend, "code:" + in.ReplyCode
	case "523", "524", "538":
		// RFC 4954 §6, RFC 8689: encryption needed or TLS required.
		return ReasonFailedSTARTTLS, "code:" + in.ReplyCode
	}
	vague := matchPhrases(text, cmd, &reasonVague)
	if vague != nil && vague.reason != ReasonExpired {
		// A refusal of MAIL FROM is about the sender, of the connection
		// about the client, whatever the words.
		switch cmd {
		case "MAIL":
			return ReasonRejected, "text:" + string(ReasonRejected)
		case "CONN":
			return ReasonBlocked, "text:" + string(ReasonBlocked)
		}
	}
	if r, ok := genericStatus(status); ok {
		return r, "status:" + status
	}
	if vague != nil {
		r := vague.reason
		if r == ReasonUserUnknown && cmd == "DATA" {
			r = ReasonFiltered
		}
		return r, "text:" + string(r)
	}
	if c := in.ReplyCode; len(c) == 3 && (c[0] == '4' || c[0] == '5') && c[1] == '0' && c[2] >= '1' && c[2] <= '7' {
		// RFC 5321 §4.2.3: 501-507 (and 401-407) answer a command the
		// server could not parse.
		return ReasonSyntaxError, "code:" + c
	}
	if strings.EqualFold(in.Action, string(ActionDelayed)) {
		return ReasonExpired, "action:delayed"
	}
	return "", ""
}

// atCommand adjusts a reason found in the text to the SMTP command that was
// answered: a refusal at MAIL FROM is about the sender's address whatever
// words it uses, and "no such user" means different things at RCPT and
// after DATA.
func atCommand(r Reason, cmd, status string, specific Reason) Reason {
	switch r {
	case ReasonUserUnknown, ReasonHostUnknown, ReasonFiltered:
		if cmd == "MAIL" {
			return ReasonRejected
		}
		if r == ReasonUserUnknown {
			return unknownRecipient(cmd, status, specific)
		}
	}
	return r
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
	if d := statusDetail(status); d == "1.0" && status[0] == '5' {
		return ReasonUserUnknown // other address status: the address, not a filter
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
// sender, the content or the size are not, except that the RFC 7372 codes
// (x.7.20-x.7.26) name the failed check more precisely than any prose.
func yieldsToStatus(text, status Reason) bool {
	if status == ReasonAuthFailure || status == ReasonRequirePTR {
		switch text {
		case ReasonBlocked, ReasonSpamDetected, ReasonPolicyViolation, ReasonSecurityError, ReasonRejected:
			return true
		}
	}
	switch text {
	case ReasonUserUnknown, ReasonHostUnknown, ReasonExpired, ReasonNetworkError, ReasonSystemError, ReasonNotAccept:
		return true
	}
	return false
}

// plainWordsWin reports whether text says plainly that the recipient is
// unknown (plainUnknown) where a status or a phrase names a weaker cue
// (weaker): a mailbox that has moved (x.1.6, x.7.17, x.7.18) or an
// account disabled (x.7.13, "mailbox disabled").
func plainWordsWin(text string, weaker Reason) bool {
	if weaker != ReasonHasMoved && weaker != ReasonSuspend {
		return false
	}
	for _, p := range plainUnknown {
		if strings.Contains(text, p) {
			return true
		}
	}
	return false
}
