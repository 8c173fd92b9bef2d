package main

import (
	"flag"
	"io"
	"slices"
	"strings"
)

// helpRequest is what parseFlags returns for -h, -help or --help: the
// dispatcher prints the command's help, with these flags, on stdout and
// exits 0. `bounced help CMD` gets a command's flags the same way.
type helpRequest struct{ flags string }

func (h helpRequest) Error() string { return "help requested" }

// newFlagSet returns a FlagSet whose errors become usage errors (exit 2)
// and whose -h asks for the command's help (helpRequest).
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// (`bounced classify a.eml --format jsonl`).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, helpRequest{flags: flagDefaults(fs)}
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func flagDefaults(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// noArgs refuses the positional arguments of a command that takes none.
func noArgs(fs *flag.FlagSet, pos []string) error {
	if len(pos) > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), pos[0])
	}
	return nil
}

// oneOf checks the value of --name against its choices, with one message
// for every command: "report: --format must be text, json or csv, not "x"".
func oneOf(fs *flag.FlagSet, name, value string, choices ...string) error {
	if slices.Contains(choices, value) {
		return nil
	}
	list := choices[0]
	if n := len(choices); n > 1 {
		list = strings.Join(choices[:n-1], ", ") + " or " + choices[n-1]
	}
	return usagef("%s: --%s must be %s, not %q", fs.Name(), name, list, value)
}
