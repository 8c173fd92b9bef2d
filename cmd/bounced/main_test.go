package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// runCmd runs the CLI in-process and returns stdout, stderr and the exit code.
func runCmd(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	code := exitCode(err, &errb)
	return out.String(), errb.String(), code
}

func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		args    []string
		code    int
		wantOut string
		wantErr string
	}{
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"help"}, 0, "check-config", ""},
		{[]string{"help", "classify"}, 0, "Usage: bounced classify", ""},
		{[]string{"help", "classify"}, 0, "-format string", ""},
		{[]string{"classify", "--help"}, 0, "Usage: bounced classify", ""},
		{[]string{"report", "-h"}, 0, "-since DURATION", ""},
		{[]string{"poll", "--config", "x.toml", "-help"}, 0, "-dry-run", ""},
		{[]string{"help", "version"}, 0, "Usage: bounced version\n", ""},
		{[]string{"help", "nope"}, 2, "", `unknown command "nope"`},
		{[]string{"version"}, 0, "bounced ", ""},
		{[]string{"--version"}, 0, "bounced ", ""},
		{[]string{"version", "x"}, 2, "", "takes no arguments"},
		{nil, 2, "", "no command given"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		out, errOut, code := runCmd(t, "", tt.args...)
		if code != tt.code {
			t.Errorf("bounced %q: exit %d, want %d (stderr %q)", tt.args, code, tt.code, errOut)
		}
		if !strings.Contains(out, tt.wantOut) {
			t.Errorf("bounced %q: stdout %q lacks %q", tt.args, out, tt.wantOut)
		}
		if !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("bounced %q: stderr %q lacks %q", tt.args, errOut, tt.wantErr)
		}
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		out, _, code := runCmd(t, "", "help", c.name)
		if code != 0 || !strings.Contains(out, "Usage: bounced "+c.name) {
			t.Errorf("help %s: exit %d, out %q", c.name, code, out)
		}
		// Every flag named in the synopsis is listed under Flags.
		for _, f := range strings.Fields(c.args) {
			name, ok := strings.CutPrefix(strings.Trim(f, "[]|"), "--")
			if !ok {
				continue
			}
			if !strings.Contains(out, "\n  -"+name+" ") && !strings.Contains(out, "\n  -"+name+"\n") {
				t.Errorf("help %s: flag --%s of the synopsis is not listed:\n%s", c.name, name, out)
			}
		}
		if c.name == "version" {
			continue
		}
		dashOut, errOut, code := runCmd(t, "", c.name, "--help")
		if code != 0 || dashOut != out || errOut != "" {
			t.Errorf("%s --help: exit %d, stderr %q; stdout differs from 'help %s': %v", c.name, code, errOut, c.name, dashOut != out)
		}
		if c.summary == "" {
			t.Errorf("command %s has no summary", c.name)
		}
	}
}

// TestREADMEDocumentsEveryCommand: the README is the reference of every
// subcommand and flag (issue 2); a new command or flag must land there too.
func TestREADMEDocumentsEveryCommand(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(readme)
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	for _, c := range commands() {
		if !strings.Contains(doc, "bounced "+c.name) {
			t.Errorf("README.md does not show 'bounced %s'", c.name)
		}
		for _, line := range strings.Split(commandFlags(context.Background(), e, c), "\n") {
			f, ok := strings.CutPrefix(line, "  -")
			if !ok {
				continue
			}
			name, _, _ := strings.Cut(f, " ")
			if !strings.Contains(doc, "--"+name) {
				t.Errorf("README.md does not document --%s of 'bounced %s'", name, c.name)
			}
		}
	}
}

func TestVersionString(t *testing.T) {
	vcs := &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		v    string
		bi   *debug.BuildInfo
		want string
	}{
		{"1.2.3", vcs, "1.2.3"},
		{"dev", vcs, "dev (0123456789ab+modified)"},
		{"dev", &debug.BuildInfo{}, "dev"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"}, // go install ...@v1.4.0
		{"1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "1.2.3"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs.Settings}, "dev (0123456789ab+modified)"},
		{"dev", nil, "dev"},
	}
	for _, tt := range tests {
		if got := versionString(tt.v, tt.bi); got != tt.want {
			t.Errorf("versionString(%q) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
