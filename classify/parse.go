package classify

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// Limits on hostile input. Every loop below is bounded by one of these or
// by the input length, and every scan is linear.
const (
	maxMessageSize = 10 << 20 // bytes read; the rest is ignored with a note
	maxDepth       = 20       // nested multiparts
	maxParts       = 200      // leaf parts kept
	maxHeaderLines = 2000     // header fields kept per header
	maxRecipients  = 1000     // DSN recipient blocks kept
)

// field is one header field.
type field struct {
	Name string // as written, trimmed
	// raw is the value as written, folding included; value() unfolds it.
	// Most fields of a bounce (signatures, trace fields) are never read,
	// so they are never unfolded.
	raw string
}

// value returns the field's value unfolded and trimmed, not decoded.
func (f field) value() string { return unfold(f.raw) }

// header is an ordered list of fields; lookups are case-insensitive.
type header []field

// get returns the value of the first field called name, or "".
func (h header) get(name string) string {
	for _, f := range h {
		if len(f.Name) == len(name) && strings.EqualFold(f.Name, name) {
			return f.value()
		}
	}
	return ""
}

// has reports whether a field called name exists.
func (h header) has(name string) bool {
	for _, f := range h {
		if len(f.Name) == len(name) && strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// part is one leaf of a MIME tree.
type part struct {
	Type   string            // lower-case media type, "text/plain" when missing
	Params map[string]string // Content-Type parameters, lower-case keys
	Header header
	// Body is the decoded body (transfer encoding undone, text/* converted
	// to UTF-8) of the parts that every classification reads: text/* but
	// HTML, and message/*. It is nil for the rest, which the readers want
	// rarely (HTML only when a bounce has no plain text) or never (images,
	// applications): decode returns theirs on demand.
	Body   []byte
	raw    []byte // the body as written
	Attach bool   // Content-Disposition: attachment
}

// readEagerly reports whether a part of media type ct has its Body decoded
// as it is parsed.
func readEagerly(ct string) bool {
	return strings.HasPrefix(ct, "text/") && ct != "text/html" || strings.HasPrefix(ct, "message/")
}

// decode returns the part's body with its transfer encoding undone and,
// for text, converted to UTF-8.
func (p part) decode() []byte {
	if p.Body != nil {
		return p.Body
	}
	b := transferDecode(p.Header.get("Content-Transfer-Encoding"), p.raw)
	if strings.HasPrefix(p.Type, "text/") || p.Type == "message/delivery-status" || p.Type == "message/feedback-report" {
		b = toUTF8(p.Params["charset"], b)
	}
	return b
}

// message is a leniently parsed mail: its header and its flat list of
// leaf parts in document order.
type message struct {
	Header header
	Parts  []part
	Notes  []string

	truncated bool // maxParts reached
}

// normalize returns data with a leading mbox "From " line removed and CR or
// CRLF line ends turned into LF, truncated to maxMessageSize.
func normalize(raw []byte) ([]byte, []string) {
	var notes []string
	if len(raw) > maxMessageSize {
		raw = raw[:maxMessageSize]
		notes = append(notes, fmt.Sprintf("message truncated to %d bytes", maxMessageSize))
	}
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexAny(raw, "\r\n"); i >= 0 {
			raw = raw[i:]
			raw = bytes.TrimLeft(raw, "\r\n")
		} else {
			raw = nil
		}
		notes = append(notes, "leading mbox From line skipped")
	}
	if bytes.IndexByte(raw, '\r') < 0 {
		return raw, notes
	}
	// Copy the runs between CRs whole; each line end becomes one LF.
	out := make([]byte, 0, len(raw))
	for {
		j := bytes.IndexByte(raw, '\r')
		if j < 0 {
			return append(out, raw...), notes
		}
		out = append(out, raw[:j]...)
		out = append(out, '\n')
		j += lineEndCRs(raw[j:])
		if j < len(raw) && raw[j] == '\n' {
			j++
		}
		raw = raw[j:]
	}
}

// lineEndCRs returns how many of the CRs at the start of b belong to one
// line end: all of a run of CRs that ends in LF (Courier serves a maildir
// file stored with CRLF as CR CR LF), else one (a lone CR is a line end
// of its own, as in old Mac files). b starts with CR.
func lineEndCRs(b []byte) int {
	n := 1
	for n < len(b) && b[n] == '\r' {
		n++
	}
	if n < len(b) && b[n] == '\n' {
		return n
	}
	return 1
}

// isFieldName reports whether s can be a header field name (RFC 5322
// §2.2: printable ASCII except colon), allowing trailing blanks.
func isFieldName[T string | []byte](s T) bool {
	n := len(s)
	for n > 0 && (s[n-1] == ' ' || s[n-1] == '\t') {
		n--
	}
	if n == 0 || n > 76 {
		return false
	}
	for i := 0; i < n; i++ {
		c := s[i]
		if c <= ' ' || c >= 127 || c == ':' {
			return false
		}
	}
	return true
}

// readHeader parses the header at the start of b (LF line ends) and
// returns it with the body that follows the blank line. It is lenient: a
// line that is neither a field nor a continuation ends the header, except
// that a parameter line ("name=value") after Content-Type is taken as a
// continuation whose leading space was lost.
func readHeader(b []byte) (header, []byte) { return readHeaderMode(b, false) }

// readQuotedHeader reads a header quoted in bounce text, where folding
// is often lost: a line that is no field continues the previous one, up
// to the blank line.
func readQuotedHeader(b []byte) header {
	h, _ := readHeaderMode(b, true)
	return h
}

func readHeaderMode(b []byte, loose bool) (header, []byte) {
	// The fields are located first (offsets into b), then the header
	// block becomes one string and every name and raw value is a slice
	// of it: one allocation per header, not several per field.
	type span struct{ nameStart, nameEnd, valStart, valEnd int }
	var buf [48]span // most headers fit: no allocation for the offsets
	spans := buf[:0]
	cur := span{valStart: -1}
	flush := func() {
		if cur.valStart >= 0 && len(spans) < maxHeaderLines {
			spans = append(spans, cur)
		}
		cur.valStart = -1
	}
	build := func() header {
		if len(spans) == 0 {
			return nil
		}
		hs := string(b[:spans[len(spans)-1].valEnd])
		h := make(header, len(spans))
		for i, sp := range spans {
			h[i] = field{Name: hs[sp.nameStart:sp.nameEnd], raw: hs[sp.valStart:sp.valEnd]}
		}
		return h
	}
	pos := 0
	for pos < len(b) {
		end := bytes.IndexByte(b[pos:], '\n')
		var line []byte
		next := len(b)
		if end >= 0 {
			line = b[pos : pos+end]
			next = pos + end + 1
		} else {
			line = b[pos:]
		}
		lineEnd := pos + len(line)
		if isBlank(line) {
			if len(line) == 0 || cur.valStart >= 0 || len(spans) > 0 {
				flush()
				return build(), b[next:]
			}
			pos = next
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur.valStart >= 0 {
				cur.valEnd = lineEnd
			}
			pos = next
			continue
		}
		if colon := bytes.IndexByte(line, ':'); colon > 0 && isFieldName(line[:colon]) {
			flush()
			nameEnd := colon
			for nameEnd > 0 && (line[nameEnd-1] == ' ' || line[nameEnd-1] == '\t') {
				nameEnd--
			}
			cur = span{nameStart: pos, nameEnd: pos + nameEnd, valStart: pos + colon + 1, valEnd: lineEnd}
			pos = next
			continue
		}
		if cur.valStart >= 0 && (loose || looksLikeParam(line) && isContentField(string(b[cur.nameStart:cur.nameEnd]))) {
			cur.valEnd = lineEnd
			pos = next
			continue
		}
		// Not a header line: the body starts here (a header without the
		// blank line that should end it).
		flush()
		return build(), b[pos:]
	}
	flush()
	return build(), nil
}

func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// unfold joins the lines of a folded field value with single spaces,
// each line trimmed (RFC 5322 §2.2.3), in one pass. A one-line value is
// returned as a slice of seg.
func unfold(seg string) string {
	if strings.IndexByte(seg, '\n') < 0 {
		return strings.TrimSpace(seg)
	}
	var sb strings.Builder
	sb.Grow(len(seg))
	for len(seg) > 0 {
		line := seg
		if i := strings.IndexByte(seg, '\n'); i >= 0 {
			line, seg = seg[:i], seg[i+1:]
		} else {
			seg = ""
		}
		t := strings.TrimSpace(line)
		if len(t) == 0 {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(t)
	}
	return sb.String()
}

func isContentField(name string) bool {
	return hasPrefixFold(name, "content-")
}

// looksLikeParam reports whether a line is a MIME parameter such as
// `boundary="xyz"` or `charset=us-ascii;`.
func looksLikeParam(line []byte) bool {
	eq := bytes.IndexByte(line, '=')
	if eq <= 0 {
		return false
	}
	name := bytes.TrimSpace(line[:eq])
	if len(name) == 0 || len(name) > 40 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*') {
			return false
		}
	}
	return true
}

