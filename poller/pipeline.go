package poller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

// PollOnce makes one pass over the mailbox: dispose of pending mail, then
// fetch, classify, commit and dispose everything above the cursor, batch
// by batch. Cancelling ctx stops it after the batch in hand, which is
// committed and disposed; the returned Summary then has Stopped set and the
// error is nil. The run is recorded in the store.
func (p *Poller) PollOnce(ctx context.Context) (sum Summary, err error) {
	sum = Summary{Mailbox: p.o.Name, ByKind: map[classify.Kind]int{}}
	if p.o.Store == nil {
		return sum, errNoStore
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if p.o.Lock != nil {
		unlock, err := p.o.Lock()
		if err != nil {
			return sum, fmt.Errorf("mailbox %q: %w", p.o.Name, err)
		}
		defer unlock()
	}
	work := context.WithoutCancel(ctx)
	runID, err := p.o.Store.StartRun(work, p.o.Name, p.clock.Now().UTC())
	if err != nil {
		return sum, fmt.Errorf("starting run record: %w", err)
	}
	sum.RunID = runID
	log := p.log.With("run_id", runID)
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic in run", "err", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic in run: %v", r)
		}
		// The run's sender-side problems, once per reason and domain.
		sum.alerts.Log(log) // log carries the mailbox already
		if ferr := p.o.Store.FinishRun(work, runID, p.clock.Now().UTC(), sum.stats(err)); ferr != nil {
			err = errors.Join(err, fmt.Errorf("finishing run record: %w", ferr))
		}
	}()
	err = p.poll(ctx, &sum, log, nil)
	if err != nil {
		sum.Errors++
		return sum, fmt.Errorf("mailbox %q: %w", p.o.Name, err)
	}
	return sum, nil
}

// DryRun examines the folder read-only, classifies what is above the
// cursor and calls fn with what a real run would record, suppress and do.
// It changes nothing on the server or in the store.
func (p *Poller) DryRun(ctx context.Context, fn func(Planned)) (Summary, error) {
	sum := Summary{Mailbox: p.o.Name, ByKind: map[classify.Kind]int{}}
	if p.o.Store == nil {
		return sum, errNoStore
	}
	if fn == nil {
		fn = func(Planned) {}
	}
	if err := p.poll(ctx, &sum, p.log, fn); err != nil {
		return sum, fmt.Errorf("mailbox %q: %w", p.o.Name, err)
	}
	return sum, nil
}

// connect dials and logs in; the connection lives until the returned stop
// is called, or Grace after ctx is cancelled.
func (p *Poller) connect(ctx context.Context) (*session, func(), error) {
	connCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var grace *time.Timer
	var mu sync.Mutex
	stopGrace := context.AfterFunc(ctx, func() {
		mu.Lock()
		grace = time.AfterFunc(p.o.Grace, cancel)
		mu.Unlock()
	})
	stop := func() {
		stopGrace()
		mu.Lock()
		if grace != nil {
			grace.Stop()
		}
		mu.Unlock()
	}
	s, err := p.dial(connCtx)
	if err != nil {
		stop()
		cancel()
		return nil, nil, err
	}
	return s, func() {
		stop()
		s.logout()
		cancel()
	}, nil
}

