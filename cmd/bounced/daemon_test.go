package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/poller"
)

// testClock tells the test every timer a poller sets; none fires, so a
// poller runs only at start.
type testClock struct{ timers chan time.Duration }

func (c *testClock) Now() time.Time { return time.Now() }
func (c *testClock) Timer(d time.Duration) (<-chan time.Time, func() bool) {
	c.timers <- d
	return make(chan time.Time), func() bool { return true }
}

// runHooks watch the runs of the daemon's pollers through their lock:
// "NAME start" once the mailbox lock is held, "NAME end" when the run
// releases it, "NAME busy" if the lock was held already (runs overlapped).
// A run of a gated mailbox waits for its gate after "start".
type runHooks struct {
	events chan string
	mu     sync.Mutex
	clocks map[string]*testClock
	gates  map[string]chan struct{}
}

func newRunHooks() *runHooks {
	return &runHooks{events: make(chan string, 64), clocks: map[string]*testClock{}, gates: map[string]chan struct{}{}}
}

func (h *runHooks) clock(name string) *testClock {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clocks[name]
	if c == nil {
		c = &testClock{timers: make(chan time.Duration, 8)}
		h.clocks[name] = c
	}
	return c
}

func (h *runHooks) mod(o *poller.Options) {
	name, lock := o.Name, o.Lock
	o.Clock = h.clock(name)
	o.Lock = func() (func(), error) {
		unlock, err := lock()
		if err != nil {
			h.events <- name + " busy"
			return nil, err
		}
		h.events <- name + " start"
		h.mu.Lock()
		gate := h.gates[name]
		h.mu.Unlock()
		if gate != nil {
			<-gate
		}
		return func() { unlock(); h.events <- name + " end" }, nil
	}
}

// want reads the next events, in any order.
func (h *runHooks) want(t *testing.T, events ...string) {
	t.Helper()
	left := map[string]int{}
	for _, e := range events {
		left[e]++
	}
	for n := 0; n < len(events); n++ {
		select {
		case e := <-h.events:
			if left[e] == 0 {
				t.Fatalf("event %q, want one of %v", e, left)
			}
			left[e]--
		case <-time.After(30 * time.Second):
			t.Fatalf("no event within 30s, want %v", left)
		}
	}
}

func (h *runHooks) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-h.events:
		t.Errorf("unexpected event %q", e)
	default:
	}
}

// timer waits for the next timer of mailbox name.
func (h *runHooks) timer(t *testing.T, name string) time.Duration {
	t.Helper()
	select {
	case d := <-h.clock(name).timers:
		return d
	case <-time.After(30 * time.Second):
		t.Fatalf("%s set no timer within 30s", name)
		return 0
	}
}

func (h *runHooks) noTimer(t *testing.T, name string) {
	t.Helper()
	select {
	case d := <-h.clock(name).timers:
		t.Errorf("%s set a timer of %v", name, d)
	default:
	}
}

