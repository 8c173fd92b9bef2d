package classify

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// reasonTests are texts written for these tests in the manner of real
// MTAs and providers; FuzzReasonFor starts from them too.
var reasonTests = []struct {
	name string
	in   reasonInput
	want Reason
	rule string
}{
	// The recipient's own state.
	{"unknown at RCPT", reasonInput{Diagnostic: "550 5.1.1 <bob@b.example>: Recipient address rejected: User unknown in local recipient table", Status: "5.1.1", Command: "RCPT", Action: "failed"}, ReasonUserUnknown, "text:userunknown"},
	{"status names the mailbox", reasonInput{Diagnostic: "550 sorry, nobody called that here", Status: "5.1.1"}, ReasonUserUnknown, "status:5.1.1"},
	{"finer status in the text", reasonInput{Diagnostic: "550 5.1.1 <x@y.example>... no luck", Status: "5.0.0"}, ReasonUserUnknown, "status:5.1.1"},
	{"no such user after DATA is a filter", reasonInput{Diagnostic: "550 No such user here", Command: "DATA"}, ReasonFiltered, "text:filtered"},
	{"user unknown with a disabled-mailbox status", reasonInput{Diagnostic: "550 5.2.1 <u@v.example>... User Unknown", Status: "5.2.1"}, ReasonFiltered, "text:filtered"},
	{"definite phrase without a command", reasonInput{Diagnostic: "The recipient name is not recognized"}, ReasonUserUnknown, "text:userunknown"},
	{"unknown user at MAIL is the sender", reasonInput{Diagnostic: "553 5.1.8 sender unknown user", Command: "MAIL FROM"}, ReasonRejected, "text:rejected"},
	{"mailbox full", reasonInput{Diagnostic: "452 4.2.2 The mailbox of carol is over quota", Status: "4.2.2", Action: "delayed"}, ReasonMailboxFull, "text:mailboxfull"},
	{"full by status alone", reasonInput{Diagnostic: "552 see you later", Status: "5.2.2"}, ReasonMailboxFull, "status:5.2.2"},
	{"full beats a loose user text", reasonInput{Diagnostic: "550 mailbox unavailable", Status: "5.2.2"}, ReasonMailboxFull, "status:5.2.2"},
	{"suspended", reasonInput{Diagnostic: "550 5.2.1 This account has been suspended by the provider", Status: "5.2.1"}, ReasonSuspend, "text:suspend"},
	{"suspend by reply code", reasonInput{Diagnostic: "525 locked out", ReplyCode: "525"}, ReasonSuspend, "code:525"},
	{"moved", reasonInput{Diagnostic: "550 5.1.6 dave@old.example has been replaced by dave@new.example", Status: "5.1.6"}, ReasonHasMoved, "text:hasmoved"},
	{"moved by status", reasonInput{Diagnostic: "550 gone", Status: "5.1.6"}, ReasonHasMoved, "status:5.1.6"},
	{"unknown domain", reasonInput{Diagnostic: "Host or domain name not found. Name service error for name=nowhere.example type=A: Host not found"}, ReasonHostUnknown, "text:hostunknown"},
	{"host unknown by status", reasonInput{Diagnostic: "550 nope", Status: "5.1.2"}, ReasonHostUnknown, "status:5.1.2"},
	{"null MX", reasonInput{Diagnostic: "The domain nomail.example does not accept mail (nullMX)"}, ReasonNotAccept, "text:notaccept"},
	{"521 takes no mail", reasonInput{Diagnostic: "521 closed", ReplyCode: "521"}, ReasonNotAccept, "code:521"},
	{"too large", reasonInput{Diagnostic: "552 5.3.4 Message size exceeds fixed limit", Status: "5.3.4"}, ReasonEmailTooLarge, "text:emailtoolarge"},
	{"too large by status", reasonInput{Diagnostic: "552 no", Status: "5.3.4"}, ReasonEmailTooLarge, "status:5.3.4"},

	// The sender's side: never the recipient's fault.
	{"DNSBL", reasonInput{Diagnostic: "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org", Status: "5.7.1", Command: "RCPT"}, ReasonBlocked, "text:blocked"},
	{"DNSBL beats an unknown-user status", reasonInput{Diagnostic: "550 5.1.1 your IP 192.0.2.9 is listed on a DNSBL, user unknown", Status: "5.1.1"}, ReasonBlocked, "text:blocked"},
	{"SPF", reasonInput{Diagnostic: "550 5.7.23 SPF fail: 192.0.2.9 is not a permitted sender", Status: "5.7.23"}, ReasonAuthFailure, "text:authfailure"},
	{"DMARC", reasonInput{Diagnostic: "550 5.7.1 Unauthenticated mail rejected by DMARC policy of sender.example", Status: "5.7.1"}, ReasonAuthFailure, "text:authfailure"},
	{"DKIM by status", reasonInput{Diagnostic: "550 nope", Status: "5.7.20"}, ReasonAuthFailure, "status:5.7.20"},
	{"PTR", reasonInput{Diagnostic: "550 5.7.25 The sending IP has no PTR record", Status: "5.7.25"}, ReasonRequirePTR, "text:requireptr"},
	{"reverse DNS", reasonInput{Diagnostic: "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.9]", Status: "4.7.1"}, ReasonRequirePTR, "text:requireptr"},
	{"URI blocklist is content", reasonInput{Diagnostic: "554 5.7.1 Message rejected: a link is listed on multi.surbl.org", Status: "5.7.1", Command: "DATA"}, ReasonSpamDetected, "text:spamdetected"},
	{"spam", reasonInput{Diagnostic: "554 5.7.1 Your message looks like spam and was refused", Status: "5.7.1", Command: "DATA"}, ReasonSpamDetected, "text:spamdetected"},
	{"rate", reasonInput{Diagnostic: "421 4.7.0 Too many connections from your host, slow down", Status: "4.7.0"}, ReasonRateLimited, "text:ratelimited"},
	{"rate limit for unsolicited mail", reasonInput{Diagnostic: "421 4.7.0 Unusual rate of unsolicited mail from your IP address: mail from it has been temporarily rate limited", Status: "4.7.0"}, ReasonRateLimited, "text:ratelimited"},
	{"rate limited", reasonInput{Diagnostic: "450 4.2.1 The recipient is being rate limited, try later", Status: "4.2.1"}, ReasonRateLimited, "text:ratelimited"},
	{"reputation", reasonInput{Diagnostic: "550 5.7.1 Rejected because of the poor reputation of the sending IP", Status: "5.7.1"}, ReasonBadReputation, "text:badreputation"},
	{"relay", reasonInput{Diagnostic: "554 5.7.1 <e@far.example>: Relay access denied", Status: "5.7.1", Command: "RCPT"}, ReasonNoRelaying, "text:norelaying"},
	{"content restrictions", reasonInput{Diagnostic: "550 5.7.1 Message refused because of content restrictions", Status: "5.7.1", Command: "DATA"}, ReasonPolicyViolation, "text:policyviolation"},
	{"policy", reasonInput{Diagnostic: "550 5.7.1 Message not accepted for policy reasons", Status: "5.7.1"}, ReasonPolicyViolation, "text:policyviolation"},
	{"STARTTLS required", reasonInput{Diagnostic: "530 5.7.0 Must issue a STARTTLS command first", Status: "5.7.0"}, ReasonFailedSTARTTLS, "text:failedstarttls"},
	{"STARTTLS command failed", reasonInput{Diagnostic: "454 4.7.0 TLS not available", Command: "STARTTLS"}, ReasonFailedSTARTTLS, "command:STARTTLS"},
	{"HELO refused", reasonInput{Diagnostic: "550 go away", Command: "EHLO"}, ReasonBlocked, "text:blocked"},
	{"HELO refused without words", reasonInput{Diagnostic: "550 no", Command: "HELO"}, ReasonBlocked, "command:HELO"},
	{"sender refused at MAIL", reasonInput{Diagnostic: "550 5.7.1 Access denied", Status: "5.7.1", Command: "MAIL"}, ReasonRejected, "text:rejected"},
	{"sender domain", reasonInput{Diagnostic: "553 5.1.8 Domain of sender address nobody@nowhere.example does not exist", Status: "5.1.8"}, ReasonRejected, "text:rejected"},
	{"sender phrase beats a recipient status", reasonInput{Diagnostic: "550 5.1.1 Sender address rejected: not owned by user", Status: "5.1.1", Command: "RCPT"}, ReasonRejected, "text:rejected"},
	{"sender status only", reasonInput{Diagnostic: "553 no", Status: "5.1.7"}, ReasonRejected, "status:5.1.7"},
	{"auth required", reasonInput{Diagnostic: "530 5.7.0 Authentication required", Status: "5.7.0"}, ReasonSecurityError, "text:securityerror"},
	{"generic 5.7.1", reasonInput{Diagnostic: "550 5.7.1 Delivery not permitted here", Status: "5.7.1"}, ReasonSecurityError, "status:5.7.1"},

	{"TLS offered not", reasonInput{Diagnostic: "TLS is required, but was not offered by host mx.b.example[192.0.2.7]", Action: "delayed"}, ReasonFailedSTARTTLS, "text:failedstarttls"},
	{"SPF beats the blocked words", reasonInput{Diagnostic: "550 5.7.1 SPF: 192.0.2.9 is not allowed to send mail from sender.example", Status: "5.7.1"}, ReasonAuthFailure, "text:authfailure"},
	{"reverse hostname", reasonInput{Diagnostic: "450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.9]", Status: "4.7.1", Command: "RCPT"}, ReasonRequirePTR, "text:requireptr"},
	{"sender domain at RCPT", reasonInput{Diagnostic: "450 4.1.8 <s@nowhere.example>: Sender address rejected: Domain not found", Status: "4.1.8", Command: "RCPT"}, ReasonRejected, "text:rejected"},

	{"Orange code", reasonInput{Diagnostic: "421 4.2.0 Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR005_505 [505]", Status: "4.2.0", Command: "DATA"}, ReasonSystemError, "code:orange-505"},
	{"La Poste code", reasonInput{Diagnostic: "550 5.5.0 Le compte du destinataire est bloque. The recipient account is blocked. LPN007_426", Status: "5.5.0", Command: "RCPT"}, ReasonSuspend, "code:orange-426"},
	{"no Orange label inside a word", reasonInput{Diagnostic: "550 5.1.1 user unknown at golpn123_416x", Status: "5.1.1"}, ReasonUserUnknown, "text:userunknown"},

	// The content and the systems in between.
	{"virus", reasonInput{Diagnostic: "554 5.7.1 Virus detected: Eicar-Test-Signature", Status: "5.7.1", Command: "DATA"}, ReasonVirusDetected, "text:virusdetected"},
	{"RFC 5322", reasonInput{Diagnostic: "550 5.7.1 This message is not RFC 5322 compliant, there are multiple Date headers", Status: "5.7.1"}, ReasonNotCompliantRFC, "text:notcompliantrfc"},
	{"content by status", reasonInput{Diagnostic: "554 no", Status: "5.6.0"}, ReasonContentError, "status:5.6.0"},
	{"loop", reasonInput{Diagnostic: "554 5.4.6 Too many hops (26 max)", Status: "5.4.6"}, ReasonNetworkError, "text:networkerror"},
	{"DNS failure", reasonInput{Diagnostic: "Host not found, try again", Action: "delayed"}, ReasonNetworkError, "text:networkerror"},
	{"system", reasonInput{Diagnostic: "451 4.3.0 Temporary local problem - please try later", Status: "4.3.0"}, ReasonSystemError, "text:systemerror"},
	{"disk", reasonInput{Diagnostic: "452 4.3.1 Insufficient system storage", Status: "4.3.1"}, ReasonSystemFull, "text:systemfull"},
	{"local mailer", reasonInput{Diagnostic: "procmail: couldn't create /var/mail/x", DiagType: "x-unix"}, ReasonMailerError, "text:mailererror"},
	{"local program, vague words", reasonInput{Diagnostic: "temporary failure", Status: "4.3.0", DiagType: "x-unix"}, ReasonMailerError, "diagtype:x-unix"},
	{"local program, specific words", reasonInput{Diagnostic: "Quota exceeded message delivery failed to /var/mail/x", Status: "4.3.0", DiagType: "x-unix"}, ReasonMailboxFull, "text:mailboxfull"},
	{"syntax", reasonInput{Diagnostic: "501 what?", ReplyCode: "501"}, ReasonSyntaxError, "code:501"},

	// Delays.
	{"gave up", reasonInput{Diagnostic: "Delivery to the following recipient has been delayed and given up after 5 days", Action: "failed"}, ReasonExpired, "text:expired"},
	{"expired by status", reasonInput{Diagnostic: "", Status: "4.4.7", Action: "failed"}, ReasonExpired, "status:4.4.7"},
	{"delayed mailbox full keeps its reason", reasonInput{Diagnostic: "452 4.2.2 mailbox full", Status: "4.4.7", Action: "delayed"}, ReasonMailboxFull, "text:mailboxfull"},
	{"delayed without words", reasonInput{Diagnostic: "still trying", Status: "4.0.0", Action: "delayed"}, ReasonExpired, "action:delayed"},

	// What the decoders leave to the text.
	{"command from the text", reasonInput{Diagnostic: "host mx.b.example said: 550 5.2.1 <c@b.example>... User unknown (in reply to RCPT TO command)", Status: "5.2.1"}, ReasonUserUnknown, "text:userunknown"},
	{"postfix names its commands", reasonInput{Diagnostic: "550 5.2.1 <c@b.example>... User unknown", Status: "5.2.1", Decoder: "postfix"}, ReasonUserUnknown, "text:userunknown"},
	{"domain filter signature", reasonInput{Diagnostic: "550 : User unknown", Command: "RCPT"}, ReasonFiltered, "text:filtered"},
	{"X-Unix exit status", reasonInput{Diagnostic: "75", Status: "5.0.0", DiagType: "x-unix"}, ReasonMailerError, "diagtype:x-unix"},
	{"a bare number of unknown type is no exit status", reasonInput{Diagnostic: "75", Status: "5.0.0", DiagType: "smtp"}, "", ""},
	{"a bare reply code is no exit status", reasonInput{Diagnostic: "550", Status: "5.0.0"}, "", ""},
	{"queue trailer elsewhere", reasonInput{Diagnostic: "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) I'm not going to try again; this message has been in the queue too long.", Decoder: "text"}, ReasonExpired, "text:expired"},
	{"queue trailer in qmail keeps the cause", reasonInput{Diagnostic: "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) I'm not going to try again; this message has been in the queue too long.", Decoder: "qmail"}, ReasonNetworkError, "text:networkerror"},
	{"DKIM status beats a spam word", reasonInput{Diagnostic: "550 5.7.26 Unauthenticated mail is treated as spam here", Status: "5.7.26"}, ReasonAuthFailure, "status:5.7.26"},

	// A longer phrase wins over the shorter one it contains (TestPhrases).
	{"header too large is content", reasonInput{Diagnostic: "552 Header size exceeds maximum permitted"}, ReasonContentError, "text:contenterror"},
	{"no mail from the sender", reasonInput{Diagnostic: "550 5.7.1 b.example does not accept mail from sender.example", Status: "5.7.1"}, ReasonRejected, "text:rejected"},
	{"sending spam is the client", reasonInput{Diagnostic: "554 5.7.1 You are sending spam from 192.0.2.9", Status: "5.7.1"}, ReasonBlocked, "text:blocked"},
	{"a spammer sender", reasonInput{Diagnostic: "550 Sender is spammer", ReplyCode: "550"}, ReasonRejected, "text:rejected"},

	// Plain words win over a weaker cue.
	{"plain unknown beats a moved status", reasonInput{Diagnostic: "550 5.1.6 <ada@b.example>... User unknown", Status: "5.1.6"}, ReasonUserUnknown, "text:userunknown"},
	{"plain unknown beats a disabled phrase", reasonInput{Diagnostic: "550 Mailbox disabled: user unknown", Command: "RCPT"}, ReasonUserUnknown, "text:userunknown"},
	{"plain unknown beats a suspended phrase", reasonInput{Diagnostic: "account has been suspended, user unknown"}, ReasonUserUnknown, "text:userunknown"},
	{"a disabled phrase alone", reasonInput{Diagnostic: "550 Mailbox disabled for this recipient", Command: "RCPT"}, ReasonSuspend, "text:suspend"},
	{"plain unknown beats a disabled status", reasonInput{Diagnostic: "550 5.7.13 No such user here", Status: "5.7.13", Command: "RCPT"}, ReasonUserUnknown, "text:userunknown"},
	{"loose words yield to a moved status", reasonInput{Diagnostic: "550 5.1.6 Requested action not taken: mailbox unavailable", Status: "5.1.6"}, ReasonHasMoved, "status:5.1.6"},
	{"plain unknown after DATA keeps the status", reasonInput{Diagnostic: "550 5.7.13 User unknown", Status: "5.7.13", Command: "DATA"}, ReasonSuspend, "status:5.7.13"},

	// Nothing to go on.
	{"empty", reasonInput{}, "", ""},
	{"vague", reasonInput{Diagnostic: "something went wrong", Status: "5.0.0", Action: "failed"}, "", ""},
}