// mediaType parses a Content-Type value leniently: a broken parameter list
// still yields the type, and boundary and charset are recovered by hand.
func mediaType(v string) (string, map[string]string) {
	if v == "" {
		return "text/plain", map[string]string{}
	}
	if t, params, ok := fastMediaType(v); ok {
		return t, params
	}
	t, params, err := mime.ParseMediaType(v)
	if err == nil {
		return lower(t), params
	}
	params = map[string]string{}
	semi := strings.IndexAny(v, "; \t")
	t = v
	if semi >= 0 {
		t = v[:semi]
	}
	t = lower(strings.TrimSpace(t))
	if !strings.Contains(t, "/") {
		t = "text/plain"
	}
	if semi >= 0 {
		for _, p := range strings.FieldsFunc(v[semi+1:], func(r rune) bool { return r == ';' || r == ' ' || r == '\t' }) {
			k, val, ok := strings.Cut(p, "=")
			if !ok {
				continue
			}
			k = lower(strings.TrimSpace(k))
			val = strings.TrimSpace(val)
			val = strings.Trim(val, `"'`)
			if k != "" {
				if _, dup := params[k]; !dup {
					params[k] = val
				}
			}
		}
	}
	return t, params
}

// fastMediaType is mime.ParseMediaType for the Content-Type values of
// nearly every mail: a type, then parameters whose names have no '*' (no
// RFC 2231 continuations), each named once, whose values are tokens or
// quoted strings without a backslash, with ASCII white space. It skips the
// builder ParseMediaType makes for every quoted value and its other
// allocations. ok is false for any other value, which goes to
// ParseMediaType; FuzzFastMediaType checks that both agree whenever ok.
func fastMediaType(v string) (mediatype string, params map[string]string, ok bool) {
	base, rest := v, ""
	if i := strings.IndexByte(v, ';'); i >= 0 {
		base, rest = v[:i], v[i:]
	}
	t := trimSet(base, &asciiSpace)
	typ, sub, slash := strings.Cut(t, "/")
	if !isToken(typ) || slash && !isToken(sub) {
		return "", nil, false
	}
	params = map[string]string{}
	for {
		rest = trimLeftSet(rest, &asciiSpace)
		if rest == "" {
			break
		}
		if rest[0] != ';' {
			return "", nil, false
		}
		rest = trimLeftSet(rest[1:], &asciiSpace)
		if rest == "" {
			break // a trailing semicolon
		}
		k := rest[:tokenLen(rest)]
		if k == "" || strings.IndexByte(k, '*') >= 0 {
			return "", nil, false
		}
		rest = trimLeftSet(rest[len(k):], &asciiSpace)
		if rest == "" || rest[0] != '=' {
			return "", nil, false
		}
		rest = trimLeftSet(rest[1:], &asciiSpace)
		var val string
		if rest != "" && rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return "", nil, false
			}
			val = rest[1 : 1+end]
			if strings.ContainsAny(val, "\\\r\n") {
				return "", nil, false
			}
			rest = rest[2+end:]
		} else {
			val = rest[:tokenLen(rest)]
			if val == "" {
				return "", nil, false
			}
			rest = rest[len(val):]
		}
		k = lower(k)
		if _, dup := params[k]; dup {
			return "", nil, false
		}
		params[k] = val
	}
	return lower(t), params, true
}

