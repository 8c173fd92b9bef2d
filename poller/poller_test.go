package poller

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

func wantSubjects(t *testing.T, a *admin, folder string, want ...string) {
	t.Helper()
	got := a.subjects(folder)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("folder %q holds %q, want %q", folder, got, want)
	}
}

func TestPollMovesAfterCommit(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("basic")
		a.append(folder,
			mail("b1", classify.KindBounce), mail("b2", classify.KindBounce), mail("c1", classify.KindComplaint),
			mail("n1", classify.KindNotBounce), mail("n2", classify.KindNotBounce), mail("a1", classify.KindAutoreply))
		st := newTestStore(t)
		p := b.poller(t, "primary", folder, st, nil)

		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Fetched != 6 || sum.Recorded != 6 || sum.Disposed != 6 || sum.Duplicates != 0 || sum.Suppressed != 2 {
			t.Errorf("first run: %+v, want 6 fetched, recorded and disposed, 2 suppressed", sum)
		}
		if sum.ByKind[classify.KindBounce] != 2 || sum.ByKind[classify.KindNotBounce] != 2 {
			t.Errorf("first run by kind: %v", sum.ByKind)
		}
		wantSubjects(t, a, folder+"/Processed", "b1", "b2")
		wantSubjects(t, a, folder+"/Complaints", "c1")
		left := a.list(folder)
		for _, m := range left {
			switch m.Subject {
			case "n1", "n2":
				if m.has(imap.FlagSeen) || m.has(Keyword) {
					t.Errorf("left mail %s has flags %v: BODY.PEEK must not set \\Seen", m.Subject, m.Flags)
				}
			case "a1":
				if !m.has(imap.FlagSeen) || !m.has(Keyword) {
					t.Errorf("flagged mail %s has flags %v, want \\Seen and %s", m.Subject, m.Flags, Keyword)
				}
			default:
				t.Errorf("mail %s was not moved", m.Subject)
			}
		}
		if _, total, undisposed := st.counts(); total != 6 || undisposed != 0 {
			t.Errorf("store: %d outcomes, %d undisposed; want 6, 0", total, undisposed)
		}

		// A rerun finds nothing new; a new mail is the only one fetched.
		sum, err = p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Fetched != 0 || sum.Recorded != 0 || sum.Disposed != 0 {
			t.Errorf("rerun: %+v, want nothing", sum)
		}
		a.append(folder, mail("b3", classify.KindBounce))
		sum, err = p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Fetched != 1 || sum.Recorded != 1 {
			t.Errorf("run after one new mail: %+v, want 1 fetched and recorded", sum)
		}
		wantSubjects(t, a, folder+"/Processed", "b1", "b2", "b3")
	})
}

func TestPollWithoutMove(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		for _, tc := range []struct {
			name            string
			noMove, noUIDPl bool
			wantMoved       bool
		}{
			{"copy-expunge", true, false, true},
			{"flag-fallback", true, true, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := b.admin(t)
				folder := a.fresh("nomove")
				// A mail another client marked \Deleted must survive: we
				// never expunge what we did not process.
				a.append(folder, mail("b1", classify.KindBounce), mail("b2", classify.KindBounce), mail("n1", classify.KindNotBounce))
				p := b.poller(t, "primary", folder, newTestStore(t), nil)
				p.ignoreMove, p.ignoreUIDPlus = tc.noMove, tc.noUIDPl
				if _, err := p.PollOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
				if tc.wantMoved {
					wantSubjects(t, a, folder+"/Processed", "b1", "b2")
					wantSubjects(t, a, folder, "n1")
					return
				}
				wantSubjects(t, a, folder, "b1", "b2", "n1")
				for _, m := range a.list(folder) {
					if strings.HasPrefix(m.Subject, "b") && !m.has(Keyword) {
						t.Errorf("%s: flags %v, want %s", m.Subject, m.Flags, Keyword)
					}
					if m.has(imap.FlagDeleted) {
						t.Errorf("%s: marked \\Deleted without UIDPLUS", m.Subject)
					}
				}
			})
		}
	})
}

func TestPollKeepsOthersDeletedMail(t *testing.T) {
	b := startMem(t, memConfig{caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}})
	a := b.admin(t)
	folder := a.fresh("foreign")
	a.append(folder, mail("b1", classify.KindBounce))
	// Another client marks its own mail \Deleted before we come.
	a.append(folder, mail("other", classify.KindNotBounce))
	if _, err := a.c.Select(a.ns.wire(folder), nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := a.c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	a.unselect()
	p := b.poller(t, "primary", folder, newTestStore(t), nil)
	if _, err := p.PollOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantSubjects(t, a, folder, "other")
	wantSubjects(t, a, folder+"/Processed", "b1")
}