func TestReasonFor(t *testing.T) {
	for _, tt := range reasonTests {
		t.Run(tt.name, func(t *testing.T) {
			got, rule := reasonFor(tt.in)
			if got != tt.want || rule != tt.rule {
				t.Errorf("reasonFor(%+v) = %q, %q; want %q, %q", tt.in, got, rule, tt.want, tt.rule)
			}
		})
	}
}

// TestReasonForSenderSide checks that texts refusing the sender's IP,
// domain, content or authentication never yield a reason that blames the
// recipient, whatever the status beside them says.
func TestReasonForSenderSide(t *testing.T) {
	texts := []string{
		"554 5.7.1 Service unavailable; client host [192.0.2.1] blocked using b.barracudacentral.org",
		"550 5.7.1 SPF fail - not authorized",
		"550 5.7.26 Message rejected: DMARC policy of example.com is reject",
		"550 5.7.1 Message rejected as spam by content filter",
		"421 4.7.0 You have been rate limited, please retry later",
		"550 5.7.25 Please set up a PTR record for your mail server",
		"554 5.7.1 Relaying denied",
		"554 Your IP address is listed in our blocklist",
	}
	for _, text := range texts {
		for _, status := range []string{"", "5.1.1", "5.2.1", "5.0.0", "4.4.7"} {
			for _, cmd := range []string{"", "RCPT", "DATA"} {
				in := reasonInput{Diagnostic: text, Status: status, Command: cmd, Action: "failed"}
				got, rule := reasonFor(in)
				if !got.SenderSide() {
					t.Errorf("reasonFor(%q, %q, %q) = %q (%s), want a sender-side reason", text, status, cmd, got, rule)
				}
			}
		}
	}
}

