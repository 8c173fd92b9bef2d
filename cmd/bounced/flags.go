package main

import (
	"flag"
	"io"
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
