package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
)

// The outbox: events for webhooks, written in the transaction of the change
// that caused them (migration 0010). The webhook package delivers them; it
// holds no SQL, this file does.
//
// An event is one row of outbox. Each webhook target has a delivery row
// per event it takes, made by Fanout when the worker looks (so that a
// command that knows no target, `recipient unsuppress` with --db only,
// still writes its event), with its state: pending until the receiver
// answered 2xx, delivered, or dead (dead-lettered: it failed too often, or
// for good; RetryDeliveries puts it back).

// EventType is the type of an outbox event, as sent.
type EventType string

const (
	// EventSuppressionAdded: an address was suppressed (by the policy, by
	// hand, or by reclassify).
	EventSuppressionAdded EventType = "suppression.added"
	// EventSuppressionRemoved: an address is active again (by hand, or by
	// reclassify).
	EventSuppressionRemoved EventType = "suppression.removed"
	// EventComplaint: a complaint (ARF feedback report) about an address.
	EventComplaint EventType = "complaint"
	// EventSenderAlert: a sender-side rejection (blocked, spam, DNSBL,
	// authentication): the recipient is not at fault.
	EventSenderAlert EventType = "sender_alert"
	// EventMailboxHealth: a mailbox's health checks changed (one failed,
	// or all pass again).
	EventMailboxHealth EventType = "mailbox_health"
)

// EventTypes lists every event type.
var EventTypes = []EventType{EventSuppressionAdded, EventSuppressionRemoved, EventComplaint, EventSenderAlert, EventMailboxHealth}

// OutboxEvent is one event as a generic webhook target receives it (its
// JSON). Address, Reason and Mailbox are always present ("" when they do
// not apply); the rest only where they apply.
type OutboxEvent struct {
	ID      string    `json:"id"`   // unique per event, the same on every retry: deduplicate on it
	Type    EventType `json:"type"` // one of EventTypes
	At      time.Time `json:"at"`   // when bounced recorded it
	Address string    `json:"address"`
	// Reason: suppression.added: the suppression's reason (userunknown,
	// complaint:abuse, manual, ...); complaint: complaint:<feedback type>;
	// sender_alert: the reason (blocked, ...); mailbox_health: the failing
	// checks, comma-separated, or "ok".
	Reason  string `json:"reason"`
	Mailbox string `json:"mailbox"` // the [[mailbox]] the mail came from; "" for local files and changes by hand
	Domain  string `json:"domain,omitempty"`
	// By: suppression events: policy, manual or reclassify.
	By    string  `json:"by,omitempty"`
	Note  string  `json:"note,omitempty"`
	Score float64 `json:"score,omitempty"`
	// Policy: complaint and sender_alert: what the policy did with it
	// (suppress, score, alert, ignore).
	Policy        string            `json:"policy,omitempty"`
	StoredID      int64             `json:"stored_id,omitempty"` // the stored mail that caused it (bounced recipient ADDRESS)
	Kind          classify.Kind     `json:"kind,omitempty"`      // that mail's kind
	MailAt        time.Time         `json:"mail_at,omitzero"`    // when that mail arrived
	FeedbackType  string            `json:"feedback_type,omitempty"`
	Status        string            `json:"status,omitempty"`
	Diagnostic    string            `json:"diagnostic,omitempty"`
	RemoteMTA     string            `json:"remote_mta,omitempty"`
	OrigMessageID string            `json:"orig_message_id,omitempty"` // the returned original's Message-ID
	OrigHeaders   map[string]string `json:"orig_headers,omitempty"`    // its X- headers (X-Listmonk-Campaign, ...)
	// Problems: mailbox_health: the failing checks now (none: healthy);
	// Previous: the checks that failed before.
	Problems []Problem `json:"problems,omitempty"`
	Previous []string  `json:"previous,omitempty"`
}

// DeliveryState is the state of one event's delivery to one target.
type DeliveryState string

const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryDead      DeliveryState = "dead"
)