// poll is the pass; preview non-nil makes it a dry run. It takes the steps
// of the package doc in order, one function each.
func (p *Poller) poll(ctx context.Context, sum *Summary, log *slog.Logger, preview func(Planned)) error {
	dry := preview != nil
	work := context.WithoutCancel(ctx)
	// Step 1: connect, log in, select (examine in a dry run).
	s, done, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	log.Debug("logged in", "server", p.addr, "tls", p.o.TLS, "auth", p.o.Auth, "user", p.o.Username, "capabilities", strings.Join(s.capList(), " "))
	if !dry {
		sum.Disposal = s.disposalPath()
	}
	st, err := s.open(p.o.Folder, dry)
	if err != nil {
		return err
	}
	sum.UIDValidity = st.UIDValidity
	log = log.With("uidvalidity", st.UIDValidity)
	log.Debug("opened folder", "folder", p.o.Folder, "read_only", dry, "messages", st.Messages, "uidnext", st.UIDNext)
	// Step 2: the UIDVALIDITY against the cursor.
	cur, err := p.checkValidity(work, st.UIDValidity, sum, log, dry)
	if err != nil {
		return err
	}
	// Step 3: what an earlier run committed and did not dispose of, and
	// what it flagged because the server could not move it then.
	if !dry {
		if err := p.disposePending(work, s, st.UIDValidity, sum, log); err != nil {
			return err
		}
		if err := p.redoFlagged(work, s, st.UIDValidity, sum, log); err != nil {
			return err
		}
	}
	// Step 4: list what is above the cursor, then fetch, classify, commit
	// and dispose of it batch by batch.
	infos, err := s.above(cur.LastUID, st.UIDNext)
	if err != nil {
		return err
	}
	sum.Listed = len(infos)
	if log.Enabled(ctx, slog.LevelDebug) {
		uids := make([]uint32, len(infos))
		for i, mi := range infos {
			uids[i] = mi.UID
		}
		log.Debug("listed mail above the cursor", "cursor", cur.LastUID, "count", len(infos), "uids", uidList(uids))
	}
	return p.process(ctx, s, st.UIDValidity, infos, sum, log, preview)
}

// checkValidity compares the folder's UIDVALIDITY with the stored cursor
// and returns the cursor to list from. When it changed, mail still pending
// under the old one is settled (marked with the action recorded before its
// command, or gone) and the cursor is reset (in a dry run only the
// returned cursor is).
func (p *Poller) checkValidity(ctx context.Context, uidValidity uint32, sum *Summary, log *slog.Logger, dry bool) (storage.Cursor, error) {
	cur, err := p.o.Store.Cursor(ctx, p.o.Name, p.o.Folder)
	if err != nil {
		return cur, fmt.Errorf("reading cursor: %w", err)
	}
	if cur.UIDValidity == uidValidity {
		return cur, nil
	}
	if cur.UIDValidity != 0 {
		sum.Reset = true
		log.Warn("uidvalidity changed: rescanning the folder", "old_uidvalidity", cur.UIDValidity)
	}
	if !dry && cur.UIDValidity != 0 {
		// Mail committed under the old UIDVALIDITY and not disposed of
		// cannot be addressed by its UID any more: it is no longer in the
		// folder under that UID. What a command was about to move is
		// marked with that action (the command may have run); the rest
		// is gone. The rescan finds whatever is still there again (a
		// duplicate by digest) and disposes of that row.
		old, err := p.o.Store.Pending(ctx, p.o.Name, p.o.Folder, cur.UIDValidity)
		if err != nil {
			return cur, fmt.Errorf("reading pending disposals of uidvalidity %d: %w", cur.UIDValidity, err)
		}
		d, g, err := p.settle(ctx, old, log)
		sum.Disposed += d
		sum.Gone += g
		if err != nil {
			return cur, fmt.Errorf("settling uidvalidity %d: %w", cur.UIDValidity, err)
		}
	}
	if !dry {
		if err := p.o.Store.ResetCursor(ctx, p.o.Name, p.o.Folder, uidValidity); err != nil {
			return cur, fmt.Errorf("resetting cursor: %w", err)
		}
	}
	return storage.Cursor{UIDValidity: uidValidity}, nil
}

