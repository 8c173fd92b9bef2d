package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/storage"
)

// dsn is a small RFC 3464 bounce written for these tests.
func dsn(rcpt, status, code, text string) string {
	return "From: MAILER-DAEMON@mx.example.net\r\n" +
		"To: bounces@sender.example\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\n" +
		"Date: Mon, 02 Mar 2026 08:00:00 +0000\r\n" +
		"Message-ID: <" + strings.ReplaceAll(rcpt, "@", ".") + "@mx.example.net>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n" +
		"--b1\r\nContent-Type: message/delivery-status\r\n\r\n" +
		"Reporting-MTA: dns; mx.example.net\r\n\r\n" +
		"Final-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: " + status + "\r\n" +
		"Diagnostic-Code: smtp; " + code + " " + status + " " + text + "\r\n\r\n" +
		"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n" +
		"From: news@sender.example\r\nTo: " + rcpt + "\r\nSubject: News\r\nMessage-ID: <n1@sender.example>\r\nX-Campaign-Id: c7\r\n\r\n" +
		"--b1--\r\n"
}

func writeMails(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mail")
	os.MkdirAll(filepath.Join(dir, "cur"), 0o755)
	files := map[string]string{
		"cur/1.eml": dsn("gone@example.com", "5.1.1", "550", "user unknown"),
		"cur/2.eml": dsn("full@example.org", "4.2.2", "452", "mailbox full"),
		"archive.mbox": "From MAILER-DAEMON Mon Mar  2 08:00:00 2026\n" + strings.ReplaceAll(dsn("moved@example.net", "5.1.1", "550", "no such user"), "\r\n", "\n") +
			"\nFrom MAILER-DAEMON Mon Mar  2 09:00:00 2026\n" + strings.ReplaceAll(dsn("gone@example.com", "5.1.1", "550", "user unknown"), "\r\n", "\n"),
		"notes.txt": "",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestImportReportSuppressions(t *testing.T) {
	dir := writeMails(t)
	db := filepath.Join(t.TempDir(), "b.db")

	out, errOut, code := runCmd(t, "", "import", dir, "--db", db, "--archive")
	// notes.txt is empty: reported, the others go on, exit 1.
	if code != 1 || !strings.Contains(errOut, "notes.txt") {
		t.Errorf("import: exit %d, stderr %q; want 1 naming notes.txt", code, errOut)
	}
	if !strings.Contains(out, "3 new, 1 already stored") {
		t.Errorf("import: %q", out)
	}
	// The same mail in the mbox and in cur/ is one mail; a second import
	// stores nothing.
	out, _, _ = runCmd(t, "", "import", "--db", db, dir)
	if !strings.Contains(out, "0 new, 4 already stored") {
		t.Errorf("second import: %q", out)
	}

	out, errOut, code = runCmd(t, "", "report", "--db", db, "--format", "json")
	if code != 0 {
		t.Fatalf("report: exit %d, %s", code, errOut)
	}
	var rep struct {
		Messages struct {
			Total      int            `json:"total"`
			Duplicates int            `json:"duplicates"`
			ByKind     map[string]int `json:"by_kind"`
		} `json:"messages"`
		Outcomes struct {
			ByReason map[string]int `json:"by_reason"`
		} `json:"outcomes"`
		Suppressed int `json:"suppressed"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report json: %v\n%s", err, out)
	}
	if rep.Messages.Total != 3 || rep.Messages.Duplicates != 1 || rep.Messages.ByKind["bounce"] != 3 || rep.Suppressed != 2 ||
		rep.Outcomes.ByReason["userunknown"] != 2 {
		t.Errorf("report: %+v\n%s", rep, out)
	}
	for _, f := range []string{"text", "csv"} {
		out, errOut, code = runCmd(t, "", "report", "--db", db, "--format", f, "--since", "3650d")
		if code != 0 || !strings.Contains(out, "3") {
			t.Errorf("report --format %s: exit %d %s\n%s", f, code, errOut, out)
		}
	}

	out, _, code = runCmd(t, "", "suppressions", "--db", db)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 3 {
		t.Fatalf("suppressions: exit %d, %v, %q", code, err, out)
	}
	if h := strings.Join(rows[0][:3], ","); h != "address,reason,since" {
		t.Errorf("csv header starts %q", h)
	}
	// stored_id is the stored mail (message_id is a Message-ID elsewhere);
	// suppressed_at when bounced suppressed the address.
	if h := strings.Join(rows[0][len(rows[0])-2:], ","); h != "stored_id,suppressed_at" {
		t.Errorf("csv header ends %q, want stored_id,suppressed_at", h)
	}
	for _, row := range rows[1:] {
		if id, err := strconv.Atoi(row[len(row)-2]); err != nil || id <= 0 || row[len(row)-1] == "" {
			t.Errorf("csv row %q: want a stored_id and a suppressed_at", row)
		}
	}
	got := map[string]string{rows[1][0]: rows[1][1], rows[2][0]: rows[2][1]}
	if got["gone@example.com"] != "userunknown" || got["moved@example.net"] != "userunknown" {
		t.Errorf("suppressions: %v", rows)
	}
	out, _, _ = runCmd(t, "", "suppressions", "--db", db, "--format", "json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 || list[0]["set_by"] != "policy" ||
		list[0]["stored_id"] == nil || list[0]["message_id"] != nil || list[0]["suppressed_at"] == nil {
		t.Errorf("suppressions json: %v %q", err, out)
	}
	out, _, _ = runCmd(t, "", "suppressions", "--db", db, "--format", "text")
	if strings.Count(out, "\n") != 2 || strings.Contains(out, " \n") {
		t.Errorf("suppressions text (two lines, no trailing blanks): %q", out)
	}

	// By hand, with a note kept in the history.
	if _, errOut, code := runCmd(t, "", "recipient", "unsuppress", "gone@example.com", "--db", db); code != 2 || !strings.Contains(errOut, "--note") {
		t.Errorf("unsuppress without note: exit %d %q", code, errOut)
	}
	if out, errOut, code := runCmd(t, "", "recipient", "unsuppress", "Gone@Example.com", "--db", db, "--note", "customer called"); code != 0 {
		t.Errorf("unsuppress: exit %d %q %q", code, out, errOut)
	}
	if _, _, code := runCmd(t, "", "recipient", "suppress", "new@example.com", "--db", db, "--note", "asked to leave"); code != 0 {
		t.Errorf("suppress: exit %d", code)
	}
	out, _, _ = runCmd(t, "", "recipient", "gone@example.com", "--db", db)
	if !strings.Contains(out, "gone@example.com: active") || !strings.Contains(out, "customer called") || !strings.Contains(out, "by manual") ||
		!strings.Contains(out, "userunknown") {
		t.Errorf("recipient text:\n%s", out)
	}
	out, _, _ = runCmd(t, "", "recipient", "full@example.org", "--db", db, "--format", "json")
	if !strings.Contains(out, `"events": []`) {
		t.Errorf("recipient json of an address never suppressed: want \"events\": [], got\n%s", out)
	}
	out, _, _ = runCmd(t, "", "recipient", "new@example.com", "--db", db, "--format", "json")
	var h struct {
		Recipient struct {
			State  string `json:"state"`
			Manual bool   `json:"manual"`
		} `json:"recipient"`
		Events []struct {
			Note string `json:"note"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil || h.Recipient.State != "suppressed" || !h.Recipient.Manual || len(h.Events) != 1 || h.Events[0].Note != "asked to leave" {
		t.Errorf("recipient json: %v %s", err, out)
	}
	if _, errOut, code := runCmd(t, "", "recipient", "nobody@example.com", "--db", db); code != 1 || !strings.Contains(errOut, "not in the database") {
		t.Errorf("unknown recipient: exit %d %q", code, errOut)
	}

	out, errOut, code = runCmd(t, "", "reclassify", "--db", db)
	if code != 0 || !strings.Contains(out, "reclassified 3 archived mails") {
		t.Errorf("reclassify: exit %d %q %q", code, out, errOut)
	}
}

func TestStorageCommandErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, args := range [][]string{
		{"report", "--db", missing},
		{"suppressions", "--db", missing},
		{"recipient", "a@example.com", "--db", missing},
		{"reclassify", "--db", missing},
	} {
		if _, errOut, code := runCmd(t, "", args...); code != 1 || !strings.Contains(errOut, "does not exist") {
			t.Errorf("%v: exit %d %q", args, code, errOut)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("%v created the database", args)
		}
	}
	for _, args := range [][]string{
		{"report", "--format", "xml"},
		{"report", "--since", "yesterday"},
		{"report", "--top", "0"},
		{"suppressions", "--format", "xml"},
		{"suppressions", "extra"},
		{"recipient"},
		{"recipient", "suppress", "not-an-address", "--note", "x"},
		{"import"},
		{"reclassify", "--since", "-1d"},
	} {
		if _, errOut, code := runCmd(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%q)", args, code, errOut)
		}
	}
}

// TestImportConfigPolicy: --config gives the database path and the policy;
// stdin is imported too.
func TestImportConfigPolicy(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "from-config.db")
	cfg := filepath.Join(dir, "bounced.toml")
	toml := "db = \"" + filepath.ToSlash(db) + "\"\n[policy.reasons]\nuserunknown = \"score\"\n"
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, dsn("soft@example.com", "5.1.1", "550", "user unknown"), "import", "--config", cfg, "-")
	if code != 0 || !strings.Contains(out, "1 new") || strings.Contains(out, "suppressed") {
		t.Fatalf("import --config: exit %d %q %q", code, out, errOut)
	}
	out, _, code = runCmd(t, "", "report", "--config", cfg, "--format", "json")
	if code != 0 || !strings.Contains(out, `"score": 1`) || !strings.Contains(out, `"suppressed": 0`) {
		t.Errorf("report --config:\n%s", out)
	}
	// --db wins over the config.
	other := filepath.Join(dir, "other.db")
	runCmd(t, dsn("x@example.com", "5.1.1", "550", "user unknown"), "import", "--config", cfg, "--db", other, "-")
	if _, err := os.Stat(other); err != nil {
		t.Errorf("--db did not win over the config: %v", err)
	}
	if _, errOut, code := runCmd(t, "", "report", "--config", filepath.Join(dir, "nope.toml")); code != 2 {
		t.Errorf("missing config: exit %d %q", code, errOut)
	}
}