func TestPollUIDValidityChange(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("uidvalidity")
		mails := [][]byte{mail("n1", classify.KindNotBounce), mail("n2", classify.KindNotBounce), mail("n3", classify.KindNotBounce)}
		a.append(folder, mails...)
		st := newTestStore(t)
		p := b.poller(t, "primary", folder, st, nil)
		first, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if first.Recorded != 3 {
			t.Fatalf("first run: %+v", first)
		}
		a.recreate(folder)
		a.append(folder, append(mails, mail("n4", classify.KindNotBounce))...)
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Reset || sum.UIDValidity == first.UIDValidity {
			t.Errorf("second run: Reset %v, uidvalidity %d -> %d; want a reset", sum.Reset, first.UIDValidity, sum.UIDValidity)
		}
		if sum.Fetched != 4 || sum.Duplicates != 3 || sum.Recorded != 1 {
			t.Errorf("rescan: %+v, want 4 fetched, 3 duplicates, 1 recorded", sum)
		}
		if _, total, _ := st.counts(); total != 4 {
			t.Errorf("store holds %d outcomes, want 4", total)
		}
	})
}

// crashStore commits the batch, then fails as if the process died before
// the move.
type crashStore struct {
	Store
	crashed atomic.Bool
}

func (c *crashStore) Record(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	res, err := c.Store.Record(ctx, recs)
	if err != nil {
		return res, err
	}
	if c.crashed.CompareAndSwap(false, true) {
		return nil, errors.New("killed after commit")
	}
	return res, nil
}

func TestPollCrashBetweenCommitAndMove(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("crash")
		a.append(folder, mail("b1", classify.KindBounce), mail("b2", classify.KindBounce), mail("c1", classify.KindComplaint))
		st := newTestStore(t)
		p := b.poller(t, "primary", folder, &crashStore{Store: st}, nil)
		if _, err := p.PollOnce(t.Context()); err == nil {
			t.Fatal("the crashing run succeeded")
		}
		wantSubjects(t, a, folder, "b1", "b2", "c1")
		if _, total, undisposed := st.counts(); total != 3 || undisposed != 3 {
			t.Fatalf("after the crash: %d outcomes, %d undisposed; want 3, 3", total, undisposed)
		}

		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Pending != 3 || sum.Disposed != 3 || sum.Fetched != 0 || sum.Recorded != 0 {
			t.Errorf("recovery run: %+v, want 3 pending disposed and nothing fetched", sum)
		}
		wantSubjects(t, a, folder)
		wantSubjects(t, a, folder+"/Processed", "b1", "b2")
		wantSubjects(t, a, folder+"/Complaints", "c1")
		if byKind, total, undisposed := st.counts(); total != 3 || undisposed != 0 || byKind[classify.KindBounce] != 2 {
			t.Errorf("store: %v, %d outcomes, %d undisposed; want 3 once each, all disposed", byKind, total, undisposed)
		}
	})
}

