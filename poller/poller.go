// Package poller reads bounce mailboxes over IMAP (RFC 9051, RFC 3501 with
// UIDPLUS RFC 4315 and MOVE RFC 6851): on a schedule it fetches what is new
// by UID, classifies it, commits every outcome to the store and only then
// moves, flags or deletes the mail on the server.
//
// # The safe order
//
// A mail is never touched on the server before its outcome is committed. One
// run of one mailbox does:
//
//  1. connect (implicit TLS, STARTTLS or plain to loopback), log in (LOGIN or
//     SASL XOAUTH2), SELECT the folder;
//  2. compare the folder's UIDVALIDITY with the stored cursor; when it
//     changed, mark mail still pending under the old one (its UIDs mean
//     nothing now) with the action recorded before its command, or as
//     "gone" when none was, reset the cursor and rescan the folder from
//     the start (the store's digest dedupe keeps the counts right);
//  3. dispose of mail whose outcome is committed but whose disposal is not
//     marked (a crash or kill between commit and move, or between move and
//     mark, in an earlier run): mail still in the folder is disposed of
//     (again); mail no longer there is marked disposed with the action
//     recorded before its command ("move:Bounces/Processed"), or as "gone"
//     when none was (another client took it);
//  4. list the UIDs above the cursor and below the UIDNEXT of SELECT (mail
//     that arrives later waits for the next run) with their RFC822.SIZE,
//     in UID FETCH commands of at most 5,000 UIDs, each under its own
//     time-out, so that a large backlog on a slow link is listed in
//     bounded steps (a server that sends no UIDNEXT is asked for
//     "cursor+1:*" in one command); then per batch:
//     UID FETCH BODY.PEEK[] (never sets \Seen), classify each mail, commit
//     the whole batch in one transaction (which advances the cursor), then
//     dispose of the committed mail per kind, gathered into commands of up
//     to DisposeBatch mails.
//
// The steps of step 4 overlap, as a pipeline: one goroutine fetches batch
// k+1 while GOMAXPROCS goroutines classify its mail as it arrives; the
// goroutine of the run commits batch k; a disposer moves what is committed
// (one command per kind for what was committed while the last ran). When
// there is more than one batch, the disposer uses a second connection to
// the folder (a server runs one command of a connection at a time), opened
// at its first command and replaced every 20,000 mails; when it cannot be
// opened, disposal goes over the fetching connection. At most two batches
// of raw mail are in memory (one fetched, one committed), each read into
// one buffer; the buffers are reused.
//
// A mail larger than MaxMessageSize is never fetched: it is recorded as
// skipped, with kind unknown, and disposed like unknown mail. Mail that is no
// bounce is recorded too, so it is never read again.
//
// Disposal uses MOVE where the server has it. Without MOVE it issues UID COPY
// and, only once the COPY succeeded, UID STORE +FLAGS \Deleted and UID
// EXPUNGE of exactly those UIDs; a server without UIDPLUS cannot expunge by
// UID, so there the mail is flagged instead, because a plain EXPUNGE could
// remove mail another client marked. go-imap's own MOVE fallback pipelines
// COPY, STORE and EXPUNGE without waiting and is not used. QRESYNC is never
// enabled.
//
// Before each MOVE, COPY, STORE or EXPUNGE of committed mail, the action
// it is about to take is recorded in the store in a transaction of its own
// (Store.MarkDisposing); if that fails, the command is not sent. After the
// command succeeded the mail is marked disposed (Store.MarkDisposed). So
// the store always says where a mail went, even when the process dies
// between the command and the mark.
//
// A crash or kill at any point followed by another run leaves every mail
// processed exactly once: before the commit nothing was changed and the
// mail is fetched again; after the commit the mail is pending and disposed
// of, or marked with its recorded destination, at the start of the next
// run; a rerun of a committed UID is a duplicate for the store.
//
// # Cancellation and time-outs
//
// go-imap has no context. The connection is closed when the run ends, when a
// network step outlives Options.Timeout (a watchdog per step), or Grace after
// the run's context is cancelled. The steps are the dial, the TLS handshake
// (implicit TLS), the greeting (or, with STARTTLS, the greeting, STARTTLS and
// the handshake together: go-imap overwrites read deadlines, so a watchdog
// closes the connection), each command, each listing command and each
// fetched mail. Cancelling the context means "stop taking
// work": the batch in hand is still fetched, committed and disposed, then the
// poller logs out.
//
// # What the package does not do
//
// It does not parse mail (classify does), hold SQL (storage does) or read
// the config file (cmd maps the config onto Options).
package poller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/internal/clock"
	"github.com/bounced/bounced/storage"
)

