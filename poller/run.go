package poller

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/bounced/bounced/classify"
)

// Run polls the mailbox on its schedule until ctx is cancelled, then
// returns nil. With RunAtStart the first run starts at once. Runs never
// overlap: the next one is planned when the last one ended. After a
// connection or login failure it waits BackoffMin, then twice as long after
// each further failure up to BackoffMax, or until the schedule is next due
// if that is later; a successful run resets the backoff. A panic ends the
// run, not the loop.
func (p *Poller) Run(ctx context.Context) error { return p.run(ctx, nil) }

// run is Run that also returns when stop is closed, but only between runs:
// a run in progress when stop is closed finishes as if it were not.
func (p *Poller) run(ctx context.Context, stop <-chan struct{}) error {
	var backoff time.Duration
	for first := true; ; first = false {
		if stopped(stop) {
			return nil
		}
		if !first || !p.o.RunAtStart {
			now := p.clock.Now()
			next := p.sched.Next(now)
			if backoff > 0 {
				if retry := now.Add(backoff); retry.After(next) {
					next = retry
				}
			}
			p.log.Debug("next run", "at", next)
			if !p.wait(ctx, stop, next.Sub(now)) {
				return nil
			}
		} else if ctx.Err() != nil {
			return nil
		}
		sum, err := p.safePoll(ctx)
		switch {
		case err == nil:
			backoff = 0
			p.log.Info("run done", "run_id", sum.RunID, "fetched", sum.Fetched, "recorded", sum.Recorded,
				"duplicates", sum.Duplicates, "skipped", sum.Skipped, "disposed", sum.Disposed, "gone", sum.Gone,
				"suppressed", sum.Suppressed, "disposal", sum.Disposal)
		case errors.Is(err, ErrAuth), errors.Is(err, ErrConnect):
			backoff = min(max(2*backoff, p.o.BackoffMin), p.o.BackoffMax)
			p.log.Error("run failed, backing off", "run_id", sum.RunID, "err", err, "backoff", backoff.String())
		case errors.Is(err, ErrBusy):
			p.log.Warn("run skipped: another process is polling this mailbox", "err", err)
		case ctx.Err() != nil:
			return nil
		default:
			p.log.Error("run failed", "run_id", sum.RunID, "err", err)
		}
	}
}

// safePoll is PollOnce with a recover, so a panic outside the per-message
// guard ends one run only.
func (p *Poller) safePoll(ctx context.Context) (sum Summary, err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("panic in run", "err", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic in run: %v", r)
		}
	}()
	return p.PollOnce(ctx)
}

// Supervise runs every poller on its own schedule until ctx is cancelled.
// Each mailbox is isolated: a failing login or a panic in one never stops
// the others. It returns when all have stopped.
func Supervise(ctx context.Context, ps []*Poller) error {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() { p.Serve(ctx, nil) })
	}
	wg.Wait()
	return nil
}

// Serve is Run for a supervisor: a panic outside a run restarts the loop
// after BackoffMin. It returns nil when ctx is cancelled, or when stop is
// closed (nil: never) and no run is in progress: a run in progress then
// finishes, commits and disposes of its batch as usual, and no new one
// starts. A supervisor that replaces the poller (a config reload) closes
// stop and starts the replacement once Serve has returned, so that runs of
// one mailbox never overlap.
func (p *Poller) Serve(ctx context.Context, stop <-chan struct{}) error {
	for {
		err := p.runGuarded(ctx, stop)
		if ctx.Err() != nil || stopped(stop) {
			return nil
		}
		// run only returns early after a panic outside a run: start the
		// loop again after the backoff.
		p.log.Error("poll loop ended, restarting", "err", err)
		if !p.wait(ctx, stop, p.o.BackoffMin) {
			return nil
		}
	}
}

