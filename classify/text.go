package classify

// The report text (the human-readable part of a bounce, cut where the
// returned message starts) and the addresses its prose names.

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxReportText bounds the human-readable text that is scanned for
// recipients; bounce prose is short, the rest is the returned message.
const maxReportText = 64 << 10

// reportText returns the human-readable part of a bounce (the text parts
// before the returned message, HTML stripped when there is no plain
// text), cut at the line where the returned message starts, and the
// quoted text after that line.
func reportText(m *message) (report, quoted string) {
	var plain []string
	var html []part // decoded and stripped only when there is no plain text
	for _, p := range m.Parts {
		if strings.HasPrefix(p.Type, "message/") && p.Type != "message/delivery-status" && p.Type != "message/global-delivery-status" && p.Type != "message/feedback-report" {
			break
		}
		if p.Type == "text/rfc822-headers" || p.Type == "text/rfc822" {
			break
		}
		switch {
		case p.Type == "text/plain" || p.Type == "text/enriched" || p.Type == "":
			plain = append(plain, string(p.Body))
		case p.Type == "text/html":
			html = append(html, p)
		}
	}
	text := strings.Join(plain, "\n")
	if strings.TrimSpace(text) == "" && len(html) > 0 {
		stripped := make([]string, len(html))
		for i, p := range html {
			stripped[i] = stripHTML(string(p.decode()))
		}
		text = strings.Join(stripped, "\n")
	}
	text = clip(text, maxReportText*4)
	if i := originalStart(text); i >= 0 {
		report, quoted = text[:i], text[i:]
	} else {
		report = text
	}
	report = clip(report, maxReportText)
	return report, quoted
}

// cutMarkers start the returned message inside a bounce's text (lower
// case, matched at the start of a line after decoration is trimmed).
var cutMarkers = []string{
	"below this line is a copy of the message",
	"this is a copy of the message",
	"this is a copy of your message",
	"original message follows",
	"possibly truncated original message follows", // GroupWise
	"original message headers",
	"original message header",
	"original message ---",
	"original message -----",
	"original message:",
	"original message.",
	"original message",
	"content-type: message/rfc822",
	"content-type: text/rfc822-headers",
	"message header follows",
	"message headers follow",
	"the header of the original message",
	"the original message header",
	"header of returned message",
	"returned message follows",
	"returned mail follows",
	"unsent message below",
	"unsent message follows",
	"returned message",
	"undelivered message follows",
	"message text follows",
	"here is a copy of the first part of the message",
	"included is a copy of",
	"forwarded message",
	"received message",
	"the original message headers",
	"original mail follows",
	"original mail as follows",
	"original message header follows",
	"kopie der nachricht",        // German: "--- Kopie der Nachricht (nur Header) ---"
	"исходное сообщение",         // Russian: "original message"
	"заголовки исходного письма", // Russian: "headers of the original letter"
	"元のメッセージ",
	"以下、送信されたメールのヘッダです",
}

// originalStart returns the offset of the line where the returned message
// starts, or -1.
func originalStart(text string) int {
	pos := 0
	prevBlank := false
	lines := 0
	for pos < len(text) {
		end := strings.IndexByte(text[pos:], '\n')
		line := text[pos:]
		next := len(text)
		if end >= 0 {
			line = text[pos : pos+end]
			next = pos + end + 1
		}
		lines++
		t := trimSet(line, &decoration)
		if t != "" && lines > 1 && cutStart[t[0]] {
			for _, mk := range cutMarkers {
				if t[0]|0x20 != mk[0] && t[0] != mk[0] {
					continue // cheap first-byte test before the folded compare
				}
				if hasPrefixFold(t, mk) {
					if (mk == "original message" || mk == "returned message") && !decorated(line) {
						// undecorated, the words must stand alone after a
						// blank line or end with a colon
						whole := len(t) == len(mk)
						if !whole && !strings.HasSuffix(strings.TrimSpace(t), ":") || whole && !prevBlank {
							continue
						}
					}
					return pos
				}
			}
		}
		if t != "" && lines > 1 {
			if prevBlank && (strings.HasPrefix(line, "Received: ") || strings.HasPrefix(line, "Return-Path: ") ||
				strings.HasPrefix(line, "Return-path: ")) {
				return pos
			}
		}
		prevBlank = strings.TrimSpace(line) == ""
		pos = next
	}
	return -1
}

