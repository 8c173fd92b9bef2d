package classify

import (
	"strings"
	"testing"
)

func TestContainsEither(t *testing.T) {
	ms := []string{"abcd", "xyz"}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"", "", false},
		{"..abcd..", "", true},
		{"", "..xyz", true},
		{"..ab", "cd..", true},
		{"..a", "bcd", true},
		{"abc", "", false},
		{"x", "y", false},
		{"xy", "z", true},
		{"ab", "dc", false},
	} {
		if got := containsEither(c.a, c.b, ms); got != c.want {
			t.Errorf("containsEither(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func FuzzContainsEither(f *testing.F) {
	f.Add(`x {"notifica`, `tionType": "Bounce"}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		want := false
		for _, m := range sesMarkers {
			want = want || strings.Contains(a+b, m)
		}
		if got := containsEither(a, b, sesMarkers); got != want {
			t.Errorf("containsEither(%q, %q) = %v, want %v", a, b, got, want)
		}
	})
}