func TestStatusCode(t *testing.T) {
	for in, want := range map[string]string{
		"5.1.1": "5.1.1", " 4.7.650 (x)": "4.7.650", "5.0.0 (permanent failure)": "5.0.0",
		"2.0.0": "2.0.0", "550": "", "5.1": "", "9.1.1": "", "": "", "5.1.1.": "5.1.1", "4.4.7;": "4.4.7",
	} {
		if got := statusCode(in); got != want {
			t.Errorf("statusCode(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"550 5.1.1 <a@b>": "5.1.1", "550-5.7.1 x 550 5.7.1 y": "5.7.1", "5.0.0 then 5.2.2": "5.2.2",
		"version 15.1.1 only": "", "ip 10.4.5.1": "", "no code": "", "#5.1.0 address rejected": "5.1.0",
	} {
		if got := textStatus(in); got != want {
			t.Errorf("textStatus(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextCommand(t *testing.T) {
	for in, want := range map[string]string{
		"550 user unknown (in reply to rcpt to command)":                   "RCPT",
		"smtp error from remote mail server after end of data: 550 no":     "DATA",
		"after mail from:<a@b.example>: 553 sender rejected, then rcpt to": "MAIL",
		"192.0.2.1 does not like recipient. remote host said: 550 x":       "RCPT",
		"550 no command here": "",
	} {
		if got := textCommand(in); got != want {
			t.Errorf("textCommand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeReasonText(t *testing.T) {
	in := "550-5.7.1 The user   YOU are\r\n trying 550-5.7.1 to\u00a0reach\tis ÜBER quota"
	want := "the user you are trying to reach is über quota"
	if got := normalizeReasonText(in); got != want {
		t.Errorf("normalizeReasonText(%q) = %q, want %q", in, got, want)
	}
}

// TestReasonPhrasesWellFormed guards the table: lower-case, no empty part,
// every reason in the vocabulary.
func TestReasonPhrasesWellFormed(t *testing.T) {
	for _, table := range []*phraseTable{&reasonPhrases, &reasonVague} {
		for _, r := range table.rules {
			if !knownReason(r.reason) {
				t.Errorf("rule %q: unknown reason %q", r.parts, r.reason)
			}
			for _, p := range r.parts {
				if p == "" || p != strings.ToLower(p) {
					t.Errorf("rule %q of %s: part %q is empty or not lower-case", r.parts, r.reason, p)
				}
			}
		}
	}
}

func knownReason(r Reason) bool {
	switch r {
	case ReasonUserUnknown, ReasonHostUnknown, ReasonHasMoved, ReasonNotAccept, ReasonMailboxFull,
		ReasonSuspend, ReasonExpired, ReasonFiltered, ReasonRejected, ReasonBlocked, ReasonSpamDetected,
		ReasonPolicyViolation, ReasonAuthFailure, ReasonBadReputation, ReasonRequirePTR, ReasonRateLimited,
		ReasonEmailTooLarge, ReasonNetworkError, ReasonSystemError, ReasonSystemFull, ReasonMailerError,
		ReasonContentError, ReasonNotCompliantRFC, ReasonNoRelaying, ReasonSecurityError, ReasonVirusDetected,
		ReasonSyntaxError, ReasonFailedSTARTTLS, ReasonOnHold, ReasonSuppressed, ReasonUndefined:
		return true
	}
	return false
}

func FuzzReasonFor(f *testing.F) {
	f.Add("550 5.1.1 <a@b.example>: Recipient address rejected: User unknown", "5.1.1", "550", "RCPT", "failed", "postfix")
	f.Add("blocked using zen.spamhaus.org", "5.7.1", "554", "", "failed", "rfc3464")
	f.Add("mailbox*full", "4.2.2", "452", "DATA", "delayed", "exim")
	f.Add("550-5.7.1 x 550-", "5.0.0 (x)", "", "MAIL FROM", "", "")
	f.Add("5.", "4.", "5", "STARTTLS", "delayed", "qmail")
	for _, tt := range reasonTests {
		in := tt.in
		f.Add(in.Diagnostic, in.Status, in.ReplyCode, in.Command, in.Action, in.Decoder)
	}
	f.Fuzz(func(t *testing.T, diag, status, code, cmd, action, decoder string) {
		in := reasonInput{Diagnostic: diag, Status: status, ReplyCode: code, Command: cmd, Action: action, Decoder: decoder}
		text := normalizeReasonText(diag)
		for _, table := range []*phraseTable{&reasonPhrases, &reasonVague} {
			if got, want := matchPhrases(text, "", table), naiveMatch(text, table.rules); got != want {
				t.Fatalf("matchPhrases(%q) = %v, naive scan finds %v", text, got, want)
			}
		}
		r, rule := reasonFor(in)
		if r == "" {
			if rule != "" {
				t.Fatalf("reasonFor(%+v) = \"\" with rule %q", in, rule)
			}
			return
		}
		if !knownReason(r) {
			t.Fatalf("reasonFor(%+v) = %q, not in the vocabulary", in, r)
		}
		if rule == "" {
			t.Fatalf("reasonFor(%+v) = %q without a rule", in, r)
		}
	})
}

// naiveMatch is matchPhrases without the automaton: every rule in turn.
func naiveMatch(text string, rules []phraseRule) *phraseRule {
	if text == "" {
		return nil
	}
	for i := range rules {
		if inOrder(text, rules[i].parts) {
			return &rules[i]
		}
	}
	return nil
}

func TestMatchPhrasesAgreesWithNaive(t *testing.T) {
	var texts []string
	for _, table := range []*phraseTable{&reasonPhrases, &reasonVague} {
		for _, r := range table.rules {
			texts = append(texts, "x "+strings.Join(r.parts, " y ")+" z", strings.Join(r.parts, ""))
			texts = append(texts, r.parts[0][:len(r.parts[0])/2+1])
		}
	}
	for _, text := range texts {
		for _, table := range []*phraseTable{&reasonPhrases, &reasonVague} {
			if got, want := matchPhrases(text, "", table), naiveMatch(text, table.rules); got != want {
				t.Errorf("matchPhrases(%q) = %v, naive scan finds %v", text, got, want)
			}
		}
	}
}

func BenchmarkReasonFor(b *testing.B) {
	ins := []reasonInput{
		{Diagnostic: "550 5.1.1 <bob@b.example>: Recipient address rejected: User unknown in local recipient table", Status: "5.1.1", Command: "RCPT"},
		{Diagnostic: "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org", Status: "5.7.1"},
		{Diagnostic: strings.Repeat("nothing to see here ", 200), Status: "5.0.0"},
	}
	for _, in := range ins {
		b.Run(fmt.Sprintf("%dB", len(in.Diagnostic)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				reasonFor(in)
			}
		})
	}
}

// reasonCorpusFloor is the agreement of reasonFor with the reference
// parser's reasons on the shared corpus, measured with the crude extraction
// below (no classifier). It is a ratchet: raise it when the rules improve.
const reasonCorpusFloor = 0.865

// corpusCase is one line of the shared corpus's expected.jsonl.
type corpusCase struct {
	File      string `json:"file"`
	Msg       int    `json:"msg"`
	Recipient string `json:"recipient"`
	Action    string `json:"action"`
	Status    string `json:"status"`
	ReplyCode string `json:"replycode"`
	Reason    string `json:"reason"`
	DecodedBy string `json:"decodedby"`
}

// TestReasonCorpus measures reasonFor alone against the reference parser's
// reasons. The diagnostic text is extracted crudely (the classifier does
// that properly), so the figure is a floor for the rules, not the score of
// bounced.
func TestReasonCorpus(t *testing.T) {
	root := filepath.Join("..", "..", "shared", "corpus", "sisimai")
	data, err := os.ReadFile(filepath.Join(root, "expected.jsonl"))
	if err != nil {
		t.Skipf("shared corpus absent: %v", err)
	}
	var cases []corpusCase
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var c corpusCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("expected.jsonl: %v", err)
		}
		switch c.Reason {
		case "", "feedback", "vacation", "delivered":
			continue
		}
		cases = append(cases, c)
	}
	files := map[string][]byte{}
	total, agree := 0, 0
	perReason := map[string][2]int{}
	for _, c := range cases {
		raw, ok := files[c.File]
		if !ok {
			raw, err = os.ReadFile(filepath.Join(root, c.File))
			if err != nil {
				t.Errorf("reading %s: %v", c.File, err)
				continue
			}
			files[c.File] = raw
		}
		if IsMbox(raw) {
			msgs := SplitMbox(raw)
			if c.Msg < 1 || c.Msg > len(msgs) {
				continue
			}
			raw = msgs[c.Msg-1]
		}
		in := crudeReasonInput(raw, c)
		got, rule := reasonFor(in)
		total++
		pr := perReason[c.Reason]
		pr[1]++
		if string(got) == c.Reason {
			agree++
			pr[0]++
		} else {
			t.Logf("miss %s#%d %s: got %q (%s), want %q; status=%q code=%q cmd=%q diag=%.300q",
				c.File, c.Msg, c.Recipient, got, rule, c.Reason, in.Status, in.ReplyCode, in.Command, in.Diagnostic)
		}
		perReason[c.Reason] = pr
	}
	if total == 0 {
		t.Skip("no corpus cases")
	}
	for r, pr := range perReason {
		t.Logf("reason %-16s %3d/%3d", r, pr[0], pr[1])
	}
	rate := float64(agree) / float64(total)
	t.Logf("reason agreement: %d/%d = %.1f%% (floor %.1f%%)", agree, total, 100*rate, 100*reasonCorpusFloor)
	if rate < reasonCorpusFloor {
		t.Errorf("reason agreement %.1f%% fell below the recorded floor %.1f%%", 100*rate, 100*reasonCorpusFloor)
	}
}

var (
	crudeStatusRe  = regexp.MustCompile(`\b[245]\.\d{1,3}\.\d{1,3}\b`)
	crudeCodeRe    = regexp.MustCompile(`\b[245]\d\d\b`)
	crudeCommandRe = regexp.MustCompile(`(?i)(?:in reply to |after |>>> |following |\[)(RCPT|MAIL|DATA|HELO|EHLO|STARTTLS|AUTH|end of data)\b`)
)

// crudeReasonInput pulls a recipient's diagnostic text out of one mail the
// simple way: the Diagnostic-Code field of the delivery-status block naming
// the recipient, else the lines of prose around the recipient's address.
func crudeReasonInput(raw []byte, c corpusCase) reasonInput {
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	text := crudeText(raw)
	in := reasonInput{Action: c.Action, Decoder: strings.ToLower(c.DecodedBy)}
	rcpt := strings.ToLower(c.Recipient)
	if f, ok := crudeDSNFields(text, rcpt); ok {
		in.Diagnostic = f["diagnostic-code"]
		in.DiagType, in.Diagnostic = splitDiagType(in.Diagnostic)
		in.Status = f["status"]
		if a := f["action"]; a != "" {
			in.Action = strings.ToLower(a)
		}
	}
	if in.Diagnostic == "" {
		in.Diagnostic = crudeProse(text, rcpt)
	}
	if in.Status == "" {
		in.Status = crudeStatusRe.FindString(in.Diagnostic)
	}
	if m := crudeCodeRe.FindString(in.Diagnostic); m != "" {
		in.ReplyCode = m
	}
	if m := crudeCommandRe.FindString(in.Diagnostic); m != "" {
		in.Command = crudeCommand(m)
	} else if m := crudeCommandRe.FindString(crudeProse(text, rcpt)); m != "" {
		in.Command = crudeCommand(m)
	}
	return in
}

// crudeText decodes the text parts of a mail (skipping returned originals)
// and gives up to the raw bytes when the MIME structure does not parse.
func crudeText(raw []byte) string {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return cutOriginal(string(raw))
	}
	var b strings.Builder
	body, _ := io.ReadAll(msg.Body)
	crudePart(&b, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), body, 0)
	if b.Len() == 0 {
		return cutOriginal(string(body))
	}
	return b.String()
}

func crudePart(b *strings.Builder, ctype, cte string, body []byte, depth int) {
	if depth > 5 {
		return
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt = "text/plain"
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				if b.Len() == 0 {
					b.WriteString(cutOriginal(string(body)))
				}
				return
			}
			pb, _ := io.ReadAll(p)
			crudePart(b, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), pb, depth+1)
		}
	case mt == "message/rfc822" || mt == "text/rfc822-headers" || mt == "message/rfc822-headers":
		return
	case strings.HasPrefix(mt, "text/") || strings.HasPrefix(mt, "message/"):
		var dec []byte
		switch strings.ToLower(strings.TrimSpace(cte)) {
		case "base64":
			dec, _ = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.Join(bytes.Fields(body), nil))))
		case "quoted-printable":
			dec, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		default:
			dec = body
		}
		b.WriteString(cutOriginal(string(dec)))
		b.WriteString("\n\n")
	}
}

