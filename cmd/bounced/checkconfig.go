package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/webhook"
)

func checkConfigCommand() command {
	return command{
		name:    "check-config",
		args:    "--config FILE [--offline]",
		summary: "validate the config, then try every mailbox",
		help: `Reports every problem of the config at once (exit status 2). Then checks
the database (an existing file opens as a bounced database; a missing one
has a directory to be created in) and, per enabled mailbox: reads the
secret, connects, logs in, examines the folder read-only, looks for the
action folders (missing ones are created by the first run) and says which
capabilities the server has (MOVE, UIDPLUS) and what the poller does
without them. Nothing is changed on the server. Per [[webhook]]: reads its
secret (or listmonk's token) from the environment and connects to the
receiver (TLS verified for https) without sending it anything: there is no
test event, so a wrong path, token or secret shows at the first delivery.
Exit status 1 if the database, a mailbox or a webhook failed. --offline
stops after the config, the database and the webhooks' secrets.`,
		run: func(ctx context.Context, e *env, args []string) error {
			fs := newFlagSet("check-config")
			cfgPath := fs.String("config", "bounced.toml", "config `FILE`")
			offline := fs.Bool("offline", false, "check the file, the database and the webhooks' secrets; do not connect")
			pos, err := parseFlags(fs, args)
			if err != nil {
				return err
			}
			if err := noArgs(fs, pos); err != nil {
				return err
			}
			cfg, err := configs.Load(*cfgPath)
			if err != nil {
				var problems []string
				if j, ok := err.(interface{ Unwrap() []error }); ok {
					for _, e := range j.Unwrap() {
						problems = append(problems, strings.Split(e.Error(), "\n")...)
					}
				} else {
					problems = strings.Split(err.Error(), "\n")
				}
				fmt.Fprintf(e.stdout, "%s: %d problem(s):\n", *cfgPath, len(problems))
				for _, p := range problems {
					fmt.Fprintf(e.stdout, "  - %s\n", strings.TrimPrefix(p, *cfgPath+": "))
				}
				return usageError{errors.New("check-config: the config has problems")}
			}
			enabled := 0
			for _, m := range cfg.Mailboxes {
				if !m.Disabled {
					enabled++
				}
			}
			hooks := ""
			if n := len(cfg.Webhooks); n > 0 {
				hooks = fmt.Sprintf(", %d webhook(s)", n)
			}
			fmt.Fprintf(e.stdout, "%s: config ok: %d mailbox(es), %d enabled%s, database %s\n", *cfgPath, len(cfg.Mailboxes), enabled, hooks, cfg.DB)
			log := textLogger(e.stderr, slog.LevelError)
			failed := false
			if msg, err := checkDatabase(ctx, cfg, log); err != nil {
				failed = true
				fmt.Fprintf(e.stdout, "  FAIL database %s: %v\n", cfg.DB, err)
			} else {
				fmt.Fprintf(e.stdout, "  ok   database %s: %s\n", cfg.DB, msg)
			}
			if *offline {
				if checkWebhooks(ctx, cfg, e.stdout, true) || failed {
					return errSilent
				}
				return nil
			}
			for _, m := range cfg.Mailboxes {
				if m.Disabled {
					fmt.Fprintf(e.stdout, "mailbox %q: disabled, not tried\n", m.Name)
					continue
				}
				fmt.Fprintf(e.stdout, "mailbox %q: %s:%d (tls %s, auth %s as %s), folder %s\n", m.Name, m.Host, m.Port, m.TLS, m.Auth, m.Username, m.Folder)
				switch {
				case m.OAuth2.Enabled():
					// The login below gets a token with the refresh token.
					if _, err := os.Stat(m.OAuth2.RefreshTokenFile); err != nil {
						failed = true
						fmt.Fprintf(e.stdout, "  FAIL oauth2.refresh_token_file: %v: sign in first with 'bounced auth --config FILE %s'\n", err, m.Name)
						continue
					}
				case len(m.TokenCommand) > 0:
					// The login below runs the command.
				default:
					if _, err := m.Secret(); err != nil {
						failed = true
						fmt.Fprintf(e.stdout, "  FAIL secret: %v\n", err)
						continue
					}
				}
				ps, err := buildPollers(cfg, nil, log, m.Name)
				if err != nil {
					failed = true
					fmt.Fprintf(e.stdout, "  FAIL options: %v\n", err)
					continue
				}
				c, err := ps[0].Check(ctx)
				if err != nil {
					failed = true
					fmt.Fprintf(e.stdout, "  FAIL %v\n", err)
					continue
				}
				fmt.Fprintf(e.stdout, "  ok   login\n  ok   folder %s: %d mails\n", serverName(m.Folder, c.Folder), c.Messages)
				caps := "none of them"
				if len(c.Caps) > 0 {
					caps = strings.Join(c.Caps, " ")
				}
				fmt.Fprintf(e.stdout, "  ok   capabilities: %s (MOVE %s, UIDPLUS %s): disposal by %s\n", caps, yesNo(c.Move), yesNo(c.UIDPlus), c.Disposal)
				for _, f := range c.Folders {
					switch {
					case f.Exists:
						fmt.Fprintf(e.stdout, "  ok   action folder %s exists\n", serverName(f.Name, f.Wire))
					case f.Err != nil:
						failed = true
						fmt.Fprintf(e.stdout, "  FAIL action folder %s cannot be created: %v\n", serverName(f.Name, f.Wire), f.Err)
					case f.Left != "":
						fmt.Fprintf(e.stdout, "  ok   action folder %s: the first run creates it (checked: created; %s could not be deleted again)\n", serverName(f.Name, f.Wire), f.Left)
					case c.Move || c.UIDPlus:
						fmt.Fprintf(e.stdout, "  ok   action folder %s: the first run creates it (checked: created and deleted again)\n", serverName(f.Name, f.Wire))
					}
				}
				for _, n := range c.Notes {
					fmt.Fprintf(e.stdout, "  note %s\n", n)
				}
			}
			if checkWebhooks(ctx, cfg, e.stdout, false) {
				failed = true
			}
			if failed {
				return errSilent
			}
			return nil
		},
	}
}

