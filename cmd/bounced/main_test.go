package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"unicode"

	"github.com/BurntSushi/toml"

	"github.com/bounced/bounced/configs"
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

// TestDocsCommandsDocumentsEveryCommand: docs/commands.md is the reference
// of every subcommand and flag (issues 2 and 9); a new command or flag must
// land there too, in the command's own section ("## `bounced NAME`").
func TestDocsCommandsDocumentsEveryCommand(t *testing.T) {
	sections := docSections(t, readRepoFile(t, "docs/commands.md"))
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	for _, c := range commands() {
		sec, ok := sections["`bounced "+c.name+"`"]
		if !ok {
			t.Errorf("docs/commands.md has no section \"## `bounced %s`\"", c.name)
			continue
		}
		for _, name := range flagNames(commandFlags(context.Background(), e, c)) {
			if !regexp.MustCompile(`--` + regexp.QuoteMeta(name) + `\b`).MatchString(sec) {
				t.Errorf("docs/commands.md does not document --%s in the section of 'bounced %s'", name, c.name)
			}
		}
	}
}

// TestREADMENamesEveryCommand: the README's command table has a row for
// every command ("| `bounced NAME ...` | ..."), so the front door lists
// them all while docs/commands.md holds the detail.
func TestREADMENamesEveryCommand(t *testing.T) {
	rows := map[string]bool{}
	for _, line := range strings.Split(readRepoFile(t, "README.md"), "\n") {
		rest, ok := strings.CutPrefix(line, "| `bounced ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, "`")
		name, _, _ = strings.Cut(name, " ")
		rows[name] = true
	}
	for _, c := range commands() {
		if !rows[c.name] {
			t.Errorf("README.md's command table has no row for 'bounced %s'", c.name)
		}
	}
}

// TestDocsConfigurationDocumentsEveryKey: docs/configuration.md explains
// every key of the example config that bounced embeds (configs.Example),
// the keys set there and the ones shown commented out ("# token_env = ..."),
// each in the section of its table ("## `[archive]`"; top-level keys under
// "## Top level"; a sub-table without its own section under its parent's).
func TestDocsConfigurationDocumentsEveryKey(t *testing.T) {
	sections := docSections(t, readRepoFile(t, "docs/configuration.md"))
	keys := exampleKeys(t, configs.Example())
	if len(keys) < 40 {
		t.Fatalf("found only %d keys in the example config: %v", len(keys), keys)
	}
	for _, k := range keys {
		table, key := "", k
		if i := strings.LastIndex(k, "."); i >= 0 {
			table, key = k[:i], k[i+1:]
		}
		sec, heading := configSection(sections, table)
		if heading == "" {
			t.Errorf("docs/configuration.md has no section for the table [%s] (key %s)", table, k)
			continue
		}
		if !strings.Contains(sec, "`"+key+"`") && !strings.Contains(sec, "`"+key+" =") {
			t.Errorf("docs/configuration.md does not document %s in its section %q", k, heading)
		}
	}
}

// configSection returns the section of configuration.md for a table of the
// config ("" for the top level), falling back to the parent table's.
func configSection(sections map[string]string, table string) (string, string) {
	if table == "" {
		return sections["Top level"], "Top level"
	}
	for t := table; t != ""; {
		for _, h := range []string{"`[" + t + "]`", "`[[" + t + "]]`"} {
			if sec, ok := sections[h]; ok {
				return sec, h
			}
		}
		i := strings.LastIndex(t, ".")
		if i < 0 {
			break
		}
		t = t[:i]
	}
	return "", ""
}

