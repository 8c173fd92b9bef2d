package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/web"
)

func suppressionsCommand() command {
	return command{
		name:    "suppressions",
		args:    "[--db PATH] [--config FILE] [--format csv|json|text|addresses|postfix] [--since DURATION]",
		summary: "the suppression list to feed a mailer",
		help: `Prints every suppressed address in the order bounced suppressed them: the
list to feed your mailer. --since 1h lists only the addresses bounced
suppressed in that period (suppressed_at), whatever the time of the mail that
caused it (since): an incremental feed misses nothing that was seen late (a
backfill, a daemon that was down). Let the periods of a feed overlap a little
(--since 70m every hour): a batch being committed as the feed reads is listed
the next time, and listing an address twice does no harm.

--format csv (the default) has a header row:
  address,reason,since,set_by,note,domain,bounces,complaints,score,last_bounce,stored_id,suppressed_at
reason is a bounce reason (userunknown, hostunknown, mailboxfull, ...),
complaint:<feedback type>, or manual; set_by is policy or manual; since is
when the failure happened (the time of the mail), suppressed_at when bounced
suppressed the address; times are UTC RFC 3339; stored_id is the stored mail
that caused it (see 'bounced recipient ADDRESS'). A cell that starts with =, +,
-, @, a tab or a CR gets a leading ' so that a spreadsheet does not run it as a
formula (an address =cmd|'/Ccalc'!A0@example.org), and so does one that starts
with ': drop one leading ' from a cell to get the value; plain numbers stay.
--format json prints a JSON array of objects with the same fields and more;
--format text prints one line per address: when, set by, reason, then the
address and the note (the columns of variable width last, so that a long or
double-width address never shifts the others).
--format addresses prints the addresses only, one per line.
--format postfix prints a Postfix access map ("ADDRESS REJECT text", for
postmap and check_recipient_access): an address that cannot be a map key
(white space or control characters in a quoted local part) is left out and
named on stderr. Recipes for listmonk, Postfix and CSV imports: docs/feeds.md.
The database is opened read-only.`,
		run: runSuppressions,
	}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func setBy(r storage.Recipient) string {
	if r.Manual {
		return "manual"
	}
	return "policy"
}

func runSuppressions(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("suppressions")
	dbf := addDBFlags(fs)
	format := fs.String("format", "csv", "output format: csv, json, text, addresses or postfix")
	sinceFlag := fs.String("since", "", "only addresses bounced suppressed in the last `DURATION` (36h, 7d)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	if err := oneOf(fs, "format", *format, "csv", "json", "text", "addresses", "postfix"); err != nil {
		return err
	}
	since, err := parseSince("suppressions", *sinceFlag, time.Now())
	if err != nil {
		return err
	}
	db, release, _, err := dbf.open(ctx, e, dbRead, false)
	if err != nil {
		return err
	}
	defer release()

	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	var each func(r storage.Recipient) error
	finish := func() error { return nil }
	switch *format {
	case "csv":
		cw := web.NewCSVWriter(out)
		cw.Write(web.SuppressionsHeader)
		each = func(r storage.Recipient) error { return cw.Write(web.SuppressionRow(r)) }
		finish = func() error { cw.Flush(); return cw.Error() }
	case "json":
		n := 0
		out.WriteString("[")
		each = func(r storage.Recipient) error {
			b, err := json.Marshal(struct {
				storage.Recipient
				SetBy string `json:"set_by"`
			}{r, setBy(r)})
			if err != nil {
				return err
			}
			if n > 0 {
				out.WriteString(",")
			}
			n++
			out.WriteString("\n  ")
			_, err = out.Write(b)
			return err
		}
		finish = func() error {
			if n > 0 {
				out.WriteString("\n")
			}
			_, err := out.WriteString("]\n")
			return err
		}
	case "addresses":
		each = func(r storage.Recipient) error {
			_, err := fmt.Fprintln(out, oneLine(r.Address))
			return err
		}
	case "postfix":
		each = func(r storage.Recipient) error {
			if !mapKey(r.Address) {
				fmt.Fprintf(e.stderr, "bounced: suppressions: %q cannot be a Postfix map key: left out\n", r.Address)
				return nil
			}
			_, err := fmt.Fprintf(out, "%s REJECT 5.1.1 suppressed by bounced (%s)\n", r.Address, oneLine(r.Reason))
			return err
		}
	default:
		each = func(r storage.Recipient) error {
			line := fmt.Sprintf("%s %-6s %-18s %s  %s", r.Since.UTC().Format("2006-01-02 15:04"), setBy(r), oneLine(r.Reason), oneLine(r.Address), oneLine(r.Note))
			_, err := fmt.Fprintln(out, strings.TrimRight(line, " "))
			return err
		}
	}
	if err := db.Suppressions(ctx, since, each); err != nil {
		return err
	}
	return finish()
}

// oneLine keeps a value on its line: control characters (a newline in a
// hostile address or note) become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
}

// mapKey reports whether an address can be a key of a Postfix lookup
// table: no white space, no control character, not empty.
func mapKey(a string) bool {
	if a == "" || a[0] == '#' {
		return false
	}
	for _, r := range a {
		if r <= ' ' || r == 0x7f || r == 0x2028 || r == 0x2029 {
			return false
		}
	}
	return true
}