// cutOriginal drops a returned original that non-MIME bounces append.
func cutOriginal(s string) string {
	low := strings.ToLower(s)
	for _, m := range []string{
		"below this line is a copy of the message",
		"original message follows",
		"------ this is a copy of the message",
		"----- original message -----",
		"content-type: message/rfc822",
		"\nreturn-path: <",
		"\nreceived: from",
	} {
		if i := strings.Index(low, m); i > 0 {
			s, low = s[:i], low[:i]
		}
	}
	return s
}

// crudeDSNFields finds the per-recipient block of a delivery-status part
// naming rcpt and returns its fields, lower-case keys, folded lines joined.
func crudeDSNFields(text, rcpt string) (map[string]string, bool) {
	for _, block := range strings.Split(text, "\n\n") {
		low := strings.ToLower(block)
		if !strings.Contains(low, "recipient:") || !strings.Contains(low, rcpt) {
			continue
		}
		f := map[string]string{}
		key := ""
		for _, line := range strings.Split(block, "\n") {
			if line == "" {
				continue
			}
			if (line[0] == ' ' || line[0] == '\t') && key != "" {
				f[key] += " " + strings.TrimSpace(line)
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				key = ""
				continue
			}
			key = strings.ToLower(strings.TrimSpace(k))
			f[key] = strings.TrimSpace(v)
		}
		return f, true
	}
	return nil, false
}

