package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
)

// daemon is `bounced run`: one poller per enabled mailbox, each on its own
// schedule, swapped for the pollers of a new config on reload (SIGHUP).
//
// A reload loads and validates the new config and builds all its pollers
// before it touches the running ones: a bad config changes nothing. A
// mailbox whose settings did not change keeps its poller (its schedule
// and backoff go on). A removed or changed one is told to stop: a run in
// progress finishes, commits and disposes of its batch, and only then does
// the replacement start (it follows its schedule from then: no run at
// start), so runs of one mailbox never overlap. A mailbox that is new
// to this daemon runs at once when overdue, as at start. A change of the
// database, archive or policy settings opens the database again and
// replaces every poller; the old database is closed after its last run.
type daemon struct {
	path string
	log  *slog.Logger
	mods []func(*poller.Options) // applied to every poller after the config (tests: clock, lock)
	// applied, if set, is told every config that took effect (the monitor:
	// health thresholds, mailboxes gone).
	applied func(configs.Config)
	now     func() time.Time
	// webhooks, if set, delivers the outbox on the daemon's database
	// (webhooks.go); its mod must be among mods, first.
	webhooks *webhookRunner

	// mu guards cfg, store and slots: reload and stop run in one
	// goroutine, but tests read them.
	mu    sync.Mutex
	cfg   configs.Config
	store *daemonDB
	slots map[string]*slot // running pollers by mailbox name
	wg    sync.WaitGroup   // every slot and every closing of an old database
}

// daemonDB is a database opened for one set of store settings.
type daemonDB struct {
	db    *storage.DB
	key   storeKey
	users sync.WaitGroup // the slots that poll into it
}

// storeKey is what the database is opened with.
type storeKey struct {
	DB      string
	Archive configs.Archive
	Policy  configs.Policy
}

func storeKeyOf(cfg configs.Config) storeKey {
	return storeKey{DB: cfg.DB, Archive: cfg.Archive, Policy: cfg.Policy}
}

// mailboxKey tells whether a mailbox changed: its settings and the bytes of
// its CA file (read when its poller is built).
type mailboxKey struct {
	m  configs.Mailbox
	ca string
}

func mailboxKeyOf(m configs.Mailbox) mailboxKey {
	k := mailboxKey{m: m}
	if m.CAFile != "" {
		b, _ := os.ReadFile(m.CAFile) // a read error fails the build of the poller
		k.ca = string(b)
	}
	return k
}

// slot is one running poller.
type slot struct {
	p     *poller.Poller
	key   mailboxKey
	store *daemonDB
	stop  chan struct{} // closed: finish the run in hand, start no other
	done  chan struct{} // closed when the poller has returned
}

// plan is what a config asks for, built and validated before it replaces
// anything.
type plan struct {
	cfg     configs.Config
	store   *daemonDB
	opened  bool // store is new: close it if the plan is dropped
	pollers []*poller.Poller
	keys    map[string]mailboxKey
	atStart map[string]bool // the pollers that run at once
	hooks   hookPlan        // the webhook dispatcher
}

func newDaemon(path string, log *slog.Logger, mods ...func(*poller.Options)) *daemon {
	return &daemon{path: path, log: log, mods: mods, now: time.Now, slots: map[string]*slot{}}
}

// start runs the pollers of cfg.
func (d *daemon) start(ctx context.Context, cfg configs.Config) error {
	pl, err := d.prepare(ctx, cfg)
	if err != nil {
		return err
	}
	d.apply(ctx, pl)
	return nil
}

// prepare opens the database if the store settings are new and builds the
// pollers of cfg; the running ones are not touched.
func (d *daemon) prepare(ctx context.Context, cfg configs.Config) (pl plan, err error) {
	d.mu.Lock()
	cur := d.store
	running := map[string]bool{}
	for name := range d.slots {
		running[name] = true
	}
	d.mu.Unlock()

	pl = plan{cfg: cfg, store: cur, keys: map[string]mailboxKey{}, atStart: map[string]bool{}}
	key := storeKeyOf(cfg)
	if cur == nil || !reflect.DeepEqual(cur.key, key) {
		db, _, err := openStore(ctx, cfg, d.log, dbWrite, false)
		if err != nil {
			return plan{}, err
		}
		pl.store, pl.opened = &daemonDB{db: db, key: key}, true
	}
	defer func() {
		if err != nil && pl.opened {
			pl.store.db.Close()
		}
	}()
	overdue, err := overdueMailboxes(ctx, pl.store.db, cfg, d.now())
	if err != nil {
		return pl, err
	}
	// A mailbox running already is replaced after its last run, on its
	// schedule: a run at start would follow that run at once.
	atStart := func(o *poller.Options) {
		o.RunAtStart = overdue[o.Name] && !running[o.Name]
		pl.atStart[o.Name] = o.RunAtStart
	}
	ps, err := buildPollers(cfg, pl.store.db, d.log, "", append([]func(*poller.Options){atStart}, d.mods...)...)
	if err != nil {
		return pl, err
	}
	if len(ps) == 0 {
		return pl, usagef("%s: no enabled mailbox", d.path)
	}
	pl.pollers = ps
	for _, m := range cfg.Mailboxes {
		pl.keys[m.Name] = mailboxKeyOf(m)
	}
	if d.webhooks != nil {
		// Built and registered before any poller of the plan runs: a new
		// target gets the events of its first run.
		if pl.hooks, err = d.webhooks.prepare(ctx, cfg, pl.store); err != nil {
			return pl, err
		}
	}
	return pl, nil
}

