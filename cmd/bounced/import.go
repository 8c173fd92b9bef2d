package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/storage"
)

func importCommand() command {
	return command{
		name:    "import",
		args:    "[--db PATH] [--config FILE] [--archive] [--verify off|record|enforce] [--secret-env NAME] PATH...",
		summary: "classify local mail and store it (files, directories, mbox, maildir)",
		help: `Classifies every mail under the PATHs (a file, a directory such as a maildir,
walked in name order, an mbox, or - for stdin) and stores the outcomes in the
database, applying the suppression policy: a backfill from an old archive, or
the easy way to try bounced without a mailbox.

Idempotent: a mail already stored (the same file and mbox position, or the
same bytes once line ends are normalised) is counted once, however often it
is imported. Its time is the bounce's Date header, else the file's mtime.
The raw mail is archived (for 'bounced reclassify') with --archive or when
the config enables [archive].

--verify checks the signed VERP token of each bounce as a mailbox with that
verify setting does (docs/verp.md; the secret from --secret-env, default
BOUNCED_VERP_SECRET): with enforce, a bounce that proves nothing changes
nobody. Whatever --verify says, one mail suppresses at most
max_suppress_per_mail addresses.

A file that cannot be read or is no mail is reported on stderr and the others
go on; the exit status is then 1.`,
		run: runImport,
	}
}

// importBatch is how many mails one transaction stores.
const importBatch = 200

type importStats struct {
	read, recorded, duplicates int
	notMail                    int // read, but no mail (classify.ErrNotMessage)
	byKind                     map[classify.Kind]int
	suppressed                 int
	unverified                 int // held: verify enforced and the mail proved nothing
}

func runImport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("import")
	dbf := addDBFlags(fs)
	dbf.archive = fs.Bool("archive", false, "keep the raw mail for 'bounced reclassify' (also [archive] in the config)")
	verify := fs.String("verify", "off", "check VERP tokens: off, record or enforce (docs/verp.md)")
	secretEnv := fs.String("secret-env", configs.DefaultVerifySecretEnv, "environment variable holding the VERP secret (with --verify)")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("import: no PATH given (use - for stdin)")
	}
	vf, err := verifier(configs.Mailbox{Verify: *verify, VerifySecretEnv: *secretEnv, VerifyMaxAge: configs.Duration(configs.DefaultVerifyMaxAge)})
	if err != nil {
		return usagef("import: %v", err)
	}
	db, release, _, err := dbf.open(ctx, e, dbWrite, true)
	if err != nil {
		return err
	}
	defer release()

	st := importStats{byKind: map[classify.Kind]int{}}
	failed := false
	onErr := func(path string, err error) {
		failed = true
		fmt.Fprintf(e.stderr, "bounced: import: %s: %v\n", path, err)
	}
	mtimes := map[string]time.Time{}
	absPaths := map[string]string{}
	var batch []storage.Record
	var alerts storage.SenderAlerts // logged once for the whole import
	defer alerts.Log(textLogger(e.stderr, slog.LevelWarn))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := db.Record(ctx, batch)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		alerts.Add(res)
		for _, r := range res {
			if r.Duplicate {
				st.duplicates++
				continue
			}
			st.recorded++
			st.byKind[r.Kind]++
			st.suppressed += len(r.Suppressed)
			if r.Unverified {
				st.unverified++
			}
		}
		batch = batch[:0]
		return nil
	}
	err = walkMail(paths, e.stdin, func(m mail) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		st.read++
		v, err := classify.Message(m.Raw)
		if err != nil {
			name := m.Source
			if m.Index > 1 {
				name = fmt.Sprintf("%s#%d", m.Source, m.Index)
			}
			st.notMail++
			onErr(name, err)
			return nil
		}
		rec := storage.Record{Raw: m.Raw, Verdict: v, ReceivedAt: v.Date}
		at := v.Date
		if at.IsZero() {
			at = time.Now()
		}
		rec.Verification = vf.Verify(&rec.Verdict, at)
		if m.Source != "-" {
			abs, ok := absPaths[m.Source]
			if !ok {
				abs, err = filepath.Abs(m.Source)
				if err != nil {
					abs = m.Source
				}
				absPaths[m.Source] = abs
			}
			rec.Source = storage.Source{Path: abs, Index: m.Index}
			if rec.ReceivedAt.IsZero() {
				mt, ok := mtimes[m.Source]
				if !ok {
					if fi, err := os.Stat(m.Source); err == nil {
						mt = fi.ModTime()
					}
					mtimes[m.Source] = mt
				}
				rec.ReceivedAt = mt
			}
		}
		batch = append(batch, rec)
		if len(batch) >= importBatch {
			return flush()
		}
		return nil
	}, onErr)
	if err == nil {
		err = flush()
	}
	printImport(e, st)
	if err != nil {
		return err
	}
	if failed {
		return errSilent
	}
	return nil
}

func printImport(e *env, st importStats) {
	fmt.Fprintf(e.stdout, "read %d mails: %d new, %d already stored", st.read, st.recorded, st.duplicates)
	if st.notMail > 0 {
		fmt.Fprintf(e.stdout, ", %d no mail at all", st.notMail)
	}
	if st.suppressed > 0 {
		fmt.Fprintf(e.stdout, "; %d addresses suppressed", st.suppressed)
	}
	if st.unverified > 0 {
		fmt.Fprintf(e.stdout, "; %d unverified (changed nobody)", st.unverified)
	}
	fmt.Fprintln(e.stdout)
	for _, k := range classify.Kinds {
		if n := st.byKind[k]; n > 0 {
			fmt.Fprintf(e.stdout, "  %-10s %d\n", k, n)
		}
	}
}
