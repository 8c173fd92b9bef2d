// Package webhook delivers bounced's outbox events (storage.OutboxEvent:
// suppressions added and removed, complaints, sender-side alerts, changes
// of a mailbox's health) to HTTP receivers: a generic receiver gets the
// event's JSON, signed with HMAC-SHA256 (X-Bounced-Signature, see Sign
// and Verify), a listmonk gets its bounce webhook (listmonk.go).
//
// Delivery is at least once. storage writes each event in the transaction
// of the change that caused it and keeps every delivery's state; a
// delivery is marked delivered only after the receiver answered 2xx, so a
// crash between the commit and the delivery, or between the delivery and
// its mark, delivers it again after the restart, never zero times. Each
// event carries an id for the receiver to deduplicate. A failed attempt is
// retried with exponential backoff and jitter (or after the receiver's
// Retry-After), each wait capped; a delivery that fails MaxAttempts times,
// or that the receiver refuses for good (a 4xx other than 408, 425 and
// 429), is dead-lettered: kept, counted, and re-queued by
// `bounced webhooks retry`.
//
// It does not decide what is an event and holds no SQL (storage does), and
// it never logs a secret or a token.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/bounced/bounced/internal/clock"
	"github.com/bounced/bounced/storage"
)

// Kind is what a target speaks.
type Kind string

const (
	// KindGeneric receives the event's JSON (storage.OutboxEvent), signed.
	KindGeneric Kind = "generic"
	// KindListmonk is listmonk's bounce webhook: URL is listmonk's root.
	KindListmonk Kind = "listmonk"
)

// Defaults of a Target's zero fields, and of the dispatcher.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 100
	DefaultMinBackoff  = 30 * time.Second
	DefaultMaxBackoff  = time.Hour
	// DefaultIdle is how often a target without work looks for events
	// written by another process (a `bounced recipient unsuppress`, a
	// `bounced webhooks retry`).
	DefaultIdle = 30 * time.Second
	// Retention is how long a delivered event stays in the outbox (for
	// `bounced webhooks list --state delivered` and a replay).
	Retention = 30 * 24 * time.Hour
	// MaxRetryAfter caps the wait a receiver asks for with Retry-After.
	MaxRetryAfter = 24 * time.Hour
	// batch is how many due deliveries a pass reads at a time.
	batch = 50
)

// Target is one receiver.
type Target struct {
	Name string
	URL  string // generic: the URL to POST to; listmonk: listmonk's root
	Kind Kind   // "" is KindGeneric
	// Events are the event types it takes; nil: every type its kind takes
	// (generic: all; listmonk: suppression.added).
	Events []storage.EventType
	// Secrets sign every request (X-Bounced-Signature, one v1 each: the
	// new and the old during a rotation); none: unsigned.
	Secrets [][]byte
	// Username and Token are listmonk's API credentials
	// ("Authorization: token USER:TOKEN").
	Username, Token string
	Timeout         time.Duration // per request
	MaxAttempts     int           // then dead-lettered
	MinBackoff      time.Duration // the wait after the first failure, doubled after each
	MaxBackoff      time.Duration // the cap of one wait
}

// ParseEvents reads the event names of a target's config: the types
// (storage.EventTypes), and "suppression" for both suppression types.
// None means every type the kind takes (nil). Every unknown name is an
// error, and so is a type a listmonk target cannot take.
func ParseEvents(kind Kind, names []string) ([]storage.EventType, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var out []storage.EventType
	var errs []error
	add := func(t storage.EventType) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, n := range names {
		switch t := storage.EventType(strings.TrimSpace(n)); {
		case t == "suppression" && kind == KindListmonk:
			add(storage.EventSuppressionAdded)
		case t == "suppression":
			add(storage.EventSuppressionAdded)
			add(storage.EventSuppressionRemoved)
		case !slices.Contains(storage.EventTypes, t):
			errs = append(errs, fmt.Errorf("unknown event %q (want suppression, %s)", n, typeList(storage.EventTypes)))
		case kind == KindListmonk && !slices.Contains(listmonkEvents, t):
			errs = append(errs, fmt.Errorf("event %q: a listmonk target takes %s only (listmonk records bounces: bounced sends the addresses it suppressed)",
				n, typeList(listmonkEvents)))
		default:
			add(t)
		}
	}
	return out, errors.Join(errs...)
}

