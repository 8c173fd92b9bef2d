package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bounced/bounced/classify"
)

// RunStats counts what one poll of one mailbox did.
type RunStats struct {
	Fetched    int                   `json:"fetched"`
	Recorded   int                   `json:"recorded"`
	Duplicates int                   `json:"duplicates"`
	Skipped    int                   `json:"skipped"`
	Disposed   int                   `json:"disposed"`
	Errors     int                   `json:"errors"`
	Listed     int                   `json:"listed"`  // mails above the cursor when the run listed the folder
	Backlog    int                   `json:"backlog"` // of those, not processed when the run ended
	ByKind     map[classify.Kind]int `json:"by_kind,omitempty"`
	Err        string                `json:"err,omitempty"` // the error that ended the run, if any
}

// Run is one poll of one mailbox.
type Run struct {
	ID      int64     `json:"id"`
	Account string    `json:"mailbox"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"` // zero while running (or after a crash)
	Stats   RunStats  `json:"stats"`
}

// StartRun records the start of a poll of account and returns its id.
func (db *DB) StartRun(ctx context.Context, account string, at time.Time) (int64, error) {
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO runs(account, started_at) VALUES (?, ?)`, account, fmtTime(at))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("starting run of %s: %w", account, err)
	}
	return id, nil
}

// FinishRun records the end and the counts of a run, then prunes the
// archive to its retention.
func (db *DB) FinishRun(ctx context.Context, runID int64, at time.Time, st RunStats) error {
	byKind := ""
	if len(st.ByKind) > 0 {
		b, err := json.Marshal(st.ByKind)
		if err != nil {
			return err
		}
		byKind = string(b)
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET ended_at = ?, fetched = ?, recorded = ?, duplicates = ?, skipped = ?,
			disposed = ?, errors = ?, by_kind = ?, err = ?, listed = ?, backlog = ? WHERE id = ?`,
			fmtTime(at), st.Fetched, st.Recorded, st.Duplicates, st.Skipped, st.Disposed, st.Errors, byKind, st.Err,
			st.Listed, st.Backlog, runID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("no run %d", runID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finishing run %d: %w", runID, err)
	}
	// A daemon runs for months: the archive's retention is kept after
	// every run, not only at Open.
	if _, err := db.PruneArchive(ctx); err != nil {
		db.log.Warn("pruning the archive after a run", "run_id", runID, "err", err)
	}
	return nil
}

// LastRuns returns the latest run of each account, by account name.
func (db *DB) LastRuns(ctx context.Context) ([]Run, error) {
	return lastRuns(ctx, db.sql)
}

func lastRuns(ctx context.Context, q queryer) ([]Run, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, account, started_at, ended_at, fetched, recorded, duplicates, skipped,
		disposed, errors, by_kind, err, listed, backlog FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY account) ORDER BY account`)
	if err != nil {
		return nil, fmt.Errorf("reading last runs: %w", err)
	}
	defer rows.Close()
	var runs []Run
	for rows.Next() {
		var r Run
		var started string
		var ended sql.NullString
		var byKind string
		st := &r.Stats
		if err := rows.Scan(&r.ID, &r.Account, &started, &ended, &st.Fetched, &st.Recorded, &st.Duplicates, &st.Skipped,
			&st.Disposed, &st.Errors, &byKind, &st.Err, &st.Listed, &st.Backlog); err != nil {
			return nil, fmt.Errorf("reading last runs: %w", err)
		}
		r.Started, r.Ended = parseTime(started), parseNullTime(ended)
		if byKind != "" {
			if err := json.Unmarshal([]byte(byKind), &st.ByKind); err != nil {
				return nil, fmt.Errorf("reading run %d: by_kind: %w", r.ID, err)
			}
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading last runs: %w", err)
	}
	return runs, nil
}