// decoration is what originalStart trims off both ends of a line: blanks,
// rules and quote marks around a cut marker ("----- Original message -----",
// "> [returned message]").
var decoration = asciiSetOf(" \t-=*_#>|[]")

// trimSet is strings.Trim(s, cutset) for an ASCII cutset made a set once
// (asciiSetOf), where strings.Trim makes it at every call.
func trimSet(s string, set *[256]bool) string {
	j := len(s)
	for j > 0 && set[s[j-1]] {
		j--
	}
	return trimLeftSet(s[:j], set)
}

// trimLeftSet is strings.TrimLeft(s, cutset) for an ASCII cutset made a
// set once.
func trimLeftSet(s string, set *[256]bool) string {
	i := 0
	for i < len(s) && set[s[i]] {
		i++
	}
	return s[i:]
}

// decorated reports whether a line starts, after blanks, with a rule.
func decorated(line string) bool {
	t := strings.TrimSpace(line)
	return t != "" && strings.IndexByte("-=*_", t[0]) >= 0
}

// cutStart holds the first bytes of the cut markers, in both cases.
var cutStart = func() (set [256]bool) {
	for _, mk := range cutMarkers {
		set[mk[0]] = true
		set[mk[0]&^0x20] = true
	}
	return set
}()

// asciiSetOf returns the bytes of chars as a set.
func asciiSetOf(chars string) (set [256]bool) {
	for i := 0; i < len(chars); i++ {
		set[chars[i]] = true
	}
	return set
}

