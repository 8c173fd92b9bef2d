package main

import (
	"os"
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

// TestImportVerify imports a forged and a genuine DSN with --verify
// enforce: only the genuine one suppresses, the report counts the other.
func TestImportVerify(t *testing.T) {
	secret := "cmd-test-secret-0123456789"
	t.Setenv("BOUNCED_VERP_SECRET", secret)
	keys, _ := verp.New([]byte(secret))
	dir := t.TempDir()
	dsn := func(deliveredTo, rcpt string) string {
		return "Delivered-To: " + deliveredTo + "\r\nFrom: MAILER-DAEMON@mx.example\r\nTo: " + deliveredTo +
			"\r\nSubject: failure\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n" +
			"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n" +
			"Final-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
			"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--b--\r\n"
	}
	rp, err := keys.ReturnPath("bounces@sender.example", "jane@example.com", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir+"/forged.eml", dsn("bounces@sender.example", "ceo@bigcustomer.example"))
	writeFile(t, dir+"/genuine.eml", dsn(rp, "jane@example.com"))
	db := dir + "/b.db"
	out, errOut, code := runCmd(t, "", "import", "--db", db, "--verify", "enforce", dir)
	if code != 0 || !strings.Contains(out, "1 addresses suppressed") || !strings.Contains(out, "1 unverified") {
		t.Fatalf("import --verify enforce: exit %d, %q, %q", code, out, errOut)
	}
	out, _, _ = runCmd(t, "", "suppressions", "--db", db, "--format", "text")
	if !strings.Contains(out, "jane@example.com") || strings.Contains(out, "ceo@") {
		t.Errorf("suppressions = %q, want jane only", out)
	}
	out, _, _ = runCmd(t, "", "report", "--db", db)
	if !strings.Contains(out, "1 verified, 1 unverified (1 held") || !strings.Contains(out, "no token") {
		t.Errorf("report lacks the verification section:\n%s", out)
	}
	if _, errOut, code := runCmd(t, "", "import", "--db", db, "--verify", "always", dir); code != 2 || !strings.Contains(errOut, "verify") {
		t.Errorf("import --verify always: exit %d, %q", code, errOut)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