// disposePending disposes of mail an earlier run committed and did not
// mark disposed (it was killed between commit and move, or between move
// and mark). Mail still in the folder is disposed of (again); mail no
// longer there is only marked: with the action recorded before its command,
// or as gone (settle).
func (p *Poller) disposePending(ctx context.Context, s *session, uidValidity uint32, sum *Summary, log *slog.Logger) error {
	pend, err := p.o.Store.Pending(ctx, p.o.Name, p.o.Folder, uidValidity)
	if err != nil {
		return fmt.Errorf("reading pending disposals: %w", err)
	}
	if len(pend) == 0 {
		return nil
	}
	log.Info("disposing of mail committed by an earlier run", "count", len(pend))
	items, absent, err := p.inFolder(s, pend, log)
	if err != nil {
		return err
	}
	settled, gone, err := p.settle(ctx, absent, log)
	sum.Disposed += settled
	sum.Pending += settled
	sum.Gone += gone
	if err != nil {
		return err
	}
	n, err := p.dispose(ctx, s, items, log)
	sum.Disposed += n
	sum.Pending += n
	return err
}

// redoFlagged moves (or deletes) the mail that an earlier run flagged
// because the server could neither MOVE nor UID EXPUNGE, or seemed so (a
// server whose capabilities went missing), once this server can, and
// where the mail's action still asks for it. Mail no longer in the folder
// is marked gone.
func (p *Poller) redoFlagged(ctx context.Context, s *session, uidValidity uint32, sum *Summary, log *slog.Logger) error {
	if !s.hasMove() && !s.hasUIDPlus() {
		return nil
	}
	flagged, err := p.o.Store.Flagged(ctx, p.o.Name, p.o.Folder, uidValidity)
	if err != nil {
		return fmt.Errorf("reading mail flagged instead of moved: %w", err)
	}
	var want []storage.Pending
	for _, f := range flagged {
		a := p.actionFor(f.Kind, f.Skipped, f.Unverified)
		if (a.Op == OpMove || a.Op == OpDelete) && !strings.HasPrefix(s.recorded(a), flagInsteadPrefix) {
			want = append(want, f)
		}
	}
	if len(want) == 0 {
		return nil
	}
	log.Info("disposing of mail an earlier run flagged because the server could not move it", "count", len(want))
	items, absent, err := p.inFolder(s, want, log)
	if err != nil {
		return err
	}
	// Gone: Flagged reads no action about to be done.
	_, gone, err := p.settle(ctx, absent, log)
	sum.Gone += gone
	if err != nil {
		return err
	}
	n, err := p.dispose(ctx, s, items, log)
	sum.Disposed += n
	sum.Redone += n
	return err
}

// inFolder splits committed mail into what is still under its UID in the
// selected folder (UID SEARCH), to dispose of, and what is not.
func (p *Poller) inFolder(s *session, ps []storage.Pending, log *slog.Logger) (items []item, absent []storage.Pending, err error) {
	uids := make([]uint32, len(ps))
	for i, pd := range ps {
		uids[i] = pd.UID
	}
	log.Debug("committed earlier, looking for them in the folder", "uids", uidList(uids))
	there, err := s.existing(uids)
	if err != nil {
		return nil, nil, err
	}
	present := make(map[uint32]bool, len(there))
	for _, u := range there {
		present[u] = true
	}
	for _, pd := range ps {
		if present[pd.UID] {
			items = append(items, item{id: pd.MessageID, uid: pd.UID, kind: pd.Kind, skipped: pd.Skipped, unverified: pd.Unverified})
		} else {
			absent = append(absent, pd)
		}
	}
	return items, absent, nil
}

