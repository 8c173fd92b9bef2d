// Package storage keeps what bounced learned in SQLite (modernc.org/sqlite,
// pure Go, WAL): every processed mail, one outcome per reported recipient,
// recipient states decided by a per-reason policy, sender-side alerts, poll
// runs and IMAP cursors, and an optional compressed archive of the raw mail.
//
// It does not fetch, classify or move mail: the poller and the commands
// hand it verdicts (classify.Verdict) and it remembers them, exactly once.
//
// Every write is one transaction. Record takes a whole batch in one
// transaction, so a crash, a locked or read-only file or a full disk leaves
// the database as it was before the batch. The schema lives in embedded
// migrations (migrations/NNNN_name.sql), applied in order at Open, one
// transaction each, and recorded in schema_migrations.
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options configure a DB. The zero value is usable: default policy, no
// archive, a discarding logger and the real clock.
type Options struct {
	Logger      *slog.Logger     // nil: discard
	Policy      Policy           // zero value: DefaultPolicy()
	Archive     bool             // keep the raw mail (gzip) for reclassify
	ArchiveDays int              // retention of the archive in days; 0 keeps it forever
	Now         func() time.Time // nil: time.Now

	// ReadOnly opens the file without write access (reports, dry runs):
	// every write fails with an error and the file is never changed.
	// Migrations are not applied; Open fails when the file is missing.
	ReadOnly bool
	// NoSync skips the fsync at each commit (SQLite synchronous=NORMAL in
	// WAL mode): several times faster on slow disks and still safe against
	// a crash of the process, but a power loss may undo the last commits.
	// For idempotent work that can simply be run again (import,
	// reclassify), never for the daemon, which moves mail after a commit.
	NoSync bool
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection or process before it fails (default 5s).
	BusyTimeout time.Duration
}

// DB is an open bounced database. It is safe for concurrent use.
//
// It holds two pools of connections to the file: one writer connection,
// through which every write transaction goes in turn (SQLite allows one
// writer at a time anyway), with a large page cache for the indexes a
// batch changes; and up to maxReaders connections for queries, with a
// small cache each, which read beside the writer (WAL). Both caches are
// allocated outside Go's heap and only shrink when a connection closes, so
// they bound the process's memory: writerCache + maxReaders*readerCache.
type DB struct {
	sql    *sql.DB // readers (query only)
	wdb    *sql.DB // the writer; nil when ReadOnly
	log    *slog.Logger
	policy Policy
	opts   Options
	now    func() time.Time

	// The write path's statements, prepared once and reused by every
	// transaction (Tx.StmtContext re-prepares them once per connection).
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	texts  sync.Map // rowsKey -> string: multi-row statement texts
}

// ErrReadOnly is returned by writes on a DB opened with Options.ReadOnly.
var ErrReadOnly = errors.New("storage: database opened read-only")

// Open opens (creating it when missing) the database at path, sets WAL,
// foreign keys and a busy timeout, and applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("opening database: empty path")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.Policy.isZero() {
		opts.Policy = DefaultPolicy()
	} else {
		opts.Policy = opts.Policy.withDefaults()
	}
	if err := precheck(path, opts.ReadOnly); err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if !opts.ReadOnly && !exists(path) {
		if err := create(ctx, path, opts); err != nil {
			return nil, fmt.Errorf("creating database %s: %w", path, err)
		}
	}
	db, err := open(ctx, path, opts, false)
	if err != nil && opts.ReadOnly && cannotOpen(err) && exists(path) {
		// A reader who may not write the database's directory: SQLite
		// must create the -wal (and -shm) file of a database in WAL mode
		// beside it ("attempt to write a readonly database (1544)",
		// "unable to open database file (14)"). With no -wal file no
		// process has the database open for writing (the last one to
		// close checkpoints and removes it), so the file alone is the
		// whole database: read it as immutable, without -wal, -shm or
		// locks. A writer that starts meanwhile writes to its own -wal,
		// unseen here; only its checkpoint, after 10,000 pages or at its
		// exit, changes the file under this reader, whose query may then
		// fail or miss those batches: run it again.
		if !exists(path + "-wal") {
			idb, ierr := open(ctx, path, opts, true)
			if ierr == nil {
				idb.log.Info("opened the database read-only as immutable: no write access to create its -wal file",
					"path", path, "err", err)
				return idb, nil
			}
		}
		dir, base := filepath.Dir(path), filepath.Base(path)
		return nil, fmt.Errorf("opening database %s read-only: %w: SQLite must create or open %s-wal and %s-shm in %s "+
			"while another process writes the database; run as the user that runs bounced, or let this user "+
			"write to %s and read those files", path, err, base, base, dir, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, corrupt(err))
	}
	if opts.ReadOnly {
		return db, nil
	}
	// Everything SQLite writes beside the database (the -wal, -shm and
	// journal files) and the database itself hold recipient addresses:
	// owner-only, whatever the umask.
	ownerOnly(path)
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, corrupt(err))
	}
	if opts.Archive && opts.ArchiveDays > 0 {
		if _, err := db.PruneArchive(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("opening database %s: %w", path, err)
		}
	}
	return db, nil
}

