package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
)

// Classifier classifies one raw mail: classify.Message, passed in by the
// caller so that storage depends on the classify types only.
type Classifier func(raw []byte) (classify.Verdict, error)

// ReclassifyStats says what Reclassify did.
type ReclassifyStats struct {
	Archived     int      `json:"archived"`     // archived mails looked at
	Changed      int      `json:"changed"`      // mails whose kind or outcomes changed
	Unchanged    int      `json:"unchanged"`    // same verdict (only the version was updated)
	Failed       int      `json:"failed"`       // the classifier refused the mail; kept as it was
	NotArchived  int      `json:"not_archived"` // mails in range without archive (pruned, archive off, skipped)
	Suppressed   []string `json:"suppressed"`   // addresses suppressed as a result
	Unsuppressed []string `json:"unsuppressed"` // automatic suppressions lifted as a result
}

// reclassifyBatch is how many mails one transaction rewrites.
const reclassifyBatch = 200

// Reclassify runs classifier (of the given version) over the archived raw
// mail that arrived at or after since (all when zero), rewrites the
// outcomes and alerts of every mail whose verdict changed, records the
// classifier version on every mail it read, and rebuilds the state of
// every recipient concerned from its outcomes, as the policy decides
// today. Manual states are kept. Each batch is one transaction: an
// interrupted run leaves whole batches done and can simply be run again.
func (db *DB) Reclassify(ctx context.Context, since time.Time, classifier Classifier, version string) (ReclassifyStats, error) {
	var st ReclassifyStats
	sinceText := ""
	if !since.IsZero() {
		sinceText = fmtTime(since)
	}
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM messages m WHERE duplicate_of IS NULL AND at >= ?
		AND NOT EXISTS (SELECT 1 FROM archive a WHERE a.message_id = m.id)`, sinceText).Scan(&st.NotArchived)
	if err != nil {
		return st, fmt.Errorf("reclassifying: %w", err)
	}
	var last int64
	var cache blockCache // mails in id order: a block is inflated once
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		ids, err := db.archivedIDs(ctx, sinceText, last)
		if err != nil {
			return st, fmt.Errorf("reclassifying: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		last = ids[len(ids)-1]
		if err := db.reclassifyBatch(ctx, ids, classifier, version, &st, &cache); err != nil {
			return st, fmt.Errorf("reclassifying messages %d-%d: %w", ids[0], last, err)
		}
	}
	slices.Sort(st.Suppressed)
	slices.Sort(st.Unsuppressed)
	db.log.Info("reclassified", "archived", st.Archived, "changed", st.Changed, "failed", st.Failed,
		"suppressed", len(st.Suppressed), "unsuppressed", len(st.Unsuppressed))
	return st, nil
}

func (db *DB) archivedIDs(ctx context.Context, since string, after int64) ([]int64, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT m.id FROM messages m JOIN archive a ON a.message_id = m.id
		WHERE m.id > ? AND m.duplicate_of IS NULL AND m.at >= ? ORDER BY m.id LIMIT ?`, after, since, reclassifyBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// signature is what of a verdict decides its stored outcomes.
func signature(v *classify.Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s\n", v.Kind, strings.ToLower(v.FeedbackType))
	for _, r := range v.Recipients {
		addr, _ := NormalizeAddress(r.Address)
		fmt.Fprintf(&b, "%s|%s|%s|%s|%s|%v|%s|%s|%s|%s|%s\n", addr, r.Action, r.Status, r.ReplyCode, r.Reason, r.Hard,
			r.Diagnostic, r.RemoteMTA, r.Command, fmtTime(r.LastAttempt), r.Rule)
	}
	return b.String()
}

func (db *DB) reclassifyBatch(ctx context.Context, ids []int64, classifier Classifier, version string, st *ReclassifyStats, cache *blockCache) error {
	type item struct {
		old     StoredMessage
		verdict classify.Verdict
		changed bool
	}
	var items []item
	for _, id := range ids {
		old, err := db.Message(ctx, id)
		if err != nil {
			return err
		}
		raw, ok, err := db.raw(ctx, id, cache)
		if err != nil {
			return err
		}
		if !ok {
			continue // pruned meanwhile
		}
		st.Archived++
		v, err := classifier(raw)
		if err != nil {
			st.Failed++
			continue
		}
		items = append(items, item{old: old, verdict: v, changed: signature(&old.Verdict) != signature(&v)})
	}
	now := db.now()
	var suppressed, unsuppressed []string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, ctx: ctx, tx: tx, now: now}
		defer w.close()
		affected := map[string]bool{}
		for _, it := range items {
			v := &it.verdict
			notes, origHeaders, err := verdictJSON(v)
			if err != nil {
				return err
			}
			_, err = w.exec(`UPDATE messages SET kind = ?, feedback_type = ?, message_id = ?, from_addr = ?, subject = ?, date = ?,
				to_addr = ?, delivered_to = ?, reporting_mta = ?, arrival_date = ?, decoder = ?, rule = ?, notes = ?,
				orig_message_id = ?, orig_from = ?, orig_to = ?, orig_subject = ?, orig_date = ?, orig_headers = ?,
				classifier_version = ? WHERE id = ?`,
				string(v.Kind), v.FeedbackType, v.MessageID, v.From, v.Subject, nullTime(v.Date), v.To, v.DeliveredTo,
				v.ReportingMTA, nullTime(v.ArrivalDate), v.Decoder, v.Rule, notes, v.Original.MessageID, v.Original.From,
				v.Original.To, v.Original.Subject, v.Original.Date, origHeaders, version, it.old.ID)
			if err != nil {
				return fmt.Errorf("updating message %d: %w", it.old.ID, err)
			}
			// Later deliveries of the same mail carry its kind (for disposal).
			if _, err := w.exec(`UPDATE messages SET kind = ?, classifier_version = ? WHERE duplicate_of = ?`,
				string(v.Kind), version, it.old.ID); err != nil {
				return fmt.Errorf("updating duplicates of message %d: %w", it.old.ID, err)
			}
			if !it.changed {
				st.Unchanged++
				continue
			}
			st.Changed++
			for i, r := range it.old.Verdict.Recipients {
				if it.old.Policies[i].touches() {
					affected[r.Address] = true
				}
			}
			if _, err := w.exec(`DELETE FROM outcomes WHERE message_id = ?`, it.old.ID); err != nil {
				return err
			}
			if _, err := w.exec(`DELETE FROM alerts WHERE message_id = ?`, it.old.ID); err != nil {
				return err
			}
			ver, err := w.verification(it.old.ID)
			if err != nil {
				return err
			}
			outs, err := w.insertOutcomes(it.old.ID, it.old.At, v, ver, origHeaders)
			if err != nil {
				return err
			}
			for _, o := range outs {
				if o.addr != "" && o.action.touches() {
					affected[o.addr] = true
				}
			}
		}
		addrs := make([]string, 0, len(affected))
		for a := range affected {
			if a != "" {
				addrs = append(addrs, a)
			}
		}
		slices.Sort(addrs)
		for _, a := range addrs {
			before, after, err := w.rebuild(a)
			if err != nil {
				return err
			}
			switch {
			case before != StateSuppressed && after == StateSuppressed:
				suppressed = append(suppressed, a)
			case before == StateSuppressed && after != StateSuppressed:
				unsuppressed = append(unsuppressed, a)
			}
		}
		return w.flushRollups()
	})
	if err != nil {
		return err
	}
	st.Suppressed = append(st.Suppressed, suppressed...)
	st.Unsuppressed = append(st.Unsuppressed, unsuppressed...)
	return nil
}