// TestExampleConfigPolicyIsDefault: the example config says its policy
// numbers are the defaults; a user who copies it must get the documented
// policy.
func TestExampleConfigPolicyIsDefault(t *testing.T) {
	c, err := configs.Parse(configs.Example())
	if err != nil {
		t.Fatal(err)
	}
	got, err := storagePolicy(c.Policy)
	if err != nil {
		t.Fatal(err)
	}
	want := storage.DefaultPolicy()
	if got.SoftThreshold != want.SoftThreshold || got.SoftWindow != want.SoftWindow ||
		got.SoftHalfLife != want.SoftHalfLife || got.QuietReset != want.QuietReset {
		t.Errorf("example policy = threshold %v, window %v, half-life %v, quiet reset %v; defaults are %v, %v, %v, %v",
			got.SoftThreshold, got.SoftWindow, got.SoftHalfLife, got.QuietReset,
			want.SoftThreshold, want.SoftWindow, want.SoftHalfLife, want.QuietReset)
	}
}

// TestImportCountsNoMail: a file that is no mail is reported, counted apart
// from the mails read, and makes the exit status 1; the rest is stored.
// The database beside the mail (with its -wal and -shm) is not read.
func TestImportCountsNoMail(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.eml"), []byte(dsn("gone@example.com", "5.1.1", "550", "user unknown")), 0o644)
	os.WriteFile(filepath.Join(dir, "b.bin"), []byte{0, 1, 2, 3}, 0o644)
	out, errOut, code := runCmd(t, "", "import", "--db", filepath.Join(dir, "x.db"), dir)
	if code != 1 || !strings.Contains(out, "1 new") || !strings.Contains(out, "1 no mail at all") || !strings.Contains(errOut, "b.bin") {
		t.Errorf("import of a mail and a binary file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
