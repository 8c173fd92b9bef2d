package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/webhook"
)

// The webhooks: `bounced webhooks list|retry`, and the wiring of the
// delivery into run (continuously) and poll (what is due, before it
// exits).

func webhooksCommand() command {
	return command{
		name:    "webhooks",
		args:    "list [--db PATH] [--config FILE] [--target NAME] [--state STATE] [--limit N] [--format text|json] | retry [--db PATH] [--config FILE] [--target NAME] [EVENT_ID...]",
		summary: "the webhook outbox: list deliveries, re-queue dead letters",
		help: `Every event (a suppression added or removed, a complaint, a sender-side
alert, a mailbox's health changing) is written to an outbox in the
transaction that caused it; 'bounced run' delivers it to each [[webhook]]
of the config (and 'bounced poll' before it exits), retrying with backoff
while the receiver fails, and dead-letters it after max_attempts or when the
receiver refuses it for good (a 4xx). docs/webhooks.md.

'bounced webhooks list' prints the deliveries, newest first: by default the
undelivered ones (pending and dead); --state pending, dead, delivered
(kept 30 days) or all. The database is opened read-only.

'bounced webhooks retry' puts every dead-lettered delivery (of --target
only, with it) back in the queue, due now, its attempts counted from zero;
with EVENT_IDs, the deliveries of those events whatever their state (a
replay of a delivered one too). 'bounced run' sends them within 30 seconds;
without a daemon, the next 'bounced poll' does.`,
		run: runWebhooks,
	}
}

// listStates maps --state onto the delivery states it lists.
var listStates = map[string][]storage.DeliveryState{
	"undelivered": {storage.DeliveryPending, storage.DeliveryDead},
	"pending":     {storage.DeliveryPending},
	"dead":        {storage.DeliveryDead},
	"delivered":   {storage.DeliveryDelivered},
	"all":         nil,
}

func runWebhooks(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("webhooks")
	dbf := addDBFlags(fs)
	target := fs.String("target", "", "only the target `NAME`")
	state := fs.String("state", "undelivered", "list: undelivered, pending, dead, delivered or all")
	limit := fs.Int("limit", 100, "list: at most `N` deliveries, newest first")
	format := fs.String("format", "text", "list: output format: text or json")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || pos[0] != "list" && pos[0] != "retry" {
		return usagef("webhooks: want list or retry")
	}
	switch pos[0] {
	case "list":
		if err := noArgs(fs, pos[1:]); err != nil {
			return err
		}
		if err := oneOf(fs, "state", *state, "undelivered", "pending", "dead", "delivered", "all"); err != nil {
			return err
		}
		if err := oneOf(fs, "format", *format, "text", "json"); err != nil {
			return err
		}
		if *limit < 1 {
			return usagef("webhooks: --limit must be at least 1, not %d", *limit)
		}
		db, release, _, err := dbf.open(ctx, e, dbRead, false)
		if err != nil {
			return err
		}
		defer release()
		ds, err := db.Deliveries(ctx, storage.DeliveryFilter{Target: *target, States: listStates[*state], Limit: *limit})
		if err != nil {
			return err
		}
		if *format == "json" {
			if ds == nil {
				ds = []storage.Delivery{}
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(ds)
		}
		return writeDeliveries(e.stdout, ds)
	default: // retry
		db, release, _, err := dbf.open(ctx, e, dbExisting, false)
		if err != nil {
			return err
		}
		defer release()
		n, err := db.RetryDeliveries(ctx, *target, pos[1:])
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("webhooks retry: %w (pruned 30 days after delivery, or never written)", err)
		}
		if err != nil {
			return err
		}
		what := "dead-lettered"
		if len(pos) > 1 {
			what = "named"
		}
		if n == 0 {
			fmt.Fprintf(e.stdout, "no %s delivery to re-queue\n", what)
			return nil
		}
		fmt.Fprintf(e.stdout, "re-queued %d %s deliveries: 'bounced run' sends them within %s, or run 'bounced poll'\n", n, what, webhook.DefaultIdle)
		return nil
	}
}