// stripHTML turns HTML into text: tags dropped, block tags end lines,
// a few entities decoded. Linear.
func stripHTML(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c == '<' {
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				break
			}
			tag := strings.TrimPrefix(s[i+1:i+j], "/")
			if k := strings.IndexAny(tag, " \t\n/"); k >= 0 {
				tag = tag[:k]
			}
			tag = lower(tag) // the name only, not the attributes
			switch tag {
			case "br", "p", "div", "tr", "li", "table", "h1", "h2", "h3", "h4", "pre", "blockquote":
				b.WriteByte('\n')
			case "td", "th":
				b.WriteByte(' ')
			case "style", "script", "title":
				// skip to the closing tag; searched once per opening tag,
				// and the skipped text is never scanned again
				if s[i+1] != '/' {
					if end := indexFold(s[i+j:], "</"+tag); end >= 0 {
						i += j + end
						continue
					}
					i = len(s) // unclosed: the rest is script or style
					continue
				}
			}
			i += j + 1
			continue
		}
		if c == '&' {
			if j := strings.IndexByte(s[i:min(len(s), i+10)], ';'); j > 0 {
				switch s[i : i+j+1] {
				case "&lt;":
					b.WriteByte('<')
				case "&gt;":
					b.WriteByte('>')
				case "&amp;":
					b.WriteByte('&')
				case "&nbsp;", "&#160;":
					b.WriteByte(' ')
				case "&quot;":
					b.WriteByte('"')
				case "&#39;", "&apos;":
					b.WriteByte('\'')
				default:
					b.WriteString(s[i : i+j+1])
				}
				i += j + 1
				continue
			}
		}
		if c == '\n' {
			b.WriteByte(' ')
			i++
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// textRecipients returns the recipients the report's prose names, each
// with the lines said of it, and how many more it dropped past
// maxRecipients.
func (c *classifier) textRecipients() ([]textRecipient, int) {
	texts, dropped := scanText(c.report, c.exclusions(true))
	if tr := transcriptRecipients(c.report, c.exclusions(true)); len(tr) > 0 {
		// An old sendmail's transcript ties each reply to its recipient;
		// recipients the transcript does not name keep their prose.
		for _, t := range texts {
			if textFor(tr, t.Addr) == "" {
				tr = append(tr, t)
			}
		}
		texts = tr
	}
	if names := aolScreenNames(c.m.Header.get("From"), c.report); len(names) > 0 {
		// AOL's own reports name its members by screen name alone
		for _, n := range names {
			if textFor(texts, n.Addr) == "" {
				texts = append(texts, n)
			}
		}
	}
	if len(texts) == 0 {
		// the sender may be anonymised to the recipient's address
		texts, dropped = scanText(c.report, c.exclusions(false))
	}
	return texts, dropped
}

// exclusions are the addresses in bounce prose that are no recipients:
// the bounce's own addressee (the sender of the original) and the
// original's sender. With all false, only the bounce's From. Each set is
// made once per message.
func (c *classifier) exclusions(all bool) map[string]bool {
	if all {
		if c.exclAll == nil {
			c.exclAll = c.makeExclusions(true)
		}
		return c.exclAll
	}
	if c.exclFrom == nil {
		c.exclFrom = c.makeExclusions(false)
	}
	return c.exclFrom
}

func (c *classifier) makeExclusions(all bool) map[string]bool {
	ex := map[string]bool{}
	addAddrs(ex, c.m.Header.get("From"))
	if !all {
		return ex
	}
	for _, name := range []string{"To", "Return-Path", "Reply-To", "Sender", "Cc"} {
		addAddrs(ex, c.m.Header.get(name))
	}
	if c.orig != nil {
		for _, name := range []string{"From", "Return-Path", "Sender", "Reply-To"} {
			addAddrs(ex, c.orig.get(name))
		}
	}
	return ex
}

// addAddrs adds the addresses of a header value to set, lower-cased.
func addAddrs(set map[string]bool, v string) {
	for _, a := range findAddrs(v) {
		set[lower(a.Addr)] = true
	}
}

// textRecipient is a recipient found in bounce prose, with the text that
// explains its failure.
type textRecipient struct {
	Addr       string
	Diagnostic string
	// Contact is set when the prose offers the address for help or
	// complaints where it first names it ("contact helpdesk@...", "to be
	// removed write to delist@..."): the bounce's own explanatory text.
	Contact bool
}

// textFor returns the diagnostic the prose gives for addr.
func textFor(texts []textRecipient, addr string) string {
	for _, t := range texts {
		if strings.EqualFold(t.Addr, addr) {
			return t.Diagnostic
		}
	}
	return ""
}

// scanText is the generic scanner of non-DSN bounces: every address in the
// report text that is not the sender's or the mail system's is a failed
// recipient; its diagnostic is the rest of its line and the lines that
// follow, up to a blank line or the next recipient, plus any later lines
// that name it again. It keeps the first maxRecipients addresses and
// returns how many more distinct ones it found.
func scanText(report string, exclude map[string]bool) ([]textRecipient, int) {
	lines := strings.Split(report, "\n")
	if len(lines) > 4000 {
		lines = lines[:4000]
	}
	type cand struct {
		addr    string
		line    int
		text    string // the whole line the address is on
		contact bool   // see textRecipient.Contact
	}
	var cands []cand
	dropped := 0
	seen := map[string]int{} // index in cands, -1 when dropped
	addrLine := make([]bool, len(lines))
	mentions := map[string][]int{}
	senders := senderAddrs(lines)
	for i, line := range lines {
		if strings.IndexByte(line, '@') < 0 || skipAddrLine(line) {
			continue
		}
		for _, a := range findAddrs(line) {
			key := lower(a.Addr)
			if exclude[key] || senders[key] || isSystemAddr(key) {
				continue
			}
			if isMessageID(line, a) || expandedFrom(line, a) {
				continue
			}
			if n, ok := seen[key]; ok {
				if n >= 0 {
					mentions[key] = append(mentions[key], i)
				}
				continue
			}
			if len(cands) >= maxRecipients {
				seen[key] = -1
				dropped++
				continue
			}
			seen[key] = len(cands)
			addrLine[i] = true
			prev := ""
			if i > 0 {
				prev = lines[i-1]
			}
			cands = append(cands, cand{addr: a.Addr, line: i, text: strings.TrimSpace(line),
				contact: contactAddr(line[:a.Start], prev)})
		}
	}
	out := make([]textRecipient, 0, len(cands))
	for _, c := range cands {
		var parts []string
		if c.text != "" {
			parts = append(parts, c.text)
		}
		used := map[int]bool{c.line: true}
		coded := hasCode(parts) // whether parts hold a reply or status code
		for j := c.line + 1; j < len(lines) && j < c.line+12; j++ {
			t := strings.TrimSpace(lines[j])
			if t == "" {
				// a paragraph that names no SMTP reply goes on into the next
				if coded {
					break
				}
				continue
			}
			if addrLine[j] {
				break
			}
			parts = append(parts, t)
			coded = coded || hasCode([]string{t})
			used[j] = true
		}
		for _, j := range mentions[lower(c.addr)] {
			if used[j] {
				continue
			}
			parts = append(parts, strings.TrimSpace(lines[j]))
			used[j] = true
			if bareAddr(lines[j]) {
				// an address alone on its line heads what is said of
				// it: "kijitora@example.com" then "Remote Server
				// returned '550 5.1.10 ...'" (Exchange's diagnostic
				// information for administrators)
				for k := j + 1; k < len(lines) && k < j+4 && !used[k] && !addrLine[k]; k++ {
					t := strings.TrimSpace(lines[k])
					if t == "" || bareAddr(t) {
						break // the end, or the next address's heading
					}
					parts = append(parts, t)
					used[k] = true
				}
			}
		}
		diag := clip(strings.Join(parts, " "), 2000)
		out = append(out, textRecipient{Addr: c.addr, Diagnostic: diag, Contact: c.contact})
	}
	return out, dropped
}

// withoutAddrs returns s with its addresses left out.
func withoutAddrs(s string) string {
	var b strings.Builder
	from := 0
	for _, a := range findAddrs(s) {
		b.WriteString(s[from:a.Start])
		from = a.End
	}
	b.WriteString(s[from:])
	return b.String()
}

// contactWords are lower-case words with which bounce prose offers an
// address for help, questions, complaints or a blocklist's removal.
var contactWords = []string{
	"contact", "write to", "send mail to", "send an email to", "send e-mail to", "send email to",
	"please mail", "email us", "e-mail us", "questions", "assistance", "help", "remov", "delist",
	"do not reply", "administrator at", "abuse", "complain",
}

// contactAddr reports whether the text before an address on its line
// (before; or, when that is only a few characters, the end of the line
// above, prev) offers the address as a contact.
func contactAddr(before, prev string) bool {
	if len(before) > 80 {
		before = before[len(before)-80:]
	}
	if len(strings.TrimSpace(withoutAddrs(before))) < 12 {
		// "please contact" ending the line above, before this address
		// or a list of them ("spamdesk@... or abuse@...")
		before = prev[max(0, len(prev)-60):] + " " + before
	}
	lb := lower(before)
	for _, w := range contactWords {
		if strings.Contains(lb, w) {
			return true
		}
	}
	return false
}

// hasCode reports whether diagnostic lines hold an SMTP reply code or an
// enhanced status code.
func hasCode(parts []string) bool {
	for _, p := range parts {
		if findFailStatus(p) != "" || findFailReply(p) != "" {
			return true
		}
	}
	return false
}

// codeLines returns the first lines of text that hold an SMTP reply or
// status code, joined.
func codeLines(text string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if t != "" && (findFailStatus(t) != "" || findFailReply(t) != "") {
			out = append(out, t)
			if len(out) == 3 {
				break
			}
		}
	}
	return strings.Join(out, " ")
}