// Memory: the page caches (see DB).
const (
	// writerCache is the writer's page cache in KiB. A batch changes
	// about one page of each index with random keys (digest, recipient
	// address, outcomes by address) per mail; the cache keeps the upper
	// levels of those indexes and the pages a run changes again.
	writerCache = 8 << 10
	// readerCache is each reader's page cache in KiB: the hot queries
	// (cursor, pending mail, a recipient's state) read a few pages, and a
	// report reads the rollups once; the OS caches the file anyway.
	readerCache = 2 << 10
	// maxReaders caps the reading connections; more queries wait.
	maxReaders = 4
)

// open connects to the database with opts (immutable: a read-only
// file read without -wal, -shm or locks) and, read-only, checks that it is
// a bounced database of this schema.
func open(ctx context.Context, path string, opts Options, immutable bool) (*DB, error) {
	db := &DB{log: opts.Logger, policy: opts.Policy, opts: opts, now: opts.Now}
	if !opts.ReadOnly {
		// The writer first: it creates a new file and sets WAL.
		w, err := sql.Open("sqlite", dsn(path, opts, false, false))
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, err
		}
		db.wdb = w
	}
	r, err := sql.Open("sqlite", dsn(path, opts, true, immutable))
	if err != nil {
		db.Close()
		return nil, err
	}
	r.SetMaxOpenConns(maxReaders)
	r.SetMaxIdleConns(maxReaders)
	db.sql = r
	if err := r.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if opts.ReadOnly {
		if err := db.checkSchema(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// dsn is the data source name of the writer or of a reader.
func dsn(path string, opts Options, reader, immutable bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	switch {
	case opts.ReadOnly:
		q.Set("mode", "ro")
		q.Set("_query_only", "1")
		if immutable {
			q.Set("immutable", "1")
		}
	case reader:
		q.Set("_query_only", "1") // every write goes through the writer
	default:
		q.Set("_txlock", "immediate") // the writer takes the lock at BEGIN: no deadlocked upgrades
		q.Set("_journal_mode", "WAL")
		// FULL: a committed batch survives a power loss too, so that mail
		// moved or deleted after the commit is never lost. NORMAL (NoSync)
		// survives a crash of the process, never corrupts, but a power
		// loss may undo the last commits.
		if opts.NoSync {
			q.Set("_synchronous", "NORMAL")
		} else {
			q.Set("_synchronous", "FULL")
		}
	}
	cache := writerCache
	if reader {
		cache = readerCache
	}
	q.Add("_pragma", "cache_size(-"+strconv.Itoa(cache)+")")
	// The statement journals of multi-row statements (and temp b-trees)
	// in memory, not in temp files: no file I/O to undo a statement.
	q.Add("_pragma", "temp_store(MEMORY)")
	if !reader {
		// Checkpoint every 10,000 pages (40 MB) of WAL instead of 1,000:
		// a page that many batches change (the right edge of an index,
		// a rollup row) is copied into the database once per checkpoint,
		// and the checkpoint's fsync comes ten times less often. The WAL
		// is read with pread, not mapped: its size is disk, not memory.
		q.Add("_pragma", "wal_autocheckpoint(10000)")
		// A reader that holds a snapshot for long keeps a checkpoint from
		// starting the WAL over, so it grows past 40 MB; once it starts
		// over, it is cut back to 64 MB, not kept at its largest.
		q.Add("_pragma", "journal_size_limit(67108864)")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// exists reports whether a file exists (a dangling link does not).
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// cannotOpen reports SQLite's errors for a file it cannot open or create
// (SQLITE_CANTOPEN) or may not write (SQLITE_READONLY, such as
// SQLITE_READONLY_DIRECTORY, 1544).
func cannotOpen(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == 14 || c == 8 // SQLITE_CANTOPEN, SQLITE_READONLY
}

// Close closes the database.
func (db *DB) Close() error {
	db.stmtMu.Lock()
	for _, s := range db.stmts {
		s.Close()
	}
	db.stmts = nil
	db.stmtMu.Unlock()
	// The writer last: the last connection to close checkpoints the WAL
	// into the file and removes the -wal and -shm files.
	var err error
	if db.sql != nil {
		err = db.sql.Close()
	}
	if db.wdb != nil {
		if werr := db.wdb.Close(); err == nil {
			err = werr
		}
	}
	return err
}

// cached returns the DB's prepared query, nil when it is not prepared.
func (db *DB) cached(query string) *sql.Stmt {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	return db.stmts[query]
}

// prepared returns query prepared on the DB, preparing it the first time.
// It takes a connection of the pool: never call it inside a transaction.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if s, ok := db.stmts[query]; ok {
		return s, nil
	}
	s, err := db.wdb.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if db.stmts == nil {
		db.stmts = make(map[string]*sql.Stmt)
	}
	db.stmts[query] = s
	return s, nil
}

type rowsKey struct {
	head, tail string
	width, n   int // width 0: an IN list
}

// rowsSQL is the cached text of a multi-row statement (see writer.rows).
func (db *DB) rowsSQL(head string, width, n int, tail string) string {
	k := rowsKey{head, tail, width, n}
	if s, ok := db.texts.Load(k); ok {
		return s.(string)
	}
	s := rowsSQL(head, width, n, tail)
	db.texts.Store(k, s)
	return s
}

// inSQL is the cached text of head followed by a list of n placeholders.
func (db *DB) inSQL(head string, n int) string {
	k := rowsKey{head: head, n: n}
	if s, ok := db.texts.Load(k); ok {
		return s.(string)
	}
	var b strings.Builder
	b.WriteString(head)
	b.WriteString("(?")
	b.WriteString(strings.Repeat(",?", n-1))
	b.WriteByte(')')
	db.texts.Store(k, b.String())
	return b.String()
}

// Policy returns the policy the DB applies.
func (db *DB) Policy() Policy { return db.policy }

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a number", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies the migrations not yet recorded, each in its own
// transaction. Two processes opening a new file at once are serialised by
// the write lock taken at BEGIN; the loser sees the winner's rows.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	// Read what is applied first, so that an up-to-date database opens
	// without a write transaction (a database locked by another writer
	// then opens, and fails only when it writes).
	applied := map[int]bool{}
	rows, err := db.wdb.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err == nil {
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return fmt.Errorf("reading schema_migrations: %w", err)
			}
			applied[v] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("reading schema_migrations: %w", err)
		}
	}
	pending := false
	for _, m := range ms {
		pending = pending || !applied[m.version]
	}
	if !pending {
		return nil
	}
	if _, err := db.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := db.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, fmtTime(db.now()))
			if err == nil {
				db.log.Info("applied migration", "migration", m.name)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("applying migration %s: %w", m.name, err)
		}
	}
	return nil
}

