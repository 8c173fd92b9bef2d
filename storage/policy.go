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
	// ActionUnverified: the outcome would have acted, but the mail does
	// not prove that it answers mail sent to the recipient (verify =
	// "enforce"); it changes nothing.
	ActionUnverified PolicyAction = "unverified"
	// ActionCapped: the outcome would have suppressed or scored, but its
	// mail had already reached MaxSuppressPerMail addresses; it changes
	// nothing.
	ActionCapped PolicyAction = "capped"
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
	// MaxSuppressPerMail: one mail suppresses or scores at most this many
	// addresses (default 50); its other outcomes are stored as capped.
	MaxSuppressPerMail int
}

// Policy defaults.
const (
	DefaultSoftThreshold = 3
	DefaultSoftWindow    = 30 * 24 * time.Hour
	DefaultSoftHalfLife  = 30 * 24 * time.Hour
	DefaultQuietReset    = 14 * 24 * time.Hour

	DefaultMaxSuppressPerMail = 50
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

		MaxSuppressPerMail: DefaultMaxSuppressPerMail,
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
		p.SoftWindow == 0 && p.SoftHalfLife == 0 && p.QuietReset == 0 && p.MaxSuppressPerMail == 0
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
	if p.MaxSuppressPerMail <= 0 {
		p.MaxSuppressPerMail = DefaultMaxSuppressPerMail
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

// touches reports whether an outcome with this action counts on its
// recipient's row: an alert is about the sender, and an unverified mail
// may be forged, so neither creates nor counts on a recipient.
func (a PolicyAction) touches() bool { return a != ActionAlert && a != ActionUnverified }

// decision is the policy's decision for one reported recipient, with the
// address it acts on.
type decision struct {
	addr, domain string
	action       PolicyAction
	verified     bool   // a valid token proves mail to addr was sent
	held         string // why a suppress, score or alert action is held (unverified or capped); "" when not
}

// mailDecision is the policy's decision for one mail: one decision per
// reported recipient, in order, and the mail's verification result.
type mailDecision struct {
	recipients []decision
	result     string // Verified, Unverified, or "" when nothing needed proof (or verify is off)
	failure    string // why the mail is unverified (the first recipient's reason)
	capped     int    // recipients held by MaxSuppressPerMail
}

// decide is the one place that says what each recipient of a mail does:
// Record (batch and one by one), reclassify, Preview and the sender-side
// warning all decide through it. In order:
//  1. Decide per recipient; a recipient without an address can still
//     raise an alert, but there is nobody else to act on;
//  2. verification: with VerifyEnforce, an action on a recipient no valid
//     token proves becomes ActionUnverified (VerifyRecord only notes it);
//  3. the cap: at most MaxSuppressPerMail distinct addresses of one mail
//     may suppress or score; the rest become ActionCapped, so that one
//     mail naming 10,000 recipients cannot empty a list.
func (p Policy) decide(v *classify.Verdict, ver Verification) mailDecision {
	md := mailDecision{recipients: make([]decision, len(v.Recipients))}
	limit := p.MaxSuppressPerMail
	if limit <= 0 {
		limit = DefaultMaxSuppressPerMail
	}
	acting := map[string]bool{}
	for i := range v.Recipients {
		rc := &v.Recipients[i]
		d := &md.recipients[i]
		d.addr, d.domain = NormalizeAddress(rc.Address)
		d.action = p.Decide(v.Kind, v.FeedbackType, *rc)
		if d.addr == "" && d.action != ActionAlert {
			d.action = ActionIgnore
		}
		d.verified = ver.proves(d.addr)
		if d.action == ActionIgnore {
			continue
		}
		if ver.checks() {
			if d.verified {
				if md.result == "" {
					md.result = Verified
				}
			} else {
				if md.result != Unverified {
					md.result, md.failure = Unverified, ver.why(d.addr)
				}
				if ver.Mode == VerifyEnforce {
					d.held, d.action = "unverified: "+ver.why(d.addr), ActionUnverified
					continue
				}
			}
		}
		if d.action == ActionSuppress || d.action == ActionScore {
			if !acting[d.addr] && len(acting) >= limit {
				d.held, d.action = fmt.Sprintf("capped: one mail may suppress at most %d addresses", limit), ActionCapped
				md.capped++
				continue
			}
			acting[d.addr] = true
		}
	}
	return md
}
