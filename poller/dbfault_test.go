package poller

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bounced/bounced/storage"
)

// dbFaultOptions: a short busy timeout, so that a held lock fails a write
// in a fraction of a second; the archive on, so that each mail writes more.
var dbFaultOptions = storage.Options{BusyTimeout: 200 * time.Millisecond, Archive: true}

// smallFS mounts a tmpfs of size bytes (root only) and unmounts it at the
// end; without root it skips, loudly.
func smallFS(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("!! SKIPPED: a full disk needs a small tmpfs, and mounting one needs root (CI runs as root)")
	}
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmounting %s: %v: %s", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// dbAt opens the store at path; the test closes it at the end unless it
// was closed before.
func dbAt(t *testing.T, path string) *testStore {
	t.Helper()
	db, err := storage.Open(context.Background(), path, dbFaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	st := &testStore{DB: db, t: t}
	t.Cleanup(func() { db.Close() })
	return st
}

// dbSeries is what every database fault series shares: the mails, their
// folder, the store, and the end (a clean run, then checkSeries).
type dbSeries struct {
	t      *testing.T
	b      *backend
	a      *admin
	rng    *rand.Rand
	mails  []genMail
	folder string
	next   int
	path   string
	st     *testStore
	errs   map[string]int // the errors of the failed runs, by the words that make them clear
	failed int
}

func newDBSeries(t *testing.T, b *backend, path string, n int) *dbSeries {
	rng := seriesRNG(t)
	s := &dbSeries{t: t, b: b, a: b.admin(t), rng: rng, mails: genMails(rng, "db", n), path: path, errs: map[string]int{}}
	s.folder = s.a.fresh("dbfault")
	s.st = dbAt(t, path)
	return s
}

// add appends the next k mails (fewer at the end) and returns them.
func (s *dbSeries) add(k int) []genMail {
	k = min(k, len(s.mails)-s.next)
	m := s.mails[s.next : s.next+k]
	s.a.put(s.folder, m...)
	s.next += k
	return m
}

func (s *dbSeries) poller(store Store) *Poller {
	return s.b.realPoller(s.t, s.folder, store, func(o *Options) { o.Batch, o.DisposeBatch = 3, 2 })
}

// failedWith checks that a failed run says what went wrong: one of words
// in its error.
func (s *dbSeries) failedWith(err error, words ...string) {
	s.t.Helper()
	s.failed++
	s.t.Logf("failed run: %v", err)
	// The path names the test ("...readonly...", "...full..."): not a
	// reason.
	msg := strings.ReplaceAll(err.Error(), filepath.Dir(s.path), "DIR")
	for _, w := range words {
		if strings.Contains(msg, w) {
			s.errs[w]++
			return
		}
	}
	s.t.Errorf("the run failed with %q: no word of %q says why", err, words)
}

// finish runs cleanly with the store at s.path and checks the series.
func (s *dbSeries) finish() (gone int) {
	s.t.Helper()
	s.add(len(s.mails))
	if sum, err := s.poller(s.st).PollOnce(s.t.Context()); err != nil {
		s.t.Fatalf("the clean run after the faults: %+v, %v", sum, err)
	}
	want := undisturbed(s.t, s.b, s.a, s.mails, nil)
	gone, _ = checkSeries(s.t, s.a, s.folder, s.st.DB, s.mails, want)
	return gone
}

func (s *dbSeries) logf(format string, args ...any) {
	s.t.Helper()
	s.t.Logf("%d mails, %d runs failed (%v): "+format, append([]any{len(s.mails), s.failed, s.errs}, args...)...)
}

// unchanged fails when a run that hit a fault before any commit touched
// the server.
func (s *dbSeries) unchanged(before map[string][]string, what string) {
	s.t.Helper()
	if after, _ := s.a.placed(s.folder); !reflect.DeepEqual(before, after) {
		s.t.Errorf("%s: the server changed although nothing could be committed", what)
	}
}

// TestFaultDatabase: runs whose database fails under them, each series on
// a seeded schedule over real mail: a read-only database, a full disk, a
// write lock held by another connection, a corrupted page. Every failed
// run must stop with an error that says why, and leave alone the mail
// whose outcome it did not commit; once the fault is gone a clean run
// leaves every mail stored once, disposed as its kind's action says, and
// the suppression list that of an undisturbed run.
func TestFaultDatabase(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		t.Run("readonly", func(t *testing.T) { faultReadOnly(t, b) })
		t.Run("full", func(t *testing.T) { faultFullDisk(t, b) })
		t.Run("locked", func(t *testing.T) { faultLocked(t, b) })
		t.Run("corrupt", func(t *testing.T) { faultCorrupt(t, b) })
	})
}

