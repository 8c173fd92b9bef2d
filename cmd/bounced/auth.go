package main

import (
	"context"
	"fmt"
	"time"
)

func authCommand() command {
	return command{
		name:    "auth",
		args:    "--config FILE MAILBOX",
		summary: "sign a mailbox in to its OAuth 2.0 provider once (device flow); keeps the refresh token",
		help: `For a mailbox with [mailbox.oauth2] (Gmail, Microsoft 365): runs the device
authorization grant (RFC 8628). It prints a URL and a code; open the URL on any
device, enter the code and sign in as the mailbox's user. bounced waits (up to
the code's lifetime, usually 15 minutes), then writes the refresh token to
oauth2.refresh_token_file (owner-only, atomically) and gets a first access
token with it. Every later login gets its access token with that refresh
token; run auth again when the provider revokes it ("invalid_grant" in the
run's error). No browser is needed on the server.`,
		run: runAuth,
	}
}

func runAuth(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("auth")
	cfgPath := fs.String("config", "bounced.toml", "config `FILE`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("auth: name one MAILBOX")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	m, ok := cfg.Mailbox(pos[0])
	if !ok {
		return usagef("auth: no mailbox %q in %s", pos[0], *cfgPath)
	}
	if !m.OAuth2.Enabled() {
		return usagef("auth: mailbox %q has no [mailbox.oauth2]: the device flow is for bounced's own OAuth 2.0 client", m.Name)
	}
	src, err := oauthRefresh(m)
	if err != nil {
		return fmt.Errorf("auth: mailbox %q: %w", m.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	if err := src.Device(ctx, e.stdout); err != nil {
		return fmt.Errorf("auth: mailbox %q: %w", m.Name, err)
	}
	if _, err := src.Token(ctx); err != nil {
		return fmt.Errorf("auth: mailbox %q: the first access token: %w", m.Name, err)
	}
	fmt.Fprintf(e.stdout, "mailbox %q is signed in; try it with 'bounced check-config --config %s'.\n", m.Name, *cfgPath)
	return nil
}
