package classify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

func TestLower(t *testing.T) {
	cases := append([]string{"", "abc", "ABC", "Mixed Case 550 5.1.1", "NÃO ENTREGUE", "İstanbul", "ǅ ǈ",
		"bad \xff\xfe UTF-8", "\xef\xbf\xbd kept", "Ä\x80", "trailing \xe2\x82", "Σ ΣΑΣ"}, fixtureTexts(t)...)
	for _, s := range cases {
		if got, want := lower(s), strings.ToLower(s); got != want {
			t.Errorf("lower(%.40q) = %.40q, want %.40q", s, got, want)
		}
	}
}

// fixtureTexts returns every fixture mail as a string: real text for the
// tests that compare a fast path with the standard library.
func fixtureTexts(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../testdata/bounces/*/*.eml")
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func TestLowerRune(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune+1; r++ {
		if got, want := lowerRune(r), unicode.ToLower(r); got != want {
			t.Fatalf("lowerRune(%U) = %U, want %U", r, got, want)
		}
	}
	if lowerRune(-1) != unicode.ToLower(-1) {
		t.Fatal("lowerRune(-1) differs")
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
