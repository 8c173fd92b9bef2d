package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/internal/clock/clocktest"
	"github.com/bounced/bounced/storage"
)

// newFakeClock is the time of the database and the dispatcher; its
// timers are handed to the test, which fires them (no sleeps).
func newFakeClock() *clocktest.Fake {
	return clocktest.New(time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC))
}

// harness is a database with a fake clock.
type harness struct {
	t     *testing.T
	clock *clocktest.Fake
	db    *storage.DB
	path  string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock(), path: filepath.Join(t.TempDir(), "bounced.db")}
	h.open()
	return h
}

func (h *harness) open() {
	h.t.Helper()
	db, err := storage.Open(context.Background(), h.path, storage.Options{Now: h.clock.Now, NoSync: true})
	if err != nil {
		h.t.Fatal(err)
	}
	h.db = db
	h.t.Cleanup(func() { db.Close() })
}

// suppress writes one suppression.added event (by hand).
func (h *harness) suppress(addr string) {
	h.t.Helper()
	if err := h.db.Suppress(context.Background(), addr, "test"); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) dispatcher(o Options, targets ...Target) *Dispatcher {
	h.t.Helper()
	o.Targets, o.Store, o.Clock = targets, h.db, h.clock
	if o.Jitter == nil {
		o.Jitter = func() float64 { return 0 } // the shortest wait: exact times
	}
	d, err := New(o)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := d.Register(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) deliveries(target string) []storage.Delivery {
	h.t.Helper()
	ds, err := h.db.Deliveries(context.Background(), storage.DeliveryFilter{Target: target, Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	return ds
}

// receiver is a test's own HTTP receiver: answer decides each response.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	answer   func(n int, r received) (status int, header http.Header)
}

type received struct {
	path   string
	header http.Header
	body   []byte
	event  storage.OutboxEvent
}

func newReceiver(t *testing.T, answer func(n int, r received) (int, http.Header)) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := received{path: r.URL.Path, header: r.Header.Clone(), body: body}
		json.Unmarshal(body, &got.event)
		rc.mu.Lock()
		rc.requests = append(rc.requests, got)
		n := len(rc.requests)
		rc.mu.Unlock()
		status, hdr := 200, http.Header(nil)
		if rc.answer != nil {
			status, hdr = rc.answer(n, got)
		}
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d\n", status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

func (rc *receiver) ids() []string {
	var out []string
	for _, r := range rc.got() {
		out = append(out, r.event.ID)
	}
	return out
}

var secret = []byte("s3cret-for-the-test")

// TestGenericSignedDelivery: the generic body carries the event's id,
// type, address, reason, mailbox and time; it is signed so that Verify
// accepts it; a delivered event is never sent again.
func TestGenericSignedDelivery(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, func(n int, r received) (int, http.Header) {
		if err := Verify(secret, r.header.Get(SignatureHeader), r.body, time.Now(), 0); !errors.Is(err, ErrStale) {
			// The fake clock is in 2026: against the real now the
			// timestamp is stale, which Verify must say.
			return 500, nil
		}
		return 204, nil
	})
	d := h.dispatcher(Options{UserAgent: "bounced/test"}, Target{Name: "crm", URL: rc.URL + "/hook", Secrets: [][]byte{secret}})
	h.suppress("Someone@Example.org")
	res := d.Flush(context.Background())
	if len(res) != 1 || res[0].Delivered != 1 || res[0].Pending != 0 || res[0].DeadTotal != 0 {
		t.Fatalf("Flush = %+v, want 1 delivered", res)
	}
	reqs := rc.got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if err := Verify(secret, r.header.Get(SignatureHeader), r.body, h.clock.Now(), 5*time.Minute); err != nil {
		t.Errorf("Verify(%q) = %v", r.header.Get(SignatureHeader), err)
	}
	if err := Verify([]byte("other"), r.header.Get(SignatureHeader), r.body, h.clock.Now(), 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify with another secret = %v, want ErrBadSignature", err)
	}
	var generic map[string]any
	if err := json.Unmarshal(r.body, &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "type", "address", "reason", "mailbox", "at"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("generic event has no %q: %s", k, r.body)
		}
	}
	ev := r.event
	if ev.Type != storage.EventSuppressionAdded || ev.Address != "someone@example.org" || ev.Reason != "manual" || ev.By != "manual" || ev.ID == "" {
		t.Errorf("event = %+v", ev)
	}
	if r.path != "/hook" || r.header.Get("X-Bounced-Event-Id") != ev.ID || r.header.Get("X-Bounced-Event") != "suppression.added" ||
		r.header.Get("Content-Type") != "application/json" || r.header.Get("User-Agent") != "bounced/test" || r.header.Get("X-Bounced-Attempt") != "1" {
		t.Errorf("request %s, headers %v", r.path, r.header)
	}
	if res := d.Flush(context.Background()); res[0].Delivered != 0 || len(rc.got()) != 1 {
		t.Errorf("second Flush = %+v, %d requests: a delivered event was sent again", res, len(rc.got()))
	}
}

