package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/monitor"
	"github.com/bounced/bounced/poller"
)

// serveMonitor starts the metrics and health server of `run` on
// cfg.Listen. It returns the function that stops it, the poller option
// that reports every mailbox's runs to it, and the function that tells it
// each config the daemon applies (health thresholds, mailboxes gone). The
// listen address is read at start: a reload does not move it.
func serveMonitor(cfg configs.Config, log *slog.Logger) (stop func(), mod func(*poller.Options), applied func(configs.Config), err error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	db := cfg.DB
	mon := monitor.New(func() string { return db }, nil)
	srv := &http.Server{Handler: mon.Handler(time.Now(), time.Minute), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving /metrics, /healthz and /readyz", "listen", ln.Addr().String())
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
	}
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
	return stop, mod, applied, nil
}
