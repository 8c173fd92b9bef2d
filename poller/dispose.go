package poller

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

// This file disposes of committed mail: the disposer, which moves a run's
// committed mail while the next batch is committed (the end of step 4 of
// the package doc); act, the commands on the server; mark, which tells the
// store what was done; and dispose, both in turn (step 3, for mail an
// earlier run left pending).

// item is one mail to dispose of.
type item struct {
	id      int64
	uid     uint32
	kind    classify.Kind
	skipped bool // recorded as skipped: disposed like unknown mail
	// unverified: held as unverified (verify enforced), disposed by
	// Options.Unverified whatever its kind
	unverified bool
}

// disposal is what was done on the server with some committed mails.
type disposal struct {
	ids    []int64
	action string // as storage records it: move:<folder>, flag, delete, leave
}

// act applies the actions on the server, grouped by action, and returns
// what was done up to the first error: what is left stays pending for the
// next run. Before each command it records in the store, in a transaction
// of its own, what the command is about to do (MarkDisposing), and sends
// nothing if that fails: a kill between the command and mark leaves the
// destination in the store, and the next run settles it (settle).
func (p *Poller) act(ctx context.Context, s *session, items []item, log *slog.Logger) ([]disposal, error) {
	groups := map[Action][]item{}
	var order []Action
	for _, it := range items {
		a := p.actionFor(it.kind, it.skipped, it.unverified)
		if _, ok := groups[a]; !ok {
			order = append(order, a)
		}
		groups[a] = append(groups[a], it)
	}
	var out []disposal
	for _, a := range order {
		g := groups[a]
		uids := make([]uint32, len(g))
		ids := make([]int64, len(g))
		for i, it := range g {
			uids[i], ids[i] = it.uid, it.id
		}
		if a.Op != OpMove && a.Op != OpFlag && a.Op != OpDelete {
			log.Debug("left in the folder", "count", len(g), "uids", uidList(uids))
			out = append(out, disposal{ids: ids, action: string(OpLeave)})
			continue
		}
		intent := s.recorded(a)
		if err := p.o.Store.MarkDisposing(ctx, ids, intent, p.clock.Now().UTC()); err != nil {
			return out, fmt.Errorf("recording the disposal about to be done (%s) of %d mails: %w", intent, len(ids), err)
		}
		var done string
		var err error
		switch a.Op {
		case OpMove:
			done, err = s.move(uids, a.Folder)
		case OpFlag:
			done, err = string(OpFlag), s.flag(uids)
		case OpDelete:
			done, err = s.remove(uids)
		}
		if err != nil {
			return out, fmt.Errorf("disposing (%s): %w", a, err)
		}
		if done != intent {
			log.Warn("disposal differs from the one recorded beforehand", "action", done, "intended", intent, "count", len(g))
		}
		log.Debug("disposed", "action", done, "requested", a.String(), "count", len(g), "uids", uidList(uids))
		out = append(out, disposal{ids: ids, action: done})
	}
	return out, nil
}

// settle marks pending mail that is no longer under its UID in the folder:
// disposed with the action recorded before its command (MarkDisposing), as
// that command or one like it removed it; "gone" when no action was
// recorded (another client moved or deleted it). It returns how many
// mails it marked disposed and how many gone.
func (p *Poller) settle(ctx context.Context, absent []storage.Pending, log *slog.Logger) (disposed, gone int, err error) {
	byAction := map[string][]int64{}
	var order []string
	for _, pd := range absent {
		a := pd.Disposing
		if a == "" {
			a = actionGone
		}
		if _, ok := byAction[a]; !ok {
			order = append(order, a)
		}
		byAction[a] = append(byAction[a], pd.MessageID)
	}
	for _, a := range order {
		ids := byAction[a]
		if err := p.o.Store.MarkDisposed(ctx, ids, a, p.clock.Now().UTC()); err != nil {
			return disposed, gone, fmt.Errorf("marking %d mails no longer in the folder as %s: %w", len(ids), a, err)
		}
		log.Info("marked mail no longer in the folder", "action", a, "count", len(ids))
		if a == actionGone {
			gone += len(ids)
		} else {
			disposed += len(ids)
		}
	}
	return disposed, gone, nil
}

// actionGone is what storage records for committed mail that another
// client removed from the folder before the poller disposed of it.
const actionGone = "gone"

// mark records disposals in the store and returns how many mails they
// cover.
func (p *Poller) mark(ctx context.Context, ds []disposal) (int, error) {
	n := 0
	for _, d := range ds {
		if err := p.o.Store.MarkDisposed(ctx, d.ids, d.action, p.clock.Now().UTC()); err != nil {
			return n, fmt.Errorf("marking %d mails disposed: %w", len(d.ids), err)
		}
		n += len(d.ids)
	}
	return n, nil
}

// dispose acts, then marks what was done.
func (p *Poller) dispose(ctx context.Context, s *session, items []item, log *slog.Logger) (int, error) {
	ds, err := p.act(ctx, s, items, log)
	n, merr := p.mark(ctx, ds)
	if merr != nil {
		return n, merr
	}
	return n, err
}

// secondSession opens another connection to the folder for the disposer
// and checks that it sees the same UIDVALIDITY.
func (p *Poller) secondSession(ctx context.Context, uidValidity uint32) (*session, func(), error) {
	s2, done, err := p.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, err := s2.open(p.o.Folder, false)
	if err == nil && st.UIDValidity != uidValidity {
		err = fmt.Errorf("uidvalidity %d, not %d", st.UIDValidity, uidValidity)
	}
	if err != nil {
		done()
		return nil, nil, err
	}
	return s2, done, nil
}

