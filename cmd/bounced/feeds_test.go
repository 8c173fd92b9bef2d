package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bounced/bounced/storage"
)

func TestSuppressionFeeds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	db, err := storage.Open(context.Background(), path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// In address order as well as time order: the list is sorted by
	// time, then address, and the three may share a timestamp or not.
	for _, a := range []string{`"john doe"@example.com`, "jane@example.com", "名前@例え.jp"} {
		if err := db.Suppress(context.Background(), a, "asked\nto leave"); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	out, _, code := runCmd(t, "", "suppressions", "--db", path, "--format", "addresses")
	if code != 0 || out != "\"john doe\"@example.com\njane@example.com\n名前@例え.jp\n" {
		t.Errorf("--format addresses: exit %d, %q", code, out)
	}
	out, errOut, code := runCmd(t, "", "suppressions", "--db", path, "--format", "postfix")
	want := "jane@example.com REJECT 5.1.1 suppressed by bounced (manual)\n名前@例え.jp REJECT 5.1.1 suppressed by bounced (manual)\n"
	if code != 0 || out != want || !strings.Contains(errOut, `cannot be a Postfix map key`) {
		t.Errorf("--format postfix: exit %d, %q, stderr %q; want %q", code, out, errOut, want)
	}
	out, _, code = runCmd(t, "", "suppressions", "--db", path, "--format", "text")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("--format text: exit %d, %q", code, out)
	}
	for _, l := range lines {
		// The fixed columns come first: the address starts at the same
		// byte on every line, however wide the addresses are.
		if strings.Index(l, "manual") != strings.Index(lines[0], "manual") || strings.Contains(l, "\n") {
			t.Errorf("--format text: misaligned line %q", l)
		}
	}
	if _, _, code := runCmd(t, "", "suppressions", "--db", path, "--format", "xml"); code != 2 {
		t.Errorf("--format xml: exit %d, want 2", code)
	}
}