// tokenLen returns the length of the RFC 2045 token at the start of s.
func tokenLen(s string) int {
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return i
		}
	}
	return len(s)
}

// isToken reports whether s is one whole non-empty RFC 2045 token.
func isToken(s string) bool { return s != "" && tokenLen(s) == len(s) }

// tokenChar holds the bytes of an RFC 2045 token: printable ASCII but
// the tspecials.
var tokenChar = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune(`()<>@,;:\"/[]?=`, c)
	}
	return t
}()

// parse reads a mail leniently. It fails only when there is no header at
// all.
func parse(raw []byte) (*message, error) {
	data, notes := normalize(raw)
	h, body := readHeader(data)
	if len(h) == 0 {
		return nil, ErrNotMessage
	}
	m := &message{Header: h, Notes: notes}
	m.walk(h, body, 0)
	return m, nil
}

// walk adds the leaves of one entity to m.Parts.
func (m *message) walk(h header, body []byte, depth int) {
	if len(m.Parts) >= maxParts {
		if !m.truncated {
			m.truncated = true
			m.Notes = append(m.Notes, fmt.Sprintf("more than %d parts: rest ignored", maxParts))
		}
		return
	}
	ct, params := mediaType(h.get("Content-Type"))
	if strings.HasPrefix(ct, "multipart/") {
		if depth >= maxDepth {
			m.Notes = append(m.Notes, fmt.Sprintf("MIME deeper than %d: inner parts read as text", maxDepth))
		} else {
			boundary := params["boundary"]
			if boundary == "" {
				boundary = sniffBoundary(body)
			}
			if boundary != "" {
				subs, closed := splitMultipart(body, boundary)
				if len(subs) > 0 {
					if !closed {
						m.Notes = append(m.Notes, "multipart without closing boundary")
					}
					for _, s := range subs {
						sh, sb := readHeader(s)
						if len(sh) == 0 && len(s) > 0 && s[0] != '\n' {
							// a part with no header at all: its text is the body
							sb = s
						}
						m.walk(sh, sb, depth+1)
					}
					return
				}
			}
			m.Notes = append(m.Notes, "multipart without parts: read as text")
		}
		ct, params = "text/plain", map[string]string{}
	}
	p := part{Type: ct, Params: params, Header: h, raw: body}
	p.Attach = strings.HasPrefix(lower(h.get("Content-Disposition")), "attachment")
	if readEagerly(ct) {
		p.Body = p.decode()
	}
	m.Parts = append(m.Parts, p)
}