// Delivery is one event to one target.
type Delivery struct {
	ID          int64         `json:"delivery"`
	Target      string        `json:"target"`
	State       DeliveryState `json:"state"`
	Attempts    int           `json:"attempts"`
	NextAt      time.Time     `json:"next_at,omitzero"` // pending: not before
	LastAt      time.Time     `json:"last_at,omitzero"`
	LastStatus  int           `json:"last_status,omitempty"` // HTTP status of the last attempt; 0: no answer
	LastError   string        `json:"last_error,omitempty"`
	DeliveredAt time.Time     `json:"delivered_at,omitzero"`
	Event       OutboxEvent   `json:"event"`
	// Payload is the event's JSON as stored: the body a generic target
	// gets, byte for byte the same on every attempt.
	Payload []byte `json:"-"`
}

// newEventID returns a random RFC 4122 version 4 UUID.
func newEventID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// eventJSON encodes an event as stored and sent: compact, no HTML
// escaping (a diagnostic's <user@example.org> stays readable).
func eventJSON(ev *OutboxEvent) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

const (
	hOutbox = `INSERT INTO outbox(uid, type, at, address, mailbox, reason, payload)`
	wOutbox = 7
)

// insertEvents writes events to the outbox in the writer's transaction,
// with the transaction's time and a new id each.
func (w *writer) insertEvents(evs []OutboxEvent) error {
	if len(evs) == 0 {
		return nil
	}
	args := make([]any, 0, len(evs)*wOutbox)
	for i := range evs {
		ev := &evs[i]
		ev.ID, ev.At = newEventID(), w.now.UTC().Truncate(time.Millisecond)
		payload, err := eventJSON(ev)
		if err != nil {
			return fmt.Errorf("encoding %s event: %w", ev.Type, err)
		}
		args = append(args, ev.ID, string(ev.Type), fmtTime(ev.At), ev.Address, ev.Mailbox, ev.Reason, payload)
	}
	if _, err := w.rows(hOutbox, wOutbox, "", args, nil); err != nil {
		return fmt.Errorf("writing %d events to the outbox: %w", len(evs), err)
	}
	return nil
}

// stateEvent is the outbox event of a state change made by setState (by
// hand or by reclassify), with what the stored mail that caused it says.
func (w *writer) stateEvent(addr, state, reason, note string, score float64, msgID int64, by string) (OutboxEvent, error) {
	_, domain := NormalizeAddress(addr)
	ev := OutboxEvent{Type: EventSuppressionAdded, Address: addr, Domain: domain, Reason: reason, By: by, Note: note, Score: score, StoredID: msgID}
	if state != StateSuppressed {
		ev.Type, ev.Reason, ev.Score = EventSuppressionRemoved, "", 0
	}
	if msgID <= 0 {
		return ev, nil
	}
	row, err := w.queryRow(qEventMail, msgID)
	if err != nil {
		return ev, err
	}
	var kind, at, headers string
	switch err := row.Scan(&ev.Mailbox, &kind, &at, &ev.OrigMessageID, &headers); {
	case errors.Is(err, sql.ErrNoRows):
		return ev, nil
	case err != nil:
		return ev, fmt.Errorf("reading message %d: %w", msgID, err)
	}
	ev.Kind, ev.MailAt = classify.Kind(kind), parseTime(at)
	if headers != "" {
		json.Unmarshal([]byte(headers), &ev.OrigHeaders) // as stored by Record: a bad value only loses the headers
	}
	return ev, nil
}

const qEventMail = `SELECT account, kind, at, orig_message_id, orig_headers FROM messages WHERE id = ?`

// batchEvent is the outbox event of one outcome of a batch (batch.go).
func batchEvent(typ EventType, r *Record, p *prepared, id int64, o batchOutcome) OutboxEvent {
	v, rc := &r.Verdict, o.rc
	return OutboxEvent{
		Type: typ, Address: o.addr, Domain: o.domain, Mailbox: r.Source.Account, Policy: string(o.action),
		StoredID: id, Kind: v.Kind, MailAt: p.at.UTC(), FeedbackType: v.FeedbackType, Status: rc.Status,
		Diagnostic: rc.Diagnostic, RemoteMTA: rc.RemoteMTA, OrigMessageID: v.Original.MessageID, OrigHeaders: v.Original.Headers,
	}
}

