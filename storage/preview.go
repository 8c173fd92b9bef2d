package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PreviewRun is what the mails of one dry run so far would have done.
type PreviewRun struct {
	suppressed map[string]bool
	soft       map[string][]time.Time
}

func (r *PreviewRun) suppress(addr string) {
	if r.suppressed == nil {
		r.suppressed = map[string]bool{}
	}
	r.suppressed[addr] = true
}

func (r *PreviewRun) addSoft(addr string, at time.Time) {
	if r.soft == nil {
		r.soft = map[string][]time.Time{}
	}
	r.soft[addr] = append(r.soft[addr], at)
}

// Preview answers what Record would do with a verdict and its
// verification now, without writing (for poll --dry-run): the addresses
// it would suppress, the sender-side alerts it would raise ("blocked:
// user@example.com") and, when verify is enforced and the mail proves
// nothing, why it would be held as unverified.
//
// run carries what the earlier mails of the same dry run would have done
// (nil: this mail alone), so that the preview counts as the real run
// would: an address once, and soft events of the run's earlier mails
// toward the score. The mail's time is its ReceivedAt, as in Record.
func (db *DB) Preview(ctx context.Context, rec Record, run *PreviewRun) (suppress []string, alerts []string, unverified string, err error) {
	if run == nil {
		run = &PreviewRun{}
	}
	v, ver := rec.Verdict, rec.Verification
	at := rec.ReceivedAt
	if at.IsZero() {
		at = v.Date
	}
	if at.IsZero() {
		at = db.now()
	}
	md := db.policy.decide(&v, ver)
	if md.result == Unverified && ver.Mode == VerifyEnforce {
		unverified = md.failure
	}
	for i := range v.Recipients {
		rc := &v.Recipients[i]
		addr, action := md.recipients[i].addr, md.recipients[i].action
		switch action {
		case ActionAlert:
			alerts = append(alerts, fmt.Sprintf("%s: %s", rc.Reason, addr))
			continue
		case ActionSuppress, ActionScore:
		default:
			continue
		}
		if addr == "" || run.suppressed[addr] {
			continue
		}
		var st recipientState
		var since sql.NullString
		err := db.sql.QueryRowContext(ctx, `SELECT state, manual, since FROM recipients WHERE address = ?`, addr).
			Scan(&st.state, &st.manual, &since)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			st.state = StateActive
		case err != nil:
			return nil, nil, "", fmt.Errorf("previewing %s: %w", addr, err)
		}
		st.since = parseNullTime(since)
		if st.state == StateSuppressed {
			continue
		}
		var fresh time.Time // a person's unsuppress is a fresh start
		if st.manual {
			if !md.recipients[i].verified {
				continue // held until a verified bounce
			}
			fresh = st.since
		}
		if action == ActionScore {
			evs, err := softEvents(ctx, db.sql, db.policy, addr, at)
			if err != nil {
				return nil, nil, "", fmt.Errorf("previewing %s: %w", addr, err)
			}
			evs = append(append(evs, run.soft[addr]...), at)
			run.addSoft(addr, at)
			if db.policy.Score(evs, fresh, at) < db.policy.SoftThreshold {
				continue
			}
		}
		run.suppress(addr)
		suppress = append(suppress, addr)
	}
	return suppress, alerts, unverified, nil
}