// process is step 4 after the listing, in three stages: a producer
// fetches batch k+1, handing each mail to the classifiers as it arrives,
// while this goroutine commits batch k and a disposer moves what is
// committed. Only commands by UID are in flight together, so EXPUNGE
// responses from a MOVE cannot confuse the FETCH.
func (p *Poller) process(ctx context.Context, s *session, uidValidity uint32, infos []msgInfo, sum *Summary, log *slog.Logger, preview func(Planned)) error {
	work := context.WithoutCancel(ctx)
	toFetch := len(infos)
	bufs := newBuffers()
	ready, stop := p.produce(ctx, s, uidValidity, infos, bufs, log)
	defer stop()
	// The disposer disposes of batch k on the server while batch k+1 is
	// committed: disposal always follows its own batch's commit. With
	// more than one batch to go it gets a connection of its own, so that
	// the server moves mail while it sends the next batch (one connection
	// runs one command at a time: a MOVE there stalls the fetch).
	var disp *disposer
	if preview == nil {
		disp = p.startDisposer(ctx, s, uidValidity, toFetch, log)
		defer disp.wait() // on a panic too: the goroutine never outlives the run
	}
	err := p.commitLoop(work, ready, bufs, disp, sum, log, preview)
	if disp == nil {
		return err
	}
	// Mark what is done while the disposer's last command runs.
	disp.close()
	if err == nil {
		err = p.markDone(work, disp, 0, sum)
	}
	derr := disp.wait()
	return errors.Join(err, p.markDone(work, disp, 0, sum), derr)
}

