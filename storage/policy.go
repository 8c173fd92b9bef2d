package storage

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
)

// PolicyAction is what one outcome does to its recipient. The values are
// stored in outcomes.policy and written in the config exactly as here.
type PolicyAction string

const (
	// ActionSuppress suppresses the recipient at once.
	ActionSuppress PolicyAction = "suppress"
	// ActionScore adds one soft event to the recipient's decaying score;
	// the recipient is suppressed when the score reaches the threshold.
	ActionScore PolicyAction = "score"
	// ActionAlert records a sender-side alert and leaves the recipient alone.
	ActionAlert PolicyAction = "alert"
	// ActionIgnore stores the outcome and changes nothing.
	ActionIgnore PolicyAction = "ignore"
)

// ParsePolicyAction reads a policy action from the config.
func ParsePolicyAction(s string) (PolicyAction, error) {
	switch a := PolicyAction(strings.ToLower(strings.TrimSpace(s))); a {
	case ActionSuppress, ActionScore, ActionAlert, ActionIgnore:
		return a, nil
	}
	return "", fmt.Errorf("unknown policy action %q (want suppress, score, alert or ignore)", s)
}

// Policy decides, per reason and not per hard/soft, what an outcome does to
// its recipient. The zero value of a field means its default.
type Policy struct {
	// Reasons overrides the default action of a failure reason. A
	// notaccept failure suppresses only with a 5xx code; with 4xx it
	// scores.
	Reasons map[classify.Reason]PolicyAction
	// Complaints gives the action per ARF feedback type of a complaint
	// (abuse, fraud, virus, other; "" for a complaint notice without a
	// type). Missing types use the defaults.
	Complaints map[string]PolicyAction
	// SoftThreshold: a recipient is suppressed when its soft score
	// reaches it (default 3).
	SoftThreshold float64
	// SoftWindow: only soft events this recent count (default 30 days).
	SoftWindow time.Duration
	// SoftHalfLife: an event's weight halves every half-life, measured in
	// whole days since the event (default 30 days), so three soft failures
	// on one day score exactly 3.
	SoftHalfLife time.Duration
	// QuietReset: the score starts again from zero after this long without
	// a soft event (default 14 days).
	QuietReset time.Duration
}

// Policy defaults.
const (
	DefaultSoftThreshold = 3
	DefaultSoftWindow    = 30 * 24 * time.Hour
	DefaultSoftHalfLife  = 30 * 24 * time.Hour
	DefaultQuietReset    = 14 * 24 * time.Hour
)

// defaultReasons is the action of each failure reason; a reason missing
// here (and from Policy.Reasons) scores.
var defaultReasons = map[classify.Reason]PolicyAction{
	// The address is dead: suppress at once.
	classify.ReasonUserUnknown: ActionSuppress,
	classify.ReasonHostUnknown: ActionSuppress,
	classify.ReasonHasMoved:    ActionSuppress,
	classify.ReasonNotAccept:   ActionSuppress, // 5xx only; 4xx scores (see Decide)
	classify.ReasonSuppressed:  ActionSuppress, // the relay's own suppression list holds it

	// The recipient's side, maybe passing: count toward the soft score.
	classify.ReasonMailboxFull:  ActionScore,
	classify.ReasonSuspend:      ActionScore,
	classify.ReasonExpired:      ActionScore,
	classify.ReasonSystemFull:   ActionScore,
	classify.ReasonNetworkError: ActionScore,
	classify.ReasonSystemError:  ActionScore,
	classify.ReasonUndefined:    ActionScore,
	classify.ReasonFiltered:     ActionScore,
	classify.ReasonMailerError:  ActionScore,
	classify.ReasonOnHold:       ActionScore,
	classify.ReasonSyntaxError:  ActionScore,

	// The sender's side: never the recipient's fault.
	classify.ReasonBlocked:         ActionAlert,
	classify.ReasonSpamDetected:    ActionAlert,
	classify.ReasonPolicyViolation: ActionAlert,
	classify.ReasonAuthFailure:     ActionAlert,
	classify.ReasonBadReputation:   ActionAlert,
	classify.ReasonRequirePTR:      ActionAlert,
	classify.ReasonRateLimited:     ActionAlert,
	classify.ReasonNoRelaying:      ActionAlert,
	classify.ReasonFailedSTARTTLS:  ActionAlert,
	classify.ReasonSecurityError:   ActionAlert,
	// The message itself (its sender address, content, size or format)
	// was refused: also the sender's problem.
	classify.ReasonRejected:        ActionAlert,
	classify.ReasonContentError:    ActionAlert,
	classify.ReasonEmailTooLarge:   ActionAlert,
	classify.ReasonVirusDetected:   ActionAlert,
	classify.ReasonNotCompliantRFC: ActionAlert,

	// No failure at all.
	classify.ReasonFeedback:  ActionIgnore,
	classify.ReasonVacation:  ActionIgnore,
	classify.ReasonDelivered: ActionIgnore,
}

