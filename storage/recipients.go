package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Recipient is one address's current state and counters.
type Recipient struct {
	Address     string    `json:"address"`
	Domain      string    `json:"domain"`
	State       string    `json:"state"`          // active | suppressed
	Reason      string    `json:"reason"`         // why suppressed: a reason, complaint:<type>, manual
	Since       time.Time `json:"since,omitzero"` // when the state began: the time of the mail that caused it
	Manual      bool      `json:"manual"`         // a person set the state
	Note        string    `json:"note"`           // the person's note, or how the policy decided
	StoredID    int64     `json:"stored_id"`      // the stored mail (messages.id) that caused the state
	Score       float64   `json:"score"`          // soft score at ScoreAt
	ScoreAt     time.Time `json:"score_at,omitzero"`
	Bounces     int       `json:"bounces"`
	Delays      int       `json:"delays"`
	Complaints  int       `json:"complaints"`
	Reports     int       `json:"reports"`
	Autoreplies int       `json:"autoreplies"`
	Delivered   int       `json:"delivered"`
	FirstBounce time.Time `json:"first_bounce,omitzero"`
	LastBounce  time.Time `json:"last_bounce,omitzero"`
	// SuppressedAt is when bounced recorded the suppression (zero when
	// active): Since is when the failure happened, which may be long
	// before bounced saw the mail (a backfill, a daemon that was down).
	SuppressedAt time.Time `json:"suppressed_at,omitzero"`
}

// Event is one change of a recipient's state.
type Event struct {
	At       time.Time `json:"at"`
	State    string    `json:"state"`
	Reason   string    `json:"reason"`
	By       string    `json:"by"` // policy | manual | reclassify
	Note     string    `json:"note"`
	Score    float64   `json:"score"`
	StoredID int64     `json:"stored_id"` // the stored mail (messages.id) that caused the change
}

// History is everything stored about one address.
type History struct {
	Recipient Recipient `json:"recipient"`
	Events    []Event   `json:"events"`   // oldest first
	Outcomes  []Outcome `json:"outcomes"` // oldest first, sender-side alerts included
}

const recipientColumns = `address, domain, state, reason, since, manual, note, coalesce(stored_id, 0), score, score_at,
	bounces, delays, complaints, reports, autoreplies, delivered, first_bounce, last_bounce, suppressed_at`

func scanRecipient(sc interface{ Scan(...any) error }) (Recipient, error) {
	var r Recipient
	var since, scoreAt, first, last, suppressedAt sql.NullString
	err := sc.Scan(&r.Address, &r.Domain, &r.State, &r.Reason, &since, &r.Manual, &r.Note, &r.StoredID, &r.Score, &scoreAt,
		&r.Bounces, &r.Delays, &r.Complaints, &r.Reports, &r.Autoreplies, &r.Delivered, &first, &last, &suppressedAt)
	r.Since, r.ScoreAt, r.SuppressedAt = parseNullTime(since), parseNullTime(scoreAt), parseNullTime(suppressedAt)
	r.FirstBounce, r.LastBounce = parseNullTime(first), parseNullTime(last)
	return r, err
}

// Recipient returns an address's state, history and outcomes. An address
// never seen returns ErrNotFound.
func (db *DB) Recipient(ctx context.Context, address string) (History, error) {
	addr, domain := NormalizeAddress(address)
	var h History
	r, err := scanRecipient(db.sql.QueryRowContext(ctx, `SELECT `+recipientColumns+` FROM recipients WHERE address = ?`, addr))
	known := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r = Recipient{Address: addr, Domain: domain, State: StateActive}
	case err != nil:
		return h, fmt.Errorf("reading recipient %s: %w", addr, err)
	}
	h.Recipient = r
	rows, err := db.sql.QueryContext(ctx, `SELECT at, state, reason, set_by, note, score, coalesce(stored_id, 0)
		FROM recipient_events WHERE address = ? ORDER BY at, id`, addr)
	if err != nil {
		return h, fmt.Errorf("reading history of %s: %w", addr, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		var at string
		if err := rows.Scan(&at, &e.State, &e.Reason, &e.By, &e.Note, &e.Score, &e.StoredID); err != nil {
			return h, fmt.Errorf("reading history of %s: %w", addr, err)
		}
		e.At = parseTime(at)
		h.Events = append(h.Events, e)
	}
	if err := rows.Err(); err != nil {
		return h, fmt.Errorf("reading history of %s: %w", addr, err)
	}
	h.Outcomes, err = db.outcomesOf(ctx, `WHERE o.address = ? ORDER BY o.at, o.id`, addr)
	if err != nil {
		return h, fmt.Errorf("reading outcomes of %s: %w", addr, err)
	}
	if !known && len(h.Outcomes) == 0 {
		return h, fmt.Errorf("recipient %s: %w", addr, ErrNotFound)
	}
	return h, nil
}

// Suppress suppresses an address by hand, with a note; the automatic
// policy never lifts it. An address never seen is added.
func (db *DB) Suppress(ctx context.Context, address, note string) error {
	addr, domain := NormalizeAddress(address)
	if addr == "" {
		return errors.New("suppressing: empty address")
	}
	now := db.now()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, ctx: ctx, tx: tx, now: now}
		defer w.close()
		if _, err := tx.ExecContext(ctx, `INSERT INTO recipients(address, domain, updated_at) VALUES (?, ?, ?)
			ON CONFLICT(address) DO NOTHING`, addr, domain, fmtTime(now)); err != nil {
			return err
		}
		return w.setState(addr, StateSuppressed, "manual", true, note, 0, 0, now, "manual")
	})
	if err != nil {
		return fmt.Errorf("suppressing %s: %w", addr, err)
	}
	db.log.Info("suppressed recipient by hand", "recipient", addr)
	return nil
}

// Unsuppress makes an address active again by hand, with a note. It is a
// fresh start: its soft score restarts from zero and only evidence newer
// than this suppresses it again.
func (db *DB) Unsuppress(ctx context.Context, address, note string) error {
	addr, _ := NormalizeAddress(address)
	now := db.now()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, ctx: ctx, tx: tx, now: now}
		defer w.close()
		res, err := tx.ExecContext(ctx, `UPDATE recipients SET score = 0, score_at = ? WHERE address = ?`, fmtTime(now), addr)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return w.setState(addr, StateActive, "", true, note, 0, 0, now, "manual")
	})
	if err != nil {
		return fmt.Errorf("unsuppressing %s: %w", addr, err)
	}
	db.log.Info("unsuppressed recipient by hand", "recipient", addr)
	return nil
}

// Suppressions calls fn for every suppressed address, in the order the
// suppressions were recorded. With a non-zero since it lists only those
// recorded at or after since (Recipient.SuppressedAt), whatever the time
// of the mail that caused them (Recipient.Since): a mailer that asks every
// hour for the last hour gets every new suppression, also one caused by
// an old mail seen late. It streams: the list may be long.
func (db *DB) Suppressions(ctx context.Context, since time.Time, fn func(Recipient) error) error {
	q := `SELECT ` + recipientColumns + ` FROM recipients WHERE state = 'suppressed'`
	var args []any
	if !since.IsZero() {
		q += ` AND suppressed_at >= ?`
		args = append(args, fmtTime(since))
	}
	rows, err := db.sql.QueryContext(ctx, q+` ORDER BY suppressed_at, address`, args...)
	if err != nil {
		return fmt.Errorf("listing suppressions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecipient(rows)
		if err != nil {
			return fmt.Errorf("listing suppressions: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing suppressions: %w", err)
	}
	return nil
}
