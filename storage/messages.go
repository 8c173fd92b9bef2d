package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bounced/bounced/classify"
)

// ErrNotFound is returned when a message or recipient is not stored.
var ErrNotFound = errors.New("storage: not found")

// StoredMessage is one stored mail delivery read back.
type StoredMessage struct {
	ID                int64
	Source            Source
	Digest            string
	Size              int64
	DuplicateOf       int64 // the first delivery of the same bytes; 0 for a first delivery
	At                time.Time
	ReceivedAt        time.Time
	RecordedAt        time.Time
	Skipped           string
	Verdict           classify.Verdict // recipients from the outcomes (empty for a duplicate)
	Policies          []PolicyAction   // the policy action of each recipient, in order
	ClassifierVersion string
	DisposedAction    string // what was done on the server (or "gone": found no longer there)
	DisposedAt        time.Time
	DisposingAction   string // the last action the poller was about to take (MarkDisposing)
	DisposingAt       time.Time
	Archived          bool
}

const messageColumns = `m.id, m.account, m.folder, m.uidvalidity, m.uid, m.path, m.idx, coalesce(m.digest, ''), m.size,
	coalesce(m.duplicate_of, 0), m.at, m.received_at, m.recorded_at, m.kind, m.skipped, m.feedback_type, m.message_id,
	m.from_addr, m.subject, m.date, m.to_addr, m.delivered_to, m.reporting_mta, m.arrival_date, m.decoder, m.rule,
	m.notes, m.orig_message_id, m.orig_from, m.orig_to, m.orig_subject, m.orig_date, m.orig_headers,
	m.classifier_version, m.disposed_action, m.disposed_at, m.disposing_action, m.disposing_at, EXISTS (SELECT 1 FROM archive a WHERE a.message_id = m.id)`

func scanMessage(sc interface{ Scan(...any) error }) (StoredMessage, error) {
	var m StoredMessage
	var uidv, uid int64
	var at, recorded string
	var received, date, arrival, disposed, disposing sql.NullString
	var kind, notes, headers string
	v := &m.Verdict
	err := sc.Scan(&m.ID, &m.Source.Account, &m.Source.Folder, &uidv, &uid, &m.Source.Path, &m.Source.Index, &m.Digest, &m.Size,
		&m.DuplicateOf, &at, &received, &recorded, &kind, &m.Skipped, &v.FeedbackType, &v.MessageID,
		&v.From, &v.Subject, &date, &v.To, &v.DeliveredTo, &v.ReportingMTA, &arrival, &v.Decoder, &v.Rule,
		&notes, &v.Original.MessageID, &v.Original.From, &v.Original.To, &v.Original.Subject, &v.Original.Date, &headers,
		&m.ClassifierVersion, &m.DisposedAction, &disposed, &m.DisposingAction, &disposing, &m.Archived)
	if err != nil {
		return m, err
	}
	m.Source.UIDValidity, m.Source.UID = uint32(uidv), uint32(uid)
	m.At, m.RecordedAt, m.ReceivedAt = parseTime(at), parseTime(recorded), parseNullTime(received)
	m.DisposedAt, m.DisposingAt = parseNullTime(disposed), parseNullTime(disposing)
	v.Kind = classify.Kind(kind)
	v.Date, v.ArrivalDate = parseNullTime(date), parseNullTime(arrival)
	if notes != "" {
		if err := json.Unmarshal([]byte(notes), &v.Notes); err != nil {
			return m, fmt.Errorf("message %d: notes: %w", m.ID, err)
		}
	}
	if headers != "" {
		if err := json.Unmarshal([]byte(headers), &v.Original.Headers); err != nil {
			return m, fmt.Errorf("message %d: original headers: %w", m.ID, err)
		}
	}
	return m, nil
}

// Message reads one stored message with its outcomes.
func (db *DB) Message(ctx context.Context, id int64) (StoredMessage, error) {
	row := db.sql.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages m WHERE m.id = ?`, id)
	m, err := scanMessage(row)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("reading message %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("reading message %d: %w", id, err)
	}
	outs, err := db.outcomesOf(ctx, `WHERE o.message_id = ? ORDER BY o.id`, id)
	if err != nil {
		return m, fmt.Errorf("reading message %d: %w", id, err)
	}
	for _, o := range outs {
		m.Verdict.Recipients = append(m.Verdict.Recipients, o.Recipient)
		m.Policies = append(m.Policies, o.Policy)
	}
	return m, nil
}

// Outcome is one stored recipient outcome.
type Outcome struct {
	ID                int64              `json:"id"`
	StoredID          int64              `json:"stored_id"` // the stored mail (messages.id)
	At                time.Time          `json:"at"`
	Kind              classify.Kind      `json:"kind"`
	FeedbackType      string             `json:"feedback_type"`
	Domain            string             `json:"domain"`
	Recipient         classify.Recipient `json:"recipient"`
	OrigMessageID     string             `json:"orig_message_id"`
	OrigHeaders       map[string]string  `json:"orig_headers,omitempty"`
	Policy            PolicyAction       `json:"policy"`
	ClassifierVersion string             `json:"classifier_version"`
}

func (db *DB) outcomesOf(ctx context.Context, where string, args ...any) ([]Outcome, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT o.id, o.message_id, o.at, o.kind, o.feedback_type, o.address, o.domain,
		o.action, o.status, o.reply_code, o.reason, o.hard, o.diagnostic, o.remote_mta, o.command, o.last_attempt, o.rule,
		o.orig_message_id, o.orig_headers, o.policy, m.classifier_version
		FROM outcomes o JOIN messages m ON m.id = o.message_id `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var outs []Outcome
	for rows.Next() {
		var o Outcome
		var at, kind, action, reason, headers, policy string
		var last sql.NullString
		r := &o.Recipient
		if err := rows.Scan(&o.ID, &o.StoredID, &at, &kind, &o.FeedbackType, &r.Address, &o.Domain,
			&action, &r.Status, &r.ReplyCode, &reason, &r.Hard, &r.Diagnostic, &r.RemoteMTA, &r.Command, &last, &r.Rule,
			&o.OrigMessageID, &headers, &policy, &o.ClassifierVersion); err != nil {
			return nil, err
		}
		o.At, o.Kind, o.Policy = parseTime(at), classify.Kind(kind), PolicyAction(policy)
		r.Action, r.Reason, r.LastAttempt = classify.Action(action), classify.Reason(reason), parseNullTime(last)
		if headers != "" {
			if err := json.Unmarshal([]byte(headers), &o.OrigHeaders); err != nil {
				return nil, fmt.Errorf("outcome %d: original headers: %w", o.ID, err)
			}
		}
		outs = append(outs, o)
	}
	return outs, rows.Err()
}

// Counts is the number of rows in the main tables: what a test or a
// status line wants to know.
type Counts struct {
	Messages, Duplicates, Outcomes, Recipients, Suppressed, Alerts, Archived int
}

// Counts counts the main tables.
func (db *DB) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := db.sql.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM messages WHERE duplicate_of IS NULL),
		(SELECT count(*) FROM messages WHERE duplicate_of IS NOT NULL),
		(SELECT count(*) FROM outcomes),
		(SELECT count(*) FROM recipients),
		(SELECT count(*) FROM recipients WHERE state = 'suppressed'),
		(SELECT count(*) FROM alerts),
		(SELECT count(*) FROM archive)`).Scan(&c.Messages, &c.Duplicates, &c.Outcomes, &c.Recipients, &c.Suppressed, &c.Alerts, &c.Archived)
	if err != nil {
		return c, fmt.Errorf("counting: %w", err)
	}
	return c, nil
}