// sniffBoundary finds the boundary of a multipart whose Content-Type lost
// it: the first line that starts with "--".
func sniffBoundary(body []byte) string {
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimRight(line, " \t")
		if len(line) > 2 && len(line) < 80 && line[0] == '-' && line[1] == '-' && bytes.IndexByte(line, ' ') < 0 {
			return string(line[2:])
		}
	}
	return ""
}

// splitMultipart splits a multipart body at its boundary lines. It returns
// the parts and whether the closing boundary was seen; a missing closing
// boundary ends the last part at the end of the body.
func splitMultipart(body []byte, boundary string) ([][]byte, bool) {
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1
	pos := 0
	for pos <= len(body) {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		if at > 0 && body[at-1] != '\n' {
			pos = at + len(delim)
			continue
		}
		rest := body[at+len(delim):]
		closing := bytes.HasPrefix(rest, []byte("--"))
		eol := bytes.IndexByte(rest, '\n')
		lineRest := rest
		if eol >= 0 {
			lineRest = rest[:eol]
		}
		if !closing && len(bytes.TrimSpace(lineRest)) > 0 {
			// "--boundaryX": a longer boundary, not ours
			pos = at + len(delim)
			continue
		}
		if start >= 0 {
			end := at
			if end > start && body[end-1] == '\n' {
				end--
			}
			parts = append(parts, body[start:end])
			if len(parts) >= maxParts {
				return parts, true
			}
		}
		if closing {
			return parts, true
		}
		if eol < 0 {
			return parts, false
		}
		start = at + len(delim) + eol + 1
		pos = start
	}
	if start >= 0 && start <= len(body) {
		parts = append(parts, body[start:])
	}
	return parts, false
}

// transferDecode undoes a Content-Transfer-Encoding. Broken input yields
// what could be decoded, never an error.
func transferDecode(cte string, body []byte) []byte {
	switch lower(strings.TrimSpace(cte)) {
	case "base64":
		clean := make([]byte, 0, len(body))
		for _, c := range body {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
				clean = append(clean, c)
			}
		}
		if len(clean)%4 == 1 {
			clean = clean[:len(clean)-1]
		}
		out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
		n, err := base64.RawStdEncoding.Decode(out, clean)
		if err != nil && n == 0 {
			return body
		}
		return out[:n]
	case "quoted-printable":
		return decodeQP(body)
	}
	return body
}