// bareAddr reports whether a line holds nothing but an address (and
// brackets or a colon).
func bareAddr(line string) bool {
	a := findAddrs(line)
	if len(a) != 1 {
		return false
	}
	rest := strings.Trim(line[:a[0].Start]+line[a[0].End:], " \t<>:;,.()[]\"'")
	return rest == ""
}

// skipAddrLine reports whether a line is a header or envelope line whose
// addresses are no recipients.
func skipAddrLine(line string) bool {
	t := strings.TrimSpace(line)
	for _, p := range []string{"message-id:", "in-reply-to:", "references:", "from:", "reply-to:", "sender:",
		"return-path:", "x-", "dkim-", "received:", "by ", "envelope-from", "mail from:", "sender address:", "(envelope-from",
		"to:", "cc:", "original-envelope-id:", "envelope-id:", "original sender:", "list-"} {
		if hasPrefixFold(t, p) {
			return true
		}
	}
	return false
}

// senderLabels start the lines on which a report names the original's
// sender ("Sender: a@b.example", "Envelope-From: <a@b.example>"): that
// address is the sender wherever else the report quotes it ("Rejected by
// Anti-Spoofing policy: a@b.example"). Lower case.
var senderLabels = []string{"sender:", "from:", "return-path:", "envelope-from:", "sender address:",
	"original sender:", "mail from:"}

