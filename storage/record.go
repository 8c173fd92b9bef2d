package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bounced/bounced/classify"
)

// Source says where a mail came from. An IMAP source (UID > 0) is keyed by
// (Account, Folder, UIDValidity, UID); a local file by (Path, Index). A
// source with neither (stdin) is deduplicated by digest only.
type Source struct {
	Account     string // mailbox name from the config; "" for local files
	Folder      string // IMAP folder
	UIDValidity uint32
	UID         uint32
	Path        string // local file path (imports)
	Index       int    // message number in an mbox, 1 otherwise
}

// IMAP reports whether the source is an IMAP message.
func (s Source) IMAP() bool { return s.UID > 0 }

func (s Source) String() string {
	switch {
	case s.IMAP():
		return fmt.Sprintf("%s/%s uidvalidity %d uid %d", s.Account, s.Folder, s.UIDValidity, s.UID)
	case s.Path != "" && s.Index > 1:
		return fmt.Sprintf("%s #%d", s.Path, s.Index)
	case s.Path != "":
		return s.Path
	}
	return "(no source)"
}

// Record is one processed mail handed to DB.Record.
type Record struct {
	Source     Source
	Raw        []byte           // the mail; digest (SHA-256 of line-end-normalised bytes), size, archive
	Size       int64            // set when Raw is nil (skipped too-large mail)
	Digest     string           // hex; computed from Raw when empty
	Verdict    classify.Verdict // ignored beyond its Kind when Skipped is set
	Skipped    string           // non-empty: not classified, and why ("too large: 31457280 bytes")
	ReceivedAt time.Time        // IMAP INTERNALDATE or file mtime
	// Verification is what the mail proves (Verifier.Verify); the zero
	// value is VerifyOff.
	Verification Verification
}

// Result is what Record did with one Record, in the same order.
type Result struct {
	MessageID  int64         // the stored row of this delivery (for MarkDisposed)
	Duplicate  bool          // already recorded: same source, or same digest
	Kind       classify.Kind // the stored kind (the first delivery's for a duplicate)
	Suppressed []string      // addresses this mail suppressed
	// Unverified: verify is enforced and the mail did not prove that it
	// answers mail sent to the recipients it names; it changed nothing,
	// and is disposed as unverified.
	Unverified bool
	// Alerts are the sender-side problems the mail raised (sum them with
	// SenderAlerts and log once per run).
	Alerts []SenderAlert
}

// Digest returns the hex SHA-256 of raw with its line ends normalised: CRLF,
// CR CR LF and lone CR become LF, and trailing line ends are dropped, so that the
// same mail read from IMAP, a maildir file or an mbox has one digest.
func Digest(raw []byte) string {
	var buf [digestBuffer]byte
	return digest(raw, buf[:])
}

// digestBuffer is the size of the buffer digest normalises lines into.
const digestBuffer = 8 << 10