// outcomeEvents are the complaint and sender_alert events of a batch's
// outcome, if it is one: a complaint that the policy acted on (not held as
// unverified or capped), or a sender-side alert.
func outcomeEvents(evs []OutboxEvent, r *Record, p *prepared, id int64, o batchOutcome) []OutboxEvent {
	v := &r.Verdict
	switch {
	case v.Kind == classify.KindComplaint:
		if o.addr == "" || o.action == ActionUnverified || o.action == ActionCapped {
			return evs
		}
		ev := batchEvent(EventComplaint, r, p, id, o)
		ev.Reason = reasonLabel(v.Kind, v.FeedbackType, o.rc.Reason)
		return append(evs, ev)
	case o.action == ActionAlert:
		ev := batchEvent(EventSenderAlert, r, p, id, o)
		ev.Reason = string(o.rc.Reason)
		return append(evs, ev)
	}
	return evs
}

// Fanout gives target a pending delivery of every event written since it
// last looked whose type accept takes (nil: every type), and returns how
// many it added. A target never seen before starts after the newest event:
// it gets the events from now on, not the history. Idle, it only reads.
func (db *DB) Fanout(ctx context.Context, target string, accept func(EventType) bool) (int, error) {
	var last, newest int64
	known := true
	err := db.sql.QueryRowContext(ctx, qTargetLast, target).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		known = false
	case err != nil:
		return 0, fmt.Errorf("fanning out to %s: %w", target, err)
	}
	if err := db.sql.QueryRowContext(ctx, qNewestEvent).Scan(&newest); err != nil {
		return 0, fmt.Errorf("fanning out to %s: %w", target, err)
	}
	if known && newest <= last {
		return 0, nil
	}
	added := 0
	now := db.now()
	err = db.tx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, ctx: ctx, tx: tx, now: now}
		defer w.close()
		added = 0
		row, err := w.queryRow(qTargetLast, target)
		if err != nil {
			return err
		}
		switch err := row.Scan(&last); {
		case errors.Is(err, sql.ErrNoRows):
			_, err := w.exec(`INSERT INTO webhook_targets(name, last_event, added_at) VALUES (?, (`+qNewestEvent+`), ?)`, target, w.nowText())
			return err
		case err != nil:
			return err
		}
		for {
			var args []any
			n := 0
			_, err := w.run(qEventsAfter, []any{last, fanoutBatch}, func(rows *sql.Rows) error {
				for rows.Next() {
					var id int64
					var typ string
					if err := rows.Scan(&id, &typ); err != nil {
						return err
					}
					n++
					last = id
					if accept == nil || accept(EventType(typ)) {
						args = append(args, id, target, w.nowText())
					}
				}
				return rows.Err()
			})
			if err != nil {
				return err
			}
			if _, err := w.rows(hDeliveries, wDeliveries, tDeliveries, args, nil); err != nil {
				return err
			}
			added += len(args) / wDeliveries
			if n < fanoutBatch {
				break
			}
		}
		_, err = w.exec(`UPDATE webhook_targets SET last_event = ? WHERE name = ?`, last, target)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("fanning out to %s: %w", target, err)
	}
	return added, nil
}

// fanoutBatch is how many events Fanout reads per statement.
const fanoutBatch = 500

