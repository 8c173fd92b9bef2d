package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
)

// stormMails are copies of the sample bounces of testdata/bounces, each
// made unique by a first header X-Storm-Id: n (so each has a digest of its
// own and can be found on the server). broken/no-closing-boundary.eml and
// lineends/crcrlf.eml are left out: go-imap's in-memory server cannot parse
// them and serves them as nothing, so all their copies would share one
// digest.
func stormMails(t *testing.T, copies int) [][]byte {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "bounces")
	var samples [][]byte
	err := walkMail([]string{dir}, nil, func(m mail) error {
		if !strings.HasSuffix(m.Source, "no-closing-boundary.eml") && !strings.HasSuffix(m.Source, "crcrlf.eml") {
			samples = append(samples, m.Raw)
		}
		return nil
	}, func(path string, err error) { t.Errorf("%s: %v", path, err) })
	if err != nil || len(samples) < 20 {
		t.Fatalf("reading %s: %d samples, %v", dir, len(samples), err)
	}
	var out [][]byte
	for c := range copies {
		for i, s := range samples {
			out = append(out, slices.Concat(fmt.Appendf(nil, "X-Storm-Id: %d\r\n", c*len(samples)+i), s))
		}
	}
	return out
}

// stormAppend appends with a fixed INTERNALDATE: the store dates an outcome
// by it, so the suppression lists of two servers compare whole.
func stormAppend(t *testing.T, srv *demoServer, mails ...[]byte) {
	t.Helper()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, m := range mails {
		if _, err := srv.user.Append("INBOX", literal{bytes.NewReader(m), int64(len(m))}, &imap.AppendOptions{Time: at}); err != nil {
			t.Fatal(err)
		}
	}
}

func stormID(raw []byte) string {
	line, _, _ := bytes.Cut(raw, []byte("\r\n"))
	return strings.TrimPrefix(string(line), "X-Storm-Id: ")
}