// digest is Digest with the caller's buffer: the normalised bytes are
// gathered in buf and hashed a buffer at a time (one call per line costs
// half as much again as the hashing), never copied whole.
func digest(raw, buf []byte) string {
	h := sha256.New()
	raw = bytes.TrimRight(raw, "\r\n")
	b := buf[:0]
	for len(raw) > 0 {
		run := raw
		i := bytes.IndexByte(raw, '\r')
		if i >= 0 {
			run = raw[:i]
		}
		if len(b)+len(run)+1 > cap(b) {
			h.Write(b)
			b = b[:0]
			if len(run)+1 > cap(b) {
				h.Write(run)
				run = nil
			}
		}
		b = append(b, run...)
		if i < 0 {
			break
		}
		b = append(b, '\n')
		raw = raw[i+1:]
		// CR CR LF (Courier's way of serving a CRLF maildir file) is one
		// line end, as in classify; a CR not followed by LF is one too.
		j := 0
		for j < len(raw) && raw[j] == '\r' {
			j++
		}
		if j < len(raw) && raw[j] == '\n' {
			raw = raw[j+1:]
		}
	}
	h.Write(b)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// prepared is the work done on a record before the transaction starts, so
// that no CPU-heavy step runs while the write lock is held.
type prepared struct {
	digest     string
	size       int64
	kind       classify.Kind
	at         time.Time
	atText     string // at as stored
	notes      string
	origHeader string
	archive    []byte // the mail compressed alone (a large mail)
	// The mail's place in the batch's archive blocks: block -1 for none.
	block                  int
	blockOffset, blockSize int64
}

func (db *DB) prepare(r *Record, now time.Time) (prepared, error) {
	var p prepared
	src := r.Source
	if src.IMAP() && (src.Folder == "" || src.UIDValidity == 0) {
		return p, errors.New("imap source without folder or uidvalidity")
	}
	if !src.IMAP() && (src.Folder != "" || src.UIDValidity != 0) {
		return p, errors.New("imap source without uid")
	}
	p.kind = r.Verdict.Kind
	if p.kind == "" {
		if r.Skipped == "" {
			return p, errors.New("verdict without kind")
		}
		p.kind = classify.KindUnknown
	}
	if !slices.Contains(classify.Kinds, p.kind) {
		return p, fmt.Errorf("unknown kind %q", p.kind)
	}
	p.digest = strings.ToLower(r.Digest)
	if p.digest == "" && r.Raw != nil {
		p.digest = Digest(r.Raw)
	}
	p.size = r.Size
	if r.Raw != nil {
		p.size = int64(len(r.Raw))
	}
	p.at = r.ReceivedAt
	if p.at.IsZero() {
		p.at = r.Verdict.Date
	}
	if p.at.IsZero() {
		p.at = now
	}
	p.atText = fmtTime(p.at)
	var err error
	p.notes, p.origHeader, err = verdictJSON(&r.Verdict)
	if err != nil {
		return p, err
	}
	return p, nil
}

// verdictJSON encodes the verdict's notes and original X- headers as
// stored ("" when empty).
func verdictJSON(v *classify.Verdict) (notes, origHeaders string, err error) {
	if len(v.Notes) > 0 {
		b, err := json.Marshal(v.Notes)
		if err != nil {
			return "", "", err
		}
		notes = string(b)
	}
	if len(v.Original.Headers) > 0 {
		b, err := json.Marshal(v.Original.Headers)
		if err != nil {
			return "", "", err
		}
		origHeaders = string(b)
	}
	return notes, origHeaders, nil
}

// Record stores a batch in ONE transaction: messages, outcomes, recipient
// states (policy), alerts, and for IMAP sources advances the (account,
// folder) cursor to the UIDVALIDITY and highest UID of the batch. A mail
// already recorded (same source key, or same digest) is a Duplicate:
// nothing is counted twice. A duplicate at a new source is stored as a row
// pointing at the first delivery, so that it can be disposed of and is
// noted, but it carries no outcome. On any error nothing of the batch is
// stored.
func (db *DB) Record(ctx context.Context, recs []Record) ([]Result, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	now := db.now()
	preps := make([]prepared, len(recs))
	for i := range recs {
		p, err := db.prepare(&recs[i], now)
		if err != nil {
			return nil, fmt.Errorf("recording %s: %w", recs[i].Source, err)
		}
		preps[i] = p
	}
	var zc compressor
	blocks, err := db.compressArchive(recs, preps, &zc)
	if err != nil {
		return nil, fmt.Errorf("recording: compressing for the archive: %w", err)
	}
	if !db.opts.ReadOnly {
		if err := db.prepareWrites(ctx); err != nil {
			return nil, fmt.Errorf("recording: preparing statements: %w", err)
		}
	}
	var results []Result
	err = db.tx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, ctx: ctx, tx: tx, now: now}
		defer w.close()
		var err error
		if results, err = w.recordBatch(recs, preps, blocks); err != nil {
			return err
		}
		if err := w.flushRollups(); err != nil {
			return err
		}
		return w.advanceCursors(recs)
	})
	if err != nil {
		return nil, err
	}
	for i, res := range results {
		for _, a := range res.Suppressed {
			db.log.Info("suppressed recipient", "recipient", a, "message_id", recs[i].Verdict.MessageID,
				"stored_id", res.MessageID, "kind", recs[i].Verdict.Kind)
		}
	}
	db.senderAlerts(recs, results)
	return results, nil
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// senderAlerts notes on each result the sender-side problems its mail
// raised (the operator must act: IP listed, DMARC failing, rate limited),
// for the caller to sum and log once per run (SenderAlerts).
func (db *DB) senderAlerts(recs []Record, results []Result) {
	for i := range results {
		r := &recs[i]
		if results[i].Duplicate || r.Skipped != "" {
			continue
		}
		md := db.policy.decide(&r.Verdict, r.Verification)
		for j, d := range md.recipients {
			if d.action == ActionAlert {
				rc := &r.Verdict.Recipients[j]
				results[i].Alerts = append(results[i].Alerts, SenderAlert{Reason: string(rc.Reason), Domain: d.domain, Diagnostic: clip(rc.Diagnostic, 200)})
			}
		}
	}
}