// writeDeliveries prints one line per delivery (and its last error on the
// next): when the event happened, target, state, attempts, type, address
// or mailbox, reason, event id.
func writeDeliveries(w io.Writer, ds []storage.Delivery) error {
	b := bufio.NewWriter(w)
	if len(ds) == 0 {
		fmt.Fprintln(b, "no deliveries")
	}
	for _, d := range ds {
		ev := d.Event
		when := ""
		switch d.State {
		case storage.DeliveryPending:
			when = "next " + rfc3339(d.NextAt)
		case storage.DeliveryDelivered:
			when = "delivered " + rfc3339(d.DeliveredAt)
		default:
			when = "last " + rfc3339(d.LastAt)
		}
		who := ev.Address
		if who == "" {
			who = "mailbox " + ev.Mailbox
		}
		fmt.Fprintf(b, "%s  %-12s %-9s %3d attempts  %s  %-19s %s  %s  id %s\n", rfc3339(ev.At), d.Target, d.State, d.Attempts, when,
			ev.Type, who, ev.Reason, ev.ID)
		if d.LastError != "" && d.State != storage.DeliveryDelivered {
			status := ""
			if d.LastStatus > 0 {
				status = " (HTTP " + strconv.Itoa(d.LastStatus) + ")"
			}
			fmt.Fprintf(b, "      last error%s: %s\n", status, d.LastError)
		}
	}
	return b.Flush()
}

// webhookTargets maps the config's [[webhook]] tables onto the webhook
// package's targets, reading their secrets from the environment now.
func webhookTargets(cfg configs.Config) ([]webhook.Target, error) {
	var out []webhook.Target
	var errs []error
	for _, w := range cfg.Webhooks {
		kind := w.WebhookKind()
		events, err := webhook.ParseEvents(kind, w.Events)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %q: events: %w", w.Name, err))
		}
		secrets, err := w.Secrets()
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %q: %w", w.Name, err))
		}
		token, err := w.Token()
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %q: %w", w.Name, err))
		}
		out = append(out, webhook.Target{
			Name: w.Name, URL: w.URL, Kind: kind, Events: events, Secrets: secrets, Username: w.Username, Token: token,
			Timeout: time.Duration(w.Timeout), MaxAttempts: w.MaxAttempts, MaxBackoff: time.Duration(w.MaxBackoff),
		})
	}
	if len(errs) > 0 {
		return nil, usageError{errors.Join(errs...)}
	}
	return out, nil
}

