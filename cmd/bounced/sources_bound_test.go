package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalReadingIsBounded: a large mbox is streamed message by message,
// a message above the limit of one mail is reported and skipped and the
// rest are read; a single mail above the limit is skipped unread.
func TestLocalReadingIsBounded(t *testing.T) {
	old := inMemoryFile
	inMemoryFile = 1 << 20
	defer func() { inMemoryFile = old }()
	dir := t.TempDir()
	msg := func(n int, body string) string {
		return fmt.Sprintf("From sender@example.org Thu Dec  3 10:00:00 2026\nSubject: m%d\n\n%s\n\n", n, body)
	}
	big := strings.Repeat("x", 100) + "\n"
	mbox := msg(1, "one") + msg(2, strings.Repeat(big, (maxMail/len(big))+10)) + msg(3, strings.Repeat(big, 20000)) + msg(4, "four")
	path := filepath.Join(dir, "big.mbox")
	if err := os.WriteFile(path, []byte(mbox), 0o600); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(dir, "single.eml")
	if err := os.WriteFile(single, []byte("Subject: x\n\n"+strings.Repeat(big, maxMail/len(big)+10)), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []string
	var errs []string
	err := walkMail([]string{path, single}, nil, func(m mail) error {
		subj, _, _ := strings.Cut(strings.TrimPrefix(string(m.Raw), "Subject: "), "\n")
		got = append(got, fmt.Sprintf("%d:%s", m.Index, subj))
		return nil
	}, func(p string, err error) { errs = append(errs, p+": "+err.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "1:m1 3:m3 4:m4" {
		t.Errorf("messages read = %v, want 1:m1 3:m3 4:m4", got)
	}
	if len(errs) != 2 || !strings.Contains(errs[0], "big.mbox#2: skipped") || !strings.Contains(errs[1], "single.eml: skipped") {
		t.Errorf("errors = %q, want mbox message 2 and the single mail skipped", errs)
	}
}