// produce starts the producer, which fetches infos batch by batch and
// hands each over on the returned channel (closed at its end); stop tells
// it the receiver is gone. The hand-over is unbuffered: at most two
// batches (one being committed, one fetched or waiting) are in memory.
// After cancellation the producer takes no new batch; what it already
// fetched is committed and disposed.
func (p *Poller) produce(ctx context.Context, s *session, uidValidity uint32, infos []msgInfo, bufs *buffers, log *slog.Logger) (<-chan fetchedBatch, func()) {
	ready := make(chan fetchedBatch)
	quit := make(chan struct{})
	go func() {
		defer close(ready)
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic fetching", "err", fmt.Sprint(r), "stack", string(debug.Stack()))
				select {
				case ready <- fetchedBatch{err: fmt.Errorf("panic fetching: %v", r)}:
				case <-quit:
				}
			}
		}()
		// The producer owns the classifiers: they end before it does, so
		// none outlives the run and none is handed mail after the end.
		cl := p.startClassifiers(log)
		defer cl.stop()
		for len(infos) > 0 {
			if ctx.Err() != nil {
				log.Info("stopping: no new batch after cancellation", "left", len(infos))
				select {
				case ready <- fetchedBatch{stopped: true}:
				case <-quit:
				}
				return
			}
			var batch []msgInfo
			batch, infos = p.cut(infos)
			buf := bufs.get(fetchSize(batch, p.o.MaxMessageSize))
			recs, err := p.fetchBatch(s, batch, uidValidity, buf, cl, log)
			select {
			case ready <- fetchedBatch{recs: recs, buf: buf, err: err}:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ready, func() { close(quit) }
}

// commitLoop commits (or previews) each fetched batch and queues what it
// committed on the disposer (nil in a dry run). What the disposer did is
// marked in the store in transactions of DisposeBatch mails or more (each
// costs an fsync on this goroutine, the pipeline's slowest stage); the
// caller marks the rest. Mail moved but not yet marked is pending: after a
// crash the next run finds it gone from the folder and marks it with the
// action act recorded before the command.
func (p *Poller) commitLoop(ctx context.Context, ready <-chan fetchedBatch, bufs *buffers, disp *disposer, sum *Summary, log *slog.Logger, preview func(Planned)) error {
	for fb := range ready {
		if fb.err != nil {
			return fb.err
		}
		if fb.stopped {
			sum.Stopped = true
			continue
		}
		if disp != nil && disp.failed.Load() {
			return nil // the disposer's error is returned by its wait
		}
		if err := p.markDone(ctx, disp, p.o.DisposeBatch, sum); err != nil {
			return err
		}
		items, err := p.commitBatch(ctx, fb.recs, sum, log, preview)
		if err != nil {
			return err
		}
		// Committed (or previewed): nothing looks at the raw mail of the
		// batch any more.
		bufs.put(fb.buf)
		if disp != nil && len(items) > 0 {
			disp.add(items)
		}
	}
	return nil
}

// fetchedBatch is what the producer hands over: classified records, or
// the error that ended fetching, or the news that it stopped.
type fetchedBatch struct {
	recs    []storage.Record
	buf     []byte // the raw mail of recs lives here
	err     error
	stopped bool
}

// cut takes the next batch: at most Batch mails and BatchBytes of mail that
// will be fetched (skipped mail counts nothing), at least one mail.
func (p *Poller) cut(infos []msgInfo) (batch, rest []msgInfo) {
	var bytes int64
	for i, mi := range infos {
		if i >= p.o.Batch {
			return infos[:i], infos[i:]
		}
		if mi.Size <= p.o.MaxMessageSize {
			if i > 0 && bytes+mi.Size > p.o.BatchBytes {
				return infos[:i], infos[i:]
			}
			bytes += mi.Size
		}
	}
	return infos, nil
}

// fetchBatch fetches one batch and has cl classify it while the fetch
// goes on; mail above the size limit is not fetched but recorded as
// skipped. It returns once every mail of the batch is classified.
func (p *Poller) fetchBatch(s *session, batch []msgInfo, uidValidity uint32, buf []byte, cl *classifiers, log *slog.Logger) ([]storage.Record, error) {
	// recs never grows past len(batch) (only UIDs asked for are taken,
	// each once), so the classifiers may fill in records by pointer while
	// the fetch appends.
	recs := make([]storage.Record, 0, len(batch))
	want := make(map[uint32]bool, len(batch))
	var toFetch []uint32
	for _, mi := range batch {
		src := storage.Source{Account: p.o.Name, Folder: p.o.Folder, UIDValidity: uidValidity, UID: mi.UID}
		if mi.Size > p.o.MaxMessageSize {
			reason := fmt.Sprintf("too large: %d bytes, limit %d", mi.Size, p.o.MaxMessageSize)
			log.Warn("skipping mail", "uid", mi.UID, "reason", reason)
			recs = append(recs, storage.Record{Source: src, Size: mi.Size, Skipped: reason, Verdict: classify.Verdict{Kind: classify.KindUnknown}})
			continue
		}
		want[mi.UID] = true
		toFetch = append(toFetch, mi.UID)
	}
	if len(toFetch) > 0 {
		log.Debug("fetching", "count", len(toFetch), "uids", uidList(toFetch), "bytes", len(buf))
		// Each mail is read into the next piece of buf, sized from the
		// RFC822.SIZE of the batch; a mail larger than announced gets its
		// own allocation.
		alloc := func(n int64) []byte {
			if n > int64(len(buf)) {
				return make([]byte, n)
			}
			b := buf[:n:n]
			buf = buf[n:]
			return b
		}
		var wg sync.WaitGroup
		err := s.fetch(toFetch, p.o.MaxMessageSize, alloc, func(f fetched) {
			if !want[f.UID] {
				return // not asked for, or sent twice
			}
			delete(want, f.UID)
			src := storage.Source{Account: p.o.Name, Folder: p.o.Folder, UIDValidity: uidValidity, UID: f.UID}
			recs = append(recs, storage.Record{Source: src, Raw: f.Raw, Size: int64(len(f.Raw)), ReceivedAt: f.Internal.UTC()})
			rec := &recs[len(recs)-1]
			if f.Err != nil {
				rec.Skipped = "unreadable: " + f.Err.Error()
				rec.Verdict = classify.Verdict{Kind: classify.KindUnknown}
				rec.Raw = nil
				return
			}
			wg.Add(1)
			cl.jobs <- classifyJob{rec: rec, wg: &wg}
		})
		wg.Wait() // on an error too: the records are not touched after this
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(recs, func(a, b storage.Record) int { return cmp.Compare(a.Source.UID, b.Source.UID) })
	return recs, nil
}

// fetchSize is how many bytes of mail a batch will fetch.
func fetchSize(batch []msgInfo, limit int64) int64 {
	var n int64
	for _, mi := range batch {
		if mi.Size <= limit {
			n += mi.Size
		}
	}
	return n
}

// buffers recycles the buffers batches are read into: one batch is
// committed while the next is fetched, so two or three buffers serve the
// whole run instead of an allocation (zeroed, then garbage) per mail.
type buffers struct {
	free chan []byte
}

func newBuffers() *buffers { return &buffers{free: make(chan []byte, 1)} }

// get returns a buffer of n bytes, recycled when one is large enough.
func (b *buffers) get(n int64) []byte {
	select {
	case buf := <-b.free:
		if int64(cap(buf)) >= n {
			return buf[:n]
		}
	default:
	}
	return make([]byte, n)
}

// put gives back a buffer no record refers to any more.
func (b *buffers) put(buf []byte) {
	if buf == nil {
		return
	}
	select {
	case b.free <- buf:
	default:
	}
}

// classifiers classify fetched mail and compute its digest on
// GOMAXPROCS goroutines, so that classifying overlaps the fetch and the
// commit, and the committing goroutine (which alone writes to SQLite) has
// less to do.
type classifiers struct {
	jobs chan classifyJob
	wg   sync.WaitGroup
}

// classifyJob is one fetched mail to classify in place.
type classifyJob struct {
	rec *storage.Record
	wg  *sync.WaitGroup // of the batch
}

func (p *Poller) startClassifiers(log *slog.Logger) *classifiers {
	n := max(1, runtime.GOMAXPROCS(0))
	cl := &classifiers{jobs: make(chan classifyJob, 4*n)}
	for range n {
		cl.wg.Go(func() {
			for j := range cl.jobs {
				p.classifyRecord(j.rec, log)
				j.wg.Done()
			}
		})
	}
	return cl
}

// stop ends the classifiers once the jobs handed to them are done.
func (cl *classifiers) stop() {
	close(cl.jobs)
	cl.wg.Wait()
}

// classifyRecord sets the verdict (or why the mail is skipped) and the
// digest of a fetched mail.
func (p *Poller) classifyRecord(rec *storage.Record, log *slog.Logger) {
	rec.Verdict, rec.Skipped = p.classifyOne(rec.Raw, rec.Source.UID, log)
	if rec.Skipped == "" {
		// A token's age is counted to the mail's arrival (INTERNALDATE,
		// set by the server): a bounce that waited in the folder before a
		// first run is not expired by the wait.
		at := rec.ReceivedAt
		if at.IsZero() {
			at = p.clock.Now()
		}
		rec.Verification = p.o.Verifier.Verify(&rec.Verdict, at)
	}
	// The same digest storage would compute, here off the committing
	// goroutine.
	rec.Digest = storage.Digest(rec.Raw)
}

// commitBatch commits and disposes of one fetched batch (or, in a dry run,
// previews it).
func (p *Poller) commitBatch(ctx context.Context, recs []storage.Record, sum *Summary, log *slog.Logger, preview func(Planned)) ([]item, error) {
	sum.Fetched += len(recs)

	if preview != nil {
		for _, r := range recs {
			pl := Planned{UID: r.Source.UID, Size: r.Size, Skipped: r.Skipped, Verdict: r.Verdict, Action: p.actionFor(r.Verdict.Kind, r.Skipped != "", false)}
			known, err := p.o.Store.Known(ctx, r.Source, r.Raw)
			if err != nil {
				return nil, fmt.Errorf("previewing uid %d: %w", r.Source.UID, err)
			}
			switch {
			case known:
				pl.Stored = true
				sum.Duplicates++
			case r.Skipped != "":
				sum.Skipped++
			default:
				sup, alerts, unverified, err := p.o.Store.Preview(ctx, r, &sum.preview)
				if err != nil {
					return nil, fmt.Errorf("previewing uid %d: %w", r.Source.UID, err)
				}
				pl.Suppress, pl.Alerts, pl.Unverified = sup, alerts, unverified
				if unverified != "" {
					pl.Action = p.actionFor(r.Verdict.Kind, false, true)
				}
				sum.Suppressed += len(sup)
			}
			sum.ByKind[r.Verdict.Kind]++
			preview(pl)
		}
		return nil, nil
	}

	if len(recs) == 0 {
		return nil, nil
	}
	res, err := p.o.Store.Record(ctx, recs)
	if err != nil {
		return nil, fmt.Errorf("recording uids %d-%d: %w", recs[0].Source.UID, recs[len(recs)-1].Source.UID, err)
	}
	if len(res) != len(recs) {
		return nil, fmt.Errorf("recording: store returned %d results for %d records", len(res), len(recs))
	}
	items := make([]item, len(recs))
	trace := log.Enabled(ctx, slog.LevelDebug)
	for i, r := range res {
		rec := recs[i]
		kind := r.Kind
		if kind == "" {
			kind = rec.Verdict.Kind
		}
		if trace {
			traceRecord(log, rec, r)
		}
		switch {
		case rec.Skipped != "":
			sum.Skipped++
		case r.Duplicate:
			sum.Duplicates++
		default:
			sum.Recorded++
		}
		sum.ByKind[kind]++
		sum.Suppressed += len(r.Suppressed) // storage logs each: it made the decision
		sum.alerts.Add(res[i : i+1])
		if r.Unverified {
			sum.Unverified++
			log.Info("unverified mail: changes nobody", "uid", rec.Source.UID, "kind", kind, "message_id", rec.Verdict.MessageID)
		}
		items[i] = item{id: r.MessageID, uid: rec.Source.UID, kind: kind, skipped: rec.Skipped != "", unverified: r.Unverified}
	}
	log.Debug("committed", "uids", uidList(itemUIDs(items)), "count", len(items))
	return items, nil
}

// traceRecord is the --verbose line of one committed mail: what the
// classifier read and what the store did with it.
func traceRecord(log *slog.Logger, rec storage.Record, r storage.Result) {
	args := []any{"uid", rec.Source.UID, "size", rec.Size, "kind", rec.Verdict.Kind}
	if rec.Skipped != "" {
		args = append(args, "skipped", rec.Skipped)
	}
	var rcpts []string
	for _, o := range rec.Verdict.Recipients {
		rcpts = append(rcpts, o.Address+" "+string(o.Reason)+" "+o.Status)
	}
	if len(rcpts) > 0 {
		args = append(args, "recipients", strings.Join(rcpts, "; "))
	}
	if r.Duplicate {
		args = append(args, "duplicate", true)
	}
	if len(r.Suppressed) > 0 {
		args = append(args, "suppressed", len(r.Suppressed))
	}
	if r.Unverified {
		args = append(args, "unverified", true)
	}
	log.Debug("classified and recorded", args...)
}

func itemUIDs(items []item) []uint32 {
	uids := make([]uint32, len(items))
	for i, it := range items {
		uids[i] = it.uid
	}
	return uids
}

// classifyOne runs the classifier with a recover: a panic or a mail that is
// no message at all is recorded as skipped, kind unknown, and the run goes
// on.
func (p *Poller) classifyOne(raw []byte, uid uint32, log *slog.Logger) (v classify.Verdict, skipped string) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("classifier panic", "uid", uid, "err", fmt.Sprint(r), "stack", string(debug.Stack()))
			v = classify.Verdict{Kind: classify.KindUnknown}
			skipped = fmt.Sprintf("classifier panic: %v", r)
		}
	}()
	v, err := p.classify(raw)
	if err != nil {
		return classify.Verdict{Kind: classify.KindUnknown}, "not a message: " + err.Error()
	}
	if v.Kind == "" {
		v.Kind = classify.KindUnknown
	}
	return v, ""
}

func sortInfos(infos []msgInfo) {
	slices.SortFunc(infos, func(a, b msgInfo) int { return cmp.Compare(a.UID, b.UID) })
}