func TestPollWrongPassword(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		p := b.poller(t, "primary", "INBOX", newTestStore(t), func(o *Options) {
			o.Secret = func() (string, error) { return "wrong", nil }
		})
		_, err := p.PollOnce(t.Context())
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("PollOnce: %v, want ErrAuth", err)
		}
		for _, want := range []string{"login rejected", b.user, `mailbox "primary"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if b.logins != nil && b.logins.Load() != 1 {
			t.Errorf("%d login attempts in one run, want 1", b.logins.Load())
		}
	})
}

func TestRunBacksOffAfterLoginFailure(t *testing.T) {
	b := startMem(t, memConfig{})
	clock := newFakeClock()
	p := b.poller(t, "primary", "INBOX", newTestStore(t), func(o *Options) {
		o.Secret = func() (string, error) { return "wrong", nil }
		o.Schedule = "@every 1m"
		o.BackoffMin = 5 * time.Minute
		o.BackoffMax = 15 * time.Minute
		o.Clock = clock
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	var waits []time.Duration
	for range 5 {
		waits = append(waits, clock.Advance(t))
	}
	// The sixth timer is set once the fifth run failed.
	ft := <-clock.Timers
	waits = append(waits, ft.D)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []time.Duration{time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	if !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	if n := b.logins.Load(); n != 5 {
		t.Errorf("%d login attempts in 5 runs, want 5", n)
	}
}

func TestSuperviseOneMailboxFails(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("two")
		a.append(folder, mail("b1", classify.KindBounce))
		st := newTestStore(t)
		st.finished = make(chan int64, 4)
		goodClock, badClock := newFakeClock(), newFakeClock()
		good := b.poller(t, "good", folder, st, func(o *Options) { o.Clock = goodClock; o.Schedule = "@every 1m" })
		bad := b.poller(t, "bad", "INBOX", st, func(o *Options) {
			o.Clock = badClock
			o.Schedule = "@every 1m"
			o.Username = b.user2
			o.Secret = func() (string, error) { return "not-" + b.pass2, nil }
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- Supervise(ctx, []*Poller{bad, good}) }()
		badClock.Advance(t)
		<-st.finished
		goodClock.Advance(t)
		<-st.finished
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		wantSubjects(t, a, folder+"/Processed", "b1")
		errs := st.runErrs()
		if len(errs) != 2 || errs["good"] != "" || !strings.Contains(errs["bad"], "login rejected") {
			t.Errorf("run errors %q, want a clean run of good and a login failure of bad", errs)
		}
	})
}

func TestPollTLSModes(t *testing.T) {
	run := func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("tls")
		a.append(folder, mail("b1", classify.KindBounce))
		p := b.poller(t, "primary", folder, newTestStore(t), nil)
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Recorded != 1 || sum.Disposed != 1 {
			t.Errorf("summary %+v, want 1 recorded and disposed", sum)
		}
	}
	for _, mode := range []TLSMode{TLSImplicit, TLSStartTLS} {
		t.Run("mem/"+string(mode), func(t *testing.T) { run(t, startMem(t, memConfig{tls: mode})) })
		t.Run(realName()+"/"+string(mode), func(t *testing.T) { run(t, realServer(t, mode)) })
	}
}

func TestPollRejectsUntrustedCertificate(t *testing.T) {
	b := startMem(t, memConfig{tls: TLSImplicit})
	p := b.poller(t, "primary", "INBOX", newTestStore(t), func(o *Options) { o.TLSConfig = nil })
	_, err := p.PollOnce(t.Context())
	if !errors.Is(err, ErrConnect) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("PollOnce with an unknown CA: %v, want a certificate error", err)
	}
}

func TestPollXOAuth2(t *testing.T) {
	b := startMem(t, memConfig{xoauth2: true})
	for _, mech := range []AuthMode{AuthXOAuth2, AuthOAuthBearer} {
		a := b.admin(t)
		folder := a.fresh("oauth")
		a.append(folder, mail("b1", classify.KindBounce))
		p := b.poller(t, "primary", folder, newTestStore(t), func(o *Options) {
			o.Auth = mech
			o.Secret = func() (string, error) { return "token-ok", nil }
		})
		if sum, err := p.PollOnce(t.Context()); err != nil || sum.Recorded != 1 {
			t.Fatalf("%s: PollOnce with a good token: %+v, %v", mech, sum, err)
		}
		rejected := 0
		p = b.poller(t, "primary", folder, newTestStore(t), func(o *Options) {
			o.Auth = mech
			o.Secret = func() (string, error) { return "token-expired", nil }
			o.Rejected = func() { rejected++ }
		})
		if _, err := p.PollOnce(t.Context()); !errors.Is(err, ErrAuth) || rejected != 1 {
			t.Fatalf("%s: PollOnce with a bad token: %v, %d rejections; want ErrAuth and one", mech, err, rejected)
		}
		// A token source that fails is a failed login (backoff), and says why.
		p = b.poller(t, "primary", folder, newTestStore(t), func(o *Options) {
			o.Auth = mech
			o.Secret = func() (string, error) { return "", fmt.Errorf("%w: token endpoint down", ErrAuth) }
		})
		if _, err := p.PollOnce(t.Context()); !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "token endpoint down") {
			t.Fatalf("%s: PollOnce with a failing token source: %v", mech, err)
		}
	}
	// A server that does not offer the mechanism: the error names what it offers.
	plain := startMem(t, memConfig{})
	p := plain.poller(t, "primary", "INBOX", newTestStore(t), func(o *Options) {
		o.Auth = AuthOAuthBearer
		o.Secret = func() (string, error) { t.Error("the token was asked for"); return "", nil }
	})
	if _, err := p.PollOnce(t.Context()); !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "does not offer AUTH=OAUTHBEARER (it offers") {
		t.Fatalf("PollOnce against a server without OAUTHBEARER: %v", err)
	}
}

func TestPollSkipsLargeMail(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("large")
		big := mail("big", classify.KindBounce)
		big = append(big, []byte(strings.Repeat("x", 4000)+"\r\n")...)
		a.append(folder, mail("b1", classify.KindBounce), big, mail("p1", "panic"))
		st := newTestStore(t)
		p := b.poller(t, "primary", folder, st, func(o *Options) { o.MaxMessageSize = 2000 })
		var seen []string
		p.classify = func(raw []byte) (classify.Verdict, error) {
			v, err := fakeClassify(raw)
			seen = append(seen, v.Subject)
			return v, err
		}
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Skipped != 2 || sum.Recorded != 1 || sum.Disposed != 3 {
			t.Errorf("summary %+v, want 2 skipped (too large, panic), 1 recorded, 3 disposed", sum)
		}
		if !slices.Equal(seen, []string{"b1"}) {
			t.Errorf("classifier saw %q, want only b1", seen)
		}
		wantSubjects(t, a, folder+"/Unrecognized", "big", "p1")
		for _, id := range st.ids {
			m := st.message(id)
			if m.Source.UID == 2 && (m.Verdict.Kind != classify.KindUnknown || !strings.HasPrefix(m.Skipped, "too large")) {
				t.Errorf("large mail recorded as %s/%q, want unknown, too large", m.Verdict.Kind, m.Skipped)
			}
		}
	})
}

func TestPollStopsAfterBatchInHand(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("stop")
		for _, s := range []string{"b1", "b2", "b3", "b4", "b5"} {
			a.append(folder, mail(s, classify.KindBounce))
		}
		st := newTestStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		p := b.poller(t, "primary", folder, st, func(o *Options) { o.Batch = 2 })
		p.classify = func(raw []byte) (classify.Verdict, error) {
			cancel() // SIGTERM arrives while the first batch is in hand
			return fakeClassify(raw)
		}
		var before int64
		if b.logins != nil {
			before = b.logins.Load()
		}
		sum, err := p.PollOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// No second connection is opened to dispose after the signal.
		if b.logins != nil && b.logins.Load()-before != 1 {
			t.Errorf("%d logins, want 1", b.logins.Load()-before)
		}
		if !sum.Stopped || sum.Fetched != 2 || sum.Recorded != 2 || sum.Disposed != 2 {
			t.Errorf("summary %+v, want stopped after 2 fetched, recorded and disposed", sum)
		}
		wantSubjects(t, a, folder+"/Processed", "b1", "b2")
		wantSubjects(t, a, folder, "b3", "b4", "b5")
	})
}

func TestDryRunChangesNothing(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("dry")
		a.append(folder, mail("b1", classify.KindBounce), mail("n1", classify.KindNotBounce))
		before := a.list(folder)
		st := newTestStore(t)
		p := b.poller(t, "primary", folder, st, nil)
		var plans []Planned
		sum, err := p.DryRun(t.Context(), func(pl Planned) { plans = append(plans, pl) })
		if err != nil {
			t.Fatal(err)
		}
		if len(plans) != 2 || plans[0].Action.String() != "move:"+folder+"/Processed" || len(plans[0].Suppress) != 1 ||
			plans[1].Action.Op != OpLeave {
			t.Errorf("plans %+v", plans)
		}
		if sum.Fetched != 2 || sum.Suppressed != 1 {
			t.Errorf("summary %+v", sum)
		}
		if after := a.list(folder); !slices.EqualFunc(before, after, func(x, y msgState) bool {
			return x.UID == y.UID && slices.Equal(x.Flags, y.Flags)
		}) {
			t.Errorf("dry run changed the folder: %v -> %v", before, after)
		}
		if a.list(folder+"/Processed") != nil {
			t.Error("dry run created a folder")
		}
		if _, total, _ := st.counts(); total != 0 || len(st.runErrs()) != 0 {
			t.Errorf("dry run wrote %d outcomes and %d runs", total, len(st.runErrs()))
		}
		if c, err := st.Cursor(t.Context(), "primary", folder); err != nil || c != (storage.Cursor{}) {
			t.Errorf("dry run cursor %+v, %v; want none", c, err)
		}
	})
}

func TestPollTimesOutOnSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // says nothing
		}
	}()
	b := &backend{host: "127.0.0.1", port: ln.Addr().(*net.TCPAddr).Port, tls: TLSNone, user: "u", pass: "p"}
	p := b.poller(t, "silent", "INBOX", newTestStore(t), func(o *Options) { o.Timeout = 200 * time.Millisecond })
	_, err = p.PollOnce(t.Context())
	if !errors.Is(err, ErrConnect) || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Errorf("PollOnce against a silent server: %v, want a time-out", err)
	}
}

// fakeServer listens on 127.0.0.1 and runs serve on every connection; at
// the end of the test it closes the listener and every connection, and
// waits for the goroutines.
func fakeServer(t *testing.T, serve func(net.Conn)) (port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	closed := false
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				c.Close()
			}
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { serve(c) })
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// TestConnectTimesOut: a server that accepts and never greets (never
// answers the TLS handshake, with implicit TLS), or greets, agrees to
// STARTTLS and then never does the TLS handshake, fails within
// Options.Timeout in every TLS mode, not after go-imap's own time-outs (30 s
// a response, or none in a STARTTLS handshake). The bound checked is
// generous: it tells the time-out path from go-imap's, not speed.
func TestConnectTimesOut(t *testing.T) {
	silent := func(c net.Conn) { io.Copy(io.Discard, c) }
	for _, tc := range []struct {
		name  string
		mode  TLSMode
		serve func(c net.Conn)
	}{
		{"none/no-greeting", TLSNone, silent},
		{"implicit/no-handshake", TLSImplicit, silent},
		{"starttls/no-greeting", TLSStartTLS, silent},
		{"starttls/no-handshake", TLSStartTLS, func(c net.Conn) {
			io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if tag, cmd, _ := strings.Cut(strings.TrimSpace(line), " "); strings.EqualFold(cmd, "STARTTLS") {
					io.WriteString(c, tag+" OK begin TLS\r\n")
					io.Copy(io.Discard, r) // and never a ServerHello
					return
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := fakeServer(t, tc.serve)
			b := &backend{host: "127.0.0.1", port: port, tls: tc.mode, user: "u", pass: "p"}
			p := b.poller(t, "silent", "INBOX", newTestStore(t), func(o *Options) { o.Timeout = 200 * time.Millisecond })
			start := time.Now()
			_, err := p.PollOnce(t.Context())
			if !errors.Is(err, ErrConnect) || !strings.Contains(err.Error(), "no answer within 200ms") {
				t.Errorf("PollOnce against a silent %s server: %v, want a time-out", tc.mode, err)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("PollOnce took %v to fail with a 200ms time-out: not the time-out's doing", d)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	_, err := New(Options{Name: "x", Host: "imap.example.com", TLS: TLSNone, Schedule: "61 * * * *"})
	for _, want := range []string{"loopback", "secret is nil", `bad cron spec "61 * * * *"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New: %v, want it to say %q", err, want)
		}
	}
}