// senderAddrs returns the lower-case addresses that lines of a report
// label as the original's sender (senderLabels), or nil.
func senderAddrs(lines []string) map[string]bool {
	var out map[string]bool
	for _, line := range lines {
		if strings.IndexByte(line, '@') < 0 {
			continue
		}
		t := strings.TrimSpace(line)
		for _, p := range senderLabels {
			if !hasPrefixFold(t, p) {
				continue
			}
			// the first address only: qmail's "From: <a@b> RCPT: <c@d>"
			if a := findAddrs(t); len(a) > 0 {
				if out == nil {
					out = map[string]bool{}
				}
				out[lower(a[0].Addr)] = true
			}
			break
		}
	}
	return out
}

// expandedFrom reports whether the address at a is the alias a recipient
// was expanded from, not a recipient: Postfix writes "<bob@b.example>
// (expanded from <sales@b.example>): ...", sendmail "(expanded from:
// <sales@b.example>)", Exim "bob@b.example" then "(generated from
// sales@b.example)".
func expandedFrom(line string, a addrAt) bool {
	before := line[max(0, a.Start-20):a.Start]
	before = strings.TrimRight(lower(before), " <:")
	return strings.HasSuffix(before, "expanded from") || strings.HasSuffix(before, "generated from")
}

// isMessageID reports whether the address at a looks like a Message-ID in
// angle brackets after an "id" word.
func isMessageID(line string, a addrAt) bool {
	before := line[:a.Start]
	if len(before) > 24 {
		before = before[len(before)-24:] // bounded: a line may hold many addresses
	}
	before = strings.TrimRight(lower(before), " <")
	return strings.HasSuffix(before, "message-id:") || strings.HasSuffix(before, "message id") ||
		strings.HasSuffix(before, "messageid") || strings.HasSuffix(before, " id")
}

// collapseSpace unfolds a diagnostic: runs of blanks become one space.
func collapseSpace(s string) string {
	if !strings.ContainsAny(s, "\n\t\r") && !strings.Contains(s, "  ") {
		return strings.TrimSpace(s)
	}
	return joinFields(s)
}

// joinFields is strings.Join(strings.Fields(s), " ") in one pass and one
// allocation: the words of s (split at unicode.IsSpace) with one space
// between each two.
func joinFields(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is owed before the next word
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiSpace[c] {
				space = b.Len() > 0
				i++
				continue
			}
			// a run of ASCII non-space bytes
			j := i + 1
			for j < len(s) && s[j] < utf8.RuneSelf && !asciiSpace[s[j]] {
				j++
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			space = b.Len() > 0
		} else {
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// asciiSpace holds the ASCII bytes unicode.IsSpace reports as space.
var asciiSpace = asciiSetOf(" \t\n\v\f\r")

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// indexFold is strings.Index for an ASCII lower-case needle, ignoring
// the case of s. Candidates are found with IndexByte on the needle's first
// byte in either case, so the scan runs at memchr speed; the next position
// of each case is remembered, so the whole search is linear.
func indexFold(s, needle string) int {
	n := len(needle)
	if n == 0 {
		return 0
	}
	if n > len(s) {
		return -1
	}
	lo, up := needle[0], needle[0]
	if lo >= 'a' && lo <= 'z' {
		up = lo - 'a' + 'A'
	}
	last := len(s) - n // the last start a match can have
	nextLo, nextUp := -1, -1
	if up == lo {
		nextUp = len(s) // never
	}
	for i := 0; i <= last; {
		if nextLo < i {
			if j := strings.IndexByte(s[i:last+1], lo); j >= 0 {
				nextLo = i + j
			} else {
				nextLo = len(s)
			}
		}
		if nextUp < i {
			if j := strings.IndexByte(s[i:last+1], up); j >= 0 {
				nextUp = i + j
			} else {
				nextUp = len(s)
			}
		}
		i = min(nextLo, nextUp)
		if i > last {
			return -1
		}
		if strings.EqualFold(s[i:i+n], needle) {
			return i
		}
		i++
	}
	return -1
}

// hasPrefixFold is strings.HasPrefix ignoring case, without allocating.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
