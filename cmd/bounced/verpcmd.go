package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/verp"
)

func verpCommand() command {
	return command{
		name:    "verp",
		args:    "--from BASE [--secret-env NAME] [--header] [--date YYYY-MM-DD] ADDRESS...",
		summary: "print the signed return path (or header token) for mail to ADDRESS",
		help: `'bounced verp --from bounces@example.org jane@example.com' prints the signed
return path a mailer uses as the envelope sender (MAIL FROM) of the mail it
sends to jane@example.com:

  bounces+1TOKEN=jane=example.com@example.org

A bounce that comes back to that address proves that it answers mail sent to
jane@example.com on that day: with verify = "enforce" on a mailbox, only such
bounces suppress anyone (docs/verp.md has the format). --header prints the
header line to add to the message instead, for a mailer that cannot change
its return path. The secret is read from the environment variable named by
--secret-env (default BOUNCED_VERP_SECRET; several secrets separated by
commas: the first signs). Go programs can import
github.com/bounced/bounced/verp and do the same.`,
		run: runVERP,
	}
}

func runVERP(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("verp")
	from := fs.String("from", "", "the bounce address to sign (bounces@example.org)")
	secretEnv := fs.String("secret-env", configs.DefaultVerifySecretEnv, "environment variable holding the secret")
	header := fs.Bool("header", false, "print the "+verp.Header+" header line instead of a return path")
	date := fs.String("date", "", "the send day (default today, UTC)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("verp: name at least one ADDRESS")
	}
	if *from == "" && !*header {
		return usagef("verp: --from BASE is required (or --header)")
	}
	day := time.Now()
	if *date != "" {
		if day, err = time.Parse(time.DateOnly, *date); err != nil {
			return usagef("verp: --date %q: want YYYY-MM-DD", *date)
		}
	}
	v := os.Getenv(*secretEnv)
	if strings.TrimSpace(v) == "" {
		return usagef("verp: environment variable %s is not set: it holds the secret (at least 16 bytes; e.g. openssl rand -hex 32)", *secretEnv)
	}
	secrets, err := verp.ParseSecrets(v)
	if err != nil {
		return usagef("verp: %s: %v", *secretEnv, err)
	}
	keys, err := verp.New(secrets...)
	if err != nil {
		return usagef("verp: %s: %v", *secretEnv, err)
	}
	for _, a := range pos {
		var out string
		if *header {
			var tok string
			if tok, err = keys.Token(a, day); err == nil {
				out = verp.Header + ": " + tok
			}
		} else {
			out, err = keys.ReturnPath(*from, a, day)
		}
		if err != nil {
			return usagef("verp: %v", err)
		}
		fmt.Fprintln(e.stdout, out)
	}
	return nil
}
