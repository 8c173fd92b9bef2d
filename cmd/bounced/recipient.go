package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bounced/bounced/storage"
)

func recipientCommand() command {
	return command{
		name:    "recipient",
		args:    "[--db PATH] [--config FILE] [--format text|json] ADDRESS | suppress|unsuppress ADDRESS --note TEXT",
		summary: "one address: history and state; suppress or unsuppress by hand",
		help: `'bounced recipient ADDRESS' prints the address's current state (active or
suppressed, why, since when, whether a person set it), its counters and soft
score, the history of its state changes and every outcome stored for it
(sender-side alerts included).

'bounced recipient suppress ADDRESS --note TEXT' suppresses it by hand; the
policy never lifts a manual suppression.
'bounced recipient unsuppress ADDRESS --note TEXT' makes it active again: a
fresh start, where its soft score restarts from zero, and it holds against
automatic re-suppression until a newer bounce proves by its signed VERP token
that it answers mail sent to the address (docs/verp.md), or a person
suppresses it again. Both are kept in the history with the note, which is required.`,
		run: runRecipient,
	}
}

func runRecipient(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("recipient")
	dbf := addDBFlags(fs)
	format := fs.String("format", "text", "output format: text or json")
	note := fs.String("note", "", "why (suppress and unsuppress)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 2 && (pos[0] == "suppress" || pos[0] == "unsuppress") {
		if strings.TrimSpace(*note) == "" {
			return usagef("recipient %s: --note TEXT is required (it is kept in the history)", pos[0])
		}
		if !strings.Contains(pos[1], "@") {
			return usagef("recipient %s: %q is no address", pos[0], pos[1])
		}
		db, release, _, err := dbf.open(ctx, e, dbWrite, false)
		if err != nil {
			return err
		}
		defer release()
		if pos[0] == "suppress" {
			err = db.Suppress(ctx, pos[1], *note)
		} else {
			err = db.Unsuppress(ctx, pos[1], *note)
		}
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("recipient %s: %s is not in the database", pos[0], pos[1])
		}
		if err != nil {
			return err
		}
		addr, _ := storage.NormalizeAddress(pos[1])
		fmt.Fprintf(e.stdout, "%s: %sed by hand\n", addr, pos[0])
		return nil
	}
	if len(pos) != 1 {
		return usagef("recipient: want ADDRESS, or suppress|unsuppress ADDRESS --note TEXT")
	}
	if err := oneOf(fs, "format", *format, "text", "json"); err != nil {
		return err
	}
	db, release, _, err := dbf.open(ctx, e, dbRead, false)
	if err != nil {
		return err
	}
	defer release()
	h, err := db.Recipient(ctx, pos[0])
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("recipient: %s is not in the database", pos[0])
	}
	if err != nil {
		return err
	}
	if *format == "json" {
		// Empty lists are [], not null, for the scripts that read them.
		if h.Events == nil {
			h.Events = []storage.Event{}
		}
		if h.Outcomes == nil {
			h.Outcomes = []storage.Outcome{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(h)
	}
	return writeRecipientText(e, h)
}

func writeRecipientText(e *env, h storage.History) error {
	b := bufio.NewWriter(e.stdout)
	r := h.Recipient
	fmt.Fprintf(b, "%s: %s", r.Address, r.State)
	if r.State == storage.StateSuppressed {
		fmt.Fprintf(b, " (%s) since %s by %s, recorded %s", r.Reason, rfc3339(r.Since), setBy(r), rfc3339(r.SuppressedAt))
	} else if r.Manual {
		fmt.Fprintf(b, " since %s, set by hand", rfc3339(r.Since))
	}
	fmt.Fprintln(b)
	if r.Note != "" {
		fmt.Fprintf(b, "  note: %s\n", r.Note)
	}
	fmt.Fprintf(b, "  bounces %d, delays %d, complaints %d, reports %d, autoreplies %d, delivered %d\n",
		r.Bounces, r.Delays, r.Complaints, r.Reports, r.Autoreplies, r.Delivered)
	if !r.FirstBounce.IsZero() {
		fmt.Fprintf(b, "  first bounce %s, last bounce %s\n", rfc3339(r.FirstBounce), rfc3339(r.LastBounce))
	}
	if !r.ScoreAt.IsZero() {
		fmt.Fprintf(b, "  soft score %.2f at %s\n", r.Score, rfc3339(r.ScoreAt))
	}
	if len(h.Events) > 0 {
		fmt.Fprintf(b, "\nHistory:\n")
		for _, ev := range h.Events {
			fmt.Fprintf(b, "  %s  %-10s by %-10s %s", rfc3339(ev.At), ev.State, ev.By, ev.Reason)
			if ev.Note != "" {
				fmt.Fprintf(b, "  (%s)", ev.Note)
			}
			if ev.StoredID > 0 {
				fmt.Fprintf(b, "  stored mail %d", ev.StoredID)
			}
			fmt.Fprintln(b)
		}
	}
	if len(h.Outcomes) > 0 {
		fmt.Fprintf(b, "\nOutcomes:\n")
		for _, o := range h.Outcomes {
			rc := o.Recipient
			hs := "soft"
			if rc.Hard {
				hs = "hard"
			}
			fmt.Fprintf(b, "  %s  %-9s %-9s %-5s %-3s %-16s %s -> %s  stored mail %d\n", rfc3339(o.At), o.Kind, rc.Action,
				rc.Status, rc.ReplyCode, rc.Reason, hs, o.Policy, o.StoredID)
			if rc.Diagnostic != "" {
				fmt.Fprintf(b, "      %s\n", rc.Diagnostic)
			}
		}
	}
	return b.Flush()
}