// crudeProse returns the lines from the first mention of rcpt on, up to a
// blank line after some text, at most eight lines.
func crudeProse(text, rcpt string) string {
	lines := strings.Split(text, "\n")
	start := -1
	for i, l := range lines {
		if strings.Contains(strings.ToLower(l), rcpt) {
			start = i
			break
		}
	}
	if start < 0 {
		if len(text) > 1500 {
			text = text[:1500]
		}
		return strings.Join(strings.Fields(text), " ")
	}
	var out []string
	for i := start; i < len(lines) && i < start+8; i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			if len(out) > 1 {
				break
			}
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, " ")
}

func crudeCommand(m string) string {
	m = strings.ToUpper(crudeCommandRe.FindStringSubmatch(m)[1])
	if m == "END OF DATA" {
		return "DATA"
	}
	return m
}

// TestPhraseMatcherSize keeps the automaton small enough to stay in cache:
// the phrase tables may grow, but not without notice.
func TestPhraseMatcherSize(t *testing.T) {
	for _, table := range []*phraseTable{&reasonPhrases, &reasonVague} {
		kib := len(table.m.next) * 4 / 1024
		t.Logf("rules %d, states %d, classes %d, table %d KiB", len(table.rules), len(table.m.out), table.m.nclass, kib)
		if kib > 4096 {
			t.Errorf("phrase automaton of %d rules takes %d KiB, more than 4 MiB", len(table.rules), kib)
		}
	}
}
