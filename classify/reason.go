package classify

import (
	"strings"
	"unicode"
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
//     prose yields to the RFC 7372 authentication codes, and the SMTP
//     command that was answered (given, or read from the text) changes the
//     meaning of some: any refusal of MAIL FROM is the sender's address;
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
		if !rule.definite {
			ucmd := cmd
			if ucmd == "" && in.Decoder == "postfix" {
				// Postfix names the command of every remote refusal ("in
				// reply to RCPT TO command"); when the decoder could not
				// tie one to this recipient, RCPT is by far the likeliest.
				ucmd = "RCPT"
			}
			r = atCommand(r, ucmd, status, specific)
		} else if cmd == "MAIL" {
			r = ReasonRejected
		}
		if !specificOK || specific == r || specific == rule.reason || !yieldsToStatus(rule.reason, specific) {
			return r, "text:" + string(r)
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

// normalizeReasonText lower-cases text, folds every run of white space into
// one space and drops the "550-5.1.1" prefixes of multi-line SMTP replies,
// which would split phrases.
func normalizeReasonText(s string) string {
	if len(s) > maxReasonText {
		s = s[:maxReasonText]
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		for i < len(s) && spaceLen(s, i) > 0 {
			i += spaceLen(s, i)
		}
		j := i
		for j < len(s) && spaceLen(s, j) == 0 {
			j++
		}
		w := s[i:j]
		i = j
		if w == "" || isReplyContinuation(w) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		for k := 0; k < len(w); k++ {
			c := w[k]
			if c >= 0x80 {
				// Rare: lower-case the rest of the word rune by rune.
				for _, r := range w[k:] {
					b.WriteRune(unicode.ToLower(r))
				}
				break
			}
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// spaceLen returns the length of the white space at s[i]: ASCII space or
// the no-break space (U+00A0) that HTML-made bounces are full of.
func spaceLen(s string, i int) int {
	switch s[i] {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return 1
	case 0xc2:
		if i+1 < len(s) && s[i+1] == 0xa0 {
			return 2
		}
	}
	return 0
}

// isReplyContinuation reports whether w is the "550-" or "550-5.7.1" that
// starts a continued line of a multi-line SMTP reply (RFC 5321 §4.2.1).
func isReplyContinuation(w string) bool {
	if len(w) < 4 || w[3] != '-' {
		return false
	}
	for i := 0; i < 3; i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	for i := 4; i < len(w); i++ {
		if (w[i] < '0' || w[i] > '9') && w[i] != '.' {
			return false
		}
	}
	return true
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

// phraseTable is an ordered list of phrase rules with an Aho-Corasick
// automaton over all their parts, so that one pass over a text finds every
// part it contains, however many rules there are: the work per recipient
// is linear in the text, never in the number of phrases.
type phraseTable struct {
	rules []phraseRule
	first []int32 // pattern id of each rule's first part
	m     phraseMatcher
}

// maxPhrasePatterns bounds the distinct parts of a table, so that the set
// of patterns found in a text fits a bitset on the stack.
const maxPhrasePatterns = 32 * 64

type phraseMatcher struct {
	class  [256]uint8 // byte -> input class; 0 for bytes in no pattern
	nclass int
	next   []int32 // state*nclass+class -> state, a complete automaton
	out    []int32 // pattern ending at a state, or -1
	dict   []int32 // nearest proper suffix state with an output, or -1
}

func newPhraseTable(rules []phraseRule) phraseTable {
	t := phraseTable{rules: rules, first: make([]int32, len(rules))}
	ids := map[string]int32{}
	var pats []string
	for i, r := range rules {
		for j, p := range r.parts {
			id, ok := ids[p]
			if !ok {
				id = int32(len(pats))
				ids[p] = id
				pats = append(pats, p)
			}
			if j == 0 {
				t.first[i] = id
			}
		}
	}
	if len(pats) > maxPhrasePatterns {
		panic("classify: too many reason phrases for the matcher")
	}
	t.m = newPhraseMatcher(pats)
	return t
}

func newPhraseMatcher(pats []string) phraseMatcher {
	var m phraseMatcher
	m.nclass = 1
	for _, p := range pats {
		for i := 0; i < len(p); i++ {
			if m.class[p[i]] == 0 {
				m.class[p[i]] = uint8(m.nclass)
				m.nclass++
			}
		}
	}
	// The trie, with -1 for a missing edge.
	newState := func() int32 {
		for c := 0; c < m.nclass; c++ {
			m.next = append(m.next, -1)
		}
		m.out = append(m.out, -1)
		m.dict = append(m.dict, -1)
		return int32(len(m.out) - 1)
	}
	newState()
	for id, p := range pats {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			e := int(s)*m.nclass + int(m.class[p[i]])
			if m.next[e] < 0 {
				n := newState()
				m.next[e] = n
			}
			s = m.next[e]
		}
		m.out[s] = int32(id)
	}
	// Breadth first: failure links, then complete every missing edge.
	fail := make([]int32, len(m.out))
	queue := make([]int32, 0, len(m.out))
	for c := 0; c < m.nclass; c++ {
		if n := m.next[c]; n > 0 {
			fail[n] = 0
			queue = append(queue, n)
		} else {
			m.next[c] = 0
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := fail[s]
		if m.out[f] >= 0 {
			m.dict[s] = f
		} else {
			m.dict[s] = m.dict[f]
		}
		for c := 0; c < m.nclass; c++ {
			e := int(s)*m.nclass + c
			if n := m.next[e]; n >= 0 {
				fail[n] = m.next[int(f)*m.nclass+c]
				queue = append(queue, n)
			} else {
				m.next[e] = m.next[int(f)*m.nclass+c]
			}
		}
	}
	return m
}

// scan marks in found every pattern that occurs in text.
func (m *phraseMatcher) scan(text string, found *[maxPhrasePatterns / 64]uint64) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = m.next[int(s)*m.nclass+int(m.class[text[i]])]
		o := s
		if m.out[o] < 0 {
			o = m.dict[o]
		}
		for o >= 0 {
			id := m.out[o]
			found[id/64] |= 1 << (id % 64)
			o = m.dict[o]
		}
	}
}

// matchPhrases returns the first rule of t whose parts all occur, in
// order, in text, or nil.
func matchPhrases(text, cmd string, t *phraseTable) *phraseRule {
	if text == "" {
		return nil
	}
	var found [maxPhrasePatterns / 64]uint64
	t.m.scan(text, &found)
	for i := range t.rules {
		id := t.first[i]
		if found[id/64]&(1<<(id%64)) == 0 {
			continue
		}
		r := &t.rules[i]
		if cmd != "" && r.notAt != "" && strings.Contains(r.notAt, cmd) {
			continue
		}
		if len(r.parts) > 1 && !inOrder(text, r.parts) {
			continue
		}
		return r
	}
	return nil
}

// inOrder reports whether parts occur in text one after the other. Each
// part is searched from where the previous one ended: one pass over text.
func inOrder(text string, parts []string) bool {
	for _, p := range parts {
		j := strings.Index(text, p)
		if j < 0 {
			return false
		}
		text = text[j+len(p):]
	}
	return true
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
		"exceeding receiving limits"),
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
		"as a relay", "insecure mail relay", "not an open relay", "not a gateway",
		"this system is not configured to relay", "we don't handle mail for", "not local host",
		"that domain isn't in my list of allowed rcpthost", "specified domain is not allowed",
		"requires authentication when attempting to send to a non-local", "email address is not verified"),
	phrases(ReasonNotAccept, "",
		"null mx", "nullmx", "no mx found", "no mx record found for domain=", "indicated no smtp service",
		"couldn't find a mail exchanger", "doesn't receive email", "does not receive email",
		"does not accept mail", "mail receiving disabled", "no route for current request",
		"name server: .: host not found", "smtp protocol returned a permanent error", "accepts no mail"),
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
	phrases(ReasonSpamDetected, "",
		"spam", "unsolicited", "bulk mail", "bulk email", "bulk.advertising", "blacklisted url",
		"uribl", "content filter rejection", "mail content denied", "message content rejected",
		"rejecting mail content", "rejecting banned content", "unacceptable content",
		"recurrent pattern detection", "probable junk", "junk mail",
		"mail score (*over ", "this message scored * points", "reject, id=", "greylisted*please try again in",
		"has been temporarily blocked by our filter", "mail rejete. mail rejected.*506"),
	phrases(ReasonPolicyViolation, "",
		"local policy violation", "email policy violation", "anti-spoofing policy",
		"has a policy that prohibited the mail", "content restrictions", "does not allow external forwarding", "violates our policy", "denied by policy", "policy reasons", "local policy",
		"organization policy", "organizational settings", "security policies", "closed mailing list",
		"members-only list", "not subscribed to this group", "illegal attachment",
		"we do not accept messages containing", "not accepting mail with ", "mass mailer",
		"message given low priority", "protocol violation", "content presents a potential", "header error",
		"exceeded the*allowable number of posts"),
	phrases(ReasonFiltered, "",
		"550 : user unknown", "recipients was rejected by a remote mail server", "message filtered",
		"refused due to recipient preferences"),
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
		"does not accept mail from", "administrative prohibition", "delivery not authorized, message refused",
		"domain is invalid. please provide a valid from",
		"sending to/from an address that has been blacklisted", "sender is spammer", "purported responsible address",
		"unsigned dsn", "envelope blocked", "spam reporting address", "access denied (sender blacklisted)",
		"recipient addresses rejected : access denied", "send mail as", "sending this from a different address",
		"sender denied"),
	phrases(ReasonHostUnknown, "",
		"host unknown", "unknown host", "host or domain name not found", "no such domain", "domain does not exist",
		"domain not found", "domain is not reachable", "domain must exist", "unknown domain",
		"name or service not known", "unroutable address", "unrouteable address",
		"mail domain mentioned in email address is unknown", "the account or domain may not exist",
		"dns lookup failure: host",
		"553 * does not exist", "host not found", "domain doesn't exist"),
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
		"doesn't have a * account", "invalid final delivery userid", "recipient name is not recognized",
		"mailbox does not exist", "mailbox*does not exist", "mailbox not found", "mailbox not present",
		"mailbox invalid", "invalid mailbox", "mailbox is inactive", "mailbox unavailable", "mailbox is unavailable",
		"mailbox unavaiable", "not a valid mailbox", "recipient does not exist", "recipient not found",
		"recipient not exist", "recipient*was not found", "recipient is not local", "recipient not ok",
		"recipient is not accepted", "recipient refuses to accept your mail", "recipient address rejected: unknown",
		"recipient address rejected: invalid", "recipient address rejected: user", "recipient address rejected: access denied",
		"address does not exist", "address not present in directory", "address invalid", "invalid address",
		"invalid recipient", "not a valid recipient", "not a valid user", "not a known user",
		"bad recipient", "bad destination", "bad address", "bad*recipient", "#5.1.0 address rejected",
		"email account that you tried to reach does not exist", "email address could not be found",
		"wasn't found at the destination domain", "address couldn't be found", "no longer valid",
		"not an active address", "isn't in my list of allowed rcpthosts",
		"badrcptto", "validrcptto", "badrecipientto", "non-existent user", "nonexistent user",
		"non existent user", "does not exist", "not found in directory", "in name directory",
		"recipientnotfound", "there is no one at this address",
		"vdeliver: invalid or unknown virtual user", "can't accept user", "account not found",
		"utilisateur inconnu", "nessun utente", "no existe", "destinataire invalide",
		"destinataire inconnu", "this spectator does not exist", "your envelope recipient has been denied",
		"no valid recipients", "not email addresses", "destination addresses were unknown",
		"destination server rejected recipients", "the following recipients was undeliverable"),
	phrases(ReasonFiltered, "",
		"refused due to recipient preferences", "recipient preferences", "user refuses to receive",
		"user reject", "recipient id refuse to receive", "is only accepting mail from specific",
		"you have been blocked by the recipient", "blocked by the recipient", "has restricted sms e-mail",
		"is not accepting any mail", "message rejected due to user rules", "account is protected by",
		"not found recipient account", "bounced address"),
	phrases(ReasonContentError, "",
		"improper use of 8-bit data", "invalid mime headers", "improperly-formatted binary content",
		"unnecessary base64 encoding", "mime complexity", "header size exceeds maximum permitted",
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
		"you are sending spam", "your access ip", "is not allowed to send mail", "550 blocked", "blocked"),
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
		"starttls is required", "starttls required", "tls required", "requires tls", "requiretls",
		"must issue a starttls", "tls negotiation failed", "starttls failed", "tls handshake"),
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

