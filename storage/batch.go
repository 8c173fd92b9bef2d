package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
	"modernc.org/sqlite"
)

// The batch write path of Record. SQLite's cost per mail is in its
// statements (binding, the VDBE program, one B-tree descent per index), so
// a batch is written with few statements, each carrying many rows:
//
//  1. one multi-row INSERT of all messages with ids chosen here (the write
//     lock is held since BEGIN IMMEDIATE), ON CONFLICT DO NOTHING: when it
//     stored fewer rows than it was given, the ids stored tell which; the
//     others are reruns or duplicate deliveries, handled one by one (rare);
//  2. multi-row INSERTs of the archive rows (the blocks compressed before
//     the transaction), outcomes and alerts;
//  3. the policy runs in Go over the batch's outcomes in order, on the
//     recipients' states and soft events read with one IN (...) query each
//     (before the outcomes are stored), then one multi-row upsert adds the
//     batch's counts to the recipients, and state changes and history
//     events follow;
//  4. the daily rollups, one upsert per changed row (rollups.go).
//
// Statements have 64, 8 or 1 rows, so that few shapes exist; they are
// prepared once per DB and connection (prepareWrites).

// sourceKey is the unique key of a source (indexes messages_imap and
// messages_file).
type sourceKey struct {
	account, folder string
	validity, uid   uint32
	path            string
	idx             int
}

// keyOf returns the key of a source; ok is false for a source without one
// (stdin).
func keyOf(s Source) (key sourceKey, ok bool) {
	switch {
	case s.IMAP():
		return sourceKey{account: s.Account, folder: s.Folder, validity: s.UIDValidity, uid: s.UID}, true
	case s.Path != "":
		return sourceKey{path: s.Path, idx: sourceIndex(s)}, true
	}
	return sourceKey{}, false
}

// The widest rows are built from one column list each, so that every
// column sits beside its binding. The text columns that are mostly empty
// (NOT NULL DEFAULT ”) take NULL for ” (nullText) and store
// coalesce(?, ”): the driver copies every bound text into C memory and
// frees it after the statement, a NULL costs neither. The stored values
// are the same. The classifier's version is a literal.
var (
	messageInsert = []column{
		{"id", "?"}, {"account", e}, {"folder", e}, {"uidvalidity", "?"}, {"uid", "?"}, {"path", e}, {"idx", "?"},
		{"digest", "?"}, {"size", "?"}, {"duplicate_of", "?"}, {"at", "?"}, {"received_at", "?"}, {"recorded_at", "?"},
		{"kind", "?"}, {"skipped", e}, {"feedback_type", e}, {"message_id", e}, {"from_addr", e}, {"subject", e},
		{"date", "?"}, {"to_addr", e}, {"delivered_to", e}, {"reporting_mta", e}, {"arrival_date", "?"}, {"decoder", e},
		{"rule", e}, {"notes", e}, {"orig_message_id", e}, {"orig_from", e}, {"orig_to", e}, {"orig_subject", e},
		{"orig_date", e}, {"orig_headers", e}, {"classifier_version", classifierVersion},
	}
	outcomeInsert = []column{
		{"message_id", "?"}, {"at", "?"}, {"kind", "?"}, {"feedback_type", e}, {"address", "?"}, {"domain", "?"},
		{"action", e}, {"status", e}, {"reply_code", e}, {"reason", e}, {"hard", "?"}, {"diagnostic", e},
		{"remote_mta", e}, {"command", e}, {"last_attempt", "?"}, {"rule", e}, {"orig_message_id", e},
		{"orig_headers", e}, {"policy", "?"},
	}
	alertInsert = []column{
		{"message_id", "?"}, {"at", "?"}, {"reason", "?"}, {"address", e}, {"domain", e}, {"status", e},
		{"reply_code", e}, {"remote_mta", e}, {"diagnostic", e},
	}

	hMessages, rMessages, wMessages = insertOf("messages", messageInsert)
	hOutcomes, rOutcomes, wOutcomes = insertOf("outcomes", outcomeInsert)
	hAlerts, rAlerts, wAlerts       = insertOf("alerts", alertInsert)
)

