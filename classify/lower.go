package classify

import (
	"strings"
	"sync"
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
		l := lowerRune(r)
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

// lowerRune is unicode.ToLower without its search of the case tables for
// most of the letters of mail text: a table for the runes of two UTF-8
// bytes (Latin, Greek, Cyrillic, Hebrew, Arabic), and for the rest of the
// Basic Multilingual Plane a bitmap of the runes that have a lower case
// (TestLowerRune checks every rune). The search was a quarter of the time
// of a Japanese or Russian bounce.
func lowerRune(r rune) rune {
	switch {
	case r >= 0 && r < rune(len(lowerTable)):
		return lowerTable[r]
	case r >= 0 && r < 0x10000 && upperBMP()[r/64]&(1<<(r%64)) == 0:
		return r
	}
	return unicode.ToLower(r)
}

// lowerTable holds unicode.ToLower of every rune below U+0800.
var lowerTable = func() (t [0x800]rune) {
	for r := range t {
		t[r] = unicode.ToLower(rune(r))
	}
	return t
}()

// upperBMP is a bitmap of the runes below U+10000 that unicode.ToLower
// changes, made when a text first needs it (a few milliseconds).
var upperBMP = sync.OnceValue(func() *[0x10000 / 64]uint64 {
	var b [0x10000 / 64]uint64
	for r := rune(0); r < 0x10000; r++ {
		if unicode.ToLower(r) != r {
			b[r/64] |= 1 << (r % 64)
		}
	}
	return &b
})