// stormConfig writes a config for srv; the child reads the password from
// BOUNCED_STORM_PASSWORD.
func stormConfig(t *testing.T, srv *demoServer) (cfg, db string) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "bounced.db")
	cfg = filepath.Join(dir, "bounced.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `db = %q
[[mailbox]]
name = "storm"
host = "127.0.0.1"
port = %d
tls = "none"
username = %q
password_env = "BOUNCED_STORM_PASSWORD"
batch = 10
`, db, srv.Port, srv.User), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, db
}

// child starts `bounced poll --config cfg` as a child process (this test
// binary again, see TestFaultKillStorm).
func child(t *testing.T, cfg, pass string) (*exec.Cmd, *bytes.Buffer, chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultKillStorm$")
	// Built with -race, a process waits a second at exit (for reports of
	// its other goroutines): not here, where it is killed anyway.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), "BOUNCED_TEST_MAIN=poll\n--config\n"+cfg, "BOUNCED_STORM_PASSWORD="+pass, "GORACE="+race)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, &out, done
}

// cleanChild runs a child to its end and returns how long it took.
func cleanChild(t *testing.T, cfg, pass string) time.Duration {
	t.Helper()
	start := time.Now()
	_, out, done := child(t, cfg, pass)
	if err := <-done; err != nil {
		t.Fatalf("poll: %v\n%s", err, out)
	}
	return time.Since(start)
}

// onServer is where each X-Storm-Id is: its folders, one entry per copy.
func onServer(t *testing.T, srv *demoServer) map[string][]string {
	t.Helper()
	c, err := imapclient.DialInsecure(srv.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(srv.User, srv.Pass).Wait(); err != nil {
		t.Fatal(err)
	}
	l, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	where := map[string][]string{}
	for _, f := range l {
		if _, err := c.Select(f.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		var all imap.UIDSet
		all.AddRange(1, 0)
		msgs, err := c.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{
			Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"X-Storm-Id"}, Peek: true}}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			for _, b := range m.BodySection {
				sc := bufio.NewScanner(bytes.NewReader(b.Bytes))
				for sc.Scan() {
					if id, ok := strings.CutPrefix(sc.Text(), "X-Storm-Id: "); ok {
						where[id] = append(where[id], f.Mailbox)
					}
				}
			}
		}
	}
	return where
}

func openStorm(t *testing.T, path string) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), path, storage.Options{})
	if err != nil {
		t.Fatalf("opening the database after a kill: %v", err)
	}
	return db
}

// storedByDigest reads every stored row (ids run from 1 without a gap:
// rows are only added).
func storedByDigest(t *testing.T, db *storage.DB) (map[string]storage.StoredMessage, storage.Counts) {
	t.Helper()
	ctx := context.Background()
	c, err := db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storage.StoredMessage{}
	for id := int64(1); id <= int64(c.Messages+c.Duplicates); id++ {
		m, err := db.Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[m.Digest]; dup {
			t.Errorf("digest %s stored twice", m.Digest)
		}
		out[m.Digest] = m
	}
	return out, c
}

func stormSuppressions(t *testing.T, db *storage.DB) []string {
	t.Helper()
	var out []string
	err := db.Suppressions(context.Background(), time.Time{}, func(r storage.Recipient) error {
		out = append(out, fmt.Sprintf("%s %s %s", r.Address, r.Reason, r.Since.UTC().Format(time.RFC3339)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestFaultKillStorm: `bounced poll` in a child process is killed with
// SIGKILL at a seeded random time, again and again, while new mail keeps
// arriving (copies of testdata/bounces, real classifier, batches of 10);
// after each kill whatever left INBOX is committed. Then a clean poll: every
// mail is stored once, in the folder its kind's default action names, and
// the suppression list is that of an undisturbed poll over the same mails.
// BOUNCED_FAULT_ROUNDS sets the kills, BOUNCED_FAULT_SEED the seed.
func TestFaultKillStorm(t *testing.T) {
	if args := os.Getenv("BOUNCED_TEST_MAIN"); args != "" {
		os.Args = append([]string{"bounced"}, strings.Split(args, "\n")...)
		main()
		return
	}
	seed := uint64(1)
	if s := os.Getenv("BOUNCED_FAULT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("BOUNCED_FAULT_SEED=%q: %v", s, err)
		}
	}
	rounds := 30
	if s := os.Getenv("BOUNCED_FAULT_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BOUNCED_FAULT_ROUNDS=%q: want a positive number", s)
		}
		rounds = n
	}
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	mails := stormMails(t, max(2, rounds/2))
	perRound := max(1, len(mails)/rounds)

	// The undisturbed polls: one over the mail of a round, timed (the
	// lifetime of a child: start, database, login, the classifier's first
	// use, fetch, commit, move, exit), then one over the rest.
	calm, err := startDemoServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer calm.Close()
	calmCfg, calmDB := stormConfig(t, calm)
	stormAppend(t, calm, mails[:perRound]...)
	life := cleanChild(t, calmCfg, calm.Pass)
	stormAppend(t, calm, mails[perRound:]...)
	cleanChild(t, calmCfg, calm.Pass)
	db := openStorm(t, calmDB)
	calmStored, _ := storedByDigest(t, db)
	want := stormSuppressions(t, db)
	db.Close()

	srv, err := startDemoServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg, path := stormConfig(t, srv)
	// What each kill interrupted: nothing committed yet; committed
	// mail left to move; some batches committed and moved, others not
	// fetched; all the work done (logging out, exiting).
	var killed, finished, noCommit, leftPending, midRun, allDone, committed int
	next := 0
	for r := range rounds {
		k := min(len(mails)-next, perRound)
		stormAppend(t, srv, mails[next:next+k]...)
		next += k
		// A kill at a random time in the life of a child, or a little
		// after (then it ends by itself).
		delay := time.Duration(rng.Int64N(int64(life) * 5 / 4))
		cmd, out, done := child(t, cfg, srv.Pass)
		select {
		case err := <-done:
			finished++
			if err != nil {
				t.Fatalf("round %d: poll ended before its kill (%s): %v\n%s", r, delay, err, out)
			}
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			err := <-done
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
				killed++
			} else {
				finished++ // it ended just before the signal
			}
		}
		if _, err := os.Stat(path); err != nil {
			continue // killed before it created the database
		}
		db := openStorm(t, path)
		c, err := db.Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		where := onServer(t, srv)
		for _, m := range mails[:next] {
			moved := slices.ContainsFunc(where[stormID(m)], func(f string) bool { return f != "INBOX" })
			if !moved {
				continue
			}
			if known, err := db.Known(context.Background(), storage.Source{}, m); err != nil || !known {
				t.Errorf("round %d: mail %s is in %q but not committed (%v)", r, stormID(m), where[stormID(m)], err)
			}
		}
		pending := 0
		if cur, err := db.Cursor(context.Background(), "storm", "INBOX"); err == nil && cur.UIDValidity != 0 {
			pend, err := db.Pending(context.Background(), "storm", "INBOX", cur.UIDValidity)
			if err != nil {
				t.Fatal(err)
			}
			pending = len(pend)
		}
		db.Close()
		switch {
		case pending > 0:
			leftPending++
		case c.Messages == committed:
			noCommit++
		case c.Messages < next:
			midRun++
		default:
			allDone++
		}
		committed = c.Messages
	}
	stormAppend(t, srv, mails[next:]...)
	cleanChild(t, cfg, srv.Pass)

	db = openStorm(t, path)
	defer db.Close()
	stored, c := storedByDigest(t, db)
	if c.Messages != len(mails) || c.Duplicates != 0 {
		t.Errorf("store: %d mails, %d duplicates; want %d and 0", c.Messages, c.Duplicates, len(mails))
	}
	actions := poller.DefaultActions()
	where := onServer(t, srv)
	gone := 0
	for _, m := range mails {
		id, d := stormID(m), storage.Digest(m)
		sm, ok := stored[d]
		if !ok {
			t.Errorf("mail %s: not stored", id)
			continue
		}
		if cm := calmStored[d]; cm.Verdict.Kind != sm.Verdict.Kind || cm.Skipped != sm.Skipped {
			t.Errorf("mail %s: stored as %s %q, undisturbed %s %q", id, sm.Verdict.Kind, sm.Skipped, cm.Verdict.Kind, cm.Skipped)
		}
		kind := sm.Verdict.Kind
		if sm.Skipped != "" {
			kind = classify.KindUnknown
		}
		a := actions[kind]
		folder := "INBOX"
		if a.Op == poller.OpMove {
			folder = a.Folder
		}
		if got := where[id]; !slices.Equal(got, []string{folder}) {
			t.Errorf("mail %s (%s): on the server in %q, want %s", id, kind, got, folder)
		}
		switch {
		case sm.DisposedAt.IsZero():
			t.Errorf("mail %s: not disposed of", id)
		case sm.DisposedAction == "gone":
			gone++
		case sm.DisposedAction != a.String():
			t.Errorf("mail %s: disposed as %q, want %q", id, sm.DisposedAction, a)
		}
	}
	if got := stormSuppressions(t, db); !slices.Equal(got, want) {
		t.Errorf("suppression list after the storm (%d):\n%s\nundisturbed (%d):\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	t.Logf("%d mails, %d suppressed; %d children: %d killed (SIGKILL), %d finished first; after the kill: %d with nothing new committed, "+
		"%d with committed mail not yet marked disposed (moved or not), %d between batches, %d with all done; %d marked gone (moved, then killed before the mark); "+
		"an undisturbed child over %d mails lives %s", len(mails), len(want), rounds, killed, finished, noCommit, leftPending, midRun, allDone, gone,
		perRound, life.Round(time.Millisecond))
}