// wait waits d on the poller's clock; false when ctx is done or stop is
// closed first (or both are ready with the timer: stop wins).
func (p *Poller) wait(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	ch, stopTimer := p.clock.Timer(d)
	select {
	case <-ctx.Done():
		stopTimer()
		return false
	case <-stop:
		stopTimer()
		return false
	case <-ch:
		return !stopped(stop)
	}
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

func (p *Poller) runGuarded(ctx context.Context, stop <-chan struct{}) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("panic in poll loop", "err", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return p.run(ctx, stop)
}

// Backlog is what the server holds for the poller.
type Backlog struct {
	UIDValidity uint32
	Messages    uint32 // mails in the folder
	Unprocessed int    // mails above the stored cursor (all of them after a UIDVALIDITY change)
	Reset       bool   // the stored cursor belongs to another UIDVALIDITY
}

// Backlog logs in, asks STATUS of the folder and counts the UIDs above the
// stored cursor (read-only: EXAMINE).
func (p *Poller) Backlog(ctx context.Context) (Backlog, error) {
	if p.o.Store == nil {
		return Backlog{}, errNoStore
	}
	s, done, err := p.connect(ctx)
	if err != nil {
		return Backlog{}, err
	}
	defer done()
	st, err := s.status(p.o.Folder)
	if err != nil {
		return Backlog{}, err
	}
	b := Backlog{UIDValidity: st.UIDValidity, Messages: st.Messages}
	cur, err := p.o.Store.Cursor(ctx, p.o.Name, p.o.Folder)
	if err != nil {
		return b, fmt.Errorf("reading cursor: %w", err)
	}
	last := cur.LastUID
	if cur.UIDValidity != st.UIDValidity {
		b.Reset = cur.UIDValidity != 0
		last = 0
	}
	if last == 0 || st.Messages == 0 {
		b.Unprocessed = int(st.Messages)
		return b, nil
	}
	if st.UIDNext != 0 && last+1 >= st.UIDNext {
		return b, nil
	}
	if _, err := s.open(p.o.Folder, true); err != nil {
		return b, err
	}
	n, err := s.countAbove(last, st.UIDNext)
	if err != nil {
		return b, err
	}
	b.Unprocessed = n
	return b, nil
}

// Check is what check-config found on the server.
type Check struct {
	Caps          []string // the capabilities that matter, as found: IMAP4rev2, MOVE, UIDPLUS
	Move, UIDPlus bool
	Folder        string // the source folder's name on the server
	Messages      uint32 // in the folder
	Disposal      string // how mail to move is disposed of here (Summary.Disposal)
	// Folders are the action folders, each with its name on the server
	// (in the personal namespace) and whether it exists; a missing one
	// was created and deleted again to prove the first run can create it.
	Folders []FolderCheck
	Notes   []string // what the poller will do differently on this server
}

// FolderCheck is one action folder as check-config found it.
type FolderCheck struct {
	Name   string // as configured
	Wire   string // on the server
	Exists bool
	Err    error  // a missing folder that cannot be created: why
	Left   string // created to check, and could not be deleted again
}

// Check logs in, examines the folder read-only and looks for the action
// folders. It proves that a missing one can be created by creating it and
// deleting it again; nothing else changes on the server.
func (p *Poller) Check(ctx context.Context) (Check, error) {
	s, done, err := p.connect(ctx)
	if err != nil {
		return Check{}, err
	}
	defer done()
	var c Check
	c.Caps = s.capList()
	c.Move, c.UIDPlus = s.hasMove(), s.hasUIDPlus()
	c.Disposal = s.disposalPath()
	st, err := s.open(p.o.Folder, true)
	if err != nil {
		return c, err
	}
	if c.Folder, err = s.wireName(p.o.Folder); err != nil {
		return c, err
	}
	c.Messages = st.Messages
	seen := map[string]bool{}
	uses := map[Op]bool{}
	for _, k := range slices.Concat(classify.Kinds, []classify.Kind{""}) {
		a := p.unverified // "" stands for mail held as unverified
		if k != "" {
			a = p.actions[k]
		}
		uses[a.Op] = true
		if a.Op != OpMove || seen[a.Folder] {
			continue
		}
		seen[a.Folder] = true
		fc := FolderCheck{Name: a.Folder}
		if fc.Wire, err = s.wireName(a.Folder); err != nil {
			return c, err
		}
		if fc.Exists, err = s.exists(fc.Wire); err != nil {
			return c, fmt.Errorf("looking for folder %q: %w", fc.Wire, err)
		}
		// The flag fallback needs no folder.
		if !fc.Exists && (c.Move || c.UIDPlus) {
			fc.Left, fc.Err = s.probeCreate(fc.Wire)
		}
		c.Folders = append(c.Folders, fc)
	}
	switch {
	case uses[OpMove] && !c.Move && c.UIDPlus:
		c.Notes = append(c.Notes, "no MOVE: moves are done as UID COPY, then \\Deleted and UID EXPUNGE")
	case uses[OpMove] && !c.Move:
		c.Notes = append(c.Notes, "neither MOVE nor UIDPLUS: mail to move is flagged instead (and moved by a later run once the server can); no folder is created")
	}
	if uses[OpDelete] && !c.UIDPlus {
		c.Notes = append(c.Notes, "no UIDPLUS: mail to delete is flagged instead")
	}
	return c, nil
}