func TestParseAction(t *testing.T) {
	for _, s := range []string{"move:Bounces/Processed", "flag", "delete", "leave"} {
		a, err := ParseAction(s)
		if err != nil || a.String() != s {
			t.Errorf("ParseAction(%q) = %v, %v", s, a, err)
		}
	}
	for _, s := range []string{"move:", "archive", ""} {
		if _, err := ParseAction(s); err == nil {
			t.Errorf("ParseAction(%q) succeeded", s)
		}
	}
}

// markFailStore fails the first MarkDisposed, as if the process died after
// the move but before the store learnt of it.
type markFailStore struct {
	Store
	failed atomic.Bool
}

func (m *markFailStore) MarkDisposed(ctx context.Context, ids []int64, action string, at time.Time) error {
	if m.failed.CompareAndSwap(false, true) {
		return errors.New("killed after the move")
	}
	return m.Store.MarkDisposed(ctx, ids, action, at)
}

func TestPollCrashBetweenMoveAndMark(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("crashmark")
		a.append(folder, mail("b1", classify.KindBounce), mail("b2", classify.KindBounce))
		st := newTestStore(t)
		p := b.poller(t, "primary", folder, &markFailStore{Store: st}, nil)
		if _, err := p.PollOnce(t.Context()); err == nil {
			t.Fatal("the crashing run succeeded")
		}
		wantSubjects(t, a, folder+"/Processed", "b1", "b2")
		// The next run finds the UIDs gone from the folder and marks them
		// with the move recorded before it was sent, not as gone.
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Pending != 2 || sum.Fetched != 0 {
			t.Errorf("recovery run: %+v, want 2 pending disposed, nothing fetched", sum)
		}
		wantSubjects(t, a, folder+"/Processed", "b1", "b2")
		if _, total, undisposed := st.counts(); total != 2 || undisposed != 0 {
			t.Errorf("store: %d outcomes, %d undisposed; want 2, 0", total, undisposed)
		}
		for _, id := range st.ids {
			if m := st.message(id); m.DisposedAction != "move:"+folder+"/Processed" {
				t.Errorf("%s disposed as %q, want move:%s/Processed", m.Verdict.Subject, m.DisposedAction, folder)
			}
		}
	})
}

