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
	"slices"
	"strings"
	"time"

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
}

// Result is what Record did with one Record, in the same order.
type Result struct {
	MessageID  int64         // the stored row of this delivery (for MarkDisposed)
	Duplicate  bool          // already recorded: same source, or same digest
	Kind       classify.Kind // the stored kind (the first delivery's for a duplicate)
	Suppressed []string      // addresses this mail suppressed
}

// Digest returns the hex SHA-256 of raw with its line ends normalised: CRLF
// and lone CR become LF, and trailing line ends are dropped, so that the
// same mail read from IMAP, a maildir file or an mbox has one digest.
func Digest(raw []byte) string {
	h := sha256.New()
	raw = bytes.TrimRight(raw, "\r\n")
	lf := []byte{'\n'}
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\r')
		if i < 0 {
			h.Write(raw)
			break
		}
		h.Write(raw[:i])
		h.Write(lf)
		raw = raw[i+1:]
		if len(raw) > 0 && raw[0] == '\n' {
			raw = raw[1:]
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// prepared is the work done on a record before the transaction starts, so
// that no CPU-heavy step runs while the write lock is held.
type prepared struct {
	digest     string
	size       int64
	kind       classify.Kind
	at         time.Time
	notes      string
	origHeader string
	archive    []byte
}

func (db *DB) prepare(r *Record, now time.Time, zc *compressor) (prepared, error) {
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
	var err error
	p.notes, p.origHeader, err = verdictJSON(&r.Verdict)
	if err != nil {
		return p, err
	}
	if db.opts.Archive && r.Raw != nil && r.Skipped == "" {
		b, err := zc.compress(r.Raw)
		if err != nil {
			return p, fmt.Errorf("compressing for the archive: %w", err)
		}
		p.archive = b
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
	var zc compressor
	for i := range recs {
		p, err := db.prepare(&recs[i], now, &zc)
		if err != nil {
			return nil, fmt.Errorf("recording %s: %w", recs[i].Source, err)
		}
		preps[i] = p
	}
	var results []Result
	err := db.tx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, ctx: ctx, tx: tx, now: now}
		defer w.close()
		results = make([]Result, len(recs))
		for i := range recs {
			res, err := w.record(&recs[i], &preps[i])
			if err != nil {
				return fmt.Errorf("recording %s: %w", recs[i].Source, err)
			}
			results[i] = res
		}
		return w.advanceCursors(recs)
	})
	if err != nil {
		return nil, err
	}
	for i, res := range results {
		for _, a := range res.Suppressed {
			db.log.Info("suppressed recipient", "recipient", a, "message_id", res.MessageID, "kind", recs[i].Verdict.Kind)
		}
	}
	return results, nil
}

// writer holds the statements of one write transaction.
type writer struct {
	db    *DB
	ctx   context.Context
	tx    *sql.Tx
	now   time.Time
	stmts map[string]*sql.Stmt
}

func (w *writer) close() {
	for _, s := range w.stmts {
		s.Close()
	}
}