const (
	qTargetLast  = `SELECT last_event FROM webhook_targets WHERE name = ?`
	qNewestEvent = `SELECT coalesce(max(id), 0) FROM outbox`
	qEventsAfter = `SELECT id, type FROM outbox WHERE id > ? ORDER BY id LIMIT ?`
	hDeliveries  = `INSERT INTO webhook_deliveries(event_id, target, next_at)`
	wDeliveries  = 3
	tDeliveries  = ` ON CONFLICT DO NOTHING`

	deliveryColumns = `d.id, d.target, d.state, d.attempts, d.next_at, d.last_at, d.last_status, d.last_error, d.delivered_at, o.payload`

	qDue = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries d JOIN outbox o ON o.id = d.event_id
		WHERE d.target = ? AND d.state = 'pending' AND d.next_at <= ? ORDER BY d.id LIMIT ?`
	qNextDue = `SELECT min(next_at) FROM webhook_deliveries WHERE target = ? AND state = 'pending'`
	// Literal states, so that the partial indexes serve them.
	qCountPending = `SELECT count(*) FROM webhook_deliveries WHERE target = ? AND state = 'pending'`
	qCountDead    = `SELECT count(*) FROM webhook_deliveries WHERE target = ? AND state = 'dead'`
)

func scanDelivery(sc interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var next string
	var last, delivered sql.NullString
	var payload string
	if err := sc.Scan(&d.ID, &d.Target, &d.State, &d.Attempts, &next, &last, &d.LastStatus, &d.LastError, &delivered, &payload); err != nil {
		return d, err
	}
	d.NextAt, d.LastAt, d.DeliveredAt = parseTime(next), parseNullTime(last), parseNullTime(delivered)
	if d.State != DeliveryPending {
		d.NextAt = time.Time{}
	}
	d.Payload = []byte(payload)
	if err := json.Unmarshal(d.Payload, &d.Event); err != nil {
		return d, fmt.Errorf("delivery %d: reading its event: %w", d.ID, err)
	}
	return d, nil
}

func scanDeliveries(rows *sql.Rows) ([]Delivery, error) {
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DueDeliveries lists up to limit of target's pending deliveries due at
// now, oldest event first.
func (db *DB) DueDeliveries(ctx context.Context, target string, now time.Time, limit int) ([]Delivery, error) {
	rows, err := db.sql.QueryContext(ctx, qDue, target, fmtTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("listing due deliveries of %s: %w", target, err)
	}
	ds, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("listing due deliveries of %s: %w", target, err)
	}
	return ds, nil
}

// NextDue returns when target's next pending delivery is due (the zero
// time when none is pending).
func (db *DB) NextDue(ctx context.Context, target string) (time.Time, error) {
	var next sql.NullString
	if err := db.sql.QueryRowContext(ctx, qNextDue, target).Scan(&next); err != nil {
		return time.Time{}, fmt.Errorf("reading the next delivery of %s: %w", target, err)
	}
	return parseNullTime(next), nil
}

// MarkDelivered records that the receiver took a delivery (answered status
// at at). Until it is marked, the delivery is pending: a crash before this
// delivers it once more.
func (db *DB) MarkDelivered(ctx context.Context, id int64, at time.Time, status int) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_at = ?1,
			last_status = ?2, last_error = '', delivered_at = ?1 WHERE id = ?3 AND state = 'pending'`, fmtTime(at), status, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("marking delivery %d delivered: %w", id, err)
	}
	return nil
}