// syncBuffer is a log sink that the test may read while pollers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemonConfig writes a config of the demo server's mailboxes: each entry
// is "name folder [extra line...]".
func daemonConfig(t *testing.T, path, dbPath string, srv *demoServer, top string, boxes ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "db = %q\n%s\n", dbPath, top)
	for _, box := range boxes {
		f := strings.SplitN(box, " ", 3)
		fmt.Fprintf(&b, `[[mailbox]]
name = %q
folder = %q
host = "127.0.0.1"
port = %d
tls = "none"
username = %q
password_env = "BOUNCED_TEST_PASSWORD"
schedule = "@every 1h"
`, f[0], f[1], srv.Port, srv.User)
		if len(f) == 3 {
			b.WriteString(strings.ReplaceAll(f[2], "; ", "\n") + "\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDaemonReload walks a daemon through reloads: a mailbox changed while
// its run is in progress is replaced only after that run finished (and its
// replacement waits for its schedule), a removed one stops, an added one
// runs at once, an unchanged one keeps its poller, a bad config changes
// nothing and says why, a new policy replaces the database and every
// poller.
func TestDaemonReload(t *testing.T) {
	srv, err := startDemoServer(sampleMails())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, f := range []string{"Two", "Three"} {
		if err := srv.user.Create(f, nil); err != nil {
			t.Fatal(err)
		}
		if err := srv.Append(f, sampleMails()[0]); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("BOUNCED_TEST_PASSWORD", srv.Pass)
	dir := t.TempDir()
	cfgPath, dbPath := filepath.Join(dir, "bounced.toml"), filepath.Join(dir, "bounced.db")
	h := newRunHooks()
	gate := make(chan struct{})
	h.gates["one"] = gate
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// Start: both are due (never run); one's run hangs at its gate.
	daemonConfig(t, cfgPath, dbPath, srv, "", "one INBOX", "two Two")
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	d := newDaemon(cfgPath, log, h.mod)
	if err := d.start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	h.want(t, "one start", "two start", "two end")
	if got := h.timer(t, "two"); got < 59*time.Minute {
		t.Errorf("two waits %v after its run, want its schedule's 1h", got)
	}
	oldOne, oldTwo := d.slots["one"], d.slots["two"]

	// one changed (batch), two removed, three added.
	daemonConfig(t, cfgPath, dbPath, srv, "", "one INBOX batch = 5", "three Three")
	if err := d.reload(ctx); err != nil {
		t.Fatalf("reload: %v", err)
	}
	select {
	case <-oldTwo.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the removed mailbox two still runs 30s after the reload")
	}
	h.want(t, "three start", "three end")
	h.timer(t, "three")
	if d.slots["one"] == oldOne {
		t.Fatal("the changed mailbox one kept its poller")
	}
	h.noTimer(t, "one") // the replacement waits for the run in progress
	h.none(t)
	close(gate)
	h.want(t, "one end")
	if got := h.timer(t, "one"); got < 59*time.Minute {
		t.Errorf("the replacement of one waits %v, want its schedule's 1h (no run at start after the last run)", got)
	}
	<-oldOne.done
	h.none(t)
	runs, err := d.store.db.LastRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Account == "one" && (r.Ended.IsZero() || r.Stats.Err != "" || r.Stats.Fetched != 3 || r.Stats.Disposed != 3) {
			t.Errorf("the run of one in progress at the reload: %+v, want it finished with 3 mails fetched and disposed of", r)
		}
	}

	// A config that does not validate, and one whose pollers cannot be
	// built (a CA file that holds no certificate): nothing changes.
	slots := map[string]*slot{"one": d.slots["one"], "three": d.slots["three"]}
	store := d.store
	daemonConfig(t, cfgPath, dbPath, srv, "", "one INBOX verify = \"often\"", "three Three batch = 20000")
	err = d.reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "often") || !strings.Contains(err.Error(), "batch: 20000") {
		t.Errorf("reload of a config with a bad schedule: %v", err)
	}
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, []byte("not a certificate"), 0o600)
	daemonConfig(t, cfgPath, dbPath, srv, "", "one INBOX", fmt.Sprintf("three Three ca_file = %q", ca))
	if err := d.reload(ctx); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("reload of a config whose poller cannot be built: %v", err)
	}
	if len(d.slots) != 2 || d.slots["one"] != slots["one"] || d.slots["three"] != slots["three"] || d.store != store {
		t.Errorf("a failed reload changed the running pollers: %v", d.slots)
	}
	for _, want := range []string{`msg="reload failed, keeping the running config"`, "often", "batch: 20000", "no PEM certificate"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	h.none(t)

	// A new policy: the database is opened again and every poller
	// replaced, none of them runs at once.
	daemonConfig(t, cfgPath, dbPath, srv, "[policy]\nsoft_threshold = 5", "one INBOX", "three Three")
	if err := d.reload(ctx); err != nil {
		t.Fatalf("reload with a new policy: %v", err)
	}
	if d.store == store || d.slots["one"] == slots["one"] || d.slots["three"] == slots["three"] {
		t.Error("a new policy kept the database or a poller")
	}
	h.timer(t, "one")
	h.timer(t, "three")
	h.none(t)
	if !strings.Contains(logs.String(), `changed="[one three]"`) {
		t.Errorf("the reload log does not name the changed mailboxes:\n%s", logs.String())
	}

	cancel()
	waited := make(chan struct{})
	go func() { d.wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not stop within 30s of cancellation")
	}
}
