package classify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// lower returns exactly what strings.ToLower returns (TestLower checks
// it), faster on mail text: strings.ToLower writes its ASCII result a byte
// at a time and maps the whole text rune by rune once it meets one
// non-ASCII byte, where lower copies the runs that need no change whole.
// Like strings.ToLower it returns s itself when nothing changes, and an
// invalid UTF-8 byte becomes U+FFFD.
func lower(s string) string {
	var b strings.Builder
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 'A' || c > 'Z' {
				i++
				continue
			}
			if done == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[done:i])
			b.WriteByte(c + 'a' - 'A')
			i++
			done = i
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		l := unicode.ToLower(r)
		if l == r && (r != utf8.RuneError || w != 1) {
			i += w
			continue
		}
		if done == 0 {
			b.Grow(len(s) + utf8.UTFMax)
		}
		b.WriteString(s[done:i])
		b.WriteRune(l)
		i += w
		done = i
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}
