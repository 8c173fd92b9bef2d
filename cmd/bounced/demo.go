package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/bounced/bounced"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
)

func demoCommand() command {
	return command{
		name:    "demo",
		args:    "[--db PATH] [--testdata DIR]",
		summary: "zero-setup tour: an in-process IMAP server with sample bounces, the real pipeline, a report",
		help: `Starts go-imap's in-process IMAP server on 127.0.0.1, fills its INBOX with
the sample mails of the repository's testdata/bounces, built into the binary
(--testdata to use the mail files of another directory), then runs the real
pipeline once: fetch, classify, commit to SQLite, move. It prints the run's summary, what the server holds
afterwards, the report and the suppression list.

The database is a temporary file removed at exit, unless --db names one to
keep (then try 'bounced report --db PATH').`,
		run: func(ctx context.Context, e *env, args []string) error {
			fs := newFlagSet("demo")
			dbPath := fs.String("db", "", "keep the database in `PATH` (default: a temporary file)")
			dir := fs.String("testdata", "", "sample mails `DIR` (default: the samples built into the binary)")
			pos, err := parseFlags(fs, args)
			if err != nil {
				return err
			}
			if err := noArgs(fs, pos); err != nil {
				return err
			}
			return runDemo(ctx, e, *dbPath, *dir)
		},
	}
}

func runDemo(ctx context.Context, e *env, dbPath, dir string) error {
	mails, from, err := demoMails(dir)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	srv, err := startDemoServer(mails)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer srv.Close()
	fmt.Fprintf(e.stdout, "== an IMAP server on %s holds %d sample mails from %s in INBOX\n", srv.Addr, len(mails), from)

	if dbPath == "" {
		tmp, err := os.MkdirTemp("", "bounced-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dbPath = filepath.Join(tmp, "demo.db")
	}
	log := textLogger(e.stderr, slog.LevelWarn)
	db, err := storage.Open(ctx, dbPath, storage.Options{Logger: log, Archive: true})
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := poller.New(srv.Options("demo", db, log))
	if err != nil {
		return err
	}
	sum, err := p.PollOnce(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n== one run of the pipeline (fetch, classify, commit to %s, then move)\n", dbPath)
	printSummary(e.stdout, sum, false)

	folders, err := srv.Folders()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n== the server afterwards\n")
	for _, f := range folders {
		fmt.Fprintf(e.stdout, "  %-24s %d\n", f.Name, f.Messages)
	}
	return printDemoReport(ctx, e, db, dbPath)
}

// demoMails reads the sample mails: those built into the binary, or the
// mail files under dir. from names where they came from.
func demoMails(dir string) (mails [][]byte, from string, err error) {
	if dir == "" {
		err := iofs.WalkDir(bounced.Samples(), ".", func(path string, d iofs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := iofs.ReadFile(bounced.Samples(), path)
			if err != nil {
				return err
			}
			return emitMail(path, data, func(m mail) error {
				mails = append(mails, m.Raw)
				return nil
			})
		})
		if err != nil {
			return nil, "", fmt.Errorf("reading the built-in samples: %w", err)
		}
		return mails, "the built-in samples (testdata/bounces)", nil
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, "", fmt.Errorf("sample mails %s not found: pass a directory of mail files to --testdata, or leave it out for the built-in samples", dir)
	}
	var walkErrs []error
	err = walkMail([]string{dir}, nil, func(m mail) error {
		mails = append(mails, m.Raw)
		return nil
	}, func(path string, err error) { walkErrs = append(walkErrs, fmt.Errorf("%s: %w", path, err)) })
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", dir, err)
	}
	if len(mails) == 0 {
		return nil, "", fmt.Errorf("no mail under %s: %w", dir, errors.Join(walkErrs...))
	}
	return mails, dir, nil
}

// demoServer is go-imap's in-memory server on a loopback port with one
// user whose INBOX holds the sample mails.
type demoServer struct {
	Addr       string
	Port       int
	User, Pass string
	user       *imapmemserver.User
	srv        *imapserver.Server
}

func startDemoServer(mails [][]byte) (*demoServer, error) {
	pw := make([]byte, 12)
	rand.Read(pw)
	d := &demoServer{User: "bounces@demo.test", Pass: hex.EncodeToString(pw)}
	d.user = imapmemserver.NewUser(d.User, d.Pass)
	if err := d.user.Create("INBOX", nil); err != nil {
		return nil, err
	}
	for _, m := range mails {
		if err := d.Append("INBOX", m); err != nil {
			return nil, err
		}
	}
	mem := imapmemserver.New()
	mem.AddUser(d.user)
	d.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}},
		InsecureAuth: true, // loopback only
		Logger:       silentLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on loopback: %w", err)
	}
	go d.srv.Serve(ln)
	d.Addr = ln.Addr().String()
	d.Port = ln.Addr().(*net.TCPAddr).Port
	return d, nil
}

type silentLogger struct{}

func (silentLogger) Printf(string, ...any) {}

// Append adds a mail to a folder of the server.
func (d *demoServer) Append(folder string, raw []byte) error {
	_, err := d.user.Append(folder, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{})
	return err
}

type literal struct {
	io.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// Options are the poller options for the server's user.
func (d *demoServer) Options(name string, store poller.Store, log *slog.Logger) poller.Options {
	return poller.Options{
		Name:     name,
		Host:     "127.0.0.1",
		Port:     d.Port,
		TLS:      poller.TLSNone,
		Username: d.User,
		Secret:   func() (string, error) { return d.Pass, nil },
		Store:    store,
		Logger:   log,
	}
}

type folderCount struct {
	Name     string
	Messages uint32
}

// Folders lists the folders with their number of mails, as a client sees
// them.
func (d *demoServer) Folders() ([]folderCount, error) {
	c, err := imapclient.DialInsecure(d.Addr, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(d.User, d.Pass).Wait(); err != nil {
		return nil, err
	}
	l, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("listing folders: %w", err)
	}
	var out []folderCount
	for _, f := range l {
		st, err := c.Status(f.Mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			return nil, fmt.Errorf("status of %s: %w", f.Mailbox, err)
		}
		out = append(out, folderCount{Name: f.Mailbox, Messages: *st.NumMessages})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	c.Logout().Wait()
	return out, nil
}

func (d *demoServer) Close() error { return d.srv.Close() }

// printDemoReport prints the report and the suppression list of the demo
// database with the printers of 'bounced report' and 'bounced
// suppressions'.
func printDemoReport(ctx context.Context, e *env, db *storage.DB, dbPath string) error {
	r, err := db.Report(ctx, storage.ReportOptions{Top: 5})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n== bounced report --db %s\n", dbPath)
	if err := writeReportText(e.stdout, r); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n== bounced suppressions --db %s --format text\n", dbPath)
	return runSuppressions(ctx, e, []string{"--db", dbPath, "--format", "text"})
}