// checkDatabase says whether the daemon will be able to use the database,
// without creating or changing it: what a run needs (a directory to create
// it in, write access to it and its -wal/-shm files; an empty file is no
// database), that an existing file opens as a bounced database, and that
// SQLite's quick_check finds it sound.
func checkDatabase(ctx context.Context, cfg configs.Config, log *slog.Logger) (string, error) {
	if err := storage.CheckFiles(cfg.DB, false); err != nil {
		return "", err
	}
	if _, err := os.Stat(cfg.DB); errors.Is(err, os.ErrNotExist) {
		return "does not exist yet; the first run creates it in " + filepath.Dir(cfg.DB), nil
	}
	db, release, err := openStore(ctx, cfg, log, dbRead, false)
	if err != nil {
		return "", err
	}
	defer release()
	if err := db.QuickCheck(ctx, false); err != nil {
		return "", err
	}
	return "exists, opens, writable, quick_check ok", nil
}

// checkWebhooks says per [[webhook]] what the file cannot: that its
// secret (listmonk: its token) is set in the environment, as run and poll
// need at start, and, unless offline, that the receiver can be reached
// (webhook.Target.Probe: a connection, TLS verified, no request). It
// returns whether one failed.
func checkWebhooks(ctx context.Context, cfg configs.Config, w io.Writer, offline bool) bool {
	failed := false
	for _, h := range cfg.Webhooks {
		kind := h.WebhookKind()
		events := "all"
		switch {
		case len(h.Events) > 0:
			events = strings.Join(h.Events, ", ")
		case kind == webhook.KindListmonk:
			events = string(storage.EventSuppressionAdded) // all that listmonk takes
		}
		where := h.URL
		if u, err := url.Parse(h.URL); err == nil {
			where = u.Scheme + "://" + u.Host + u.Path // a query may hold a token
		}
		fmt.Fprintf(w, "webhook %q: %s %s, events %s\n", h.Name, kind, where, events)
		ok := true
		if h.SecretEnv != "" {
			if ss, err := h.Secrets(); err != nil {
				ok = false
				fmt.Fprintf(w, "  FAIL %v\n", err)
			} else {
				rotation := ""
				if len(ss) > 1 {
					rotation = fmt.Sprintf(" (%d secrets: a rotation, each signs)", len(ss))
				}
				fmt.Fprintf(w, "  ok   secret_env %s is set%s\n", h.SecretEnv, rotation)
			}
		}
		if h.TokenEnv != "" {
			if _, err := h.Token(); err != nil {
				ok = false
				fmt.Fprintf(w, "  FAIL %v\n", err)
			} else {
				fmt.Fprintf(w, "  ok   token_env %s is set\n", h.TokenEnv)
			}
		}
		if !ok {
			failed = true
			continue
		}
		if offline {
			continue
		}
		t := webhook.Target{Name: h.Name, URL: h.URL, Kind: kind, Timeout: time.Duration(h.Timeout)}
		msg, err := t.Probe(ctx, nil)
		if err != nil {
			failed = true
			fmt.Fprintf(w, "  FAIL %v\n", err)
			continue
		}
		fmt.Fprintf(w, "  ok   %s; no event sent (a wrong path, token or secret shows at the first delivery)\n", msg)
	}
	return failed
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// serverName names a folder of the config with its name on the server when
// the server's namespace makes them differ.
func serverName(name, wire string) string {
	if wire == "" || wire == name {
		return name
	}
	return fmt.Sprintf("%s (on the server %s)", name, wire)
}