// column is one column of a multi-row insert and what its row binds: "?",
// coalesce(?,”) or an SQL literal.
type column struct{ name, expr string }

// insertOf returns the head "INSERT INTO table(columns)", the row
// template "(exprs)" and the number of values a row binds.
func insertOf(table string, cols []column) (head, row string, width int) {
	names := make([]string, len(cols))
	exprs := make([]string, len(cols))
	for i, c := range cols {
		names[i], exprs[i] = c.name, c.expr
		width += strings.Count(c.expr, "?")
	}
	return "INSERT INTO " + table + "(" + strings.Join(names, ", ") + ")", "(" + strings.Join(exprs, ",") + ")", width
}

// Multi-row statements: head, width (values per row), tail.
const (
	tMessages = ` ON CONFLICT DO NOTHING`
	// The ids of the batch's mails that were stored, when some were not.
	qStoredIDs = `SELECT id FROM messages WHERE id > ? AND id <= ?`

	hVerifications = `INSERT INTO verifications(message_id, mode, result, recipient, failure)`
	wVerifications = 5

	e = `coalesce(?,'')`
	// classifierVersion is classify.Version as an SQL literal
	// (TestRowTemplates checks that it needs no escaping).
	classifierVersion = `'` + classify.Version + `'`

	hArchive = `INSERT INTO archive(message_id, stored_at, encoding, data, block, block_offset, block_size)`
	wArchive = 7
	qBlock   = `INSERT INTO archive_blocks(stored_at, encoding, data) VALUES (?, 'gzip', ?)`

	// The counts of existing recipients are added to; their state columns
	// are left alone (an update of them would rewrite the partial indexes
	// of suppressed recipients): a state change is its own UPDATE.
	hRecipients = `INSERT INTO recipients(address, domain, state, reason, since, manual, note, stored_id, score, score_at,
		bounces, delays, complaints, reports, autoreplies, delivered, first_bounce, last_bounce, suppressed_at, updated_at)`
	wRecipients = 20
	tRecipients = ` ON CONFLICT(address) DO UPDATE SET
		bounces = bounces + excluded.bounces, delays = delays + excluded.delays,
		complaints = complaints + excluded.complaints, reports = reports + excluded.reports,
		autoreplies = autoreplies + excluded.autoreplies, delivered = delivered + excluded.delivered,
		first_bounce = CASE WHEN excluded.first_bounce IS NOT NULL AND (first_bounce IS NULL OR excluded.first_bounce < first_bounce)
			THEN excluded.first_bounce ELSE first_bounce END,
		last_bounce = CASE WHEN excluded.last_bounce IS NOT NULL AND (last_bounce IS NULL OR excluded.last_bounce > last_bounce)
			THEN excluded.last_bounce ELSE last_bounce END,
		score = excluded.score, score_at = excluded.score_at, updated_at = excluded.updated_at`

	hEvents = `INSERT INTO recipient_events(address, at, state, reason, set_by, note, score, stored_id)`
	wEvents = 8

	qMaxMessageID = `SELECT coalesce(max(id), 0) FROM messages`
	qSetState     = `UPDATE recipients SET state = ?, reason = ?, since = ?, manual = ?, note = ?, stored_id = ?, suppressed_at = ?,
		updated_at = ? WHERE address = ?`

	// Heads of queries over an IN (...) list of addresses (see writer.in).
	hStates = `SELECT address, state, reason, since, manual, note, stored_id, score, score_at FROM recipients WHERE address IN `
	hSoft   = `SELECT address, at FROM outcomes WHERE policy = 'score' AND at > ? AND at <= ? AND address IN `
)

// shapes are the row counts of multi-row statements, largest first.
var shapes = [...]int{maxRowsPerStatement, 8, 1}