func TestPollDeleteAction(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		for _, tc := range []struct {
			name      string
			noUIDPlus bool
		}{{"uidplus", false}, {"flag-fallback", true}} {
			t.Run(tc.name, func(t *testing.T) {
				a := b.admin(t)
				folder := a.fresh("delete")
				a.append(folder, mail("b1", classify.KindBounce), mail("n1", classify.KindNotBounce))
				st := newTestStore(t)
				p := b.poller(t, "primary", folder, st, func(o *Options) {
					o.Actions = map[classify.Kind]Action{classify.KindBounce: {Op: OpDelete}}
				})
				p.ignoreUIDPlus = tc.noUIDPlus
				if _, err := p.PollOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
				if !tc.noUIDPlus {
					wantSubjects(t, a, folder, "n1")
				} else {
					wantSubjects(t, a, folder, "b1", "n1")
				}
				want := map[bool]string{false: "delete", true: "flag instead of delete"}[tc.noUIDPlus]
				for _, id := range st.ids {
					if m := st.message(id); m.Verdict.Kind == classify.KindBounce && m.DisposedAction != want {
						t.Errorf("bounce disposed as %q, want %q", m.DisposedAction, want)
					}
				}
			})
		}
	})
}

// panicStore panics in Record, outside any per-message guard.
type panicStore struct{ Store }

