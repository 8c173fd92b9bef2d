// Command bounced reads bounce mailboxes over IMAP, classifies every mail
// (RFC 3464 DSNs, RFC 5965 ARF reports, RFC 3834 auto-replies and the
// free-text bounces of real MTAs), stores the outcomes in SQLite and keeps a
// suppression list. See docs/commands.md for the commands.
//
// This package is wiring only: it parses flags, maps the config onto the
// options of classify, storage and poller, and prints results.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// A second signal exits at once. ch is registered before the first
	// signal can come, and every signal goes to every registered channel:
	// a second one sent right after the first is never lost between the two
	// registrations.
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch // the first: NotifyContext cancels ctx
		<-ch
		fmt.Fprintln(os.Stderr, "bounced: second signal, exiting now")
		os.Exit(1)
	}()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a mistake in the command line or the config: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errSilent is a failure that has already been reported (on stderr, per
// item): exit status 1 without another message.
var errSilent = errors.New("failed")

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "bounced: %v\n", err)
		return 2
	}
	if !errors.Is(err, errSilent) {
		fmt.Fprintf(stderr, "bounced: %v\n", err)
	}
	return 1
}

// env is what a subcommand may touch besides its arguments.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	help    string // long text for `bounced help NAME`
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		classifyCommand(),
		importCommand(),
		reportCommand(),
		suppressionsCommand(),
		recipientCommand(),
		reclassifyCommand(),
		runCommand(),
		pollCommand(),
		statusCommand(),
		webhooksCommand(),
		checkConfigCommand(),
		checkDBCommand(),
		demoCommand(),
		verpCommand(),
		authCommand(),
		{name: "version", summary: "print the version", run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usagef("version takes no arguments")
			}
			bi, _ := debug.ReadBuildInfo()
			fmt.Fprintf(e.stdout, "bounced %s\n", versionString(version, bi))
			return nil
		}},
	}
}

// versionString is the version set at build time. Without one ("dev"), it
// is the module version the go command recorded (`go install
// github.com/bounced/bounced/cmd/bounced@v1.2.3` records v1.2.3), else
// "dev" and the commit it was built from, when the go command recorded it.
func versionString(v string, bi *debug.BuildInfo) string {
	if v != "dev" || bi == nil {
		return v
	}
	if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
		return mv
	}
	var rev string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified {
		rev += "+modified"
	}
	return v + " (" + rev + ")"
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	cmds := commands()
	if len(args) == 0 {
		printUsage(stderr, cmds)
		return usagef("no command given")
	}
	switch args[0] {
	case "-h", "--help", "-help":
		printUsage(stdout, cmds)
		return nil
	case "--version", "-version":
		args = []string{"version"}
	case "help":
		if len(args) == 1 {
			printUsage(stdout, cmds)
			return nil
		}
		for _, c := range cmds {
			if c.name == args[1] {
				printHelp(stdout, c, commandFlags(ctx, e, c))
				return nil
			}
		}
		return usagef("help: unknown command %q", args[1])
	}
	for _, c := range cmds {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			var hr helpRequest
			if errors.As(err, &hr) {
				printHelp(stdout, c, hr.flags)
				return nil
			}
			return err
		}
	}
	printUsage(stderr, cmds)
	return usagef("unknown command %q", args[0])
}

func printUsage(w io.Writer, cmds []command) {
	fmt.Fprintf(w, "bounced keeps senders' lists clean: it reads bounce mailboxes, classifies every mail and keeps a suppression list.\n\nUsage:\n  bounced COMMAND [flags] [args]\n\nCommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'bounced help COMMAND' for a command's flags.\nExit status: 0 ok, 1 runtime failure, 2 usage or config error.\n")
}

// commandFlags returns the flag list of a command: every command parses
// its flags before doing anything, so asking it for -h has no effect
// besides the helpRequest.
func commandFlags(ctx context.Context, e *env, c command) string {
	var hr helpRequest
	if err := c.run(ctx, e, []string{"-h"}); errors.As(err, &hr) {
		return hr.flags
	}
	return ""
}

func printHelp(w io.Writer, c command, flags string) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", strings.TrimSpace("bounced "+c.name+" "+c.args), c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", c.help)
	}
	if flags != "" {
		fmt.Fprintf(w, "\nFlags:\n%s", flags)
	}
}