// prepareWrites prepares the write path's statements on the DB once, before
// a transaction holds a connection (preparing a statement of 64 rows costs
// about 0.2 ms; a transaction re-prepares it only on a new connection).
func (db *DB) prepareWrites(ctx context.Context) error {
	db.stmtMu.Lock()
	ready := db.stmts != nil
	db.stmtMu.Unlock()
	if ready {
		return nil
	}
	var texts []string
	for _, n := range shapes {
		texts = append(texts,
			db.rowsSQL(hMessages, wMessages, n, tMessages),
			db.rowsSQL(hOutcomes, wOutcomes, n, ""),
			db.rowsSQL(hAlerts, wAlerts, n, ""),
			db.rowsSQL(hArchive, wArchive, n, ""),
			db.rowsSQL(hRecipients, wRecipients, n, tRecipients),
			db.rowsSQL(hEvents, wEvents, n, ""),
			db.rowsSQL(qRollMessages, 5, n, tRollMessages),
			db.rowsSQL(qRollOutcomes, 7, n, tRollOutcomes),
			db.rowsSQL(qRollDomains, 5, n, tRollDomains),
			db.rowsSQL(qRollAlerts, 5, n, tRollAlerts),
			db.inSQL(hStates, n),
			db.inSQL(hSoft, n))
	}
	texts = append(texts, qMaxMessageID, qStoredIDs, qSetState, qCursor, qBlock)
	for _, q := range texts {
		if _, err := db.prepared(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// recip is a recipient's row as the batch changes it.
type recip struct {
	existed       bool // stored before the batch
	domain        string
	state, reason string
	since         time.Time
	suppressedAt  string // set when the batch suppresses it: the transaction's time
	manual        bool
	note          string
	messageID     int64
	score         float64
	scoreAt       string      // "" for NULL
	changed       bool        // state changed by the batch
	counts        [6]int      // bounces, delays, complaints, reports, autoreplies, delivered
	first, last   string      // the batch's first and last bounce; "" for none
	stored        []time.Time // soft events stored before the batch, around its times
}

// kindIndex is the index in recip.counts of the recipients column
// counting outcomes of kind k, -1 for none.
func kindIndex(k classify.Kind) int {
	switch k {
	case classify.KindBounce:
		return 0
	case classify.KindDelay:
		return 1
	case classify.KindComplaint:
		return 2
	case classify.KindReport:
		return 3
	case classify.KindAutoreply:
		return 4
	case classify.KindDelivered:
		return 5
	}
	return -1
}

// batchOutcome is one outcome of a new mail of the batch.
type batchOutcome struct {
	rec          int
	addr, domain string
	action       PolicyAction
	verified     bool // proven by the mail's token
	rc           *classify.Recipient
}

// rowError names the record whose row a multi-row statement refused.
type rowError struct {
	rec int
	err error
}

func (e *rowError) Error() string { return e.err.Error() }
func (e *rowError) Unwrap() error { return e.err }

// recordBatch stores the batch (see the top of this file) and returns one
// Result per record.
func (w *writer) recordBatch(recs []Record, preps []prepared, blocks [][]byte) ([]Result, error) {
	results := make([]Result, len(recs))
	named := func(i int, err error) error { return fmt.Errorf("recording %s: %w", recs[i].Source, err) }
	rowErr := func(what string, err error) error {
		var re *rowError
		if errors.As(err, &re) {
			return named(re.rec, fmt.Errorf("%s: %w", what, re.err))
		}
		return fmt.Errorf("recording a batch of %d: %s: %w", len(recs), what, err)
	}

	// 1. Messages.
	var base int64
	row, err := w.queryRow(qMaxMessageID)
	if err != nil {
		return nil, err
	}
	if err := row.Scan(&base); err != nil {
		return nil, fmt.Errorf("recording: reading the last message id: %w", err)
	}
	ids := make([]int64, len(recs)) // the id of each new mail; 0 otherwise
	args := make([]any, 0, len(recs)*wMessages)
	owners := make([]int, 0, len(recs))
	seen := make(map[sourceKey]bool, len(recs))
	for i := range recs {
		if k, ok := keyOf(recs[i].Source); ok {
			if seen[k] {
				continue // the same source twice in a batch: a rerun of the first, below
			}
			seen[k] = true
		}
		args = append(args, base+1+int64(i))
		args = w.messageArgs(args, &recs[i], &preps[i], nil, preps[i].kind)
		owners = append(owners, i)
	}
	stored, err := w.rows(hMessages, wMessages, tMessages, args, owners)
	if err != nil {
		return nil, rowErr("inserting message", err)
	}
	switch {
	case stored == int64(len(owners)): // all new: the common case
		for _, i := range owners {
			ids[i] = base + 1 + int64(i)
		}
	case stored > 0:
		_, err := w.run(qStoredIDs, []any{base, base + int64(len(recs))}, func(rows *sql.Rows) error {
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids[id-base-1] = id
			}
			return rows.Err()
		})
		if err != nil {
			return nil, fmt.Errorf("recording: reading the new message ids: %w", err)
		}
	}
	for i := range recs {
		if ids[i] != 0 {
			results[i] = Result{MessageID: ids[i], Kind: preps[i].kind}
			w.roll.message(preps[i].atText, string(preps[i].kind), false, recs[i].Skipped != "")
			continue
		}
		res, err := w.stored(&recs[i], &preps[i])
		if err != nil {
			return nil, named(i, err)
		}
		results[i] = res
	}

	// 2. Archive and outcomes of the new mails, the policy's actions. A
	// block is stored when one of its mails is new (a rerun stores none).
	blockIDs := make([]int64, len(blocks))
	for i := range recs {
		if b := preps[i].block; ids[i] != 0 && b >= 0 && blockIDs[b] == 0 {
			res, err := w.exec(qBlock, w.nowText(), blocks[b])
			if err != nil {
				return nil, named(i, fmt.Errorf("archiving: %w", err))
			}
			if blockIDs[b], err = res.LastInsertId(); err != nil {
				return nil, err
			}
		}
	}
	args = args[:0]
	owners = owners[:0]
	var outs []batchOutcome
	var verArgs []any
	var verOwners []int
	for i := range recs {
		if ids[i] == 0 {
			continue
		}
		switch p := &preps[i]; {
		case p.archive != nil:
			args = append(args, ids[i], w.nowText(), "gzip", p.archive, nil, 0, 0)
			owners = append(owners, i)
		case p.block >= 0:
			args = append(args, ids[i], w.nowText(), "block", []byte{}, blockIDs[p.block], p.blockOffset, p.blockSize)
			owners = append(owners, i)
		}
		if recs[i].Skipped != "" {
			continue
		}
		v := &recs[i].Verdict
		md := w.db.policy.decide(v, recs[i].Verification)
		for j, d := range md.recipients {
			outs = append(outs, batchOutcome{rec: i, addr: d.addr, domain: d.domain, action: d.action, verified: d.verified, rc: &v.Recipients[j]})
		}
		if ver := recs[i].Verification; ver.checks() {
			verArgs = append(verArgs, ids[i], string(ver.Mode), md.stored(), ver.Recipient, md.storedFailure(ver))
			verOwners = append(verOwners, i)
			results[i].Unverified = md.result == Unverified && recs[i].Verification.Mode == VerifyEnforce
		}
	}
	if _, err := w.rows(hArchive, wArchive, "", args, owners); err != nil {
		return nil, rowErr("archiving", err)
	}
	if _, err := w.rows(hVerifications, wVerifications, "", verArgs, verOwners); err != nil {
		return nil, rowErr("recording the verification", err)
	}

	// 3. The recipients' states and stored soft events, before this
	// batch's outcomes are stored.
	recips, err := w.recipients(recs, preps, outs)
	if err != nil {
		return nil, fmt.Errorf("recording a batch of %d: %w", len(recs), err)
	}

	// 4. Outcomes and alerts.
	args = args[:0]
	owners = owners[:0]
	var alertArgs []any
	var alertOwners []int
	var events []OutboxEvent // complaints and sender-side alerts, then suppressions: the outbox
	for _, o := range outs {
		r, p := &recs[o.rec], &preps[o.rec]
		v, rc := &r.Verdict, o.rc
		at := p.atText
		events = outcomeEvents(events, r, p, ids[o.rec], o)
		args = append(args, ids[o.rec], at, string(v.Kind), nullText(v.FeedbackType), o.addr, o.domain,
			nullText(string(rc.Action)), nullText(rc.Status), nullText(rc.ReplyCode), nullText(string(rc.Reason)), rc.Hard,
			nullText(rc.Diagnostic), nullText(rc.RemoteMTA), nullText(rc.Command), nullTime(rc.LastAttempt), nullText(rc.Rule),
			nullText(v.Original.MessageID), nullText(p.origHeader), string(o.action))
		owners = append(owners, o.rec)
		w.roll.outcome(at, string(v.Kind), o.domain, string(rc.Action), string(rc.Reason), rc.Hard, string(o.action))
		if o.action == ActionAlert {
			alertArgs = append(alertArgs, ids[o.rec], at, string(rc.Reason), nullText(o.addr), nullText(o.domain), nullText(rc.Status),
				nullText(rc.ReplyCode), nullText(rc.RemoteMTA), nullText(rc.Diagnostic))
			alertOwners = append(alertOwners, o.rec)
			w.roll.alert(at, string(rc.Reason), o.domain)
		}
	}
	if _, err := w.rows(hOutcomes, wOutcomes, "", args, owners); err != nil {
		return nil, rowErr("inserting outcome", err)
	}
	if _, err := w.rows(hAlerts, wAlerts, "", alertArgs, alertOwners); err != nil {
		return nil, rowErr("inserting alert", err)
	}

	// 5. The policy, in the batch's order, and the recipients' rows.
	history, events, err := w.applyPolicy(recs, preps, ids, outs, recips, results, events)
	if err != nil {
		return nil, err
	}
	if err := w.writeRecipients(recips, history); err != nil {
		return nil, fmt.Errorf("recording a batch of %d: %w", len(recs), err)
	}

	// 6. The outbox, in the same transaction: what the webhooks get.
	if err := w.insertEvents(events); err != nil {
		return nil, fmt.Errorf("recording a batch of %d: %w", len(recs), err)
	}
	return results, nil
}

// messageArgs appends the values of a messages row after its id.
func (w *writer) messageArgs(args []any, r *Record, p *prepared, dupOf any, kind classify.Kind) []any {
	src := r.Source
	var digest any
	if p.digest != "" {
		digest = p.digest
	}
	v := &r.Verdict
	return append(args, nullText(src.Account), nullText(src.Folder), int64(src.UIDValidity), int64(src.UID), nullText(src.Path),
		sourceIndex(src), digest, p.size, dupOf,
		p.atText, nullTime(r.ReceivedAt), w.nowText(), string(kind), nullText(r.Skipped), nullText(v.FeedbackType),
		nullText(v.MessageID), nullText(v.From), nullText(v.Subject), nullTime(v.Date), nullText(v.To),
		nullText(v.DeliveredTo), nullText(v.ReportingMTA), nullTime(v.ArrivalDate), nullText(v.Decoder), nullText(v.Rule),
		nullText(p.notes), nullText(v.Original.MessageID), nullText(v.Original.From), nullText(v.Original.To),
		nullText(v.Original.Subject), nullText(v.Original.Date), nullText(p.origHeader))
}

// stored handles a mail the multi-row insert did not store: the same
// source again is a rerun (nothing to do), the same bytes at another source
// a duplicate delivery (a row pointing at the first, counted once).
func (w *writer) stored(r *Record, p *prepared) (Result, error) {
	src := r.Source
	var (
		id    int64
		kind  classify.Kind
		found bool
		err   error
	)
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
	var first int64
	if p.digest != "" {
		first, kind, found, err = w.lookup(qByDigest, p.digest)
		if err != nil {
			return Result{}, err
		}
	}
	if !found {
		return Result{}, errors.New("inserting message: refused, but neither its source nor its digest is stored")
	}
	// One row without an id (SQLite chooses it) and without ON CONFLICT.
	res, err := w.exec(w.db.rowsSQL(hMessages, wMessages, 1, ""), w.messageArgs([]any{nil}, r, p, first, kind)...)
	if err != nil {
		return Result{}, fmt.Errorf("inserting duplicate message: %w", err)
	}
	if id, err = res.LastInsertId(); err != nil {
		return Result{}, err
	}
	w.roll.message(p.atText, string(kind), true, false)
	return Result{MessageID: id, Duplicate: true, Kind: kind}, nil
}

// recipientSet is the recipients a batch touches, in first-seen order.
type recipientSet struct {
	m     map[string]*recip
	order []string
}

// recipients reads the stored state of every recipient the batch's
// outcomes touch, and the stored soft events of those it scores, with one
// IN (...) query each.
func (w *writer) recipients(recs []Record, preps []prepared, outs []batchOutcome) (recipientSet, error) {
	set := recipientSet{m: map[string]*recip{}}
	var keys, softKeys []any
	var lo, hi time.Time
	scored := map[string]bool{}
	for _, o := range outs {
		if o.addr == "" || !o.action.touches() {
			continue // an alert or an unverified mail never touches the recipient
		}
		if set.m[o.addr] == nil {
			set.m[o.addr] = &recip{domain: o.domain, state: StateActive}
			set.order = append(set.order, o.addr)
			keys = append(keys, o.addr)
		}
	}
	err := w.in(hStates, nil, keys, func(rows *sql.Rows) error {
		for rows.Next() {
			var addr string
			var since, scoreAt sql.NullString
			var msgID sql.NullInt64
			var st recip
			if err := rows.Scan(&addr, &st.state, &st.reason, &since, &st.manual, &st.note, &msgID, &st.score, &scoreAt); err != nil {
				return err
			}
			r := set.m[addr]
			if r == nil {
				continue
			}
			r.existed = true
			r.state, r.reason, r.manual, r.note, r.score = st.state, st.reason, st.manual, st.note, st.score
			r.since = parseNullTime(since)
			r.messageID = msgID.Int64
			r.scoreAt = scoreAt.String
		}
		return rows.Err()
	})
	if err != nil {
		return set, fmt.Errorf("reading recipients: %w", err)
	}
	// Soft events only for recipients still active: a suppressed one is
	// not scored (a person's suppression is never lifted automatically).
	for _, o := range outs {
		if o.action != ActionScore || o.addr == "" || set.m[o.addr].state == StateSuppressed {
			continue
		}
		at := preps[o.rec].at
		if from := at.Add(-w.db.policy.SoftWindow); lo.IsZero() || from.Before(lo) {
			lo = from
		}
		if at.After(hi) {
			hi = at
		}
		if !scored[o.addr] {
			scored[o.addr] = true
			softKeys = append(softKeys, o.addr)
		}
	}
	err = w.in(hSoft, []any{fmtTime(lo), fmtTime(hi)}, softKeys, func(rows *sql.Rows) error {
		for rows.Next() {
			var addr, at string
			if err := rows.Scan(&addr, &at); err != nil {
				return err
			}
			if r := set.m[addr]; r != nil {
				r.stored = append(r.stored, parseTime(at))
			}
		}
		return rows.Err()
	})
	if err != nil {
		return set, fmt.Errorf("reading soft events: %w", err)
	}
	return set, nil
}

// applyPolicy counts each outcome on its recipient and carries out the
// policy's action, mail by mail in the batch's order, exactly as if each
// mail were recorded alone: a mail's score sees the soft outcomes stored
// before the batch, those of the earlier mails of the batch and its own.
// Manual states: a person's suppression is never lifted automatically; a
// person's unsuppress is a fresh start (soft events before it no longer
// count, and only newer evidence suppresses again). It returns the
// recipient_events rows (wEvents values each) of the suppressions, and
// outbox with their suppression.added events appended.
func (w *writer) applyPolicy(recs []Record, preps []prepared, ids []int64, outs []batchOutcome, set recipientSet, results []Result,
	outbox []OutboxEvent) ([]any, []OutboxEvent, error) {
	p := w.db.policy
	soft := map[string][]time.Time{} // the batch's soft events so far
	var events []any
	for start := 0; start < len(outs); {
		i := outs[start].rec
		end := start
		for end < len(outs) && outs[end].rec == i {
			end++
		}
		mail := outs[start:end]
		start = end
		at := preps[i].at
		atText := preps[i].atText
		v := &recs[i].Verdict
		for _, o := range mail {
			if o.addr != "" && o.action == ActionScore {
				soft[o.addr] = append(soft[o.addr], at)
			}
		}
		for _, o := range mail {
			if o.addr == "" || !o.action.touches() {
				continue // an alert or an unverified mail never touches the recipient
			}
			r := set.m[o.addr]
			if k := kindIndex(v.Kind); k >= 0 {
				r.counts[k]++
			}
			if v.Kind == classify.KindBounce && (o.rc.Action == classify.ActionFailed || o.rc.Action == "") {
				if r.first == "" || atText < r.first {
					r.first = atText
				}
				if atText > r.last {
					r.last = atText
				}
			}
			if o.action != ActionSuppress && o.action != ActionScore || r.state == StateSuppressed {
				continue // nothing to decide; the score stays as it was at the suppression
			}
			var fresh time.Time
			if r.manual {
				// A person's unsuppress holds until a newer bounce proves
				// (by its token) that it answers mail sent to this
				// address: a forged one must not undo it.
				fresh = r.since
				if at.Before(fresh) || !o.verified {
					continue
				}
			}
			var score float64
			if o.action == ActionScore {
				// Score ignores the events outside (at - window, at].
				evs := append(append(make([]time.Time, 0, len(r.stored)+len(soft[o.addr])), r.stored...), soft[o.addr]...)
				score = p.Score(evs, fresh, at)
				if r.scoreAt == "" || r.scoreAt <= atText {
					r.score, r.scoreAt = score, atText
				}
				if score < p.SoftThreshold {
					continue
				}
			}
			note := ""
			if o.action == ActionScore {
				note = fmt.Sprintf("soft score %.2f reached %.2f", score, p.SoftThreshold)
			}
			reason := reasonLabel(v.Kind, v.FeedbackType, o.rc.Reason)
			r.state, r.reason, r.since, r.manual, r.note, r.messageID, r.changed = StateSuppressed, reason, at, false, note, ids[i], true
			r.suppressedAt = w.nowText()
			events = append(events, o.addr, atText, StateSuppressed, reason, "policy", note, score, ids[i])
			results[i].Suppressed = append(results[i].Suppressed, o.addr)
			ev := batchEvent(EventSuppressionAdded, &recs[i], &preps[i], ids[i], o)
			ev.Reason, ev.By, ev.Note, ev.Score = reason, "policy", note, score
			outbox = append(outbox, ev)
		}
	}
	return events, outbox, nil
}

// writeRecipients stores the batch's recipients: one upsert adding the
// counts (and inserting new recipients with their state), an UPDATE per
// stored recipient whose state changed, and the history events.
func (w *writer) writeRecipients(set recipientSet, events []any) error {
	now := w.nowText()
	args := make([]any, 0, len(set.order)*wRecipients)
	var changed []string
	for _, addr := range set.order {
		r := set.m[addr]
		args = append(args, addr, r.domain, r.state, r.reason, nullTime(r.since), r.manual, r.note, nullID(r.messageID),
			r.score, nullText(r.scoreAt), r.counts[0], r.counts[1], r.counts[2], r.counts[3], r.counts[4], r.counts[5],
			nullText(r.first), nullText(r.last), nullText(r.suppressedAt), now)
		if r.existed && r.changed {
			changed = append(changed, addr)
		}
	}
	if _, err := w.rows(hRecipients, wRecipients, tRecipients, args, nil); err != nil {
		return fmt.Errorf("counting recipients: %w", err)
	}
	for _, addr := range changed {
		r := set.m[addr]
		if _, err := w.exec(qSetState, r.state, r.reason, nullTime(r.since), r.manual, r.note, nullID(r.messageID), nullText(r.suppressedAt), now, addr); err != nil {
			return fmt.Errorf("setting state of %s: %w", addr, err)
		}
	}
	if _, err := w.rows(hEvents, wEvents, "", events, nil); err != nil {
		return fmt.Errorf("writing history: %w", err)
	}
	return nil
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullID(id int64) any {
	if id <= 0 {
		return nil
	}
	return id
}

// shape is the largest statement shape not above n rows.
func shape(n int) int {
	for _, s := range shapes {
		if s <= n {
			return s
		}
	}
	return 1
}

// isConstraint reports a constraint error (SQLITE_CONSTRAINT, also raised
// by RAISE(ABORT) in a trigger): SQLite undid the statement and the
// transaction goes on.
func isConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 19 // SQLITE_CONSTRAINT
}

// run executes query with args and returns the rows it changed; scan
// reads its rows when not nil.
func (w *writer) run(query string, args []any, scan func(*sql.Rows) error) (int64, error) {
	s, err := w.stmt(query)
	if err != nil {
		return 0, err
	}
	if scan == nil {
		res, err := s.ExecContext(w.ctx, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	rows, err := s.QueryContext(w.ctx, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	return 0, scan(rows)
}

// rows runs head VALUES (...),... tail over args (width values a row) in
// statements of 64, 8 and 1 rows, and returns the rows they changed. When
// a statement of several rows is refused by a constraint, its rows are
// tried one by one, so that the error names the record (owners[i] owns
// row i) whose row was refused.
func (w *writer) rows(head string, width int, tail string, args []any, owners []int) (int64, error) {
	var changed int64
	for row := 0; len(args) > 0; {
		size := shape(len(args) / width)
		part := args[:size*width]
		n, err := w.run(w.db.rowsSQL(head, width, size, tail), part, nil)
		if err != nil && size > 1 && owners != nil && isConstraint(err) {
			n, err = 0, nil
			for j := 0; j < size; j++ {
				one, err := w.run(w.db.rowsSQL(head, width, 1, tail), part[j*width:(j+1)*width], nil)
				if err != nil {
					return changed, &rowError{rec: owners[row+j], err: err}
				}
				n += one
			}
		}
		if err != nil {
			if size == 1 && owners != nil {
				return changed, &rowError{rec: owners[row], err: err}
			}
			return changed, err
		}
		changed += n
		args = args[size*width:]
		row += size
	}
	return changed, nil
}

// in runs head (?,...) with the fixed arguments first, over keys in lists
// of 64, 8 and 1 keys; scan reads each statement's rows.
func (w *writer) in(head string, fixed []any, keys []any, scan func(*sql.Rows) error) error {
	for len(keys) > 0 {
		size := shape(len(keys))
		args := append(append(make([]any, 0, len(fixed)+size), fixed...), keys[:size]...)
		if _, err := w.run(w.db.inSQL(head, size), args, scan); err != nil {
			return err
		}
		keys = keys[size:]
	}
	return nil
}