// SenderAlert is one sender-side alert a mail raised.
type SenderAlert struct{ Reason, Domain, Diagnostic string }

// SenderAlerts sums the sender-side alerts of a run (or an import) per
// reason and domain, so that they are logged once with a count and one
// diagnostic, not once per mail.
type SenderAlerts struct {
	order   []SenderAlert // the first of each (reason, domain)
	count   map[[2]string]int
	example map[[2]string]string
}

// Add counts the alerts of results.
func (a *SenderAlerts) Add(results []Result) {
	for _, r := range results {
		for _, al := range r.Alerts {
			k := [2]string{al.Reason, al.Domain}
			if a.count == nil {
				a.count, a.example = map[[2]string]int{}, map[[2]string]string{}
			}
			if a.count[k] == 0 {
				a.order = append(a.order, al)
				a.example[k] = al.Diagnostic
			}
			a.count[k]++
		}
	}
}

// Log warns once per reason and domain.
func (a *SenderAlerts) Log(log *slog.Logger, args ...any) {
	for _, al := range a.order {
		k := [2]string{al.Reason, al.Domain}
		log.Warn("sender-side problem: the recipients are not at fault", append(append([]any{}, args...),
			"reason", al.Reason, "domain", al.Domain, "count", a.count[k], "diagnostic", a.example[k])...)
	}
}

// writer holds the statements of one write transaction and the rollup
// counts it adds.
type writer struct {
	db    *DB
	ctx   context.Context
	tx    *sql.Tx
	now   time.Time
	stmts map[string]*sql.Stmt
	roll  rollups
	nowS  string // now as stored, once formatted
}

// nowText is the transaction's time as stored.
func (w *writer) nowText() string {
	if w.nowS == "" {
		w.nowS = fmtTime(w.now)
	}
	return w.nowS
}

func (w *writer) close() {
	for _, s := range w.stmts {
		s.Close()
	}
}