// stmt prepares query once per transaction.
func (w *writer) stmt(query string) (*sql.Stmt, error) {
	if s, ok := w.stmts[query]; ok {
		return s, nil
	}
	s, err := w.tx.PrepareContext(w.ctx, query)
	if err != nil {
		return nil, err
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
	qBySourceIMAP = `SELECT id, kind FROM messages WHERE account = ? AND folder = ? AND uidvalidity = ? AND uid = ? AND uid > 0`
	qBySourceFile = `SELECT id, kind FROM messages WHERE path = ? AND idx = ? AND uid = 0 AND path <> ''`
	qByDigest     = `SELECT id, kind FROM messages WHERE digest = ? AND duplicate_of IS NULL`
	qInsertMsg    = `INSERT INTO messages(account, folder, uidvalidity, uid, path, idx, digest, size, duplicate_of,
		at, received_at, recorded_at, kind, skipped, feedback_type, message_id, from_addr, subject, date, to_addr,
		delivered_to, reporting_mta, arrival_date, decoder, rule, notes, orig_message_id, orig_from, orig_to,
		orig_subject, orig_date, orig_headers, classifier_version)
		VALUES (?,?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?, ?,?,?,?)`
	qInsertNew     = qInsertMsg + ` ON CONFLICT DO NOTHING`
	qInsertOutcome = `INSERT INTO outcomes(message_id, at, kind, feedback_type, address, domain, action, status,
		reply_code, reason, hard, diagnostic, remote_mta, command, last_attempt, rule, orig_message_id, orig_headers, policy)
		VALUES (?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?,?,?)`
	qInsertArchive = `INSERT INTO archive(message_id, stored_at, encoding, data) VALUES (?, ?, 'gzip', ?)`
)

func (w *writer) record(r *Record, p *prepared) (Result, error) {
	src := r.Source
	var digest any
	if p.digest != "" {
		digest = p.digest
	}
	v := &r.Verdict
	insertArgs := func(dupOf any, kind classify.Kind) []any {
		return []any{src.Account, src.Folder, int64(src.UIDValidity), int64(src.UID), src.Path, sourceIndex(src), digest, p.size, dupOf,
			fmtTime(p.at), nullTime(r.ReceivedAt), fmtTime(w.now), string(kind), r.Skipped, v.FeedbackType,
			v.MessageID, v.From, v.Subject, nullTime(v.Date), v.To,
			v.DeliveredTo, v.ReportingMTA, nullTime(v.ArrivalDate), v.Decoder, v.Rule, p.notes,
			v.Original.MessageID, v.Original.From, v.Original.To, v.Original.Subject, v.Original.Date, p.origHeader,
			classify.Version}
	}
	// The common case, a new mail, is one statement: the unique indexes on
	// the source key and on the digest of first deliveries refuse a mail
	// already stored, and only then is it looked up.
	res, err := w.exec(qInsertNew, insertArgs(nil, p.kind)...)
	if err != nil {
		return Result{}, fmt.Errorf("inserting message: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Result{}, err
	}
	var id int64
	if n == 1 {
		id, err = res.LastInsertId()
	} else {
		err = sql.ErrNoRows
	}
	var dupOf any
	storedKind := p.kind
	switch {
	case err == nil:
	case errors.Is(err, sql.ErrNoRows):
		// Stored already: the same source is a rerun (nothing to do), the
		// same bytes at another source a duplicate delivery (noted).
		var kind classify.Kind
		var found bool
		err = nil
		switch {
		case src.IMAP():
			id, kind, found, err = w.lookup(qBySourceIMAP, src.Account, src.Folder, int64(src.UIDValidity), int64(src.UID))
		case src.Path != "":
			id, kind, found, err = w.lookup(qBySourceFile, src.Path, sourceIndex(src))
		}
		if err != nil {
			return Result{}, err
		}
		if found {
			return Result{MessageID: id, Duplicate: true, Kind: kind}, nil
		}
		first, firstKind, found, err := w.lookup(qByDigest, digest)
		if err != nil {
			return Result{}, err
		}
		if !found {
			return Result{}, errors.New("inserting message: refused, but neither its source nor its digest is stored")
		}
		dupOf, storedKind = first, firstKind
		res, err := w.exec(qInsertMsg, insertArgs(dupOf, storedKind)...)
		if err != nil {
			return Result{}, fmt.Errorf("inserting duplicate message: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return Result{}, err
		}
	default:
		return Result{}, fmt.Errorf("inserting message: %w", err)
	}
	out := Result{MessageID: id, Duplicate: dupOf != nil, Kind: storedKind}
	if dupOf != nil {
		return out, nil
	}
	if p.archive != nil {
		if _, err := w.exec(qInsertArchive, id, fmtTime(w.now), p.archive); err != nil {
			return Result{}, fmt.Errorf("archiving: %w", err)
		}
	}
	if r.Skipped != "" {
		return out, nil
	}
	sup, err := w.outcomes(id, p.at, v, p.origHeader)
	if err != nil {
		return Result{}, err
	}
	out.Suppressed = sup
	return out, nil
}

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
// policy's action, and a sender-side alert for each alert action. It does
// not touch the recipients.
func (w *writer) insertOutcomes(msgID int64, at time.Time, v *classify.Verdict, origHeaders string) ([]insertedOutcome, error) {
	outs := make([]insertedOutcome, 0, len(v.Recipients))
	for i := range v.Recipients {
		rc := &v.Recipients[i]
		addr, domain := NormalizeAddress(rc.Address)
		action := w.db.policy.Decide(v.Kind, v.FeedbackType, *rc)
		if addr == "" && action != ActionAlert {
			action = ActionIgnore // nobody to act on
		}
		_, err := w.exec(qInsertOutcome, msgID, fmtTime(at), string(v.Kind), v.FeedbackType, addr, domain,
			string(rc.Action), rc.Status, rc.ReplyCode, string(rc.Reason), rc.Hard, rc.Diagnostic, rc.RemoteMTA,
			rc.Command, nullTime(rc.LastAttempt), rc.Rule, v.Original.MessageID, origHeaders, string(action))
		if err != nil {
			return nil, fmt.Errorf("inserting outcome for %s: %w", addr, err)
		}
		if action == ActionAlert {
			if err := w.alert(msgID, at, addr, domain, rc); err != nil {
				return nil, err
			}
		}
		outs = append(outs, insertedOutcome{addr: addr, domain: domain, action: action, rc: rc})
	}
	return outs, nil
}

// outcomes stores the outcomes of a new message and applies the policy to
// each recipient; it returns the addresses it suppressed.
func (w *writer) outcomes(msgID int64, at time.Time, v *classify.Verdict, origHeaders string) ([]string, error) {
	outs, err := w.insertOutcomes(msgID, at, v, origHeaders)
	if err != nil {
		return nil, err
	}
	var suppressed []string
	for _, o := range outs {
		if o.addr == "" || o.action == ActionAlert {
			continue // an alert never touches the recipient
		}
		st, err := w.count(o.addr, o.domain, v.Kind, o.rc, at, o.action == ActionSuppress || o.action == ActionScore)
		if err != nil {
			return nil, err
		}
		ok, err := w.apply(o.addr, st, o.action, reasonLabel(v.Kind, v.FeedbackType, o.rc.Reason), msgID, at)
		if err != nil {
			return nil, err
		}
		if ok {
			suppressed = append(suppressed, o.addr)
		}
	}
	return suppressed, nil
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
	return nil
}

// kindColumn is the recipients column counting outcomes of a kind.
func kindColumn(k classify.Kind) string {
	switch k {
	case classify.KindBounce:
		return "bounces"
	case classify.KindDelay:
		return "delays"
	case classify.KindComplaint:
		return "complaints"
	case classify.KindReport:
		return "reports"
	case classify.KindAutoreply:
		return "autoreplies"
	case classify.KindDelivered:
		return "delivered"
	}
	return ""
}

// count creates the recipient row when missing, counts the outcome and
// returns the recipient's state.
// Only when needState does it read the state back (RETURNING makes the
// statement a query, which costs more in database/sql).
func (w *writer) count(addr, domain string, k classify.Kind, rc *classify.Recipient, at time.Time, needState bool) (recipientState, error) {
	var bounceAt any
	if k == classify.KindBounce && (rc.Action == classify.ActionFailed || rc.Action == "") {
		bounceAt = fmtTime(at)
	}
	setCol, insCol, insVal := "", "", ""
	if col := kindColumn(k); col != "" {
		setCol = col + " = " + col + " + 1, "
		insCol, insVal = ", "+col, ", 1"
	}
	q := `INSERT INTO recipients(address, domain, first_bounce, last_bounce, updated_at` + insCol + `)
		VALUES (?1, ?2, ?3, ?3, ?4` + insVal + `)
		ON CONFLICT(address) DO UPDATE SET ` + setCol + `
			first_bounce = CASE WHEN ?3 IS NOT NULL AND (first_bounce IS NULL OR ?3 < first_bounce) THEN ?3 ELSE first_bounce END,
			last_bounce = CASE WHEN ?3 IS NOT NULL AND (last_bounce IS NULL OR ?3 > last_bounce) THEN ?3 ELSE last_bounce END,
			updated_at = ?4`
	if !needState {
		if _, err := w.exec(q, addr, domain, bounceAt, fmtTime(w.now)); err != nil {
			return recipientState{}, fmt.Errorf("counting recipient %s: %w", addr, err)
		}
		return recipientState{}, nil
	}
	row, err := w.queryRow(q+` RETURNING state, manual, since`, addr, domain, bounceAt, fmtTime(w.now))
	if err != nil {
		return recipientState{}, err
	}
	st, err := scanState(row)
	if err != nil {
		return st, fmt.Errorf("counting recipient %s: %w", addr, err)
	}
	return st, nil
}

func scanState(row *sql.Row) (recipientState, error) {
	var st recipientState
	var since sql.NullString
	if err := row.Scan(&st.state, &st.manual, &since); err != nil {
		return st, err
	}
	st.since = parseNullTime(since)
	return st, nil
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

// apply carries out a policy action on a recipient; it reports whether the
// recipient became suppressed.
//
// Manual states: a person's suppression is never lifted automatically. A
// person's unsuppress is a fresh start: soft events before it no longer
// count, and only evidence newer than it (a hard failure, a complaint, a
// new soft score over the threshold) suppresses the address again.
func (w *writer) apply(addr string, st recipientState, action PolicyAction, reason string, msgID int64, at time.Time) (bool, error) {
	if action != ActionSuppress && action != ActionScore || st.state == StateSuppressed {
		return false, nil // nothing to decide; the score stays as it was at the suppression
	}
	var freshStart time.Time
	if st.manual {
		freshStart = st.since
		if at.Before(freshStart) {
			return false, nil // older than the person's decision
		}
	}
	var score float64
	if action == ActionScore {
		st, err := w.stmt(qSoftEvents)
		if err != nil {
			return false, err
		}
		rows, err := st.QueryContext(w.ctx, addr, fmtTime(at.Add(-w.db.policy.SoftWindow)), fmtTime(at))
		if err != nil {
			return false, fmt.Errorf("scoring recipient %s: %w", addr, err)
		}
		evs, err := scanTimes(rows)
		if err != nil {
			return false, fmt.Errorf("scoring recipient %s: %w", addr, err)
		}
		score = w.db.policy.Score(evs, freshStart, at)
		_, err = w.exec(`UPDATE recipients SET score = ?, score_at = ? WHERE address = ? AND (score_at IS NULL OR score_at <= ?)`,
			score, fmtTime(at), addr, fmtTime(at))
		if err != nil {
			return false, fmt.Errorf("scoring recipient %s: %w", addr, err)
		}
		if score < w.db.policy.SoftThreshold {
			return false, nil
		}
	}
	note := ""
	if action == ActionScore {
		note = fmt.Sprintf("soft score %.2f reached %.2f", score, w.db.policy.SoftThreshold)
	}
	if err := w.setState(addr, StateSuppressed, reason, false, note, score, msgID, at, "policy"); err != nil {
		return false, err
	}
	return true, nil
}

// Recipient states.
const (
	StateActive     = "active"
	StateSuppressed = "suppressed"
)

// setState changes a recipient's state and writes the history event.
func (w *writer) setState(addr, state, reason string, manual bool, note string, score float64, msgID int64, at time.Time, by string) error {
	var mid any
	if msgID > 0 {
		mid = msgID
	}
	_, err := w.exec(`UPDATE recipients SET state = ?, reason = ?, since = ?, manual = ?, note = ?, message_id = ?, updated_at = ? WHERE address = ?`,
		state, reason, fmtTime(at), manual, note, mid, fmtTime(w.now), addr)
	if err != nil {
		return fmt.Errorf("setting state of %s: %w", addr, err)
	}
	_, err = w.exec(`INSERT INTO recipient_events(address, at, state, reason, set_by, note, score, message_id) VALUES (?,?,?,?,?,?,?,?)`,
		addr, fmtTime(at), state, reason, by, note, score, mid)
	if err != nil {
		return fmt.Errorf("writing history of %s: %w", addr, err)
	}
	return nil
}

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
		_, err := w.exec(`INSERT INTO cursors(account, folder, uidvalidity, last_uid, updated_at) VALUES (?,?,?,?,?)
			ON CONFLICT(account, folder) DO UPDATE SET
				last_uid = CASE WHEN cursors.uidvalidity = excluded.uidvalidity THEN max(cursors.last_uid, excluded.last_uid) ELSE excluded.last_uid END,
				uidvalidity = excluded.uidvalidity,
				updated_at = excluded.updated_at`,
			k.account, k.folder, int64(k.validity), int64(max[k]), fmtTime(w.now))
		if err != nil {
			return fmt.Errorf("advancing cursor of %s/%s: %w", k.account, k.folder, err)
		}
	}
	return nil
}
