package classify

import "strings"

// isLocalChar reports whether c may appear in the local part of an
// address as bounces print it (RFC 5322 atext and dots, plus UTF-8 for
// RFC 6531 addresses).
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

// addrAt is an address found in text and where it starts and ends.
type addrAt struct {
	Addr       string
	Start, End int
}

// findAddrs returns the e-mail addresses in s, in order. Each '@' is
// expanded at most once in each direction and expansion stops at the next
// '@', so the scan is linear.
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
		l := at
		for l > lo && isLocalChar(s[l-1]) {
			l--
		}
		r := at + 1
		for r < len(s) && isDomainChar(s[r]) {
			r++
		}
		from = at + 1
		local := strings.Trim(s[l:at], ".'`/|{}~-")
		if l == at && at-1 > lo && s[at-1] == '"' {
			// a quoted local part ("john..doe"@example.org)
			if q := strings.LastIndexByte(s[lo:at-1], '"'); q >= 0 && !strings.ContainsAny(s[lo+q:at], " <>\t\n") {
				local = s[lo+q : at]
			}
		}
		domain := strings.Trim(s[at+1:r], ".-_")
		if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") {
			continue
		}
		if strings.Contains(domain, "..") {
			continue
		}
		start := at - len(local)
		end := at + 1 + len(domain)
		addr := s[start:end] // the address as written, when contiguous
		if s[start:at] != local {
			addr = local + "@" + domain // local part trimmed on its right
		}
		out = append(out, addrAt{Addr: addr, Start: start, End: end})
		from = end
		if from <= at {
			from = at + 1
		}
	}
}

// cleanAddr strips an address type ("rfc822;"), angle brackets, quotes
// and blanks, and returns "" when what is left is no address.
func cleanAddr(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ';'); i >= 0 && i < 20 {
		s = strings.TrimSpace(s[i+1:])
	}
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			s = s[i+1 : i+j]
		} else {
			s = s[i+1:]
		}
	}
	if strings.HasPrefix(s, "\"") && strings.Contains(s, "\"@") {
		// a quoted local part is part of the address
		if a := findAddrs(s); len(a) > 0 && strings.HasPrefix(a[0].Addr, "\"") {
			return a[0].Addr
		}
	}
	s = strings.Trim(s, " \t<>\"'()[]:;,")
	if !strings.Contains(s, "@") {
		return ""
	}
	if a := findAddrs(s); len(a) > 0 {
		return a[0].Addr
	}
	return ""
}

// headerAddrs returns the addresses in a header value, lower-cased.
func headerAddrs(v string) []string {
	var out []string
	for _, a := range findAddrs(v) {
		out = append(out, strings.ToLower(a.Addr))
	}
	return out
}

// localPart returns the part before the last '@', lower-cased.
func localPart(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[:i])
	}
	return strings.ToLower(addr)
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
