package classify

import "strings"

// isLocalChar reports whether c may appear in a dot-string local part:
// RFC 5321 §4.1.2 atext and dots, plus UTF-8 for RFC 6531 addresses.
func isLocalChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0
}

func isDomainChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c >= 0x80
}

// maxQuotedLocal bounds a quoted local part, quotes included: RFC 5321
// §4.5.3.1.1 allows 64 octets; a longer "..." before an '@' is prose.
const maxQuotedLocal = 66

// addrAt is an address found in text and where it starts and ends:
// Addr is always s[Start:End].
type addrAt struct {
	Addr       string
	Start, End int
}

// findAddrs returns the e-mail addresses in s, in order, local parts as
// written (RFC 5321 §4.1.2: a dot-string of atext, or a quoted-string).
// Only what the surrounding text adds is left out: angle brackets and
// other non-atext around the address, a trailing sentence dot, leading
// dots (an ellipsis) and a quote or brace that opens before the local
// part and closes right after the domain ('a@b.example', `a@b.example',
// {a@b.example}). Each '@' is expanded at most once in each direction and
// expansion stops at the previous '@', so the scan is linear.
func findAddrs(s string) []addrAt {
	var out []addrAt
	from := 0
	for {
		i := strings.IndexByte(s[from:], '@')
		if i < 0 {
			return out
		}
		at := from + i
		lo := from // nothing left of here belongs to this address
		from = at + 1
		r := at + 1
		for r < len(s) && isDomainChar(s[r]) {
			r++
		}
		end := r
		for end > at+1 && strings.IndexByte(".-_", s[end-1]) >= 0 {
			end-- // a sentence's full stop, not the domain's
		}
		if !plausibleDomain(s[at+1 : end]) {
			continue
		}
		start, ok := localStart(s, lo, at, end, r)
		if !ok {
			continue
		}
		out = append(out, addrAt{Addr: s[start:end], Start: start, End: end})
		from = end
	}
}

// plausibleDomain reports whether d can be the domain of an address in
// prose: dotted, no empty label, not starting with punctuation.
func plausibleDomain(d string) bool {
	return strings.Contains(d, ".") && !strings.Contains(d, "..") && strings.IndexByte(".-_", d[0]) < 0
}

// localStart returns where the local part ending at s[at] ('@') starts,
// looking no further left than lo; the domain ends at end, or at r
// before a sentence's full stop is taken off.
func localStart(s string, lo, at, end, r int) (int, bool) {
	if at-1 > lo && s[at-1] == '"' {
		return quotedStart(s, lo, at)
	}
	l := at
	for l > lo && isLocalChar(s[l-1]) {
		l--
	}
	l = skipDots(s, l, at)
	if l < at-1 && (end < len(s) && closes(s[l], s[end]) || r < len(s) && closes(s[l], s[r])) {
		l = skipDots(s, l+1, at)
	}
	l += proxyPrefix(s[l:at])
	return l, l < at
}

// proxyPrefixes are the address types that Exchange 5.5 and 2000 write
// before an address in their reports ("SMTP=jane@corp.example",
// "RFC-822=jane@corp.example" of an X.400 proxy): '=' is atext, so they
// would read as part of the local part.
var proxyPrefixes = []string{"smtp=", "rfc-822=", "rfc822="}

// proxyPrefix returns the length of an address type written before a
// local part, or 0.
func proxyPrefix(local string) int {
	for _, p := range proxyPrefixes {
		if len(local) > len(p) && hasPrefixFold(local, p) {
			return len(p)
		}
	}
	return 0
}

// skipDots returns where s[l:at] starts after leading dots: RFC 5321
// §4.1.2, a dot-string does not start with a dot (an ellipsis does).
func skipDots(s string, l, at int) int {
	for l < at && s[l] == '.' {
		l++
	}
	return l
}

// closes reports whether close after an address ends the quote or brace
// open before it.
func closes(open, close byte) bool {
	switch open {
	case '\'':
		return close == '\''
	case '`':
		return close == '\'' || close == '`'
	case '{':
		return close == '}'
	case '|':
		return close == '|'
	}
	return false
}

// quotedStart finds the opening quote of a quoted-string local part
// whose closing quote is s[at-1] (RFC 5321 §4.1.2: printable ASCII and
// spaces, '"' and '\\' escaped with '\\'; RFC 6531 adds UTF-8).
func quotedStart(s string, lo, at int) (int, bool) {
	if backslashesBefore(s, lo, at-1)%2 == 1 {
		return 0, false // the closing quote is escaped
	}
	floor := max(lo, at-maxQuotedLocal)
	for p := at - 2; p >= floor; p-- {
		c := s[p]
		if c < ' ' || c == 0x7f {
			return 0, false
		}
		if c != '"' {
			continue
		}
		if n := backslashesBefore(s, floor, p); n%2 == 1 {
			p -= n // an escaped quote inside the string
			continue
		}
		return p, p < at-2
	}
	return 0, false
}

// backslashesBefore counts the backslashes right before s[i], back to lo.
func backslashesBefore(s string, lo, i int) int {
	n := 0
	for i-n-1 >= lo && s[i-n-1] == '\\' {
		n++
	}
	return n
}

// cleanAddr strips an address type ("rfc822;"), angle brackets, quotes
// and blanks, and returns "" when what is left is no address. Of several
// addresses the one in angle brackets wins ("Ann <ann@b.example>").
func cleanAddr(s string) string {
	if i := strings.IndexByte(s, ';'); i > 0 && i < 20 && isAddrType(s[:i]) {
		s = s[i+1:]
	}
	// findAddrs leaves out the quotes, brackets and blanks around an
	// address and keeps a quoted local part whole, '<' or ';' in it too
	addrs := findAddrs(s)
	if len(addrs) == 0 {
		return ""
	}
	for _, a := range addrs {
		if a.Start > 0 && s[a.Start-1] == '<' && a.End < len(s) && s[a.End] == '>' {
			return a.Addr
		}
	}
	return addrs[0].Addr
}

// isAddrType reports whether s is an address type as DSNs write it
// (RFC 3464 §2.1.2: an atom, "rfc822", "utf-8", "x400").
func isAddrType(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// headerAddrs returns the addresses in a header value, lower-cased.
func headerAddrs(v string) []string {
	var out []string
	for _, a := range findAddrs(v) {
		out = append(out, lower(a.Addr))
	}
	return out
}

// firstAddr returns the first address of a header field value, or "".
func firstAddr(v string) string {
	if a := headerAddrs(v); len(a) > 0 {
		return a[0]
	}
	return ""
}

// localPart returns the part before the last '@', lower-cased.
func localPart(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return lower(addr[:i])
	}
	return lower(addr)
}

// isSystemAddr reports whether an address belongs to mail software or
// postmasters rather than to a recipient.
func isSystemAddr(addr string) bool {
	switch localPart(addr) {
	case "mailer-daemon", "mailer_daemon", "mail-daemon", "maildaemon", "mailerdaemon", "double-bounce":
		return true
	}
	return false
}