// TLSMode is how the connection is secured.
type TLSMode string

const (
	TLSImplicit TLSMode = "implicit" // TLS from the first byte (port 993)
	TLSStartTLS TLSMode = "starttls" // plain, then STARTTLS before login (port 143)
	TLSNone     TLSMode = "none"     // no TLS: loopback addresses only
)

// AuthMode is how the poller logs in.
type AuthMode string

const (
	AuthLogin       AuthMode = "login"       // IMAP LOGIN with a password
	AuthXOAuth2     AuthMode = "xoauth2"     // SASL XOAUTH2 (Google, Microsoft) with an OAuth 2.0 access token
	AuthOAuthBearer AuthMode = "oauthbearer" // SASL OAUTHBEARER (RFC 7628) with an OAuth 2.0 access token
)

// Store is what the poller needs from storage; *storage.DB has it.
type Store interface {
	Record(ctx context.Context, recs []storage.Record) ([]storage.Result, error)
	Cursor(ctx context.Context, account, folder string) (storage.Cursor, error)
	ResetCursor(ctx context.Context, account, folder string, uidValidity uint32) error
	Pending(ctx context.Context, account, folder string, uidValidity uint32) ([]storage.Pending, error)
	// Flagged lists mail an earlier run flagged because the server could
	// not move or delete it then ("flag instead of ...").
	Flagged(ctx context.Context, account, folder string, uidValidity uint32) ([]storage.Pending, error)
	MarkDisposed(ctx context.Context, ids []int64, action string, at time.Time) error
	// MarkDisposing records, in a transaction of its own, the action about
	// to be taken on the server; Pending returns it until MarkDisposed.
	MarkDisposing(ctx context.Context, ids []int64, action string, at time.Time) error
	StartRun(ctx context.Context, account string, at time.Time) (int64, error)
	FinishRun(ctx context.Context, id int64, at time.Time, stats storage.RunStats) error
	Preview(ctx context.Context, rec storage.Record, run *storage.PreviewRun) (suppress, alerts []string, unverified string, err error)
	// Known says, without writing, whether Record would take the mail for
	// a duplicate (same source, or the same line-end-normalised bytes).
	Known(ctx context.Context, src storage.Source, raw []byte) (bool, error)
}

// Clock is the time source of the schedule and of run records. Network
// time-outs always use the real clock.
type Clock = clock.Clock

// Options configure one mailbox. Zero values take the defaults noted.
type Options struct {
	Name      string      // account name in the store and in logs; required
	Host      string      // required
	Port      int         // default 993, or 143 for starttls and none
	TLS       TLSMode     // default implicit
	TLSConfig *tls.Config // nil: system roots; ServerName defaults to Host

	Username string
	// Secret returns the password (AuthLogin) or the access token
	// (AuthXOAuth2, AuthOAuthBearer). It is called at every login, so a
	// rotated secret or a refreshed token is picked up. An error wrapping
	// ErrAuth fails the run like a rejected login (backoff).
	Secret func() (string, error)
	// Rejected, if set, is called when the server rejects the secret (a
	// token revoked before its expiry: the source drops it).
	Rejected func()
	Auth     AuthMode // default login

	Folder         string        // default INBOX
	Batch          int           // mails per fetch and commit; default 200
	BatchBytes     int64         // raw bytes per batch at most; default 16 MiB (two batches are in memory at most)
	MaxMessageSize int64         // larger mail is skipped unread; default 10 MiB
	DisposeBatch   int           // committed mails moved (flagged, deleted) per command at most; default 5000
	Timeout        time.Duration // per network step; default 60s
	Grace          time.Duration // after cancellation, before the connection is cut; default 30s

	// Actions per kind; a kind missing here takes DefaultActions.
	Actions map[classify.Kind]Action

	// Verifier checks that a bounce answers mail that was sent (nil:
	// verify is off). With VerifyEnforce, mail that proves nothing is
	// stored as unverified, changes nobody and is disposed by Unverified
	// (default move:Bounces/Unverified), whatever its kind.
	Verifier   *storage.Verifier
	Unverified Action

	Schedule   string        // robfig/cron spec for Run; default "@every 5m"
	RunAtStart bool          // Run polls once at once, then follows Schedule (a first run, or one overdue)
	BackoffMin time.Duration // first wait after a connection or login failure; default 1m
	BackoffMax time.Duration // longest wait; default 1h

	// Lock, when set, is taken before every run and released after it, so
	// that runs of one mailbox never overlap across processes (a `bounced
	// poll` beside a `bounced run`). It returns ErrBusy when another
	// process holds it; the run is then skipped.
	Lock func() (unlock func(), err error)

	Store  Store        // required by PollOnce, DryRun and Backlog; Check needs none
	Logger *slog.Logger // nil: discard
	Clock  Clock        // nil: real time
}