// newDispatcher builds the webhook dispatcher of cfg on db (no targets:
// it only prunes the outbox) and registers its targets, so that they get
// the events of the work that follows.
func newDispatcher(ctx context.Context, cfg configs.Config, db *storage.DB, log *slog.Logger, obs webhook.Observer) (*webhook.Dispatcher, error) {
	targets, err := webhookTargets(cfg)
	if err != nil {
		return nil, err
	}
	o := webhook.Options{Targets: targets, Store: db, Logger: log, UserAgent: "bounced/" + version}
	if obs != nil {
		o.Observer = obs
	}
	d, err := webhook.New(o)
	if err != nil {
		return nil, usageError{err}
	}
	if err := d.Register(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// outboxStore wraps a poller's store (the database itself): after every
// batch it wakes the webhook dispatcher, and after every run it judges the
// mailbox's health and notes a change in the outbox (a mailbox_health
// event). A failure there is logged, never the run's.
type outboxStore struct {
	poller.Store
	db     *storage.DB
	health func() storage.HealthOptions
	wake   func()
	log    *slog.Logger
	now    func() time.Time

	mu   sync.Mutex
	runs map[int64]string // run id -> mailbox
}

// outboxMod returns the poller option that wraps its store in an
// outboxStore; it must come first, on the database itself.
func outboxMod(log *slog.Logger, health func() storage.HealthOptions, wake func()) func(*poller.Options) {
	return func(o *poller.Options) {
		db, ok := o.Store.(*storage.DB)
		if !ok {
			return
		}
		o.Store = &outboxStore{Store: db, db: db, health: health, wake: wake, log: log, now: time.Now, runs: map[int64]string{}}
	}
}

// MailboxHealth is the database's: the monitor, which wraps this store,
// judges each mailbox after its run with it.
func (s *outboxStore) MailboxHealth(ctx context.Context, mailbox string, now time.Time, o storage.HealthOptions) (storage.Health, error) {
	return s.db.MailboxHealth(ctx, mailbox, now, o)
}

func (s *outboxStore) StartRun(ctx context.Context, account string, at time.Time) (int64, error) {
	id, err := s.Store.StartRun(ctx, account, at)
	if err == nil {
		s.mu.Lock()
		s.runs[id] = account
		s.mu.Unlock()
	}
	return id, err
}

func (s *outboxStore) Record(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	res, err := s.Store.Record(ctx, recs)
	if err == nil {
		s.wake()
	}
	return res, err
}

func (s *outboxStore) FinishRun(ctx context.Context, id int64, at time.Time, st storage.RunStats) error {
	err := s.Store.FinishRun(ctx, id, at, st)
	s.mu.Lock()
	mailbox := s.runs[id]
	delete(s.runs, id)
	s.mu.Unlock()
	if err != nil || mailbox == "" {
		return err
	}
	// The run is over; its health is judged even when ctx ends now.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	h, herr := s.db.MailboxHealth(hctx, mailbox, s.now(), s.health())
	if herr == nil {
		var changed bool
		if changed, herr = s.db.NoteHealth(hctx, h); changed {
			s.log.Info("mailbox health changed: webhook event queued", "mailbox", mailbox, "problems", h.Messages())
			s.wake()
		}
	}
	if herr != nil {
		s.log.Warn("judging the health for the webhooks", "mailbox", mailbox, "err", herr)
	}
	return nil
}

// webhookRunner runs the dispatcher of `bounced run` on the daemon's
// database: prepare builds (and registers) the one a config asks for, and
// apply starts it, stopping the one it replaces. A config whose
// [[webhook]] tables and database did not change keeps the running one.
type webhookRunner struct {
	log *slog.Logger
	obs webhook.Observer // nil without a monitor
	// keep tells the monitor the targets of the config in effect.
	keep func([]string)

	mu     sync.Mutex
	cur    *hookSlot
	health storage.HealthOptions
}

type hookSlot struct {
	d      *webhook.Dispatcher
	key    hookKey
	cancel context.CancelFunc
}

// hookKey is what a dispatcher is built from.
type hookKey struct {
	webhooks []configs.Webhook
	store    *daemonDB
}

func (k hookKey) equal(o hookKey) bool {
	return k.store == o.store && reflect.DeepEqual(k.webhooks, o.webhooks)
}

// hookPlan is the dispatcher a config asks for; d is nil when the
// running one is kept.
type hookPlan struct {
	d   *webhook.Dispatcher
	key hookKey
}

func newWebhookRunner(log *slog.Logger, obs webhook.Observer, keep func([]string)) *webhookRunner {
	return &webhookRunner{log: log, obs: obs, keep: keep, health: storage.DefaultHealth}
}

// mod is the poller option of the daemon's pollers (outboxStore).
func (r *webhookRunner) mod(o *poller.Options) {
	outboxMod(r.log, r.healthOptions, r.wake)(o)
}

func (r *webhookRunner) healthOptions() storage.HealthOptions {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.health
}

func (r *webhookRunner) wake() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		r.cur.d.Wake()
	}
}

// prepare builds the dispatcher of cfg on store, unless the running one
// serves the same targets on the same database.
func (r *webhookRunner) prepare(ctx context.Context, cfg configs.Config, store *daemonDB) (hookPlan, error) {
	key := hookKey{webhooks: cfg.Webhooks, store: store}
	r.mu.Lock()
	cur := r.cur
	r.mu.Unlock()
	if cur != nil && cur.key.equal(key) {
		return hookPlan{key: key}, nil
	}
	var obs webhook.Observer
	if r.obs != nil {
		obs = r.obs
	}
	d, err := newDispatcher(ctx, cfg, store.db, r.log, obs)
	if err != nil {
		return hookPlan{}, err
	}
	return hookPlan{d: d, key: key}, nil
}