// disposer moves, flags or deletes committed mail on the server, in the
// order it was committed. Its only write to the store is the small
// transaction before each command that records what the command is about
// to do (act); the committing goroutine marks what it did (take), in
// transactions of DisposeBatch mails, so the two seldom wait on SQLite's
// write lock for each other. Adding never blocks the committer: the queue
// holds only what identifies committed mail (a few dozen bytes a mail).
type disposer struct {
	min    int // act once this many mails are queued (or at the end)
	max    int // mails per command at most (DisposeBatch)
	wake   chan struct{}
	done   chan struct{}
	once   sync.Once
	failed atomic.Bool
	mu     sync.Mutex
	queue  []item // committed, not yet acted on
	closed bool
	acted  []disposal
	nacted int // mails in acted
	err    error
}

// startDisposer starts the disposer of a run that fetches toFetch mails.
// With more than one batch it disposes on a connection of its own, opened
// at its first command: it acts once an eighth of toFetch (at most
// DisposeBatch) is committed, and what is committed while it works is
// gathered into its next command (up to DisposeBatch). So Dovecot's cost
// per EXPUNGE, which grows with the folder, is paid a few times per run,
// and the last command, which runs after the last commit, is short. Dovecot's
// process of a connection that only moves grows with the mail it moved
// (about 170 MB of address space for 100,000 mails, and its default
// limit is 256 MB), so the connection is replaced every 20,000 mails
// (Poller.disposerConnMails). With one batch, or when that connection
// cannot be opened, it disposes on s, the fetching connection, gathering
// DisposeBatch mails per command: Dovecot's maildir pays per EXPUNGE for
// the size of the folder, and every command there holds up the fetch.
func (p *Poller) startDisposer(ctx context.Context, s *session, uidValidity uint32, toFetch int, log *slog.Logger) *disposer {
	d := &disposer{min: p.o.DisposeBatch, max: p.o.DisposeBatch, wake: make(chan struct{}, 1), done: make(chan struct{})}
	own := toFetch > p.o.Batch
	if own {
		d.min = min(p.o.DisposeBatch, max(1, toFetch/8))
	}
	work := context.WithoutCancel(ctx) // for the store: a cancelled run still records what it does
	go func() {
		defer close(d.done)
		cur, moved := s, 0 // the connection disposed on, and mails it moved
		stopCur := func() {}
		defer func() { stopCur() }() // the last command is answered: log out
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic disposing", "err", fmt.Sprint(r), "stack", string(debug.Stack()))
				d.fail(fmt.Errorf("panic disposing: %v", r))
			}
		}()
		for {
			// Queued mail is committed: after a failure it is left
			// pending for the next run.
			buf, last := d.next()
			if last {
				return
			}
			if d.failed.Load() {
				continue
			}
			// After cancellation no connection is opened: what is left
			// goes over the one at hand.
			if own && ctx.Err() == nil && (cur == s || moved >= p.disposerConnMails) {
				stopCur()
				cur, moved, stopCur = s, 0, func() {}
				s2, stop2, err := p.secondSession(ctx, uidValidity)
				if err != nil {
					log.Warn("disposing on the fetching connection: a second one failed", "err", err)
					own = false
					d.mu.Lock()
					d.min = p.o.DisposeBatch
					d.mu.Unlock()
				} else {
					cur, stopCur = s2, stop2
				}
			}
			ds, err := p.act(work, cur, buf, log)
			moved += len(buf)
			d.mu.Lock()
			d.acted = append(d.acted, ds...)
			for _, x := range ds {
				d.nacted += len(x.ids)
			}
			d.mu.Unlock()
			if err != nil {
				d.fail(err)
			}
		}
	}()
	return d
}

// add queues committed mail.
func (d *disposer) add(items []item) {
	d.mu.Lock()
	d.queue = append(d.queue, items...)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// next waits until at least min mails are queued, or the disposer is
// closed, and takes up to max of them; last is set when it is closed and
// nothing is left.
func (d *disposer) next() (buf []item, last bool) {
	for {
		d.mu.Lock()
		n := len(d.queue)
		if n > 0 && (n >= d.min || d.closed) {
			k := min(n, d.max)
			buf = slices.Clone(d.queue[:k])
			d.queue = d.queue[k:]
			d.mu.Unlock()
			return buf, false
		}
		closed := d.closed
		d.mu.Unlock()
		if closed {
			return nil, true
		}
		<-d.wake
	}
}

func (d *disposer) fail(err error) {
	d.mu.Lock()
	if d.err == nil {
		d.err = err
	}
	d.mu.Unlock()
	d.failed.Store(true)
}

// take returns what was done on the server since the last take, once it
// covers at least atLeast mails.
func (d *disposer) take(atLeast int) []disposal {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.nacted < atLeast {
		return nil
	}
	ds := d.acted
	d.acted, d.nacted = nil, 0
	return ds
}

// close tells the disposer that nothing more is queued: it acts on the
// rest, then ends. Later calls do nothing.
func (d *disposer) close() {
	d.once.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		select {
		case d.wake <- struct{}{}:
		default:
		}
	})
}

// wait closes the disposer and waits for its end; then take returns the
// rest.
func (d *disposer) wait() error {
	d.close()
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// markDone records in the store what d did on the server since the last
// call, once that covers at least atLeast mails; d nil (a dry run) does
// nothing.
func (p *Poller) markDone(ctx context.Context, d *disposer, atLeast int, sum *Summary) error {
	if d == nil {
		return nil
	}
	n, err := p.mark(ctx, d.take(atLeast))
	sum.Disposed += n
	return err
}