// stmt returns query prepared for the transaction: the DB's statement
// (see prepareWrites) when it has one, else prepared once per transaction.
func (w *writer) stmt(query string) (*sql.Stmt, error) {
	if s, ok := w.stmts[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if ps := w.db.cached(query); ps != nil {
		s = w.tx.StmtContext(w.ctx, ps)
	} else {
		var err error
		if s, err = w.tx.PrepareContext(w.ctx, query); err != nil {
			return nil, err
		}
	}
	if w.stmts == nil {
		w.stmts = make(map[string]*sql.Stmt)
	}
	w.stmts[query] = s
	return s, nil
}

func (w *writer) exec(query string, args ...any) (sql.Result, error) {
	s, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(w.ctx, args...)
}

func (w *writer) queryRow(query string, args ...any) (*sql.Row, error) {
	s, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryRowContext(w.ctx, args...), nil
}

// lookup finds an existing row: its id and kind.
func (w *writer) lookup(query string, args ...any) (id int64, kind classify.Kind, found bool, err error) {
	row, err := w.queryRow(query, args...)
	if err != nil {
		return 0, "", false, err
	}
	var k string
	switch err := row.Scan(&id, &k); {
	case errors.Is(err, sql.ErrNoRows):
		return 0, "", false, nil
	case err != nil:
		return 0, "", false, err
	}
	return id, classify.Kind(k), true, nil
}

const (
	qBySourceIMAP  = `SELECT id, kind FROM messages WHERE account = ? AND folder = ? AND uidvalidity = ? AND uid = ? AND uid > 0`
	qBySourceFile  = `SELECT id, kind FROM messages WHERE path = ? AND idx = ? AND uid = 0 AND path <> ''`
	qByDigest      = `SELECT id, kind FROM messages WHERE digest = ? AND duplicate_of IS NULL`
	qInsertOutcome = `INSERT INTO outcomes(message_id, at, kind, feedback_type, address, domain, action, status,
		reply_code, reason, hard, diagnostic, remote_mta, command, last_attempt, rule, orig_message_id, orig_headers, policy)
		VALUES (?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?,?,?)`
)

func sourceIndex(s Source) int {
	if s.Index <= 0 {
		return 1
	}
	return s.Index
}

// insertedOutcome is one stored outcome and the policy's action for it.
type insertedOutcome struct {
	addr, domain string
	action       PolicyAction
	rc           *classify.Recipient
}

// insertOutcomes stores one outcome per recipient of the verdict, with the
// policy's action, and a sender-side alert for each alert action, one mail
// at a time, for reclassify (Record writes whole batches: batch.go). It
// does not touch the recipients.
func (w *writer) insertOutcomes(msgID int64, at time.Time, v *classify.Verdict, ver Verification, origHeaders string) ([]insertedOutcome, error) {
	outs := make([]insertedOutcome, 0, len(v.Recipients))
	atText := fmtTime(at)
	md := w.db.policy.decide(v, ver)
	if err := w.setVerification(msgID, ver, md); err != nil {
		return nil, err
	}
	for i := range v.Recipients {
		rc := &v.Recipients[i]
		addr, domain, action := md.recipients[i].addr, md.recipients[i].domain, md.recipients[i].action
		_, err := w.exec(qInsertOutcome, msgID, atText, string(v.Kind), v.FeedbackType, addr, domain,
			string(rc.Action), rc.Status, rc.ReplyCode, string(rc.Reason), rc.Hard, rc.Diagnostic, rc.RemoteMTA,
			rc.Command, nullTime(rc.LastAttempt), rc.Rule, v.Original.MessageID, origHeaders, string(action))
		if err != nil {
			return nil, fmt.Errorf("inserting outcome for %s: %w", addr, err)
		}
		w.roll.outcome(atText, string(v.Kind), domain, string(rc.Action), string(rc.Reason), rc.Hard, string(action))
		if action == ActionAlert {
			if err := w.alert(msgID, at, addr, domain, rc); err != nil {
				return nil, err
			}
		}
		outs = append(outs, insertedOutcome{addr: addr, domain: domain, action: action, rc: rc})
	}
	return outs, nil
}

// NormalizeAddress returns the address as stored (trimmed, angle brackets
// removed, lower case) and its domain.
func NormalizeAddress(a string) (addr, domain string) {
	a = strings.TrimSpace(a)
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	a = strings.ToLower(strings.TrimSpace(a))
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		domain = a[i+1:]
	}
	return a, domain
}

// reasonLabel is the reason a suppression is stored with.
func reasonLabel(k classify.Kind, feedbackType string, r classify.Reason) string {
	if k == classify.KindComplaint {
		ft := strings.ToLower(strings.TrimSpace(feedbackType))
		if ft == "" {
			ft = "abuse"
		}
		return "complaint:" + ft
	}
	if r == "" {
		return string(classify.ReasonUndefined)
	}
	return string(r)
}

func (w *writer) alert(msgID int64, at time.Time, addr, domain string, rc *classify.Recipient) error {
	_, err := w.exec(`INSERT INTO alerts(message_id, at, reason, address, domain, status, reply_code, remote_mta, diagnostic)
		VALUES (?,?,?,?,?,?,?,?,?)`, msgID, fmtTime(at), string(rc.Reason), addr, domain, rc.Status, rc.ReplyCode, rc.RemoteMTA, rc.Diagnostic)
	if err != nil {
		return fmt.Errorf("inserting alert: %w", err)
	}
	w.roll.alert(fmtTime(at), string(rc.Reason), domain)
	return nil
}

// recipientState is the part of a recipients row the policy reads.
type recipientState struct {
	state  string
	manual bool
	since  time.Time
}