// reasonVague are phrases that hint at a reason without naming it; they
// decide only when no specific phrase and no status did.
var reasonVague = newPhraseTable(concatRules(
	phrases(ReasonExpired, "",
		"delivery expired", "delivery time expired", "message expired", "expired after", "message timed out",
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

// orangeCode reads the error label that Orange and La Poste (France
// Telecom) append to their replies ("OFR_416", "OFR005_505 [505]",
// "LPN007_426") and returns the reason its code documents, with the code.
// Their wording alone is often the same for different causes ("Service
// refused, please try later").
func orangeCode(text string) (Reason, string) {
	for _, label := range []string{"ofr", "lpn"} {
		i := strings.LastIndex(text, label)
		if i < 0 || (i > 0 && isLetterOrDigit(text[i-1])) {
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

func isLetterOrDigit(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' }

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

// notGoingToTryAgain reports whether text ends as qmail's queue does when
// it gives up ("I'm not going to try again; this message has been in the
// queue too long"). The qmail decoder keeps the cause that precedes it;
// elsewhere the trailer is what the reporting host decided: expired.
func notGoingToTryAgain(text, decoder string) bool {
	return decoder != "qmail" && strings.Contains(text, "not going to try again; this message has been in the queue too long")
}

// textCommand finds the SMTP command a text says was answered, for the
// diagnostics whose command the decoder did not know: the earliest of
// "in reply to RCPT TO command", "after end of data", "[RCPT_TO]", "did not
// like recipient" (qmail) and their kin.
func textCommand(text string) string {
	best, at := "", len(text)
	for _, c := range commandHints {
		if i := strings.Index(text, c.hint); i >= 0 && i < at {
			best, at = c.cmd, i
		}
	}
	return best
}

var commandHints = []struct{ hint, cmd string }{
	{"rcpt to", "RCPT"}, {"rcpt_to", "RCPT"}, {"smtp:rcpt", "RCPT"}, {"after rcpt", "RCPT"},
	{"rcpt command", "RCPT"}, {"does not like recipient", "RCPT"},
	{"end of data", "DATA"}, {"after data", "DATA"}, {"data command", "DATA"}, {"(data)", "DATA"},
	{"sent the message. remote host said", "DATA"},
	{"in reply to mail from", "MAIL"}, {"after mail from", "MAIL"}, {"mail from command", "MAIL"},
}

// isExitStatus reports whether text is only a small decimal number, as the
// X-Unix diagnostics of local delivery programs are (a sysexits.h code
// such as 75 or 255), and no SMTP reply.
func isExitStatus(text string) bool {
	if text == "" || len(text) > 3 {
		return false
	}
	for i := 0; i < len(text); i++ {
		if !isDigit(text[i]) {
			return false
		}
	}
	if len(text) == 3 && (text[0] == '4' || text[0] == '5') {
		return false
	}
	return text < "256" || len(text) < 3
}

// definitely marks rules as definite.
func definitely(rules []phraseRule) []phraseRule {
	for i := range rules {
		rules[i].definite = true
	}
	return rules
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

func concatRules(groups ...[]phraseRule) []phraseRule {
	var out []phraseRule
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
