package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/monitor"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/web"
)

// serveMonitor starts the metrics and health server of `run` on
// cfg.Listen, and the web report (package web) on every other path. It returns the function that stops it, the poller option
// that reports every mailbox's runs to it, the function that tells it
// each config the daemon applies (health thresholds, mailboxes gone), and
// the monitor (the webhook worker reports to it). The
// listen address is read at start: a reload does not move it.
func serveMonitor(cfg configs.Config, log *slog.Logger) (stop func(), mod func(*poller.Options), applied func(configs.Config), mon *monitor.Monitor, err error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	db := cfg.DB
	mon = monitor.New(func() string { return db }, nil)
	report, err := newReport(cfg, log)
	if err != nil {
		ln.Close()
		return nil, nil, nil, nil, err
	}
	mux := http.NewServeMux()
	monH := mon.Handler(time.Now(), time.Minute)
	for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
		mux.Handle(p, monH)
	}
	mux.Handle("/", report)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving /metrics, /healthz, /readyz and the web report", "listen", ln.Addr().String())
	mod = func(o *poller.Options) {
		o.Store = mon.Wrap(o.Store)
		if sched, err := configs.ParseSchedule(o.Schedule); err == nil {
			mon.Schedule(o.Name, sched.Next)
		}
	}
	applied = func(c configs.Config) {
		mon.SetHealthOptions(c.Health.Options())
		var names []string
		for _, m := range c.Mailboxes {
			if !m.Disabled {
				names = append(names, m.Name)
			}
		}
		mon.Keep(names)
		report.apply(c)
	}
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		report.close()
	}
	return stop, mod, applied, mon, nil
}

// report is the web report of `run`: it reads the database through a
// read-only handle of its own, opened at the first request (the daemon
// may not have created the file yet) and again when a reload names
// another file, and shows the mailboxes and health thresholds of the
// config in effect.
type report struct {
	*web.Handler
	mu        sync.Mutex
	path      string // the config's db
	db        *storage.DB
	opened    string // the file db is open on
	mailboxes []web.Mailbox
	health    storage.HealthOptions
}

func newReport(cfg configs.Config, log *slog.Logger) (*report, error) {
	token, password, err := cfg.Web.Credentials()
	if err != nil {
		return nil, err
	}
	auth := web.Auth{Required: cfg.Public(), Token: token, User: cfg.Web.User, Password: password}
	if auth.Required && token == "" && password == "" {
		log.Warn("the web report refuses every request: listen is not a loopback address and [web] sets no token or user and password", "listen", cfg.Listen)
	}
	r := &report{}
	r.apply(cfg)
	r.Handler = web.New(web.Options{
		DB: r.open,
		Mailboxes: func() []web.Mailbox {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.mailboxes
		},
		Health: func() storage.HealthOptions {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.health
		},
		Auth:   auth,
		Logger: log,
	})
	return r, nil
}

// apply takes the mailboxes, thresholds and database of a config.
func (r *report) apply(c configs.Config) {
	var ms []web.Mailbox
	for _, m := range c.Mailboxes {
		if m.Disabled {
			continue
		}
		wm := web.Mailbox{Name: m.Name}
		if sched, err := configs.ParseSchedule(m.Schedule); err == nil {
			wm.Next = sched.Next
		}
		ms = append(ms, wm)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mailboxes, r.health, r.path = ms, c.Health.Options(), c.DB
}

func (r *report) open(ctx context.Context) (*storage.DB, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.db != nil && r.opened == r.path {
		return r.db, nil
	}
	if r.db != nil {
		// Pages being served on the old handle fail; the next ones read
		// the new file.
		r.db.Close()
		r.db = nil
	}
	db, err := storage.Open(ctx, r.path, storage.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	r.db, r.opened = db, r.path
	return db, nil
}

func (r *report) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.db != nil {
		r.db.Close()
		r.db = nil
	}
}
