package classify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLower(t *testing.T) {
	cases := []string{"", "abc", "ABC", "Mixed Case 550 5.1.1", "NÃO ENTREGUE", "İstanbul", "ǅ ǈ",
		"bad \xff\xfe UTF-8", "\xef\xbf\xbd kept", "Ä\x80", "trailing \xe2\x82", "Σ ΣΑΣ"}
	files, _ := filepath.Glob("../testdata/bounces/*/*.eml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := lower(s), strings.ToLower(s); got != want {
			t.Errorf("lower(%.40q) = %.40q, want %.40q", s, got, want)
		}
	}
}

func FuzzLower(f *testing.F) {
	f.Add("Mixed NÃO \xff İ")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := lower(s), strings.ToLower(s); got != want {
			t.Errorf("lower(%q) = %q, want %q", s, got, want)
		}
	})
}