// TestVerify: the signature covers the timestamp and the body; a replay
// outside the window, a changed body, a missing header fail; during a
// rotation either secret verifies.
func TestVerify(t *testing.T) {
	now := time.Unix(1767225600, 0)
	body := []byte(`{"id":"x"}`)
	h := Sign(now, body, secret)
	if !strings.HasPrefix(h, "t=1767225600,v1=") || len(h) != len("t=1767225600,v1=")+64 {
		t.Errorf("Sign = %q", h)
	}
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"good", h, body, now, nil},
		{"within the window", h, body, now.Add(4 * time.Minute), nil},
		{"replayed later", h, body, now.Add(6 * time.Minute), ErrStale},
		{"from the future", h, body, now.Add(-6 * time.Minute), ErrStale},
		{"body changed", h, []byte(`{"id":"y"}`), now, ErrBadSignature},
		{"no header", "", body, now, ErrNoSignature},
		{"no v1", "t=1767225600", body, now, ErrNoSignature},
		{"rotation: old secret first", Sign(now, body, []byte("old"), secret), body, now, nil},
	} {
		if err := Verify(secret, tc.header, tc.body, tc.now, 5*time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestRetries: a receiver that answers 500, then 429 with Retry-After,
// then 503 with an HTTP date, then recovers: each failure is retried at
// the right time (exponential backoff, or the receiver's wait), the target
// sends nothing else meanwhile, and the event is delivered once it
// answers 2xx, with the same id every time.
func TestRetries(t *testing.T) {
	h := newHarness(t)
	var retryDate string
	rc := newReceiver(t, func(n int, r received) (int, http.Header) {
		switch n {
		case 1, 2:
			return 500, nil
		case 3:
			return 429, http.Header{"Retry-After": {"120"}}
		case 4:
			return 503, http.Header{"Retry-After": {retryDate}}
		}
		return 200, nil
	})
	d := h.dispatcher(Options{}, Target{Name: "t", URL: rc.URL, MinBackoff: 10 * time.Second, MaxBackoff: time.Hour})
	h.suppress("a@example.org")
	h.suppress("b@example.org")
	ctx := context.Background()
	start := h.clock.Now()

	// 1: 500. Backoff 10s, of which jitter 0 keeps half: 5s.
	st := d.pass(ctx, d.targets[0])
	if st.failed != 1 || st.delivered != 0 || !st.next.Equal(start.Add(5*time.Second)) {
		t.Fatalf("pass 1 = %+v, want one failure and the next pass at +5s", st)
	}
	// Paused: a pass before then sends nothing, not even b's event.
	h.clock.Add(time.Second)
	if st := d.pass(ctx, d.targets[0]); st.failed+st.delivered != 0 || len(rc.got()) != 1 {
		t.Fatalf("a pass while paused sent something: %+v, %d requests", st, len(rc.got()))
	}
	// 2: 500 again, at +5s: the wait doubles (20s, half of it kept: 10s).
	h.clock.Set(st.next)
	st = d.pass(ctx, d.targets[0])
	if st.failed != 1 || !st.next.Equal(h.clock.Now().Add(10*time.Second)) {
		t.Fatalf("pass 2 = %+v", st)
	}
	// 3: 429 with Retry-After: 120 seconds, exactly.
	h.clock.Set(st.next)
	st = d.pass(ctx, d.targets[0])
	if st.failed != 1 || !st.next.Equal(h.clock.Now().Add(120*time.Second)) {
		t.Fatalf("pass 3 (429) = %+v, want the next attempt in 120s", st)
	}
	ds := h.deliveries("t")
	head := ds[len(ds)-1]
	if head.LastStatus != 429 || head.Attempts != 3 || !head.NextAt.Equal(st.next) || !strings.Contains(head.LastError, "429") {
		t.Errorf("after the 429: %+v", head)
	}
	// 4: 503 with an HTTP date 90s ahead.
	h.clock.Set(st.next)
	retryDate = h.clock.Now().Add(90 * time.Second).Format(http.TimeFormat)
	st = d.pass(ctx, d.targets[0])
	if st.failed != 1 || !st.next.Equal(h.clock.Now().Add(90*time.Second)) {
		t.Fatalf("pass 4 (503) = %+v, want the next attempt in 90s", st)
	}
	// 5: it recovers: both events go, in order.
	h.clock.Set(st.next)
	st = d.pass(ctx, d.targets[0])
	if st.delivered != 2 || st.failed != 0 || !st.next.IsZero() {
		t.Fatalf("pass 5 = %+v, want both delivered", st)
	}
	ids := rc.ids()
	if len(ids) != 6 || ids[0] != ids[1] || ids[1] != ids[2] || ids[2] != ids[3] || ids[3] != ids[4] || ids[5] == ids[4] {
		t.Errorf("requests by event id: %q, want the first event five times, then the second", ids)
	}
	for i, r := range rc.got()[:5] {
		if got := r.header.Get("X-Bounced-Attempt"); got != fmt.Sprint(i+1) {
			t.Errorf("request %d: X-Bounced-Attempt %s", i+1, got)
		}
	}
	for _, del := range h.deliveries("t") {
		if del.State != storage.DeliveryDelivered {
			t.Errorf("delivery %d: %s", del.ID, del.State)
		}
	}
}

// TestTimeoutAndRefused: a receiver that never answers (a timeout) and
// one that is gone (connection refused) are failures retried later,
// never dead-lettered at once.
func TestTimeoutAndRefused(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	d := h.dispatcher(Options{},
		Target{Name: "slow", URL: slow.URL, Timeout: 50 * time.Millisecond},
		Target{Name: "gone", URL: goneURL})
	h.suppress("a@example.org")
	res := d.Flush(context.Background())
	for _, r := range res {
		if r.Failed != 1 || r.Pending != 1 || r.DeadTotal != 0 {
			t.Errorf("%s: %+v, want one failure, pending", r.Target, r)
		}
	}
	if !strings.Contains(res[0].LastError, "no answer within 50ms") {
		t.Errorf("slow: last error %q", res[0].LastError)
	}
	if !strings.Contains(res[1].LastError, "connect") && !strings.Contains(res[1].LastError, "refused") {
		t.Errorf("gone: last error %q", res[1].LastError)
	}
}

// TestDeadLetters: a 4xx is refused for good: dead-lettered at once, and
// the next event goes on (the receiver is up); a receiver that fails
// MaxAttempts times dead-letters the event; retry re-queues both, and a
// fixed receiver takes them.
func TestDeadLetters(t *testing.T) {
	h := newHarness(t)
	broken := true
	rc := newReceiver(t, func(n int, r received) (int, http.Header) {
		switch {
		case r.event.Address == "bad@example.org" && broken:
			return 422, nil
		case r.event.Address == "flaky@example.org" && broken:
			return 502, nil
		}
		return 200, nil
	})
	d := h.dispatcher(Options{}, Target{Name: "t", URL: rc.URL, MaxAttempts: 3, MinBackoff: time.Second, MaxBackoff: time.Second})
	h.suppress("bad@example.org")
	h.suppress("good@example.org")
	ctx := context.Background()
	st := d.pass(ctx, d.targets[0])
	if st.dead != 1 || st.delivered != 1 {
		t.Fatalf("pass = %+v, want the 422 dead and the next delivered", st)
	}
	h.suppress("flaky@example.org")
	for i := 0; i < 3; i++ {
		st = d.pass(ctx, d.targets[0])
		h.clock.Set(st.next)
	}
	if st.dead != 1 {
		t.Fatalf("third failure: %+v, want dead", st)
	}
	if p, dead, _ := h.db.QueueCounts(ctx, "t"); p != 0 || dead != 2 {
		t.Fatalf("queue: %d pending, %d dead; want 0, 2", p, dead)
	}
	dead := h.deliveries("t")
	if dead[0].State != storage.DeliveryDead || dead[0].Attempts != 3 || dead[0].LastStatus != 502 ||
		dead[2].State != storage.DeliveryDead || dead[2].Attempts != 1 || dead[2].LastStatus != 422 {
		t.Errorf("dead letters: %+v", dead)
	}
	broken = false
	if n, err := h.db.RetryDeliveries(ctx, "t", nil); n != 2 || err != nil {
		t.Fatalf("RetryDeliveries = %d, %v", n, err)
	}
	if st := d.pass(ctx, d.targets[0]); st.delivered != 2 {
		t.Errorf("after retry: %+v, want both delivered", st)
	}
}

// TestDownForADay: a receiver down for a day (fake time) loses nothing:
// the target waits, longer and longer up to the cap, retrying the oldest
// event only (no hammering), and when the receiver is back every event
// arrives, none dead-lettered.
func TestDownForADay(t *testing.T) {
	h := newHarness(t)
	down := true
	rc := newReceiver(t, func(n int, r received) (int, http.Header) {
		if down {
			return 503, nil
		}
		return 200, nil
	})
	d := h.dispatcher(Options{Jitter: func() float64 { return 0.5 }}, Target{Name: "t", URL: rc.URL}) // the defaults: 30s doubling to 1h, 100 attempts
	ctx := context.Background()
	const events = 25
	end := h.clock.Now().Add(24 * time.Hour)
	passes := 0
	for i := 0; h.clock.Now().Before(end); i++ {
		if i < events {
			h.suppress(fmt.Sprintf("user%d@example.org", i)) // events keep coming while it is down
		}
		st := d.pass(ctx, d.targets[0])
		passes++
		if st.dead > 0 || st.delivered > 0 {
			t.Fatalf("pass %d while down: %+v", passes, st)
		}
		h.clock.Set(st.next)
	}
	outage := len(rc.got())
	if outage > 60 {
		t.Errorf("%d requests during a day of outage: the target hammers the receiver", outage)
	}
	down = false
	for {
		st := d.pass(ctx, d.targets[0])
		if st.next.IsZero() {
			break
		}
		h.clock.Set(st.next)
	}
	seen := map[string]bool{}
	for _, r := range rc.got()[outage:] {
		seen[r.event.Address] = true
	}
	if len(seen) != events {
		t.Errorf("after the outage %d distinct events arrived, want %d", len(seen), events)
	}
	if p, dead, _ := h.db.QueueCounts(ctx, "t"); p != 0 || dead != 0 {
		t.Errorf("after the outage: %d pending, %d dead; want none", p, dead)
	}
	t.Logf("a day of outage: %d requests in %d passes, then %d events delivered", outage, passes, events)
}

// crashStore is a store whose process dies right after the receiver
// answered: the mark never lands.
type crashStore struct{ Store }

func (crashStore) MarkDelivered(context.Context, int64, time.Time, int) error {
	return errors.New("killed before the mark")
}

// TestCrashBeforeTheMark: a delivery the receiver took but that was never
// marked (the process died) is delivered again by the next process, with
// the same id: at least once.
func TestCrashBeforeTheMark(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, nil)
	target := Target{Name: "t", URL: rc.URL}
	d1 := h.dispatcher(Options{}, target)
	d1.store = crashStore{h.db}
	h.suppress("a@example.org")
	d1.Flush(context.Background())
	h.db.Close()
	h.open() // the next process
	d2 := h.dispatcher(Options{}, target)
	if res := d2.Flush(context.Background()); res[0].Delivered != 1 || res[0].Pending != 0 {
		t.Fatalf("after the restart: %+v", res)
	}
	if ids := rc.ids(); len(ids) != 2 || ids[0] != ids[1] {
		t.Errorf("requests: %q, want the same event twice", ids)
	}
}

// TestPanicIsOneDelivery: a panic while sending one delivery dead-letters
// it, logged, and the next goes on.
func TestPanicIsOneDelivery(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, nil)
	var logs bytes.Buffer
	d := h.dispatcher(Options{Transport: panicky{http.DefaultTransport}, Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		Target{Name: "t", URL: rc.URL})
	h.suppress("boom@example.org")
	h.suppress("fine@example.org")
	res := d.Flush(context.Background())
	if res[0].Dead != 1 || res[0].Delivered != 1 {
		t.Errorf("Flush = %+v, want one dead, one delivered", res)
	}
	if !strings.Contains(logs.String(), "webhook delivery panicked") || !strings.Contains(logs.String(), "stack=") {
		t.Errorf("the panic is not logged with its stack:\n%s", logs.String())
	}
}

type panicky struct{ http.RoundTripper }

func (p panicky) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	if bytes.Contains(body, []byte("boom@")) {
		panic("transport exploded")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return p.RoundTripper.RoundTrip(r)
}

// TestRunLoop: Run delivers what Wake announces, waits on a timer (never
// a sleep) for a retry, and returns when ctx ends.
func TestRunLoop(t *testing.T) {
	h := newHarness(t)
	done := make(chan string, 4)
	rc := newReceiver(t, func(n int, r received) (int, http.Header) {
		if n == 1 {
			return 500, nil
		}
		done <- r.event.Address
		return 200, nil
	})
	d := h.dispatcher(Options{Idle: time.Minute}, Target{Name: "t", URL: rc.URL, MinBackoff: 20 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(stopped)
	}()
	// Two timers: the pruning loop's day and the target's idle minute
	// (nothing pending yet).
	var idle clocktest.Timer
	for range 2 {
		if ft := h.clock.Next(t, 10*time.Second); ft.D == time.Minute {
			idle = ft
		}
	}
	if idle.C == nil {
		t.Fatal("the target set no idle timer")
	}
	h.suppress("a@example.org")
	d.Wake()
	// The attempt fails (500): the target waits 10s (20s, half kept).
	if ft := h.clock.Next(t, 10*time.Second); ft.D != 10*time.Second {
		t.Fatalf("after the failure the target waits %s, want 10s", ft.D)
	} else {
		h.clock.Fire(ft)
	}
	select {
	case addr := <-done:
		if addr != "a@example.org" {
			t.Errorf("delivered %q", addr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the retry was not delivered")
	}
	h.clock.Next(t, 10*time.Second) // idle again
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestListmonk: the request listmonk's bounce webhook takes: POST
// {root}/webhooks/bounce, "Authorization: token USER:TOKEN", {email,
// campaign_uuid (from X-Listmonk-Campaign of the returned original),
// source, type, meta}; a complaint suppression is type complaint; lifted
// suppressions and sender-side alerts are not sent.
func TestListmonk(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, func(n int, r received) (int, http.Header) {
		if r.header.Get("Authorization") != "token bounced-api:tok3n" {
			return 403, nil
		}
		return 200, nil
	})
	d := h.dispatcher(Options{}, Target{Name: "lm", Kind: KindListmonk, URL: rc.URL + "/", Username: "bounced-api", Token: "tok3n"})
	hard := classify.Verdict{Kind: classify.KindBounce, Recipients: []classify.Recipient{{
		Address: "Gone@Example.com", Action: classify.ActionFailed, Status: "5.1.1", Reason: classify.ReasonUserUnknown, Hard: true,
		Diagnostic: "550 5.1.1 <gone@example.com>: no such user"}}}
	hard.Original.Headers = map[string]string{"X-Listmonk-Campaign": "9F86B50D-5711-41C8-AB03-BC91C43D711B", "X-Listmonk-Subscriber": "x"}
	complaint := classify.Verdict{Kind: classify.KindComplaint, FeedbackType: "abuse", Recipients: []classify.Recipient{{Address: "angry@example.org"}}}
	blocked := classify.Verdict{Kind: classify.KindBounce, Recipients: []classify.Recipient{{
		Address: "innocent@example.net", Action: classify.ActionFailed, Status: "5.7.1", Reason: classify.ReasonBlocked}}}
	src := func(uid uint32) storage.Source {
		return storage.Source{Account: "primary", Folder: "INBOX", UIDValidity: 1, UID: uid}
	}
	if _, err := h.db.Record(context.Background(), []storage.Record{
		{Source: src(1), Raw: []byte("mail 1"), Verdict: hard},
		{Source: src(2), Raw: []byte("mail 2"), Verdict: complaint},
		{Source: src(3), Raw: []byte("mail 3"), Verdict: blocked},
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.db.Unsuppress(context.Background(), "gone@example.com", "back"); err != nil {
		t.Fatal(err)
	}
	if res := d.Flush(context.Background()); res[0].Delivered != 2 || res[0].Pending != 0 || res[0].DeadTotal != 0 {
		t.Fatalf("Flush = %+v, want the two suppressions delivered", res)
	}
	reqs := rc.got()
	type bounce struct {
		Email        string         `json:"email"`
		CampaignUUID *string        `json:"campaign_uuid"`
		Source       string         `json:"source"`
		Type         string         `json:"type"`
		Meta         map[string]any `json:"meta"`
	}
	var got []bounce
	for _, r := range reqs {
		if r.path != "/webhooks/bounce" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("request to %s, %v", r.path, r.header)
		}
		var b bounce
		if err := json.Unmarshal(r.body, &b); err != nil {
			t.Fatalf("%s: %v", r.body, err)
		}
		got = append(got, b)
	}
	if len(got) != 2 {
		t.Fatalf("%d bounces sent to listmonk, want 2", len(got))
	}
	if b := got[0]; b.Email != "gone@example.com" || b.CampaignUUID == nil || *b.CampaignUUID != "9f86b50d-5711-41c8-ab03-bc91c43d711b" ||
		b.Source != "bounced" || b.Type != "hard" || b.Meta["reason"] != "userunknown" || b.Meta["bounced_event_id"] == "" || b.Meta["status"] != "5.1.1" {
		t.Errorf("hard bounce: %s", reqs[0].body)
	}
	if b := got[1]; b.Email != "angry@example.org" || b.CampaignUUID != nil || b.Type != "complaint" || b.Meta["reason"] != "complaint:abuse" {
		t.Errorf("complaint: %s", reqs[1].body)
	}
}

// TestNoSecretInLogs: neither a signing secret nor listmonk's token is
// ever logged or stored, whatever fails.
func TestNoSecretInLogs(t *testing.T) {
	h := newHarness(t)
	var logs bytes.Buffer
	rc := newReceiver(t, func(n int, r received) (int, http.Header) {
		if n%2 == 1 {
			return 500, nil
		}
		return 401, nil
	})
	d := h.dispatcher(Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		Target{Name: "g", URL: rc.URL, Secrets: [][]byte{secret}, MinBackoff: time.Second},
		Target{Name: "lm", Kind: KindListmonk, URL: "http://user:pa55word@" + strings.TrimPrefix(rc.URL, "http://"), Username: "u", Token: "tok3n-value"})
	h.suppress("a@example.org")
	for range 3 {
		d.Flush(context.Background())
		h.clock.Add(time.Hour)
	}
	var stored strings.Builder
	for _, target := range []string{"g", "lm"} {
		for _, del := range h.deliveries(target) {
			stored.WriteString(del.LastError + "\n")
		}
	}
	for _, s := range []string{string(secret), "tok3n-value", "pa55word"} {
		if strings.Contains(logs.String(), s) || strings.Contains(stored.String(), s) {
			t.Errorf("%q in the log or the stored errors:\n%s\n%s", s, logs.String(), stored.String())
		}
	}
	if !strings.Contains(logs.String(), "webhook delivery failed") {
		t.Errorf("no failure logged:\n%s", logs.String())
	}
}

func TestParseEvents(t *testing.T) {
	for _, tc := range []struct {
		kind  Kind
		names []string
		want  string
		err   string
	}{
		{KindGeneric, nil, "", ""},
		{KindGeneric, []string{"suppression"}, "suppression.added suppression.removed", ""},
		{KindGeneric, []string{"complaint", "sender_alert", "mailbox_health", "complaint"}, "complaint sender_alert mailbox_health", ""},
		{KindGeneric, []string{"bounce", "suppresion"}, "", `unknown event "bounce"`},
		{KindListmonk, []string{"suppression"}, "suppression.added", ""},
		{KindListmonk, []string{"sender_alert"}, "", "a listmonk target takes suppression.added only"},
	} {
		got, err := ParseEvents(tc.kind, tc.names)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseEvents(%s, %q) = %v, want %q", tc.kind, tc.names, err, tc.err)
			}
			continue
		}
		if s := typeList(got); err != nil || strings.ReplaceAll(s, ", ", " ") != tc.want {
			t.Errorf("ParseEvents(%s, %q) = %q, %v; want %q", tc.kind, tc.names, s, err, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	tg := Target{MinBackoff: 30 * time.Second, MaxBackoff: time.Hour}
	zero, one := func() float64 { return 0 }, func() float64 { return 0.999999 }
	for _, tc := range []struct {
		attempt  int
		lo, hiUp time.Duration
	}{
		{1, 15 * time.Second, 30 * time.Second},
		{2, 30 * time.Second, time.Minute},
		{5, 4 * time.Minute, 8 * time.Minute},
		{8, 30 * time.Minute, time.Hour},
		{60, 30 * time.Minute, time.Hour},
	} {
		if lo, hi := tg.backoff(tc.attempt, zero), tg.backoff(tc.attempt, one); lo != tc.lo || hi > tc.hiUp || hi < tc.hiUp-time.Second {
			t.Errorf("backoff(%d) in [%s, %s], want [%s, %s]", tc.attempt, lo, hi, tc.lo, tc.hiUp)
		}
	}
}