// Poller polls one mailbox.
type Poller struct {
	o          Options
	sched      cron.Schedule
	log        *slog.Logger
	clock      Clock
	addr       string
	tlsConf    *tls.Config
	actions    map[classify.Kind]Action
	unverified Action
	classify   func([]byte) (classify.Verdict, error)

	// Tests against a real server that has MOVE and UIDPLUS use these to
	// take the fallback paths.
	ignoreMove, ignoreUIDPlus bool
	// disposerConnMails is how many mails the disposer's own connection
	// moves before it is replaced by a fresh one.
	disposerConnMails int
	// listUIDs is how many UIDs one listing command (UID FETCH lo:hi
	// (UID RFC822.SIZE)) covers at most: about 50 bytes of answer per
	// mail, so 250 kB at most per Timeout.
	listUIDs uint32
}

// Sentinel errors a caller can branch on.
var (
	// ErrConnect is wrapped by failures to reach or greet the server, or to
	// set up TLS.
	ErrConnect = errors.New("poller: cannot connect")
	// ErrAuth is wrapped by a login the server rejected. Retrying soon with
	// the same secret will not help.
	ErrAuth = errors.New("poller: login rejected")
	// ErrBusy is wrapped by Options.Lock when another process is polling
	// the mailbox.
	ErrBusy = errors.New("poller: another process is polling this mailbox")
)

