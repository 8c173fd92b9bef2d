package classify

import (
	"errors"
	"time"
)

// Version is the classifier's version. Storage records it beside every
// outcome so that `bounced reclassify` can tell which verdicts are stale.
// Bump it whenever a rule change can alter a verdict.
const Version = "3"

// ErrNotMessage is returned by Message for input that is not an RFC 5322
// message at all (empty, binary, no header). Everything else, however
// broken, yields a Verdict.
var ErrNotMessage = errors.New("classify: not an RFC 5322 message")

// Kind says what a message is. The values are stored in SQLite and printed
// in JSON and reports exactly as written here.
type Kind string

const (
	KindBounce    Kind = "bounce"    // at least one recipient failed
	KindDelay     Kind = "delay"     // only delayed recipients ("still trying")
	KindComplaint Kind = "complaint" // ARF abuse, fraud, virus, other; provider complaint notices
	KindReport    Kind = "report"    // feedback that is no complaint: not-spam, auth-failure, DMARC
	KindAutoreply Kind = "autoreply" // RFC 3834, vacation, out-of-office, challenge-response
	KindDelivered Kind = "delivered" // DSN with only delivered/relayed/expanded recipients
	KindNotBounce Kind = "notbounce" // ordinary mail
	KindUnknown   Kind = "unknown"   // looks like a bounce, but no recipient could be found
)

// Kinds lists every Kind, in the order reports print them.
var Kinds = []Kind{KindBounce, KindDelay, KindComplaint, KindReport, KindAutoreply, KindDelivered, KindNotBounce, KindUnknown}

// Action is the RFC 3464 §2.3.3 action of one recipient.
type Action string

const (
	ActionFailed    Action = "failed"
	ActionDelayed   Action = "delayed"
	ActionDelivered Action = "delivered"
	ActionRelayed   Action = "relayed"
	ActionExpanded  Action = "expanded"
)

// Reason is why a recipient failed, in the vocabulary of the Sisimai bounce
// parser (users know it), plus "feedback", "vacation" and "delivered" for
// results that are no failure.
type Reason string

const (
	ReasonUserUnknown     Reason = "userunknown"
	ReasonHostUnknown     Reason = "hostunknown"
	ReasonHasMoved        Reason = "hasmoved"
	ReasonNotAccept       Reason = "notaccept"
	ReasonMailboxFull     Reason = "mailboxfull"
	ReasonSuspend         Reason = "suspend"
	ReasonExpired         Reason = "expired"
	ReasonFiltered        Reason = "filtered"
	ReasonRejected        Reason = "rejected"
	ReasonBlocked         Reason = "blocked"
	ReasonSpamDetected    Reason = "spamdetected"
	ReasonPolicyViolation Reason = "policyviolation"
	ReasonAuthFailure     Reason = "authfailure"
	ReasonBadReputation   Reason = "badreputation"
	ReasonRequirePTR      Reason = "requireptr"
	ReasonRateLimited     Reason = "ratelimited"
	ReasonEmailTooLarge   Reason = "emailtoolarge"
	ReasonNetworkError    Reason = "networkerror"
	ReasonSystemError     Reason = "systemerror"
	ReasonSystemFull      Reason = "systemfull"
	ReasonMailerError     Reason = "mailererror"
	ReasonContentError    Reason = "contenterror"
	ReasonNotCompliantRFC Reason = "notcompliantrfc"
	ReasonNoRelaying      Reason = "norelaying"
	ReasonSecurityError   Reason = "securityerror"
	ReasonVirusDetected   Reason = "virusdetected"
	ReasonSyntaxError     Reason = "syntaxerror"
	ReasonFailedSTARTTLS  Reason = "failedstarttls"
	ReasonOnHold          Reason = "onhold"
	ReasonSuppressed      Reason = "suppressed"
	ReasonUndefined       Reason = "undefined"

	ReasonFeedback  Reason = "feedback"
	ReasonVacation  Reason = "vacation"
	ReasonDelivered Reason = "delivered"
)

// SenderSide reports whether a reason is the sender's problem (its IP, its
// content, its authentication), never the recipient's fault.
func (r Reason) SenderSide() bool {
	switch r {
	case ReasonBlocked, ReasonSpamDetected, ReasonPolicyViolation, ReasonAuthFailure,
		ReasonBadReputation, ReasonRequirePTR, ReasonRateLimited, ReasonNoRelaying,
		ReasonFailedSTARTTLS, ReasonSecurityError:
		return true
	}
	return false
}

// IsHard reports whether a failure with this reason and SMTP reply code is
// permanent for the recipient: userunknown, hostunknown, hasmoved, and
// notaccept with a 5xx code.
func IsHard(r Reason, replyCode, status string) bool {
	switch r {
	case ReasonUserUnknown, ReasonHostUnknown, ReasonHasMoved:
		return true
	case ReasonNotAccept:
		if replyCode != "" {
			return replyCode[0] == '5'
		}
		return status == "" || status[0] == '5'
	}
	return false
}

// Recipient is what a message reports about one recipient.
type Recipient struct {
	Address     string    `json:"address"`
	Action      Action    `json:"action"`
	Status      string    `json:"status"`     // RFC 3463 x.y.z
	ReplyCode   string    `json:"reply_code"` // SMTP, three digits
	Reason      Reason    `json:"reason"`
	Hard        bool      `json:"hard"`
	Diagnostic  string    `json:"diagnostic"` // unfolded
	RemoteMTA   string    `json:"remote_mta"`
	Command     string    `json:"command"` // the SMTP command that failed, where known
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	Rule        string    `json:"rule"` // the rule that chose the reason
}

// Original is what the bounce tells of the message that was sent, so a
// sender can match the bounce to its own records.
type Original struct {
	MessageID string            `json:"message_id"`
	From      string            `json:"from"`
	To        string            `json:"to"`
	Subject   string            `json:"subject"`
	Date      string            `json:"date"`
	Headers   map[string]string `json:"headers,omitempty"` // X- headers, canonical key
}

// Verdict is the classifier's answer for one message.
type Verdict struct {
	Kind         Kind        `json:"kind"`
	FeedbackType string      `json:"feedback_type"` // ARF Feedback-Type, for complaints and reports
	Recipients   []Recipient `json:"recipients"`
	Original     Original    `json:"original"`

	// The bounce's own header.
	MessageID   string    `json:"message_id"`
	From        string    `json:"from"`
	Subject     string    `json:"subject"`
	Date        time.Time `json:"date,omitzero"`
	To          string    `json:"to"`           // often a VERP address
	DeliveredTo string    `json:"delivered_to"` // likewise

	ReportingMTA string    `json:"reporting_mta"`
	ArrivalDate  time.Time `json:"arrival_date,omitzero"`

	Decoder string   `json:"decoder"` // the family that recognised it: rfc3464, postfix, exim, ...
	Rule    string   `json:"rule"`    // the rule that chose the kind (and reason)
	Notes   []string `json:"notes,omitempty"`
}