func (panicStore) Record(context.Context, []storage.Record) ([]storage.Result, error) {
	panic("store exploded")
}

func TestPollRecoversFromPanic(t *testing.T) {
	b := startMem(t, memConfig{})
	a := b.admin(t)
	folder := a.fresh("panic")
	a.append(folder, mail("b1", classify.KindBounce))
	st := newTestStore(t)
	p := b.poller(t, "primary", folder, panicStore{st}, nil)
	_, err := p.PollOnce(t.Context())
	if err == nil || !strings.Contains(err.Error(), "panic in run: store exploded") {
		t.Fatalf("PollOnce: %v, want the panic as an error", err)
	}
	if errs := st.runErrs(); !strings.Contains(errs["primary"], "store exploded") {
		t.Errorf("run record: %q, want the panic", errs)
	}
	wantSubjects(t, a, folder, "b1") // nothing disposed before a commit
	// The next run with a working store processes the mail.
	p = b.poller(t, "primary", folder, st, nil)
	if sum, err := p.PollOnce(t.Context()); err != nil || sum.Recorded != 1 {
		t.Errorf("next run: %+v, %v", sum, err)
	}
}

func TestCutBatches(t *testing.T) {
	p := &Poller{o: Options{Batch: 3, BatchBytes: 100, MaxMessageSize: 80}}
	infos := []msgInfo{{1, 10}, {2, 10}, {3, 10}, {4, 10}, {5, 60}, {6, 50}, {7, 500}, {8, 70}}
	var got [][]uint32
	for len(infos) > 0 {
		var b []msgInfo
		b, infos = p.cut(infos)
		var uids []uint32
		for _, mi := range b {
			uids = append(uids, mi.UID)
		}
		got = append(got, uids)
	}
	// 3 per batch; 60+50 > 100 bytes; a skipped (too large) mail weighs nothing.
	want := [][]uint32{{1, 2, 3}, {4, 5}, {6, 7}, {8}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

// TestRunAtStart: with RunAtStart the first run does not wait for the
// schedule (a daemon started for the first time, or after a long stop,
// shows at once that it works); then the schedule rules.
func TestRunAtStart(t *testing.T) {
	b := startMem(t, memConfig{})
	a := b.admin(t)
	folder := a.fresh("atstart")
	a.append(folder, mail("s1", classify.KindBounce))
	st := newTestStore(t)
	st.finished = make(chan int64, 2)
	clock := newFakeClock()
	p := b.poller(t, "primary", folder, st, func(o *Options) {
		o.Schedule = "@every 1m"
		o.RunAtStart = true
		o.Clock = clock
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	select {
	case <-st.finished:
	case ft := <-clock.Timers:
		cancel()
		<-done
		t.Fatalf("Run waited %v for the schedule before its first run", ft.D)
	}
	ft := <-clock.Timers
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ft.D != time.Minute {
		t.Errorf("wait after the first run = %v, want the schedule's 1m", ft.D)
	}
	wantSubjects(t, a, folder+"/Processed", "s1")
}

// A dry run tells mail that is stored already (here: the same bytes
// imported from a file) from mail it would record, and still writes nothing.
func TestDryRunKnowsStoredMail(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("drydup")
		old, fresh := mail("b1", classify.KindBounce), mail("b2", classify.KindBounce)
		a.append(folder, old, fresh)
		st := newTestStore(t)
		v, err := fakeClassify(old)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB.Record(t.Context(), []storage.Record{{Source: storage.Source{Path: "old.eml", Index: 1}, Raw: old, Verdict: v}}); err != nil {
			t.Fatal(err)
		}
		p := b.poller(t, "primary", folder, st, nil)
		var plans []Planned
		sum, err := p.DryRun(t.Context(), func(pl Planned) { plans = append(plans, pl) })
		if err != nil {
			t.Fatal(err)
		}
		if len(plans) != 2 || !plans[0].Stored || plans[1].Stored || len(plans[0].Suppress) != 0 {
			t.Errorf("plans %+v, want the first stored already (nothing to suppress), the second new", plans)
		}
		if sum.Fetched != 2 || sum.Duplicates != 1 {
			t.Errorf("summary %+v, want 2 fetched, 1 duplicate", sum)
		}
		if c, err := st.DB.Counts(t.Context()); err != nil || c.Messages != 1 || c.Duplicates != 0 {
			t.Errorf("after the dry run: %+v, %v; want only the 1 imported mail", c, err)
		}
	})
}

// A run whose lock is held elsewhere does nothing: no login, no run record,
// nothing fetched; once the lock is free the mail is processed.
func TestPollSkipsWhenLocked(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("locked")
		a.append(folder, mail("b1", classify.KindBounce))
		st := newTestStore(t)
		held := true
		released := 0
		p := b.poller(t, "primary", folder, st, func(o *Options) {
			o.Lock = func() (func(), error) {
				if held {
					return nil, errors.Join(ErrBusy, errors.New("test"))
				}
				return func() { released++ }, nil
			}
		})
		sum, err := p.PollOnce(t.Context())
		if !errors.Is(err, ErrBusy) || sum.Fetched != 0 {
			t.Fatalf("PollOnce while locked: %+v, %v; want ErrBusy and nothing fetched", sum, err)
		}
		if runs, err := st.DB.LastRuns(t.Context()); err != nil || len(runs) != 0 {
			t.Errorf("runs recorded while locked: %+v, %v", runs, err)
		}
		held = false
		sum, err = p.PollOnce(t.Context())
		if err != nil || sum.Fetched != 1 || released != 1 {
			t.Errorf("PollOnce after the lock was freed: %+v, %v, released %d; want 1 fetched, lock released once", sum, err, released)
		}
	})
}