func typeList(ts []storage.EventType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// Clock is the time source of retries and waits.
type Clock = clock.Clock

// Store is the part of storage.DB that keeps the outbox.
type Store interface {
	Fanout(ctx context.Context, target string, accept func(storage.EventType) bool) (int, error)
	DueDeliveries(ctx context.Context, target string, now time.Time, limit int) ([]storage.Delivery, error)
	NextDue(ctx context.Context, target string) (time.Time, error)
	MarkDelivered(ctx context.Context, id int64, at time.Time, status int) error
	MarkFailed(ctx context.Context, id int64, at time.Time, status int, reason string, next time.Time, dead bool) error
	QueueCounts(ctx context.Context, target string) (pending, dead int, err error)
	PruneOutbox(ctx context.Context, before time.Time, targets []string) (int64, error)
}

// Observer is told every attempt's result and each target's queue after a
// pass (the metrics).
type Observer interface {
	// WebhookAttempt: result is delivered, failed (retried later) or dead.
	WebhookAttempt(target, result string)
	WebhookQueue(target string, pending, dead int)
}

// Options configure a Dispatcher.
type Options struct {
	Targets   []Target
	Store     Store
	Logger    *slog.Logger      // nil: discard
	Transport http.RoundTripper // nil: http.DefaultTransport
	Clock     Clock             // nil: the real clock
	Observer  Observer          // nil: none
	// Jitter returns a number in [0, 1) (nil: math/rand/v2).
	Jitter    func() float64
	Idle      time.Duration // 0: DefaultIdle
	UserAgent string        // "" is "bounced"
}

// Dispatcher delivers the outbox to its targets.
type Dispatcher struct {
	targets []*target
	store   Store
	log     *slog.Logger
	clock   Clock
	obs     Observer
	jitter  func() float64
	idle    time.Duration
	agent   string
}

// target is a Target with its client and its state between passes.
type target struct {
	Target
	client *http.Client
	accept func(storage.EventType) bool
	wake   chan struct{}
	// pausedUntil: after a failed attempt (the receiver is down or asks
	// to wait) the target sends nothing before then, whatever waits.
	pausedUntil time.Time
}

// New checks the targets and returns a Dispatcher.
func New(o Options) (*Dispatcher, error) {
	d := &Dispatcher{store: o.Store, log: o.Logger, clock: o.Clock, obs: o.Observer, jitter: o.Jitter, idle: o.Idle, agent: o.UserAgent}
	if d.store == nil {
		return nil, errors.New("webhook: no store")
	}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.clock == nil {
		d.clock = clock.Real
	}
	if d.jitter == nil {
		d.jitter = rand.Float64
	}
	if d.idle <= 0 {
		d.idle = DefaultIdle
	}
	if d.agent == "" {
		d.agent = "bounced"
	}
	transport := o.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	var errs []error
	seen := map[string]bool{}
	for _, t := range o.Targets {
		if t.Kind == "" {
			t.Kind = KindGeneric
		}
		if err := t.check(); err != nil {
			errs = append(errs, fmt.Errorf("webhook %q: %w", t.Name, err))
			continue
		}
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("webhook %q: name used twice", t.Name))
		}
		seen[t.Name] = true
		t.withDefaults()
		tt := &target{Target: t, wake: make(chan struct{}, 1)}
		tt.client = &http.Client{Transport: transport, Timeout: t.Timeout,
			// A redirect is a failure (a POST is not followed safely):
			// the url must name the receiver itself.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		types := t.Events
		if types == nil && t.Kind == KindListmonk {
			types = listmonkEvents
		}
		if types != nil {
			tt.accept = func(e storage.EventType) bool { return slices.Contains(types, e) }
		}
		d.targets = append(d.targets, tt)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

func (t *Target) check() error {
	if t.Name == "" {
		return errors.New("no name")
	}
	u, err := url.Parse(t.URL)
	if err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("url %q: want an http(s) URL", redactURL(t.URL))
	}
	switch t.Kind {
	case KindGeneric:
	case KindListmonk:
		if t.Username == "" || t.Token == "" {
			return errors.New("listmonk needs its API user and token")
		}
		for _, e := range t.Events {
			if !slices.Contains(listmonkEvents, e) {
				return fmt.Errorf("event %q: a listmonk target takes %s only", e, typeList(listmonkEvents))
			}
		}
	default:
		return fmt.Errorf("kind %q: want generic or listmonk", t.Kind)
	}
	return nil
}

func (t *Target) withDefaults() {
	if t.Timeout <= 0 {
		t.Timeout = DefaultTimeout
	}
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = DefaultMaxAttempts
	}
	if t.MinBackoff <= 0 {
		t.MinBackoff = DefaultMinBackoff
	}
	if t.MaxBackoff <= 0 {
		t.MaxBackoff = DefaultMaxBackoff
	}
	if t.MaxBackoff < t.MinBackoff {
		t.MaxBackoff = t.MinBackoff
	}
}

