package classify

import (
	"net/mail"
	"strings"
	"time"
)

var months = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March, "apr": time.April,
	"may": time.May, "jun": time.June, "jul": time.July, "aug": time.August,
	"sep": time.September, "oct": time.October, "nov": time.November, "dec": time.December,
}

// parseDate reads an RFC 5322 §3.3 date ("Mon, 2 Mar 2026 09:14:02 +0100
// (CET)") in UTC, or returns the zero time. The common form is read by
// hand (net/mail tries a dozen layouts and allocates an error for each
// miss); anything else goes to net/mail.
func parseDate(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if i := strings.LastIndexByte(s, '('); i > 0 {
		s = strings.TrimSpace(s[:i]) // a trailing comment ("(JST)")
	}
	if t, ok := fastDate(s); ok {
		return t
	}
	t, err := mail.ParseDate(s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// fastDate parses "[Day, ]D Mon YYYY HH:MM[:SS] ±hhmm".
func fastDate(s string) (time.Time, bool) {
	if i := strings.IndexByte(s, ','); i >= 0 && i <= 9 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) != 5 && len(f) != 4 {
		return time.Time{}, false
	}
	day, ok := atoi(f[0], 1, 2)
	if !ok || day < 1 || day > 31 {
		return time.Time{}, false
	}
	mon, ok := months[lower(f[1])]
	if !ok {
		return time.Time{}, false
	}
	year, ok := atoi(f[2], 4, 4)
	if !ok {
		return time.Time{}, false
	}
	hms := strings.Split(f[3], ":")
	if len(hms) != 2 && len(hms) != 3 {
		return time.Time{}, false
	}
	var clock [3]int
	for i, p := range hms {
		n, ok := atoi(p, 2, 2)
		if !ok {
			return time.Time{}, false
		}
		clock[i] = n
	}
	if clock[0] > 23 || clock[1] > 59 || clock[2] > 60 {
		return time.Time{}, false
	}
	offset := 0
	if len(f) == 5 {
		z := f[4]
		switch {
		case len(z) == 5 && (z[0] == '+' || z[0] == '-'):
			hh, ok1 := atoi(z[1:3], 2, 2)
			mm, ok2 := atoi(z[3:5], 2, 2)
			if !ok1 || !ok2 {
				return time.Time{}, false
			}
			offset = hh*3600 + mm*60
			if z[0] == '-' {
				offset = -offset
			}
		case z == "GMT" || z == "UT" || z == "UTC" || z == "Z":
		default:
			return time.Time{}, false // named zones: let net/mail decide
		}
	}
	t := time.Date(year, mon, day, clock[0], clock[1], clock[2], 0, time.FixedZone("", offset))
	return t.UTC(), true
}

// atoi reads a decimal of min to max digits.
func atoi(s string, min, max int) (int, bool) {
	if len(s) < min || len(s) > max {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
