package main

import (
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/verp"
)

func TestVERPCommand(t *testing.T) {
	secret := "cmd-test-secret-0123456789"
	t.Setenv("BOUNCED_VERP_SECRET", secret)
	out, errOut, code := runCmd(t, "", "verp", "--from", "bounces@example.org", "--date", "2026-11-20", "Jane@Example.com", "b@example.net")
	if code != 0 {
		t.Fatalf("verp: exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("verp printed %q, want two return paths", out)
	}
	keys, _ := verp.New([]byte(secret))
	for i, want := range []string{"jane@example.com", "b@example.net"} {
		if !strings.HasPrefix(lines[i], "bounces+1") || !strings.HasSuffix(lines[i], "@example.org") {
			t.Errorf("verp line %d = %q, want bounces+1…@example.org", i, lines[i])
		}
		rcpt, sent, err := keys.Verify(verp.Find(lines[i]), time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), 0)
		if err != nil || rcpt != want || sent.Format(time.DateOnly) != "2026-11-20" {
			t.Errorf("verp line %d: Verify = %q, %s, %v; want %s sent 2026-11-20", i, rcpt, sent, err, want)
		}
	}
	out, _, code = runCmd(t, "", "verp", "--header", "jane@example.com")
	if code != 0 || !strings.HasPrefix(out, verp.Header+": 1") {
		t.Errorf("verp --header: exit %d, %q", code, out)
	}
	for _, args := range [][]string{
		{"verp", "jane@example.com"},                                          // no --from
		{"verp", "--from", "bounces@example.org"},                             // no address
		{"verp", "--from", "bounces@example.org", `"john doe"@example.com`},   // not signable
		{"verp", "--from", "bounces+x@example.org", "jane@example.com"},       // '+' in the base
		{"verp", "--from", "bounces@example.org", "--date", "soon", "j@x.io"}, // bad date
	} {
		if _, errOut, code := runCmd(t, "", args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, code, errOut)
		}
	}
	t.Setenv("BOUNCED_VERP_SECRET", "")
	if _, errOut, code := runCmd(t, "", "verp", "--from", "bounces@example.org", "jane@example.com"); code != 2 || !strings.Contains(errOut, "BOUNCED_VERP_SECRET") {
		t.Errorf("verp without a secret: exit %d, stderr %q", code, errOut)
	}
}