func (w *writer) state(addr string) (recipientState, error) {
	row, err := w.queryRow(`SELECT state, manual, since FROM recipients WHERE address = ?`, addr)
	if err != nil {
		return recipientState{}, err
	}
	var st recipientState
	var since sql.NullString
	if err := row.Scan(&st.state, &st.manual, &since); err != nil {
		return recipientState{}, fmt.Errorf("reading recipient %s: %w", addr, err)
	}
	st.since = parseNullTime(since)
	return st, nil
}

const qSoftEvents = `SELECT at FROM outcomes WHERE address = ? AND policy = 'score' AND at > ? AND at <= ?`

// softEvents lists the times of the soft (scoring) outcomes of addr inside
// the policy's window before at.
func softEvents(ctx context.Context, q queryer, p Policy, addr string, at time.Time) ([]time.Time, error) {
	rows, err := q.QueryContext(ctx, qSoftEvents, addr, fmtTime(at.Add(-p.SoftWindow)), fmtTime(at))
	if err != nil {
		return nil, err
	}
	return scanTimes(rows)
}

func scanTimes(rows *sql.Rows) ([]time.Time, error) {
	defer rows.Close()
	var ts []time.Time
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		ts = append(ts, parseTime(s))
	}
	return ts, rows.Err()
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Recipient states.
const (
	StateActive     = "active"
	StateSuppressed = "suppressed"
)

// setState changes a recipient's state and writes the history event, and
// the outbox event when the state changes (suppressed, or active again).
func (w *writer) setState(addr, state, reason string, manual bool, note string, score float64, msgID int64, at time.Time, by string) error {
	var mid any
	if msgID > 0 {
		mid = msgID
	}
	var before string
	if row, err := w.queryRow(`SELECT state FROM recipients WHERE address = ?`, addr); err != nil {
		return err
	} else if err := row.Scan(&before); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading the state of %s: %w", addr, err)
	}
	if before != state {
		ev, err := w.stateEvent(addr, state, reason, note, score, msgID, by)
		if err != nil {
			return err
		}
		if err := w.insertEvents([]OutboxEvent{ev}); err != nil {
			return err
		}
	}
	var suppressedAt any // when bounced decided: now
	if state == StateSuppressed {
		suppressedAt = w.nowText()
	}
	_, err := w.exec(qSetState, state, reason, fmtTime(at), manual, note, mid, suppressedAt, w.nowText(), addr)
	if err != nil {
		return fmt.Errorf("setting state of %s: %w", addr, err)
	}
	_, err = w.exec(`INSERT INTO recipient_events(address, at, state, reason, set_by, note, score, stored_id) VALUES (?,?,?,?,?,?,?,?)`,
		addr, fmtTime(at), state, reason, by, note, score, mid)
	if err != nil {
		return fmt.Errorf("writing history of %s: %w", addr, err)
	}
	return nil
}

const qCursor = `INSERT INTO cursors(account, folder, uidvalidity, last_uid, updated_at) VALUES (?,?,?,?,?)
	ON CONFLICT(account, folder) DO UPDATE SET
		last_uid = CASE WHEN cursors.uidvalidity = excluded.uidvalidity THEN max(cursors.last_uid, excluded.last_uid) ELSE excluded.last_uid END,
		uidvalidity = excluded.uidvalidity,
		updated_at = excluded.updated_at`

// advanceCursors moves each IMAP folder's cursor of the batch to its
// UIDVALIDITY and highest UID.
func (w *writer) advanceCursors(recs []Record) error {
	type key struct {
		account, folder string
		validity        uint32
	}
	max := map[key]uint32{}
	var order []key
	for i := range recs {
		s := recs[i].Source
		if !s.IMAP() {
			continue
		}
		k := key{s.Account, s.Folder, s.UIDValidity}
		if _, ok := max[k]; !ok {
			order = append(order, k)
		}
		if s.UID > max[k] {
			max[k] = s.UID
		}
	}
	for _, k := range order {
		_, err := w.exec(qCursor, k.account, k.folder, int64(k.validity), int64(max[k]), w.nowText())
		if err != nil {
			return fmt.Errorf("advancing cursor of %s/%s: %w", k.account, k.folder, err)
		}
	}
	return nil
}