// defaultComplaints: RFC 5965 §7.3 feedback types. A spam or fraud
// complaint means "never mail me again"; a virus report is about the
// sender's mail; "other" says too little to act on.
var defaultComplaints = map[string]PolicyAction{
	"abuse": ActionSuppress,
	"fraud": ActionSuppress,
	"":      ActionSuppress, // a provider's complaint notice without a type is a spam complaint
	"virus": ActionAlert,
	"other": ActionIgnore,
}

// DefaultPolicy returns the default policy, with its maps filled in so that
// a config can print or edit it.
func DefaultPolicy() Policy {
	p := Policy{
		Reasons:       make(map[classify.Reason]PolicyAction, len(defaultReasons)),
		Complaints:    make(map[string]PolicyAction, len(defaultComplaints)),
		SoftThreshold: DefaultSoftThreshold,
		SoftWindow:    DefaultSoftWindow,
		SoftHalfLife:  DefaultSoftHalfLife,
		QuietReset:    DefaultQuietReset,
	}
	for r, a := range defaultReasons {
		p.Reasons[r] = a
	}
	for t, a := range defaultComplaints {
		p.Complaints[t] = a
	}
	return p
}

func (p Policy) isZero() bool {
	return p.Reasons == nil && p.Complaints == nil && p.SoftThreshold == 0 &&
		p.SoftWindow == 0 && p.SoftHalfLife == 0 && p.QuietReset == 0
}

// withDefaults fills the zero numeric fields.
func (p Policy) withDefaults() Policy {
	if p.SoftThreshold <= 0 {
		p.SoftThreshold = DefaultSoftThreshold
	}
	if p.SoftWindow <= 0 {
		p.SoftWindow = DefaultSoftWindow
	}
	if p.SoftHalfLife <= 0 {
		p.SoftHalfLife = DefaultSoftHalfLife
	}
	if p.QuietReset <= 0 {
		p.QuietReset = DefaultQuietReset
	}
	return p
}

// Decide says what one reported recipient of a message of kind k does to
// that recipient. It is pure: no clock, no state.
//
// Only failed recipients of bounces and complainants count: delays,
// auto-replies, delivered notices, non-complaint reports and ordinary mail
// are ignored for the recipient's state (the outcome is still stored).
func (p Policy) Decide(k classify.Kind, feedbackType string, r classify.Recipient) PolicyAction {
	switch k {
	case classify.KindComplaint:
		ft := strings.ToLower(strings.TrimSpace(feedbackType))
		if a, ok := p.Complaints[ft]; ok {
			return a
		}
		if a, ok := defaultComplaints[ft]; ok {
			return a
		}
		return ActionIgnore
	case classify.KindBounce:
	default:
		return ActionIgnore
	}
	if r.Action != classify.ActionFailed && r.Action != "" {
		return ActionIgnore // delayed or delivered recipients of a bounce
	}
	a, ok := p.Reasons[r.Reason]
	if !ok {
		a, ok = defaultReasons[r.Reason]
	}
	if !ok {
		return ActionScore // unknown or empty reason: recipient-side and soft
	}
	if a == ActionSuppress && r.Reason == classify.ReasonNotAccept && !classify.IsHard(r.Reason, r.ReplyCode, r.Status) {
		return ActionScore // notaccept with 4xx: the domain may accept mail again
	}
	return a
}

// Score is the soft score at now of the soft events at times events (any
// order; events after now are ignored). Events outside the window count
// nothing; the score restarts after a gap of QuietReset without an event
// (and at a manual unsuppress, which the caller passes as since).
func (p Policy) Score(events []time.Time, since, now time.Time) float64 {
	p = p.withDefaults()
	ts := make([]time.Time, 0, len(events))
	for _, e := range events {
		if e.After(now) || now.Sub(e) >= p.SoftWindow || (!since.IsZero() && e.Before(since)) {
			continue
		}
		ts = append(ts, e)
	}
	sortTimes(ts)
	// Walk back from the newest: stop at the first quiet gap.
	start := 0
	for i := len(ts) - 1; i > 0; i-- {
		if ts[i].Sub(ts[i-1]) >= p.QuietReset {
			start = i
			break
		}
	}
	if len(ts) > 0 && now.Sub(ts[len(ts)-1]) >= p.QuietReset {
		return 0
	}
	var s float64
	day := float64(24 * time.Hour)
	for _, e := range ts[start:] {
		days := math.Floor(float64(now.Sub(e)) / day)
		s += math.Exp2(-days * day / float64(p.SoftHalfLife))
	}
	return s
}

func sortTimes(ts []time.Time) {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
}

// outcome is the policy's decision for one reported recipient, with the
// address it acts on: Record (batch and one by one), Preview and the
// sender-side warning all decide through it. A recipient without an
// address can still raise an alert, but there is nobody else to act on.
func (p Policy) outcome(v *classify.Verdict, rc *classify.Recipient) (addr, domain string, action PolicyAction) {
	addr, domain = NormalizeAddress(rc.Address)
	action = p.Decide(v.Kind, v.FeedbackType, *rc)
	if addr == "" && action != ActionAlert {
		action = ActionIgnore
	}
	return addr, domain, action
}