// exampleKeys lists the dotted keys (table.key) of an example config: every
// key it sets, and every key shown in a comment as "# key = value" (or
// "# or key = value" after a setting), in the table the comment is in.
func exampleKeys(t *testing.T, example []byte) []string {
	t.Helper()
	var raw map[string]any
	md, err := toml.Decode(string(example), &raw)
	if err != nil {
		t.Fatalf("decoding the example config: %v", err)
	}
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, k := range md.Keys() {
		if typ := md.Type(k...); typ == "Hash" || typ == "ArrayHash" {
			continue // a table: its keys are checked
		}
		add(k.String())
	}
	// A table header, also a commented-out one ("# [mailbox.oauth2]").
	header := regexp.MustCompile(`^(?:#\s*)?\[\[?([a-z0-9_.]+)\]\]?\s*$`)
	commented := regexp.MustCompile(`^\s*(?:or\s+)?([a-z][a-z0-9_]*)\s*=\s`)
	table := ""
	for _, line := range strings.Split(string(example), "\n") {
		line = strings.TrimSpace(line)
		if m := header.FindStringSubmatch(line); m != nil {
			table = m[1]
		}
		_, comment, ok := strings.Cut(line, "#")
		if !ok {
			continue
		}
		if m := commented.FindStringSubmatch(comment); m != nil {
			if table != "" {
				add(table + "." + m[1])
			} else {
				add(m[1])
			}
		}
	}
	return keys
}

// TestDocsLinks: every relative link of README.md and docs/*.md leads to a
// file that exists, and a link to a heading (file.md#anchor) to a heading
// that exists, named the way GitHub names them.
func TestDocsLinks(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	anchors := map[string]map[string]bool{} // file -> its heading anchors
	anchorsOf := func(path string) map[string]bool {
		if a, ok := anchors[path]; ok {
			return a
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		a := headingAnchors(string(data))
		anchors[path] = a
		return a
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		for _, m := range link.FindAllStringSubmatch(withoutCode(string(data)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			full := f
			if path != "" {
				full = filepath.Join(filepath.Dir(f), filepath.FromSlash(path))
				if _, err := os.Stat(full); err != nil {
					t.Errorf("%s: link %q: %v", rel, target, err)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(full, ".md") && !anchorsOf(full)[anchor] {
				t.Errorf("%s: link %q: no heading with the anchor #%s", rel, target, anchor)
			}
		}
	}
}

// readRepoFile reads a file of the repository by its slash path.
func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// docSections splits a Markdown document at its "## " headings: heading
// text -> the section's text up to the next one.
func docSections(t *testing.T, doc string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, part := range strings.Split("\n"+withoutCode(doc), "\n## ")[1:] {
		heading, body, _ := strings.Cut(part, "\n")
		out[strings.TrimSpace(heading)] = body
	}
	if len(out) == 0 {
		t.Fatal("document has no ## sections")
	}
	return out
}

// withoutCode blanks the lines of fenced code blocks, where "## " and "](x)"
// are no Markdown.
func withoutCode(doc string) string {
	lines := strings.Split(doc, "\n")
	in := false
	for i, l := range lines {
		fence := strings.HasPrefix(strings.TrimSpace(l), "```")
		if in || fence {
			lines[i] = ""
		}
		if fence {
			in = !in
		}
	}
	return strings.Join(lines, "\n")
}

// headingAnchors returns the anchors GitHub gives the headings of doc:
// lower case, letters, digits, '-' and '_' kept, spaces made '-', the rest
// dropped; a repeated anchor gets "-1", "-2"...
func headingAnchors(doc string) map[string]bool {
	out := map[string]bool{}
	count := map[string]int{}
	for _, l := range strings.Split(withoutCode(doc), "\n") {
		text, ok := strings.CutPrefix(l, "#")
		if !ok {
			continue
		}
		text = strings.TrimLeft(text, "#")
		if !strings.HasPrefix(text, " ") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := count[a]; n > 0 {
			count[a]++
			a = fmt.Sprintf("%s-%d", a, n)
		} else {
			count[a] = 1
		}
		out[a] = true
	}
	return out
}

// flagNames returns the flag names of a command's flag list as
// flag.PrintDefaults writes it ("  -name type\n    \tusage").
func flagNames(defaults string) []string {
	var names []string
	for _, line := range strings.Split(defaults, "\n") {
		f, ok := strings.CutPrefix(line, "  -")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(f, " ")
		names = append(names, name)
	}
	return names
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