// Names lists the targets' names.
func (d *Dispatcher) Names() []string {
	out := make([]string, len(d.targets))
	for i, t := range d.targets {
		out[i] = t.Name
	}
	return out
}

// Register makes sure every target is known to the store, so that it gets
// every event written from now on (a target never seen starts after the
// newest event): call it before the work whose events it should get.
func (d *Dispatcher) Register(ctx context.Context) error {
	var errs []error
	for _, t := range d.targets {
		if _, err := d.store.Fanout(ctx, t.Name, t.accept); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Wake tells every target that new events were committed: each looks at
// once instead of at its next timer.
func (d *Dispatcher) Wake() {
	for _, t := range d.targets {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// Run delivers continuously until ctx is cancelled: each target in its
// own goroutine (a slow receiver never holds up another), waiting on a
// timer for its next due delivery, its idle interval, Wake or ctx; and
// prunes the outbox once a day. A request in flight when ctx is cancelled
// is abandoned, not counted: its delivery stays pending and is delivered
// by the next process.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, t := range d.targets {
		wg.Go(func() { d.serve(ctx, t) })
	}
	wg.Go(func() { d.pruneLoop(ctx) })
	wg.Wait()
	return nil
}

func (d *Dispatcher) serve(ctx context.Context, t *target) {
	for ctx.Err() == nil {
		st := d.pass(ctx, t)
		if ctx.Err() != nil {
			return
		}
		wait := d.idle
		if !st.next.IsZero() {
			wait = min(wait, max(st.next.Sub(d.clock.Now()), 0))
		}
		tc, stop := d.clock.Timer(wait)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-tc:
		case <-t.wake:
			stop()
		}
	}
}

func (d *Dispatcher) pruneLoop(ctx context.Context) {
	for {
		d.prune(ctx)
		tc, stop := d.clock.Timer(24 * time.Hour)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-tc:
		}
	}
}

// prune deletes what every target has delivered, after Retention.
func (d *Dispatcher) prune(ctx context.Context) {
	n, err := d.store.PruneOutbox(ctx, d.clock.Now().Add(-Retention), d.Names())
	switch {
	case err != nil && ctx.Err() == nil:
		d.log.Warn("pruning the webhook outbox", "err", err)
	case n > 0:
		d.log.Info("pruned delivered webhook events", "count", n)
	}
}

// Result is what one target's pass did (Flush).
type Result struct {
	Target    string `json:"target"`
	Delivered int    `json:"delivered"`
	Failed    int    `json:"failed"` // attempts that failed and wait for a retry
	Dead      int    `json:"dead"`   // dead-lettered by this pass
	// Pending and DeadTotal are what waits after the pass.
	Pending   int    `json:"pending"`
	DeadTotal int    `json:"dead_total"`
	LastError string `json:"last_error,omitempty"`
}

// Flush delivers, once, what is due now to every target (in parallel),
// within ctx: `bounced poll` before it exits. A target whose receiver
// fails stops at that failure: the rest waits in the outbox for the next
// poll or run. It prunes the outbox too.
func (d *Dispatcher) Flush(ctx context.Context) []Result {
	out := make([]Result, len(d.targets))
	var wg sync.WaitGroup
	for i, t := range d.targets {
		wg.Go(func() {
			st := d.pass(ctx, t)
			r := Result{Target: t.Name, Delivered: st.delivered, Failed: st.failed, Dead: st.dead, LastError: st.lastErr}
			// The counts with a context of their own: a Flush cut short
			// still says what waits.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			var err error
			if r.Pending, r.DeadTotal, err = d.store.QueueCounts(cctx, t.Name); err != nil && r.LastError == "" {
				r.LastError = err.Error()
			}
			out[i] = r
		})
	}
	wg.Wait()
	if ctx.Err() == nil {
		d.prune(ctx)
	}
	return out
}

// passStats is what one pass of one target did.
type passStats struct {
	delivered, failed, dead int
	lastErr                 string
	next                    time.Time // when the target wants its next pass; zero: nothing pending
}

