package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/web"
)

func TestCSVCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=cmd|'/Ccalc'!A0@example.org", "'=cmd|'/Ccalc'!A0@example.org"},
		{"+1@example.org", "'+1@example.org"},
		{"-x@example.org", "'-x@example.org"},
		{"@SUM(1+1)", "'@SUM(1+1)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"-2+3", "'-2+3"},
		{"-1.5e3", "'-1.5e3"},
		{"-.5", "'-.5"},
		{"-", "'-"},
		{"-12", "-12"},
		{"-0.25", "-0.25"},
		{"42", "42"},
		{"0.00", "0.00"},
		{"alice@example.org", "alice@example.org"},
		{"'quoted", "''quoted"},
		{"'=1+1", "''=1+1"},
		{" =1+1", " =1+1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := web.CSVCell(tt.in); got != tt.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCSVWritersAreSafe checks that every CSV bounced writes goes through
// web.CSVWriter: no other file of cmd/, storage/ or web/ makes a csv.Writer.
func TestCSVWritersAreSafe(t *testing.T) {
	var files []string
	for _, dir := range []string{".", filepath.Join("..", "..", "storage"), filepath.Join("..", "..", "web")} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found %d Go files, want those of cmd/bounced and storage", len(files))
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == filepath.Join("..", "..", "web", "csv.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("csv.NewWriter")) {
			t.Errorf("%s makes its own csv.Writer: use web.NewCSVWriter, whose cells a spreadsheet does not run", f)
		}
	}
}

// unsafeCell reports whether a spreadsheet would run a cell as a formula.
func unsafeCell(c string) bool {
	return c != "" && strings.IndexByte("=+-@\t\r", c[0]) >= 0 && web.CSVCell(c) != c // a plain number stays
}

func TestReportCSVNeutralisesFormulas(t *testing.T) {
	r := &storage.Report{GeneratedAt: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	r.Outcomes.ByReason = map[string]int{"=1+1": 1}
	r.ByDomain = []storage.DomainCount{{Domain: "-evil.example", Outcomes: 2}}
	r.TopFailingDomains = []storage.DomainCount{{Domain: "+evil.example", Failed: 1}}
	r.Alerts = []storage.AlertCount{{Reason: "@blocked", Domain: "x.example", Count: 3}}
	r.Runs = []storage.Run{{Account: "=HYPERLINK(\"http://x.example\")", Started: r.GeneratedAt}}
	var b bytes.Buffer
	if err := writeReportCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"'=1+1": false, "'-evil.example": false, "'+evil.example": false,
		"'@blocked x.example": false, "'=HYPERLINK(\"http://x.example\")": false}
	for _, row := range rows {
		for _, c := range row {
			if unsafeCell(c) {
				t.Errorf("report csv: cell %q is a formula", c)
			}
			if _, ok := want[c]; ok {
				want[c] = true
			}
		}
	}
	for c, seen := range want {
		if !seen {
			t.Errorf("report csv: no cell %q in %q", c, rows)
		}
	}
}

func TestSuppressionsCSVNeutralisesFormulas(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	os.MkdirAll(dir, 0o755)
	mails := map[string]string{
		"1.eml": dsn("=cmd|'/Ccalc'!A0@example.org", "5.1.1", "550", "user unknown"),
		"2.eml": dsn("+1@example.org", "4.2.2", "452", "mailbox full"),
		"3.eml": dsn("-x@example.org", "4.2.2", "452", "mailbox full"),
	}
	for name, body := range mails {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(t.TempDir(), "b.db")
	if out, errOut, code := runCmd(t, "", "import", "--db", db, dir); code != 0 || !strings.Contains(out, "3 new") {
		t.Fatalf("import: exit %d, %q %q", code, out, errOut)
	}
	for addr, note := range map[string]string{"+1@example.org": "@SUM(1+1)", "-x@example.org": "\t=1+1"} {
		if _, errOut, code := runCmd(t, "", "recipient", "suppress", "--db", db, "--note", note, "--", addr); code != 0 {
			t.Fatalf("recipient suppress %s: exit %d, %s", addr, code, errOut)
		}
	}
	out, errOut, code := runCmd(t, "", "suppressions", "--db", db)
	if code != 0 {
		t.Fatalf("suppressions: exit %d, %s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("suppressions: %v, %q", err, out)
	}
	want := map[string]bool{"'=cmd|'/ccalc'!a0@example.org": false, "'+1@example.org": false, "'-x@example.org": false,
		"'@SUM(1+1)": false, "'\t=1+1": false}
	for _, row := range rows {
		for _, c := range row {
			if unsafeCell(c) {
				t.Errorf("suppressions csv: cell %q is a formula", c)
			}
			if _, ok := want[c]; ok {
				want[c] = true
			}
		}
	}
	for c, seen := range want {
		if !seen {
			t.Errorf("suppressions csv: no cell %q in %q", c, rows)
		}
	}
}
