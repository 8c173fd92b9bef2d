package classify

import (
	"strings"
	"testing"
)

// TestJoinFields: joinFields is strings.Join(strings.Fields(s), " ") on
// spaces of every kind, bad UTF-8 and every fixture.
func TestJoinFields(t *testing.T) {
	cases := append([]string{"", " ", "a", "  a  b  ", "a\tb\r\nc", "\v\fx\u0085y\u00a0z\u2003", "bad \xff\xfe  UTF-8",
		"\xe2\x80", "tail \xe2\x80", "日本 語\u3000です", "\u00a0lead and trail\u00a0"}, fixtureTexts(t)...)
	for _, s := range cases {
		if got, want := joinFields(s), strings.Join(strings.Fields(s), " "); got != want {
			t.Errorf("joinFields(%.40q) = %.40q, want %.40q", s, got, want)
		}
	}
}

func FuzzJoinFields(f *testing.F) {
	f.Add("a \t b\u00a0c \xff\u2003 d\n")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := joinFields(s), strings.Join(strings.Fields(s), " "); got != want {
			t.Errorf("joinFields(%q) = %q, want %q", s, got, want)
		}
	})
}

func TestTrimSet(t *testing.T) {
	lines := []string{"", "-", "  ----- Original message -----  ", "> [returned message]", "=*_#|[]", "x"}
	for _, text := range fixtureTexts(t) {
		lines = append(lines, strings.Split(text, "\n")...)
	}
	for _, l := range lines {
		if got, want := trimSet(l, &decoration), strings.Trim(l, " \t-=*_#>|[]"); got != want {
			t.Errorf("trimSet(%q, decoration) = %q, want %q", l, got, want)
		}
		if got, want := trimLeftSet(l, &asciiSpace), strings.TrimLeft(l, " \t\n\v\f\r"); got != want {
			t.Errorf("trimLeftSet(%q, asciiSpace) = %q, want %q", l, got, want)
		}
		if got, want := decorated(l), strings.HasPrefix(strings.TrimSpace(l), "-") || strings.HasPrefix(strings.TrimSpace(l), "=") ||
			strings.HasPrefix(strings.TrimSpace(l), "*") || strings.HasPrefix(strings.TrimSpace(l), "_"); got != want {
			t.Errorf("decorated(%q) = %v, want %v", l, got, want)
		}
	}
}

func FuzzTrimSet(f *testing.F) {
	f.Add(" -- Original message -- ")
	f.Fuzz(func(t *testing.T, l string) {
		if got, want := trimSet(l, &decoration), strings.Trim(l, " \t-=*_#>|[]"); got != want {
			t.Errorf("trimSet(%q, decoration) = %q, want %q", l, got, want)
		}
		if got, want := trimSet(l, &asciiSpace), strings.Trim(l, " \t\n\v\f\r"); got != want {
			t.Errorf("trimSet(%q, asciiSpace) = %q, want %q", l, got, want)
		}
	})
}