// pass gives the target its new events and delivers what is due, in event
// order, until a delivery fails for a reason that is not its own (the
// receiver is down or asks to wait: the target pauses until that
// delivery's next attempt). A panic ends the pass, logged, never the
// process.
func (d *Dispatcher) pass(ctx context.Context, t *target) (st passStats) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("webhook pass panicked", "target", t.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			st.next = d.clock.Now().Add(t.MinBackoff)
		}
	}()
	defer d.observeQueue(ctx, t)
	if _, err := d.store.Fanout(ctx, t.Name, t.accept); err != nil {
		if ctx.Err() == nil {
			d.log.Error("reading new webhook events", "target", t.Name, "err", err)
		}
		st.next, st.lastErr = d.clock.Now().Add(t.MinBackoff), err.Error()
		return st
	}
	// After Fanout: the deliveries it just made are due now.
	now := d.clock.Now()
	if now.Before(t.pausedUntil) {
		st.next = t.pausedUntil
		return st
	}
	for {
		due, err := d.store.DueDeliveries(ctx, t.Name, now, batch)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("listing due webhook deliveries", "target", t.Name, "err", err)
			}
			st.next, st.lastErr = now.Add(t.MinBackoff), err.Error()
			return st
		}
		for _, del := range due {
			if ctx.Err() != nil {
				return st
			}
			if pause, stop := d.deliver(ctx, t, del, &st); stop {
				t.pausedUntil, st.next = pause, pause
				return st
			}
		}
		if len(due) < batch {
			break
		}
	}
	next, err := d.store.NextDue(ctx, t.Name)
	if err != nil {
		next = d.clock.Now().Add(t.MinBackoff)
	}
	st.next = next
	return st
}

// deliver makes one attempt and records its result; stop says that the
// target pauses until pause.
func (d *Dispatcher) deliver(ctx context.Context, t *target, del storage.Delivery, st *passStats) (pause time.Time, stop bool) {
	ev := &del.Event
	attempt := del.Attempts + 1
	res := d.attempt(ctx, t, del, attempt)
	if res.aborted {
		// Cut by shutdown (or poll's bounded wait): not an attempt; the
		// delivery stays pending, as it was.
		return time.Time{}, true
	}
	at := d.clock.Now()
	// The marks must land even when ctx ends right now: a delivered event
	// left pending is delivered again (harmless), but why bother.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if res.err == nil {
		if err := d.store.MarkDelivered(mctx, del.ID, at, res.status); err != nil {
			// It stays pending and is delivered again: at least once.
			d.log.Error("marking a webhook delivery delivered", "target", t.Name, "event_id", ev.ID, "err", err)
			st.lastErr = err.Error()
			return at.Add(t.MinBackoff), true
		}
		st.delivered++
		d.observe(t.Name, "delivered")
		d.log.Debug("webhook delivered", "target", t.Name, "event_id", ev.ID, "event", string(ev.Type), "status", res.status, "attempt", attempt)
		return time.Time{}, false
	}
	reason := res.err.Error()
	st.lastErr = reason
	dead := res.permanent || attempt >= t.MaxAttempts
	next := at
	if !res.permanent {
		next = at.Add(t.backoff(attempt, d.jitter))
		if res.retryAfter > 0 {
			next = at.Add(min(res.retryAfter, MaxRetryAfter))
		}
	}
	if err := d.store.MarkFailed(mctx, del.ID, at, res.status, reason, next, dead); err != nil {
		d.log.Error("marking a webhook delivery failed", "target", t.Name, "event_id", ev.ID, "err", err)
		return at.Add(t.MinBackoff), true
	}
	if dead {
		st.dead++
		d.observe(t.Name, "dead")
		why := "refused for good"
		if !res.permanent {
			why = fmt.Sprintf("failed %d times", attempt)
		}
		d.log.Error("webhook event dead-lettered: 'bounced webhooks retry' re-queues it", "target", t.Name, "event_id", ev.ID,
			"event", string(ev.Type), "status", res.status, "attempt", attempt, "why", why, "err", reason)
	} else {
		st.failed++
		d.observe(t.Name, "failed")
		d.log.Warn("webhook delivery failed, will retry", "target", t.Name, "event_id", ev.ID, "event", string(ev.Type),
			"status", res.status, "attempt", attempt, "next", next.UTC().Format(time.RFC3339), "err", reason)
	}
	if res.permanent {
		return time.Time{}, false // the receiver is up: go on with the next
	}
	return next, true
}