// New checks opts and returns a Poller.
func New(opts Options) (*Poller, error) {
	o := opts
	var errs []error
	if o.Name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if o.Host == "" {
		errs = append(errs, errors.New("host is empty"))
	}
	if o.Secret == nil {
		errs = append(errs, errors.New("secret is nil"))
	}
	if o.TLS == "" {
		o.TLS = TLSImplicit
	}
	switch o.TLS {
	case TLSImplicit, TLSStartTLS:
	case TLSNone:
		if !IsLoopback(o.Host) {
			errs = append(errs, fmt.Errorf("tls: none is allowed to a loopback address only, not %q", o.Host))
		}
	default:
		errs = append(errs, fmt.Errorf("tls: unknown mode %q", o.TLS))
	}
	if o.Auth == "" {
		o.Auth = AuthLogin
	}
	if o.Auth != AuthLogin && o.Auth != AuthXOAuth2 && o.Auth != AuthOAuthBearer {
		errs = append(errs, fmt.Errorf("auth: unknown mode %q", o.Auth))
	}
	if o.Port == 0 {
		o.Port = 993
		if o.TLS != TLSImplicit {
			o.Port = 143
		}
	}
	if o.Folder == "" {
		o.Folder = DefaultFolder
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 16 << 20
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.DisposeBatch <= 0 {
		o.DisposeBatch = 5000
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Grace <= 0 {
		o.Grace = 30 * time.Second
	}
	if o.Schedule == "" {
		o.Schedule = DefaultSchedule
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Minute
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = max(time.Hour, o.BackoffMin)
	}
	sched, err := cron.ParseStandard(o.Schedule)
	if err != nil {
		errs = append(errs, fmt.Errorf("schedule: bad cron spec %q: %v", o.Schedule, err))
	}
	if o.Unverified == (Action{}) {
		o.Unverified = DefaultUnverified
	}
	if o.Unverified.Op == OpMove && sameFolder(o.Unverified.Folder, o.Folder) {
		errs = append(errs, fmt.Errorf("actions: unverified: %s moves into the polled folder", o.Unverified))
	}
	if v := o.Verifier; v != nil && v.Mode != storage.VerifyOff && v.Mode != "" && v.Keys == nil {
		errs = append(errs, fmt.Errorf("verify %s: no secret", v.Mode))
	}
	actions := DefaultActions()
	for k, a := range o.Actions {
		if a.Op == OpMove && a.Folder == "" {
			errs = append(errs, fmt.Errorf("actions: %s: move needs a folder", k))
		}
		actions[k] = a
	}
	for _, k := range classify.Kinds {
		// Mail moved into the folder it came from gets a new UID above the
		// cursor: it would be fetched and moved again on every run.
		if a := actions[k]; a.Op == OpMove && sameFolder(a.Folder, o.Folder) {
			errs = append(errs, fmt.Errorf("actions: %s: %s moves into the polled folder", k, a))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("mailbox %q: %w", o.Name, errors.Join(errs...))
	}
	tc := o.TLSConfig.Clone()
	if tc == nil {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = o.Host
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	clk := o.Clock
	if clk == nil {
		clk = clock.Real
	}
	return &Poller{
		o:          o,
		sched:      sched,
		log:        log.With("mailbox", o.Name),
		clock:      clk,
		addr:       net.JoinHostPort(o.Host, fmt.Sprint(o.Port)),
		tlsConf:    tc,
		actions:    actions,
		unverified: o.Unverified,
		classify:   classify.Message,

		disposerConnMails: 20000,
		listUIDs:          5000,
	}, nil
}

// errNoStore is returned by the methods that need Options.Store without one.
var errNoStore = errors.New("poller: no store")

// Name returns the mailbox's name.
func (p *Poller) Name() string { return p.o.Name }

// Next returns when the schedule is next due after t.
func (p *Poller) Next(t time.Time) time.Time { return p.sched.Next(t) }

// sameFolder compares folder names as servers do: INBOX in any case is
// INBOX (RFC 9051 §5.1), other names are case-sensitive.
func sameFolder(a, b string) bool {
	if strings.EqualFold(a, "INBOX") {
		return strings.EqualFold(b, "INBOX")
	}
	return a == b
}

// Defaults of Options, and of a mailbox in the config (configs uses these:
// one source).
const (
	DefaultFolder         = "INBOX"
	DefaultSchedule       = "@every 5m"
	DefaultBatch          = 200
	DefaultMaxMessageSize = 10 << 20
	DefaultTimeout        = 60 * time.Second
)

// IsLoopback reports whether host is a loopback address (or localhost):
// the only hosts tls = "none" may reach.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Summary is the result of one pass over one mailbox.
type Summary struct {
	Mailbox     string
	RunID       int64 // 0 for a dry run
	UIDValidity uint32
	Reset       bool // UIDVALIDITY changed: the folder was rescanned

	Fetched    int // mails read from the server (or skipped by size)
	Recorded   int // new outcomes committed
	Duplicates int // already known by digest
	Skipped    int // too large or unreadable: recorded as skipped
	Disposed   int // moved, flagged, deleted or left, including pending ones
	Listed     int // mails above the cursor when the folder was listed (Fetched of them got processed)
	Pending    int // of Disposed: committed by an earlier run that stopped before disposing
	Gone       int // committed by an earlier run, then removed from the folder by another client: not counted in Disposed
	Redone     int // of Disposed: flagged by an earlier run because the server could not move them, moved now
	// Disposal says how this server disposes of mail to move, and why:
	// "MOVE", "UID COPY + UID EXPUNGE (no MOVE)" or "flag (neither MOVE
	// nor UIDPLUS)". Empty when the run did not get that far.
	Disposal   string
	Errors     int
	Suppressed int // recipients newly suppressed
	Unverified int // mails held as unverified (verify enforced): they changed nobody

	preview storage.PreviewRun   // a dry run: what its mails so far would do
	alerts  storage.SenderAlerts // the run's sender-side alerts, logged once at its end
	ByKind  map[classify.Kind]int

	Stopped bool // the context was cancelled: stopped after the batch in hand
}

func (s *Summary) stats(err error) storage.RunStats {
	st := storage.RunStats{
		Fetched:    s.Fetched,
		Recorded:   s.Recorded,
		Duplicates: s.Duplicates,
		Skipped:    s.Skipped,
		Disposed:   s.Disposed,
		Errors:     s.Errors,
		ByKind:     s.ByKind,
		Listed:     s.Listed,
		Backlog:    max(0, s.Listed-s.Fetched),
	}
	if err != nil {
		st.Err = err.Error()
	}
	return st
}

// Planned is what a dry run would do with one mail.
type Planned struct {
	UID      uint32
	Size     int64
	Skipped  string // why the mail would be recorded as skipped
	Stored   bool   // stored already (same source or same bytes): it would count once, as a duplicate
	Verdict  classify.Verdict
	Suppress []string // recipients the outcome would add to the suppression list
	Alerts   []string // sender-side alerts it would raise
	// Unverified: why the mail would be held as unverified (verify
	// enforced), "" when it would not.
	Unverified string
	Action     Action
}