// MarkFailed records a failed attempt of a delivery at at: pending again
// from next, or dead (dead-lettered) when dead is set.
func (db *DB) MarkFailed(ctx context.Context, id int64, at time.Time, status int, reason string, next time.Time, dead bool) error {
	state := DeliveryPending
	if dead {
		state = DeliveryDead
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_at = ?, last_status = ?,
			last_error = ?, next_at = ? WHERE id = ? AND state = 'pending'`, string(state), fmtTime(at), status, clip(reason, 500), fmtTime(next), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("marking delivery %d failed: %w", id, err)
	}
	return nil
}

// DeliveryFilter selects deliveries to list.
type DeliveryFilter struct {
	Target string          // "" for every target
	States []DeliveryState // none: every state
	Limit  int             // 0: 100
}

// Deliveries lists deliveries, newest first.
func (db *DB) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries d JOIN outbox o ON o.id = d.event_id WHERE 1`
	var args []any
	if f.Target != "" {
		q += ` AND d.target = ?`
		args = append(args, f.Target)
	}
	if len(f.States) > 0 {
		q += ` AND d.state IN (?` + strings.Repeat(",?", len(f.States)-1) + `)`
		for _, s := range f.States {
			args = append(args, string(s))
		}
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := db.sql.QueryContext(ctx, q+` ORDER BY d.id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("listing deliveries: %w", err)
	}
	ds, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("listing deliveries: %w", err)
	}
	return ds, nil
}

// RetryDeliveries puts deliveries back in the queue, due now, with their
// attempts counted from zero again: of the events named by their ids
// (whatever their state: a replay of a delivered one too), or without ids
// every dead-lettered one; of target only, unless it is "". It returns how
// many it re-queued; an id that names no stored event is an error
// (ErrNotFound) and changes nothing.
func (db *DB) RetryDeliveries(ctx context.Context, target string, eventIDs []string) (int, error) {
	now := db.now()
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		q := `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_at = ? WHERE (?2 = '' OR target = ?2)`
		args := []any{fmtTime(now), target}
		if len(eventIDs) == 0 {
			q += ` AND state = 'dead'`
		} else {
			in := `(?` + strings.Repeat(",?", len(eventIDs)-1) + `)`
			var ids []any
			for _, id := range eventIDs {
				ids = append(ids, id)
			}
			rows, err := tx.QueryContext(ctx, `SELECT uid FROM outbox WHERE uid IN `+in, ids...)
			if err != nil {
				return err
			}
			found := map[string]bool{}
			for rows.Next() {
				var uid string
				if err := rows.Scan(&uid); err != nil {
					rows.Close()
					return err
				}
				found[uid] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, id := range eventIDs {
				if !found[id] {
					return fmt.Errorf("event %s: %w", id, ErrNotFound)
				}
			}
			q += ` AND event_id IN (SELECT id FROM outbox WHERE uid IN ` + in + `)`
			args = append(args, ids...)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("re-queueing deliveries: %w", err)
	}
	return int(n), nil
}

// OutboxQueue is what waits in the outbox for one target.
type OutboxQueue struct {
	Target  string `json:"target"`
	Pending int    `json:"pending"`
	Dead    int    `json:"dead"` // dead-lettered: `bounced webhooks retry` re-queues them
	// NextAttempt is when the next pending delivery is due.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// LastError is why the oldest pending delivery failed last, else
	// why the newest dead one did.
	LastError string `json:"last_error,omitempty"`
}

// OutboxQueues returns, per target with a delivery pending or dead, and
// for every target named, what waits.
func (db *DB) OutboxQueues(ctx context.Context, targets []string) ([]OutboxQueue, error) {
	byName := map[string]*OutboxQueue{}
	for _, t := range targets {
		byName[t] = &OutboxQueue{Target: t}
	}
	for _, st := range []DeliveryState{DeliveryPending, DeliveryDead} {
		q := qPendingByTarget
		if st == DeliveryDead {
			q = qDeadByTarget
		}
		rows, err := db.sql.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("counting deliveries: %w", err)
		}
		for rows.Next() {
			var t string
			var n int
			if err := rows.Scan(&t, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("counting deliveries: %w", err)
			}
			q := byName[t]
			if q == nil {
				q = &OutboxQueue{Target: t}
				byName[t] = q
			}
			if st == DeliveryPending {
				q.Pending = n
			} else {
				q.Dead = n
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("counting deliveries: %w", err)
		}
	}
	out := make([]OutboxQueue, 0, len(byName))
	for _, q := range byName {
		var err error
		if q.Pending > 0 {
			if q.NextAttempt, err = db.NextDue(ctx, q.Target); err != nil {
				return nil, err
			}
			err = db.sql.QueryRowContext(ctx, `SELECT last_error FROM webhook_deliveries WHERE target = ? AND state = 'pending' ORDER BY id LIMIT 1`,
				q.Target).Scan(&q.LastError)
		}
		if err == nil && q.LastError == "" && q.Dead > 0 {
			err = db.sql.QueryRowContext(ctx, `SELECT last_error FROM webhook_deliveries WHERE target = ? AND state = 'dead' ORDER BY id DESC LIMIT 1`,
				q.Target).Scan(&q.LastError)
		}
		if err != nil {
			return nil, fmt.Errorf("reading the queue of %s: %w", q.Target, err)
		}
		out = append(out, *q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out, nil
}

const (
	qPendingByTarget = `SELECT target, count(*) FROM webhook_deliveries WHERE state = 'pending' GROUP BY target`
	qDeadByTarget    = `SELECT target, count(*) FROM webhook_deliveries WHERE state = 'dead' GROUP BY target`
)

// QueueCounts returns target's pending and dead-lettered deliveries.
func (db *DB) QueueCounts(ctx context.Context, target string) (pending, dead int, err error) {
	if err := db.sql.QueryRowContext(ctx, qCountPending, target).Scan(&pending); err != nil {
		return 0, 0, fmt.Errorf("counting deliveries of %s: %w", target, err)
	}
	if err := db.sql.QueryRowContext(ctx, qCountDead, target).Scan(&dead); err != nil {
		return 0, 0, fmt.Errorf("counting deliveries of %s: %w", target, err)
	}
	return pending, dead, nil
}

// PruneOutbox deletes the events recorded before before that every target
// named has had its look at (Fanout) and that no target still has to
// deliver (pending or dead), with their deliveries, and returns how many
// events it deleted.
func (db *DB) PruneOutbox(ctx context.Context, before time.Time, targets []string) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		upTo := int64(1<<63 - 1)
		for _, t := range targets {
			var last int64
			switch err := tx.QueryRowContext(ctx, qTargetLast, t).Scan(&last); {
			case errors.Is(err, sql.ErrNoRows):
				continue // never looked: it starts after the newest event anyway
			case err != nil:
				return err
			}
			upTo = min(upTo, last)
		}
		res, err := tx.ExecContext(ctx, qPruneOutbox, upTo, fmtTime(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning the outbox: %w", err)
	}
	return n, nil
}

const qPruneOutbox = `DELETE FROM outbox WHERE id <= ? AND at < ?
	AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = outbox.id AND d.state <> 'delivered')`

// NoteHealth compares the failing checks of h (MailboxHealth) with those
// of the mailbox's last judgement and, when they differ, stores them and
// writes a mailbox_health event, in one transaction: a crash before it
// leaves the last judgement as it was, so the next call sees the change
// again. The first judgement of a mailbox is an event only when a check
// fails. It reports whether it wrote an event.
func (db *DB) NoteHealth(ctx context.Context, h Health) (bool, error) {
	checks := make([]string, 0, len(h.Problems))
	for _, p := range h.Problems {
		checks = append(checks, p.Check)
	}
	sort.Strings(checks)
	checks = slices.Compact(checks)
	cur := strings.Join(checks, ",")
	changed := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, ctx: ctx, tx: tx, now: db.now()}
		defer w.close()
		changed = false
		var before string
		known := true
		switch err := tx.QueryRowContext(ctx, `SELECT checks FROM health_state WHERE mailbox = ?`, h.Mailbox).Scan(&before); {
		case errors.Is(err, sql.ErrNoRows):
			known = false
		case err != nil:
			return err
		}
		if known && before == cur || !known && cur == "" {
			if !known {
				_, err := tx.ExecContext(ctx, `INSERT INTO health_state(mailbox, checks, updated_at) VALUES (?, ?, ?)`, h.Mailbox, cur, w.nowText())
				return err
			}
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO health_state(mailbox, checks, updated_at) VALUES (?, ?, ?)
			ON CONFLICT(mailbox) DO UPDATE SET checks = excluded.checks, updated_at = excluded.updated_at`, h.Mailbox, cur, w.nowText())
		if err != nil {
			return err
		}
		ev := OutboxEvent{Type: EventMailboxHealth, Mailbox: h.Mailbox, Reason: cur, Problems: h.Problems}
		if cur == "" {
			ev.Reason = "ok"
		}
		if before != "" {
			ev.Previous = strings.Split(before, ",")
		}
		changed = true
		return w.insertEvents([]OutboxEvent{ev})
	})
	if err != nil {
		return false, fmt.Errorf("noting the health of %s: %w", h.Mailbox, err)
	}
	return changed, nil
}