// backoff is the wait after the attempt-th failed attempt: MinBackoff
// doubled per failure, capped at MaxBackoff, of which the second half is
// random ("equal jitter": never less than half, so that many targets or
// processes do not retry in step).
func (t *Target) backoff(attempt int, jitter func() float64) time.Duration {
	d := t.MinBackoff
	for i := 1; i < attempt && d < t.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, t.MaxBackoff)
	return d/2 + time.Duration(jitter()*float64(d/2))
}

func (d *Dispatcher) observe(target, result string) {
	if d.obs != nil {
		d.obs.WebhookAttempt(target, result)
	}
}

func (d *Dispatcher) observeQueue(ctx context.Context, t *target) {
	if d.obs == nil || ctx.Err() != nil {
		return
	}
	if p, dead, err := d.store.QueueCounts(ctx, t.Name); err == nil {
		d.obs.WebhookQueue(t.Name, p, dead)
	}
}

// outcome is what one attempt got.
type outcome struct {
	status     int // 0: no answer
	err        error
	permanent  bool          // refused for good: dead-letter now
	retryAfter time.Duration // asked by the receiver; 0: none
	aborted    bool          // ctx ended: not an attempt
}

// attempt sends one delivery. A panic (building the request, the
// transport) is this delivery's failure, for good: logged with its stack,
// and the next delivery goes on.
func (d *Dispatcher) attempt(ctx context.Context, t *target, del storage.Delivery, n int) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("webhook delivery panicked", "target", t.Name, "event_id", del.Event.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			o = outcome{err: fmt.Errorf("panic: %v", r), permanent: true}
		}
	}()
	req, err := t.request(ctx, del, d.clock.Now(), n, d.agent)
	if err != nil {
		return outcome{err: err, permanent: true}
	}
	resp, err := t.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return outcome{aborted: true, err: ctx.Err()}
		}
		return outcome{err: t.describe(err)}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	o.status = resp.StatusCode
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return o
	case c == http.StatusTooManyRequests || c == http.StatusServiceUnavailable:
		o.retryAfter = retryAfter(resp.Header.Get("Retry-After"), d.clock.Now())
	case c == http.StatusRequestTimeout || c == http.StatusTooEarly || c >= 500:
	default:
		// 3xx (a redirect is not followed), 4xx: the receiver refuses
		// this request, and would refuse it again.
		o.permanent = true
	}
	o.err = fmt.Errorf("%s: %s", resp.Status, printable(head))
	if c := resp.StatusCode; c >= 300 && c < 400 {
		o.err = fmt.Errorf("%s to %s: set url to the receiver itself", resp.Status, redactURL(resp.Header.Get("Location")))
	}
	return o
}

// request builds the POST for one delivery.
func (t *target) request(ctx context.Context, del storage.Delivery, now time.Time, attempt int, agent string) (*http.Request, error) {
	u, body := t.URL, del.Payload
	if t.Kind == KindListmonk {
		u = strings.TrimRight(t.URL, "/") + ListmonkPath
		var err error
		if body, err = listmonkBody(del.Event); err != nil {
			return nil, fmt.Errorf("building the listmonk body: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", t.describe(err))
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", agent)
	h.Set("X-Bounced-Event", string(del.Event.Type))
	h.Set("X-Bounced-Event-Id", del.Event.ID)
	h.Set("X-Bounced-Attempt", strconv.Itoa(attempt))
	if len(t.Secrets) > 0 {
		h.Set(SignatureHeader, Sign(now, body, t.Secrets...))
	}
	if t.Kind == KindListmonk {
		h.Set("Authorization", "token "+t.Username+":"+t.Token)
	}
	return req, nil
}

// describe words a transport error without the URL's credentials (a
// url.Error names the URL; user:password@ in it is redacted) and without
// anything of the token.
func (t *target) describe(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		what := ue.Err.Error()
		if ue.Timeout() {
			what = fmt.Sprintf("no answer within %s (%v)", t.Timeout, ue.Err)
		}
		err = fmt.Errorf("%s %s: %s", ue.Op, redactURL(ue.URL), what)
	}
	if t.Token != "" && strings.Contains(err.Error(), t.Token) {
		return errors.New(strings.ReplaceAll(err.Error(), t.Token, "xxxxx"))
	}
	return err
}

// redactURL hides a password in a URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// retryAfter reads a Retry-After value: seconds, or an HTTP date (RFC
// 9110 §10.2.3); 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, int(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// printable keeps a receiver's answer readable in a log line and the
// outbox: control characters go, white space is folded.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, string(b))
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "(no body)"
	}
	return s
}
