package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestClassifyJSONL(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "bounces", "postfix")
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"classify", dir, "--format", "jsonl"}, strings.NewReader(""), &out, &errb)
	if err != nil {
		t.Fatalf("classify: %v (stderr %q)", err, errb.String())
	}
	emls, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(emls) || len(emls) == 0 {
		t.Fatalf("classify printed %d lines for %d mails:\n%s", len(lines), len(emls), out.String())
	}
	for _, l := range lines {
		var o struct {
			Source     string `json:"source"`
			Index      int    `json:"index"`
			Kind       string `json:"kind"`
			Recipients []struct {
				Address string `json:"address"`
				Reason  string `json:"reason"`
			} `json:"recipients"`
		}
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		// Each line says what the fixture's golden file says.
		golden, err := os.ReadFile(strings.TrimSuffix(o.Source, ".eml") + ".golden.json")
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		var want struct {
			Kind       string `json:"kind"`
			Recipients []struct {
				Address string `json:"address"`
				Reason  string `json:"reason"`
			} `json:"recipients"`
		}
		if err := json.Unmarshal(golden, &want); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(o.Source, dir) || o.Index != 1 || o.Kind != want.Kind || !slices.Equal(o.Recipients, want.Recipients) {
			t.Errorf("classify line = %+v, want one from %s with index 1, kind %s and recipients %+v", o, dir, want.Kind, want.Recipients)
		}
	}
}

func TestClassifyMboxStdinText(t *testing.T) {
	mbox := "From a@b Mon Jan  1 00:00:00 2026\n" +
		"From: MAILER-DAEMON@mx.example\nTo: s@shop.example\nSubject: failure notice\n\n" +
		"Hi. This is the qmail-send program at mx.example.\n\n<x@dest.example>:\n550 5.1.1 no such user\n\n" +
		"From c@d Mon Jan  1 00:00:01 2026\n" +
		"From: friend@example.org\nTo: s@shop.example\nSubject: hello\n\nHi there\n"
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"classify", "-"}, strings.NewReader(mbox), &out, &errb); err != nil {
		t.Fatalf("classify -: %v", err)
	}
	got := out.String()
	if !strings.Contains(got, "- bounce x@dest.example failed 5.1.1 userunknown hard qmail/") {
		t.Errorf("classify - text output lacks the bounce line:\n%s", got)
	}
	if !strings.Contains(got, "-#2 notbounce") {
		t.Errorf("classify - text output lacks the second message:\n%s", got)
	}
}

func TestClassifyUnreadableGoesOn(t *testing.T) {
	good := filepath.Join("..", "..", "testdata", "bounces", "qmail", "no-mailbox.eml")
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"classify", filepath.Join(t.TempDir(), "missing.eml"), good}, strings.NewReader(""), &out, &errb)
	if !errors.Is(err, errSilent) {
		t.Fatalf("classify with a missing file: err = %v, want errSilent", err)
	}
	if exitCode(err, &errb) != 1 {
		t.Errorf("exit code = %d, want 1", exitCode(err, &errb))
	}
	if !strings.Contains(errb.String(), "missing.eml") {
		t.Errorf("stderr %q does not name the missing file", errb.String())
	}
	if !strings.Contains(out.String(), "frank@mail.example") {
		t.Errorf("the readable file was not classified: %q", out.String())
	}
}

func TestClassifyUsage(t *testing.T) {
	for _, args := range [][]string{{"classify"}, {"classify", "--format", "xml", "a.eml"}} {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, strings.NewReader(""), &out, &errb)
		if code := exitCode(err, &errb); code != 2 {
			t.Errorf("run(%q): exit %d, want 2 (err %v)", args, code, err)
		}
	}
}

// TestWalkMaildir: in a maildir only cur/ and new/ hold mail; tmp/ (mail
// still being delivered) and the server's own files beside them (a real
// Dovecot maildir has dovecot.index, dovecot-uidlist, maildirfolder) are
// no mail and no error.
func TestWalkMaildir(t *testing.T) {
	root := t.TempDir()
	md := filepath.Join(root, "Maildir")
	mailText := func(subj string) []byte {
		return []byte("From: friend@example.org\r\nTo: s@shop.example\r\nSubject: " + subj + "\r\n\r\nHello.\r\n")
	}
	files := map[string][]byte{
		"cur/1.host:2,S":           mailText("in cur"),
		"new/2.host":               mailText("in new"),
		"tmp/3.host":               []byte("From: half"),
		"dovecot.index":            {0, 1, 2, 3},
		"dovecot-uidlist":          []byte("3 V1 N3\n1 :1.host\n"),
		"maildirfolder":            nil,
		".Sent/cur/4.host:2,S":     mailText("subfolder"),
		".Sent/maildirfolder":      nil,
		"../loose-mail-beside.eml": mailText("beside the maildir"),
	}
	for name, data := range files {
		p := filepath.Join(md, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := walkMail([]string{root}, strings.NewReader(""), func(m mail) error {
		rel, _ := filepath.Rel(root, m.Source)
		got = append(got, filepath.ToSlash(rel))
		return nil
	}, func(path string, err error) { t.Errorf("walkMail reported %s: %v", path, err) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Maildir/cur/1.host:2,S", "Maildir/new/2.host", "loose-mail-beside.eml"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("walkMail read %q, want %q", got, want)
	}
}