// faultReadOnly: the database's directory and file become read-only
// between runs (as root: the tmpfs holding them is remounted read-only;
// otherwise the modes are taken away, which stops anyone but root).
func faultReadOnly(t *testing.T, b *backend) {
	root := os.Geteuid() == 0
	var dir string
	if root {
		dir = smallFS(t, 64<<20)
	} else {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "bounced.db")
	rounds := faultRounds(t, 4)
	s := newDBSeries(t, b, path, 14*rounds) // at most 14 new mails a round
	setRO := func(ro bool) {
		t.Helper()
		if root {
			opt := "remount,rw"
			if ro {
				opt = "remount,ro"
			}
			if out, err := exec.Command("mount", "-o", opt, dir).CombinedOutput(); err != nil {
				t.Fatalf("mount -o %s %s: %v: %s", opt, dir, err, out)
			}
			return
		}
		dmode, fmode := os.FileMode(0o755), os.FileMode(0o644)
		if ro {
			dmode, fmode = 0o555, 0o444
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			os.Chmod(filepath.Join(dir, e.Name()), fmode)
		}
		os.Chmod(dir, dmode)
	}
	for r := range rounds {
		s.add(2 + s.rng.IntN(6))
		if r%2 == 1 {
			// A clean run between the faults: work to leave pending.
			if _, err := s.poller(s.st).PollOnce(t.Context()); err != nil {
				t.Fatalf("clean run %d: %v", r, err)
			}
			s.add(2 + s.rng.IntN(6))
		}
		if err := s.st.Close(); err != nil {
			t.Fatal(err)
		}
		before, _ := s.a.placed(s.folder)
		setRO(true)
		db, err := storage.Open(t.Context(), path, dbFaultOptions)
		if err != nil {
			s.failedWith(err, "readonly", "read-only", "unable to open", "not writable")
		} else {
			_, err = s.poller(db).PollOnce(t.Context())
			if err == nil {
				t.Errorf("round %d: a run on a read-only database succeeded", r)
			} else {
				s.failedWith(err, "readonly", "read-only", "unable to open", "not writable")
			}
			db.Close()
		}
		s.unchanged(before, fmt.Sprintf("round %d", r))
		setRO(false)
		s.st = dbAt(t, path)
	}
	gone := s.finish()
	s.logf("%d read-only rounds (root: %v), %d marked gone", rounds, root, gone)
}

// faultFullDisk: the database lives on a small tmpfs that a filler file
// leaves a random few kilobytes of, so that the disk fills at a different
// write each round (the run record, a batch, a mark, the archive).
func faultFullDisk(t *testing.T, b *backend) {
	rounds := faultRounds(t, 8)
	// Room, once the filler is gone, for the database of all the mails
	// and its WAL, which grows to 10,000 pages (40 MiB) before storage
	// checkpoints it.
	dir := smallFS(t, 48<<20+rounds<<17)
	path := filepath.Join(dir, "bounced.db")
	s := newDBSeries(t, b, path, 15*rounds) // at most 15 new mails a round
	filler := filepath.Join(dir, "filler")
	for range rounds {
		s.add(6 + s.rng.IntN(10))
		var fs syscall.Statfs_t
		if err := syscall.Statfs(dir, &fs); err != nil {
			t.Fatal(err)
		}
		leave := int64(s.rng.IntN(96 << 10))
		fill := int64(fs.Bavail)*int64(fs.Bsize) - leave
		if err := writeFiller(filler, fill); err != nil {
			t.Fatalf("filling the disk: %v", err)
		}
		_, err := s.poller(s.st).PollOnce(t.Context())
		if err != nil {
			s.failedWith(err, "full")
		}
		checkMovedCommitted(t, s.a, s.folder, s.st.DB, s.mails[:s.next])
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	}
	if s.failed == 0 {
		t.Errorf("no run of %d hit the full disk", rounds)
	}
	gone := s.finish()
	s.logf("%d rounds on a full disk, %d marked gone", rounds, gone)
}

