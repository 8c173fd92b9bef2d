package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/bounced/bounced/classify"
)

func classifyCommand() command {
	return command{
		name:    "classify",
		args:    "[--format text|jsonl] PATH...",
		summary: "classify mail files, directories, mboxes or stdin and print verdicts",
		help: `A PATH is a file, a directory (walked in name order), an mbox (split at "From "
lines that follow a blank line) or - for stdin.

--format jsonl prints one JSON object per message: the verdict's fields plus
"source" (the path) and "index" (message number inside an mbox, 1 otherwise).
--format text (the default) prints one line per recipient:
  SOURCE[#INDEX] KIND[/FEEDBACK_TYPE] ADDRESS ACTION STATUS REASON hard|soft DECODER/RULE
A message without recipients prints one line with dashes in their place.

An unreadable file is reported on stderr and the others go on; the exit
status is then 1.`,
		run: runClassify,
	}
}

// classifyLine is one jsonl output line: the verdict plus where it came
// from.
type classifyLine struct {
	Source string `json:"source"`
	Index  int    `json:"index"`
	classify.Verdict
}

func runClassify(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("classify")
	format := fs.String("format", "text", "output format: text or jsonl")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := oneOf(fs, "format", *format, "text", "jsonl"); err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("classify: no PATH given (use - for stdin)")
	}
	if os.Getenv("GOGC") == "" {
		// A batch whose live heap is a few MB: the collector ran for
		// every few hundred mails. At 400 the whole command takes 8-10 %
		// less CPU over ten copies of the corpus, for about 17 MB more
		// peak RSS (docs/performance.md).
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	failed := false
	onErr := func(path string, err error) {
		failed = true
		out.Flush()
		fmt.Fprintf(e.stderr, "bounced: classify: %s: %v\n", path, err)
	}
	err = walkMail(paths, e.stdin, func(m mail) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := classify.Message(m.Raw)
		if err != nil {
			name := m.Source
			if m.Index > 1 {
				name = fmt.Sprintf("%s#%d", m.Source, m.Index)
			}
			onErr(name, errors.New(strings.TrimPrefix(err.Error(), "classify: ")))
			return nil
		}
		if *format == "jsonl" {
			return enc.Encode(classifyLine{Source: m.Source, Index: m.Index, Verdict: v})
		}
		return writeText(out, m, v)
	}, onErr)
	if err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if failed {
		return errSilent
	}
	return nil
}

// writeText prints one line per recipient, or one line for a message
// without recipients.
func writeText(w *bufio.Writer, m mail, v classify.Verdict) error {
	src := m.Source
	if m.Index > 1 {
		src = fmt.Sprintf("%s#%d", m.Source, m.Index)
	}
	kind := string(v.Kind)
	if v.FeedbackType != "" {
		kind += "/" + v.FeedbackType
	}
	if len(v.Recipients) == 0 {
		_, err := fmt.Fprintf(w, "%s %s - - - - - %s/%s\n", src, kind, v.Decoder, v.Rule)
		return err
	}
	for _, r := range v.Recipients {
		hard := "soft"
		if r.Hard {
			hard = "hard"
		}
		_, err := fmt.Fprintf(w, "%s %s %s %s %s %s %s %s/%s\n", src, kind, dash(r.Address), dash(string(r.Action)),
			dash(r.Status), dash(string(r.Reason)), hard, v.Decoder, dash(r.Rule))
		if err != nil {
			return err
		}
	}
	return nil
}

func dash(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, " \t") {
		if s == "" {
			return "-"
		}
		return strings.Join(strings.Fields(s), "_")
	}
	return s
}
