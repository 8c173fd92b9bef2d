package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bounced/bounced/classify"
)

// Preview answers what Record would do with a verdict and its
// verification now, without writing (for poll --dry-run): the addresses
// it would suppress, the sender-side alerts it would raise ("blocked:
// user@example.com") and, when verify is enforced and the mail proves
// nothing, why it would be held as unverified.
func (db *DB) Preview(ctx context.Context, v classify.Verdict, ver Verification) (suppress []string, alerts []string, unverified string, err error) {
	now := db.now()
	at := now
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
		if addr == "" {
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
			evs = append(evs, at)
			if db.policy.Score(evs, fresh, at) < db.policy.SoftThreshold {
				continue
			}
		}
		suppress = append(suppress, addr)
	}
	return suppress, alerts, unverified, nil
}