// TestServeStopLetsTheRunFinish: stop closed while a run is in progress
// does not cut it (unlike cancelling ctx, which stops taking work): the
// run fetches, records and moves its mail, then Serve returns without
// planning another run. Stop closed while waiting returns at once.
func TestServeStopLetsTheRunFinish(t *testing.T) {
	b := startMem(t, memConfig{})
	a := b.admin(t)
	folder := a.fresh("servestop")
	a.append(folder, mail("s1", classify.KindBounce), mail("s2", classify.KindBounce))
	st := newTestStore(t)
	st.finished = make(chan int64, 2)
	clock := newFakeClock()
	locked, release := make(chan struct{}), make(chan struct{})
	p := b.poller(t, "primary", folder, st, func(o *Options) {
		o.Schedule = "@every 1m"
		o.RunAtStart = true
		o.Clock = clock
		o.Lock = func() (func(), error) {
			locked <- struct{}{}
			<-release
			return func() {}, nil
		}
	})
	stop := make(chan struct{})
	done := make(chan error)
	go func() { done <- p.Serve(t.Context(), stop) }()
	<-locked // the run at start has begun
	close(stop)
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	select {
	case <-st.finished:
	default:
		t.Fatal("Serve returned without finishing the run in progress")
	}
	select {
	case ft := <-clock.Timers:
		t.Errorf("Serve planned another run in %v after stop", ft.D)
	default:
	}
	wantSubjects(t, a, folder+"/Processed", "s1", "s2")

	// Stopped while waiting for the schedule: no run.
	q := b.poller(t, "primary", folder, st, func(o *Options) { o.Schedule = "@every 1m"; o.Clock = clock })
	stop = make(chan struct{})
	go func() { done <- q.Serve(t.Context(), stop) }()
	<-clock.Timers
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("Serve while waiting: %v", err)
	}
	select {
	case <-st.finished:
		t.Error("Serve stopped while waiting ran anyway")
	default:
	}
}