// writeFiller writes a file of n bytes (tmpfs has no holes to cheat with).
func writeFiller(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	block := make([]byte, 64<<10)
	for n > 0 {
		w := min(n, int64(len(block)))
		if _, err := f.Write(block[:w]); err != nil {
			f.Close()
			return err
		}
		n -= w
	}
	return f.Close()
}

// lockingStore takes the write lock on another connection just before its
// n-th write (StartRun, Record, MarkDisposing, MarkDisposed, FinishRun; 0: never), and keeps it
// until release.
type lockingStore struct {
	*testStore
	t      *testing.T
	path   string
	n      int
	mu     sync.Mutex
	writes int
	db     *sql.DB
	conn   *sql.Conn
}

func (l *lockingStore) before() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	if l.writes != l.n {
		return
	}
	var err error
	// The disposer writes (MarkDisposing) while a batch commits: wait for
	// its transaction rather than fail to take the lock.
	if l.db, err = sql.Open("sqlite", "file:"+l.path+"?_pragma=busy_timeout(10000)"); err != nil {
		l.t.Error(err)
		return
	}
	if l.conn, err = l.db.Conn(context.Background()); err == nil {
		_, err = l.conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`)
	}
	if err != nil {
		l.t.Errorf("taking the write lock: %v", err)
	}
}

func (l *lockingStore) locked() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn != nil
}

func (l *lockingStore) release() {
	if l.conn != nil {
		l.conn.ExecContext(context.Background(), `ROLLBACK`)
		l.conn.Close()
	}
	if l.db != nil {
		l.db.Close()
	}
}

func (l *lockingStore) StartRun(ctx context.Context, account string, at time.Time) (int64, error) {
	l.before()
	return l.testStore.StartRun(ctx, account, at)
}

func (l *lockingStore) Record(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	l.before()
	return l.testStore.Record(ctx, recs)
}

func (l *lockingStore) MarkDisposed(ctx context.Context, ids []int64, action string, at time.Time) error {
	l.before()
	return l.testStore.MarkDisposed(ctx, ids, action, at)
}

func (l *lockingStore) MarkDisposing(ctx context.Context, ids []int64, action string, at time.Time) error {
	l.before()
	return l.testStore.MarkDisposing(ctx, ids, action, at)
}

func (l *lockingStore) FinishRun(ctx context.Context, id int64, at time.Time, st storage.RunStats) error {
	l.before()
	return l.testStore.FinishRun(ctx, id, at, st)
}

// faultLocked: another connection takes the write lock (BEGIN IMMEDIATE)
// before a random write of the run and holds it to the end: that write
// and every later one fail after the busy timeout.
func faultLocked(t *testing.T, b *backend) {
	path := filepath.Join(t.TempDir(), "bounced.db")
	rounds := faultRounds(t, 8)
	s := newDBSeries(t, b, path, 11*rounds) // at most 11 new mails a round
	for r := range rounds {
		s.add(4 + s.rng.IntN(8))
		// A run of n mails in batches of 3 writes about n/3 batches, as
		// many marks, and the run record twice.
		ls := &lockingStore{testStore: s.st, t: t, path: path, n: 1 + s.rng.IntN(8)}
		_, err := s.poller(ls).PollOnce(t.Context())
		ls.release()
		switch {
		case err != nil:
			s.failedWith(err, "locked", "busy")
		case ls.locked():
			t.Errorf("round %d: the run succeeded although write %d found the database locked", r, ls.n)
		}
		checkMovedCommitted(t, s.a, s.folder, s.st.DB, s.mails[:s.next])
	}
	if s.failed == 0 {
		t.Errorf("no run of %d met the lock", rounds)
	}
	gone := s.finish()
	s.logf("%d rounds with a lock taken at a random write, %d marked gone", rounds, gone)
}

// corruptTargets are what every run reads or writes first: the file
// header, and the root pages of the tables and indexes of a run's
// first writes and reads.
var corruptTargets = []string{"header", "runs", "cursors", "messages", "messages_imap", "messages_digest", "messages_pending", "outcomes", "recipients"}

// faultCorrupt: between runs, the header of one page the run must read is
// overwritten (the file header, or the b-tree page header of a root page:
// its page type becomes invalid, the rest random). SQLite has no page
// checksums, so damage inside a record's bytes goes unseen by any reader;
// this series covers what SQLite can see. The run must fail before any
// commit, so the server stays as it was; the copy taken before the damage
// is then put back.
func faultCorrupt(t *testing.T, b *backend) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bounced.db")
	rounds := faultRounds(t, len(corruptTargets))
	s := newDBSeries(t, b, path, 12*rounds) // at most 12 new mails a round
	for r := range rounds {
		s.add(2 + s.rng.IntN(5))
		if r%2 == 1 {
			if _, err := s.poller(s.st).PollOnce(t.Context()); err != nil {
				t.Fatalf("clean run %d: %v", r, err)
			}
			s.add(2 + s.rng.IntN(5))
		}
		target := corruptTargets[r%len(corruptTargets)]
		off, pageSize := rootPage(t, path, target)
		if err := s.st.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path + "-wal"); err == nil {
			t.Fatalf("%s-wal is still there after the last close: the damage would be hidden", path)
		}
		backup := path + ".good"
		copyFile(t, path, backup)
		damage := make([]byte, 12)
		for i := range damage {
			damage[i] = byte(s.rng.IntN(256))
		}
		if target != "header" {
			damage[0] = 0xFF // no b-tree page type
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(damage, off); err != nil {
			t.Fatal(err)
		}
		f.Close()
		before, _ := s.a.placed(s.folder)
		words := []string{"malformed", "not a database", "corrupt"}
		db, err := storage.Open(t.Context(), path, dbFaultOptions)
		if err != nil {
			s.failedWith(err, words...)
		} else {
			_, err = s.poller(db).PollOnce(t.Context())
			if err == nil {
				t.Errorf("round %d: a run on a database with a damaged %s page (%d bytes a page) succeeded", r, target, pageSize)
			} else {
				s.failedWith(err, words...)
			}
			db.Close()
		}
		s.unchanged(before, "damaged "+target)
		copyFile(t, backup, path)
		for _, ext := range []string{"-wal", "-shm"} {
			os.Remove(path + ext)
		}
		s.st = dbAt(t, path)
	}
	gone := s.finish()
	s.logf("%d damaged pages (%s), %d marked gone", rounds, strings.Join(corruptTargets[:min(rounds, len(corruptTargets))], ", "), gone)
}

// rootPage returns the file offset of the root page of a table or index
// (the file header for "header"), and the page size. It reads the schema
// on a connection of its own, closed before it returns.
func rootPage(t *testing.T, path, name string) (offset int64, pageSize int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	if name == "header" {
		return 0, pageSize
	}
	var root int64
	if err := db.QueryRow(`SELECT rootpage FROM sqlite_schema WHERE name = ?`, name).Scan(&root); err != nil {
		t.Fatalf("root page of %s: %v", name, err)
	}
	if root < 2 {
		t.Fatalf("root page of %s is %d", name, root)
	}
	return (root - 1) * int64(pageSize), pageSize
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