// checkSchema tells a read-only caller that the file is no bounced
// database, or one written by a newer bounced.
func (db *DB) checkSchema(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var have int
	err = db.sql.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have)
	if err != nil {
		return fmt.Errorf("reading schema version (not a bounced database?): %w", err)
	}
	if want := ms[len(ms)-1].version; have < want {
		return fmt.Errorf("schema version %d is older than %d: open it once for writing to migrate", have, want)
	}
	return nil
}

// Migrations lists the applied migrations, oldest first.
func (db *DB) Migrations(ctx context.Context) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// tx runs fn in one write transaction: committed when fn returns nil,
// rolled back otherwise.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.opts.ReadOnly {
		return ErrReadOnly
	}
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// timeFormat is SQLite's own text format for times, always UTC, fixed
// width, so that text order is time order.
const timeFormat = "2006-01-02 15:04:05.000"

// fmtTime formats t in timeFormat. It runs several times per recorded
// mail, so the fixed format is written by hand (time.Format reads its
// layout each time, about five times slower).
func fmtTime(t time.Time) string {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format(timeFormat)
	}
	h, mi, sec := t.Clock()
	var b [len(timeFormat)]byte
	put := func(i, n, v int) {
		for j := i + n - 1; j >= i; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, 4, y)
	put(5, 2, int(mo))
	put(8, 2, d)
	put(11, 2, h)
	put(14, 2, mi)
	put(17, 2, sec)
	put(20, 3, t.Nanosecond()/int(time.Millisecond))
	b[4], b[7], b[10], b[13], b[16], b[19] = '-', '-', ' ', ':', ':', '.'
	return string(b[:])
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

// parseTime reads a stored time. It is hot in listings, so the fixed
// format is read by hand; anything else goes to time.Parse.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if len(s) == len(timeFormat) && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':' && s[19] == '.' {
		n := func(i, j int) (int, bool) {
			v := 0
			for _, c := range s[i:j] {
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := n(0, 4)
		mo, ok2 := n(5, 7)
		d, ok3 := n(8, 10)
		h, ok4 := n(11, 13)
		mi, ok5 := n(14, 16)
		sec, ok6 := n(17, 19)
		ms, ok7 := n(20, 23)
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 {
			return time.Date(y, time.Month(mo), d, h, mi, sec, ms*int(time.Millisecond), time.UTC)
		}
	}
	t, err := time.ParseInLocation(timeFormat, s, time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
}

func parseNullTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	return parseTime(s.String)
}