// TestPollMovesFlaggedLater: on a server that seems to have neither MOVE
// nor UIDPLUS (Courier's capabilities lost after STARTTLS) mail to move is
// flagged, recorded as "flag instead of move:...", and no folder is
// created; a later run on a server that can moves it.
func TestPollMovesFlaggedLater(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("flaglater")
		a.append(folder, mail("b1", classify.KindBounce), mail("b2", classify.KindBounce), mail("n1", classify.KindNotBounce))
		st := newTestStore(t)
		p := b.poller(t, "primary", folder, st, nil)
		p.ignoreMove, p.ignoreUIDPlus = true, true
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Disposal != "flag (neither MOVE nor UIDPLUS)" {
			t.Errorf("disposal %q, want the flag fallback", sum.Disposal)
		}
		wantSubjects(t, a, folder, "b1", "b2", "n1")
		if a.list(folder+"/Processed") != nil {
			t.Errorf("the flag fallback created %s/Processed", folder)
		}
		want := "flag instead of move:" + folder + "/Processed"
		for _, id := range st.ids {
			if m := st.message(id); m.Verdict.Kind == classify.KindBounce && m.DisposedAction != want {
				t.Errorf("%s disposed as %q, want %q", m.Verdict.Subject, m.DisposedAction, want)
			}
		}
		for _, caps := range []struct {
			name              string
			noMove, noUIDPlus bool
			wantDisposal      string
		}{{"uidplus", true, false, "UID COPY + UID EXPUNGE (no MOVE)"}, {"move", false, false, "MOVE"}} {
			p.ignoreMove, p.ignoreUIDPlus = caps.noMove, caps.noUIDPlus
			sum, err = p.PollOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if caps.name == "uidplus" && (sum.Redone != 2 || sum.Disposed != 2 || sum.Disposal != caps.wantDisposal) {
				t.Errorf("%s: second run %+v, want 2 redone by %s", caps.name, sum, caps.wantDisposal)
			}
			if caps.name == "move" && (sum.Redone != 0 || sum.Disposed != 0) {
				t.Errorf("%s: third run %+v, want nothing left to do", caps.name, sum)
			}
		}
		wantSubjects(t, a, folder, "n1")
		wantSubjects(t, a, folder+"/Processed", "b1", "b2")
		for _, id := range st.ids {
			if m := st.message(id); m.Verdict.Kind == classify.KindBounce && m.DisposedAction != "move:"+folder+"/Processed" {
				t.Errorf("%s disposed as %q after the later run, want the move", m.Verdict.Subject, m.DisposedAction)
			}
		}
	})
}

// TestCheckFolders: Check names the action folders by their names on the
// server (in its personal namespace), proves that a missing one can be
// created, and leaves the server as it was.
func TestCheckFolders(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("check")
		p := b.poller(t, "primary", folder, newTestStore(t), nil)
		c, err := p.Check(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if c.Folder != a.ns.wire(folder) {
			t.Errorf("source folder on the server %q, want %q", c.Folder, a.ns.wire(folder))
		}
		want := map[string]bool{folder + "/Processed": true, folder + "/Complaints": true, folder + "/Reports": true, folder + "/Unrecognized": true, "Bounces/Unverified": true}
		for _, f := range c.Folders {
			if !want[f.Name] {
				t.Errorf("unexpected action folder %+v", f)
				continue
			}
			delete(want, f.Name)
			if f.Wire != a.ns.wire(f.Name) || f.Exists || f.Err != nil || f.Left != "" {
				t.Errorf("folder %s: %+v, want missing, creatable, on the server as %q", f.Name, f, a.ns.wire(f.Name))
			}
		}
		if len(want) > 0 {
			t.Errorf("action folders not checked: %v", want)
		}
		if l := a.allFolders(folder); len(l) != 1 {
			t.Errorf("Check left folders under %s: %v", folder, l)
		}
		if a.list("Bounces/Unverified") != nil || a.list("Bounces") != nil {
			t.Errorf("Check left Bounces/Unverified or its parent on the server")
		}
	})
}

// TestPollWrongTLSModeHint: a TLS mode that does not fit the port says so.
func TestPollWrongTLSModeHint(t *testing.T) {
	for _, tc := range []struct {
		server, client TLSMode
		want           string
	}{
		{TLSImplicit, TLSStartTLS, `is it the implicit-TLS port, 993? then tls = "implicit"`},
		{TLSNone, TLSImplicit, `is it port 143? then tls = "starttls"`},
	} {
		b := startMem(t, memConfig{tls: tc.server})
		p := b.poller(t, "primary", "INBOX", newTestStore(t), func(o *Options) { o.TLS = tc.client; o.Timeout = 5 * time.Second })
		_, err := p.PollOnce(t.Context())
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConnect) {
			t.Errorf("server %s, client %s: %v, want a connect error with %q", tc.server, tc.client, err, tc.want)
		}
	}
}