// apply starts the plan's dispatcher (its goroutine in wg, a user of its
// database) and stops the one it replaces.
func (r *webhookRunner) apply(ctx context.Context, cfg configs.Config, pl hookPlan, wg *sync.WaitGroup) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.health = cfg.Health.Options()
	if r.keep != nil {
		names := make([]string, len(cfg.Webhooks))
		for i, w := range cfg.Webhooks {
			names[i] = w.Name
		}
		r.keep(names)
	}
	if pl.d == nil {
		return
	}
	if r.cur != nil {
		// A request in flight is abandoned: its delivery stays pending
		// and the new dispatcher sends it again.
		r.cur.cancel()
	}
	dctx, cancel := context.WithCancel(ctx)
	slot := &hookSlot{d: pl.d, key: pl.key, cancel: cancel}
	r.cur = slot
	store := pl.key.store
	store.users.Add(1)
	wg.Go(func() {
		defer store.users.Done()
		if names := pl.d.Names(); len(names) > 0 {
			r.log.Info("delivering webhooks", "targets", names)
		}
		pl.d.Run(dctx)
	})
}

// webhooksStatus is the outbox in `status --format json` (its
// "webhooks"): per target configured or with undelivered events, what
// waits.
type webhooksStatus struct {
	Targets  []storage.OutboxQueue `json:"targets"`
	OK       bool                  `json:"ok"`
	Problems []string              `json:"problems"`
}

// webhookStatus reads what waits in the outbox per target (nil when no
// target is configured and nothing waits) and prints it on w. A
// dead-lettered event is a problem: someone must look at it.
func webhookStatus(ctx context.Context, db *storage.DB, cfg configs.Config, w io.Writer) (*webhooksStatus, error) {
	names := make([]string, len(cfg.Webhooks))
	for i, h := range cfg.Webhooks {
		names[i] = h.Name
	}
	qs, err := db.OutboxQueues(ctx, names)
	if err != nil {
		return nil, err
	}
	if len(qs) == 0 {
		return nil, nil
	}
	st := &webhooksStatus{Targets: qs, Problems: []string{}}
	fmt.Fprintf(w, "webhooks:\n")
	for _, q := range qs {
		fmt.Fprintf(w, "  %s: %d pending, %d dead-lettered", q.Target, q.Pending, q.Dead)
		if !q.NextAttempt.IsZero() {
			fmt.Fprintf(w, ", next attempt %s UTC", q.NextAttempt.UTC().Format(time.DateTime))
		}
		if !slices.Contains(names, q.Target) {
			fmt.Fprintf(w, " (not in the config)")
		}
		fmt.Fprintln(w)
		if q.LastError != "" {
			fmt.Fprintf(w, "             last error: %s\n", q.LastError)
		}
		if q.Dead > 0 {
			st.Problems = append(st.Problems, fmt.Sprintf("webhook %q: %d events dead-lettered: 'bounced webhooks list --state dead' shows them, "+
				"'bounced webhooks retry' re-queues them", q.Target, q.Dead))
		}
	}
	st.OK = len(st.Problems) == 0
	if !st.OK {
		fmt.Fprintf(w, "  status:    PROBLEM: %s\n", strings.Join(st.Problems, "; "))
	}
	return st, nil
}

// deliverBeforeExit is poll's end: what is due goes out within wait; what
// does not waits in the outbox for the next poll or run. Without targets
// it only prunes the outbox (events are written whether or not a target
// takes them).
func deliverBeforeExit(ctx context.Context, d *webhook.Dispatcher, wait time.Duration, e *env, quiet bool) {
	if wait <= 0 || ctx.Err() != nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for _, r := range d.Flush(wctx) {
		if !quiet {
			fmt.Fprintf(e.stdout, "webhook %s: delivered %d, pending %d, dead-lettered %d\n", r.Target, r.Delivered, r.Pending, r.DeadTotal)
		}
		if quiet {
			continue
		}
		why := ""
		if r.LastError != "" {
			why = " (" + r.LastError + ")"
		}
		if wctx.Err() != nil && r.LastError == "" {
			why = fmt.Sprintf(" (--webhook-wait %s was up)", wait)
		}
		if r.Pending > 0 {
			fmt.Fprintf(e.stderr, "bounced: poll: webhook %q: %d events not delivered%s: they wait in the outbox for the next poll or run\n",
				r.Target, r.Pending, why)
		}
		if r.Dead > 0 {
			fmt.Fprintf(e.stderr, "bounced: poll: webhook %q: %d events dead-lettered%s: 'bounced webhooks list --state dead' shows them, "+
				"'bounced webhooks retry' re-queues them\n", r.Target, r.Dead, why)
		}
	}
}