// decodeQP decodes a quoted-printable body (RFC 2045 §6.7) in one pass and
// one allocation. It is lenient where mime/quotedprintable stops with an
// error: an "=" that starts no escape and no soft line break is kept as
// it is, and decoding goes on after it. Blanks at the end of a line are
// transport padding and dropped (rule 3); encoded ones ("=20") are kept.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	keep := 0 // out[:keep] is not trailing padding: a line start or after an escape
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '=':
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			if j == len(b) || b[j] == '\n' || b[j] == '\r' && j+1 < len(b) && b[j+1] == '\n' {
				// soft line break: the line goes on
				if j < len(b) && b[j] == '\r' {
					j++
				}
				i = j
				keep = len(out)
				continue
			}
			if i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
				out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
				i += 2
				keep = len(out)
				continue
			}
			out = append(out, c)
			keep = len(out)
		case '\n':
			k := len(out)
			for k > keep && (out[k-1] == ' ' || out[k-1] == '\t' || out[k-1] == '\r') {
				k--
			}
			out = append(out[:k], c)
			keep = len(out)
		case ' ', '\t', '\r':
			out = append(out, c)
		default:
			out = append(out, c)
			keep = len(out)
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// toUTF8 converts text in the named charset to UTF-8. Unknown charsets and
// decoding failures leave the bytes as they are.
func toUTF8(cs string, b []byte) []byte {
	cs = lower(strings.Trim(strings.TrimSpace(cs), `"'`))
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8":
		if bytes.Contains(b, []byte("\x1b$B")) || bytes.Contains(b, []byte("\x1b$@")) {
			// ISO-2022-JP that nobody declared (common in DSN parts)
			if out, ok := decodeCharset("iso-2022-jp", b); ok {
				return out
			}
		}
		return b
	case "utf-7", "unicode-1-1-utf-7", "x-unicode-2-0-utf-7", "csunicode11utf7":
		return decodeUTF7(b)
	}
	out, ok := decodeCharset(cs, b)
	if ok {
		return out
	}
	// A declared Japanese charset is often wrong (EUC-JP or Shift_JIS
	// bytes labelled ISO-2022-JP): try the others before giving up.
	if strings.Contains(cs, "jp") || strings.Contains(cs, "jis") {
		for _, alt := range []string{"euc-jp", "shift_jis", "iso-2022-jp"} {
			if alt == cs {
				continue
			}
			if out, ok := decodeCharset(alt, b); ok {
				return out
			}
		}
	}
	return b
}

// decodeCharset converts b from cs to UTF-8 and reports whether that
// worked without replacement characters.
func decodeCharset(cs string, b []byte) ([]byte, bool) {
	if isASCII(b) && !strings.Contains(cs, "2022") && !strings.Contains(cs, "utf-16") && !strings.Contains(cs, "hz") {
		return b, true
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return b, false
	}
	out, err := io.ReadAll(r)
	if err != nil && len(out) == 0 {
		return b, false
	}
	if bytes.Contains(out, []byte("\uFFFD")) && !bytes.Contains(b, []byte("\uFFFD")) {
		return out, false
	}
	return out, true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// decodeUTF7 decodes RFC 2152 UTF-7, which no decoder in go-message
// knows. Malformed shifts are kept as written.
func decodeUTF7(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '+' {
			out = append(out, c)
			continue
		}
		j := i + 1
		for j < len(b) && isB64(b[j]) {
			j++
		}
		if j == i+1 { // "+-" is a plus sign
			out = append(out, '+')
			if j < len(b) && b[j] == '-' {
				i = j
			}
			continue
		}
		raw := b[i+1 : j]
		dec := make([]byte, base64.RawStdEncoding.DecodedLen(len(raw)))
		n, _ := base64.RawStdEncoding.Decode(dec, raw[:len(raw)/4*4+validTail(len(raw)%4)])
		dec = dec[:n]
		var units []uint16
		for k := 0; k+1 < len(dec); k += 2 {
			units = append(units, uint16(dec[k])<<8|uint16(dec[k+1]))
		}
		for k := 0; k < len(units); k++ {
			u := rune(units[k])
			if u >= 0xD800 && u < 0xDC00 && k+1 < len(units) {
				lo := rune(units[k+1])
				if lo >= 0xDC00 && lo < 0xE000 {
					u = (u-0xD800)<<10 + (lo - 0xDC00) + 0x10000
					k++
				}
			}
			out = utf8.AppendRune(out, u)
		}
		i = j - 1
		if j < len(b) && b[j] == '-' {
			i = j
		}
	}
	return out
}

func validTail(n int) int {
	if n == 1 {
		return 0
	}
	return n
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// decodeWords decodes RFC 2047 encoded words in a header value, with any
// charset go-message knows; undecodable words stay as written.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d := mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(toUTF8(cs, b)), nil
	}}
	out, err := d.DecodeHeader(s)
	if err != nil {
		return s
	}
	return out
}