// rebuild recomputes a recipient's counters and automatic state from its
// outcomes, replayed in time order under today's policy. A manual
// suppression is kept; after a manual unsuppress only later outcomes
// proven by a token count. It returns the state before and after.
func (w *writer) rebuild(addr string) (before, after string, err error) {
	_, domain := NormalizeAddress(addr)
	if _, err := w.exec(`INSERT INTO recipients(address, domain, updated_at) VALUES (?, ?, ?) ON CONFLICT(address) DO NOTHING`,
		addr, domain, w.nowText()); err != nil {
		return "", "", err
	}
	cur, err := w.state(addr)
	if err != nil {
		return "", "", err
	}
	// Counters.
	_, err = w.exec(`UPDATE recipients SET
		bounces = (SELECT count(*) FROM outcomes WHERE address = ?1 AND kind = 'bounce' AND policy <> 'alert'),
		delays = (SELECT count(*) FROM outcomes WHERE address = ?1 AND kind = 'delay'),
		complaints = (SELECT count(*) FROM outcomes WHERE address = ?1 AND kind = 'complaint' AND policy <> 'alert'),
		reports = (SELECT count(*) FROM outcomes WHERE address = ?1 AND kind = 'report'),
		autoreplies = (SELECT count(*) FROM outcomes WHERE address = ?1 AND kind = 'autoreply'),
		delivered = (SELECT count(*) FROM outcomes WHERE address = ?1 AND kind = 'delivered'),
		first_bounce = (SELECT min(at) FROM outcomes WHERE address = ?1 AND kind = 'bounce' AND action IN ('failed', '') AND policy <> 'alert'),
		last_bounce = (SELECT max(at) FROM outcomes WHERE address = ?1 AND kind = 'bounce' AND action IN ('failed', '') AND policy <> 'alert'),
		updated_at = ?2
		WHERE address = ?1`, addr, w.nowText())
	if err != nil {
		return "", "", fmt.Errorf("recounting %s: %w", addr, err)
	}
	if cur.manual && cur.state == StateSuppressed {
		return cur.state, cur.state, nil
	}
	var fresh time.Time
	if cur.manual {
		fresh = cur.since
	}
	// Replay.
	// After a person's unsuppress only bounces whose token proves this
	// address count (as in Record).
	rows, err := w.tx.QueryContext(w.ctx, `SELECT o.at, o.policy, o.kind, o.feedback_type, o.reason, o.message_id FROM outcomes o
		WHERE o.address = ? AND o.policy IN ('suppress', 'score') AND o.at >= ?
		AND (NOT ? OR EXISTS (SELECT 1 FROM verifications v WHERE v.message_id = o.message_id AND v.result = 'verified' AND v.recipient = o.address))
		ORDER BY o.at, o.id`, addr, fmtTime(fresh), cur.manual)
	if err != nil {
		return "", "", err
	}
	type ev struct {
		at             time.Time
		policy, reason string
		kind, feedback string
		messageID      int64
	}
	var evs []ev
	for rows.Next() {
		var e ev
		var at string
		if err := rows.Scan(&at, &e.policy, &e.kind, &e.feedback, &e.reason, &e.messageID); err != nil {
			rows.Close()
			return "", "", err
		}
		e.at = parseTime(at)
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", "", err
	}
	var soft []time.Time
	var score float64
	var scoreAt time.Time
	var hit *ev
	var hitScore float64
	for i := range evs {
		e := &evs[i]
		if e.policy == string(ActionScore) {
			soft = append(soft, e.at)
			score, scoreAt = w.db.policy.Score(soft, fresh, e.at), e.at
		}
		if hit == nil && (e.policy == string(ActionSuppress) || score >= w.db.policy.SoftThreshold) {
			hit, hitScore = e, score
		}
	}
	if hit != nil {
		score = hitScore // as Record does: the score stays as it was at the suppression
		scoreAt = hit.at
	}
	if _, err := w.exec(`UPDATE recipients SET score = ?, score_at = ? WHERE address = ?`, score, nullTime(scoreAt), addr); err != nil {
		return "", "", err
	}
	switch {
	case hit != nil:
		reason := reasonLabel(classify.Kind(hit.kind), hit.feedback, classify.Reason(hit.reason))
		note := ""
		if hit.policy == string(ActionScore) {
			note = fmt.Sprintf("soft score %.2f reached %.2f", hitScore, w.db.policy.SoftThreshold)
		}
		if cur.state == StateSuppressed && !cur.manual {
			var curReason string
			var curMsg int64
			w.tx.QueryRowContext(w.ctx, `SELECT reason, coalesce(stored_id, 0) FROM recipients WHERE address = ?`, addr).Scan(&curReason, &curMsg)
			if curReason == reason && curMsg == hit.messageID {
				return cur.state, cur.state, nil
			}
		}
		err = w.setState(addr, StateSuppressed, reason, false, note, hitScore, hit.messageID, hit.at, "reclassify")
		return cur.state, StateSuppressed, err
	case cur.state == StateSuppressed:
		err = w.setState(addr, StateActive, "", false, "no outcome supports the suppression any more", score, 0, w.now, "reclassify")
		return cur.state, StateActive, err
	}
	return cur.state, cur.state, nil
}