// apply replaces the running pollers with the plan's, keeping those whose
// mailbox and database did not change.
func (d *daemon) apply(ctx context.Context, pl plan) (added, changed, removed, kept []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	want := map[string]bool{}
	for _, p := range pl.pollers {
		want[p.Name()] = true
	}
	old := map[string]*slot{}
	for name, s := range d.slots {
		if want[name] && s.store == pl.store && reflect.DeepEqual(s.key, pl.keys[name]) {
			continue
		}
		close(s.stop)
		old[name] = s
		delete(d.slots, name)
		if !want[name] {
			removed = append(removed, name)
		}
	}
	for _, p := range pl.pollers {
		name := p.Name()
		if _, ok := d.slots[name]; ok {
			kept = append(kept, name)
			continue
		}
		prev := old[name]
		if prev != nil {
			changed = append(changed, name)
		} else {
			added = append(added, name)
		}
		d.slots[name] = d.startSlot(ctx, p, pl.keys[name], pl.store, pl.atStart[name], prev)
	}
	if prev := d.store; prev != nil && prev != pl.store {
		d.wg.Go(func() {
			prev.users.Wait()
			if err := prev.db.Close(); err != nil {
				d.log.Error("closing the previous database", "db", prev.key.DB, "err", err)
			}
		})
	}
	d.cfg, d.store = pl.cfg, pl.store
	if d.webhooks != nil {
		d.webhooks.apply(ctx, pl.cfg, pl.hooks, &d.wg)
	}
	if d.applied != nil {
		d.applied(pl.cfg)
	}
	for _, l := range [][]string{added, changed, removed, kept} {
		slices.Sort(l)
	}
	return added, changed, removed, kept
}

// startSlot runs p once prev (the slot it replaces, or nil) has returned.
func (d *daemon) startSlot(ctx context.Context, p *poller.Poller, key mailboxKey, store *daemonDB, atStart bool, prev *slot) *slot {
	s := &slot{p: p, key: key, store: store, stop: make(chan struct{}), done: make(chan struct{})}
	store.users.Add(1)
	d.wg.Go(func() {
		defer store.users.Done()
		defer close(s.done)
		if prev != nil {
			// Whatever happens, s ends after prev: a later replacement
			// of s then waits for both.
			<-prev.done
		}
		if ctx.Err() != nil || stopped(s.stop) {
			return
		}
		next := d.now()
		if !atStart {
			next = p.Next(next)
		}
		d.log.Info("scheduled", "mailbox", p.Name(), "next", next.UTC().Format(time.RFC3339))
		p.Serve(ctx, s.stop)
	})
	return s
}

func stopped(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// running names the mailboxes polled now, in order.
func (d *daemon) running() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	for name := range d.slots {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// reload loads the config file again and switches to it; a config that
// does not load, validate or build its pollers leaves the running one in
// place, and the error says why.
func (d *daemon) reload(ctx context.Context) error {
	cfg, err := configs.Load(d.path)
	if err == nil {
		var pl plan
		if pl, err = d.prepare(ctx, cfg); err == nil {
			added, changed, removed, kept := d.apply(ctx, pl)
			d.log.Info("config reloaded", "config", d.path, "added", added, "changed", changed, "removed", removed, "kept", kept)
			return nil
		}
	}
	d.log.Error("reload failed, keeping the running config", "config", d.path, "err", err, "problems", problems(err))
	return err
}

// problems lists the errors joined in err, one per config problem.
func problems(err error) []string {
	if err == nil {
		return nil
	}
	var ue usageError
	if errors.As(err, &ue) && ue.err != nil {
		err = ue.err
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range j.Unwrap() {
		out = append(out, problems(e)...)
	}
	return out
}

// serve reloads the config on every value of reload until ctx is
// cancelled, then waits for the pollers (each finishes the batch in hand)
// and closes the database.
func (d *daemon) serve(ctx context.Context, reload <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			d.wait()
			return
		case sig := <-reload:
			d.log.Info("reloading the config", "config", d.path, "signal", fmt.Sprint(sig))
			d.reload(ctx)
		}
	}
}

// wait waits until every poller has returned (ctx cancelled) and closes
// the database.
func (d *daemon) wait() {
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.store != nil {
		if err := d.store.db.Close(); err != nil {
			d.log.Error("closing the database", "db", d.store.key.DB, "err", err)
		}
		d.store = nil
	}
}

// overdueMailboxes names the mailboxes whose run is due already: never run,
// last run unfinished (killed), or the schedule's next time after the last
// run has passed while no daemon ran. The daemon runs them at once instead
// of waiting a whole period (a daily schedule could wait a day).
func overdueMailboxes(ctx context.Context, db *storage.DB, cfg configs.Config, now time.Time) (map[string]bool, error) {
	runs, err := db.LastRuns(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the last runs: %w", err)
	}
	last := map[string]storage.Run{}
	for _, r := range runs {
		last[r.Account] = r
	}
	due := map[string]bool{}
	for _, m := range cfg.Mailboxes {
		r, ok := last[m.Name]
		if !ok || r.Ended.IsZero() {
			due[m.Name] = true
			continue
		}
		sched, err := configs.ParseSchedule(m.Schedule)
		if err != nil {
			return nil, usageError{fmt.Errorf("mailbox %q: schedule: %w", m.Name, err)}
		}
		due[m.Name] = !sched.Next(r.Ended).After(now)
	}
	return due, nil
}
