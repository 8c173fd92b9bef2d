// Package verp signs and verifies the return addresses (VERP, variable
// envelope return path) and header tokens that prove a bounce answers mail
// the sender really sent, so that a forged bounce cannot suppress anyone.
//
// A mailer signs the return path of every message it sends:
//
//	keys, _ := verp.New([]byte(os.Getenv("BOUNCED_VERP_SECRET")))
//	from, _ := keys.ReturnPath("bounces@example.org", "jane@example.com", time.Now())
//	// from = "bounces+1xxxxxxxxxxxxxxxxxxxx=jane=example.com@example.org"
//
// or, where the return path cannot change, adds the header
// [Header]: [Keys.Token] to the message; bounced finds it in the returned
// original. The format is specified in docs/verp.md:
//
//	token     = "1" mac-day "=" local "=" domain
//	mac-day   = 20 lower-case base32 letters (RFC 4648 §6, no padding) of
//	            day (2 bytes, big-endian days since 1970-01-01 UTC) ||
//	            HMAC-SHA256(secret, "bounced-verp/1" 0x00 day || recipient)[:10]
//
// where recipient is the lower-cased address local@domain. The token
// carries the recipient in clear (so a bounce names who it is for even when
// its report is unreadable), and the HMAC binds the recipient and the send
// day: a token cannot be minted without the secret, nor moved to another
// address or day. Verification compares in constant time and accepts every
// key given (the first signs), so a secret can be rotated without losing
// the bounces of mail signed with the old one.
//
// The package uses the standard library only, so a mailer can import it
// alone. It does not read mail: bounced finds the token in a bounce.
package verp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Header is the header a mailer may add to the message it sends, with a
// token as its value, when it cannot sign the return path.
const Header = "X-Bounced-Token"

// Version is the first character of every token of this format.
const Version = '1'

const (
	macLen    = 10                   // bytes of HMAC kept: 80 bits
	rawLen    = 2 + macLen           // day and MAC
	encLen    = (rawLen*8 + 4) / 5   // base32 letters: 20
	minSecret = 16                   // bytes
	macDomain = "bounced-verp/1\x00" // domain separation of the HMAC input
	day       = 24 * time.Hour       // a send day
	skew      = day                  // a token may be this far in the future (clocks)
	maxDay    = 1<<16 - 1            // the last day a 2-byte day holds (2149)
	alphabet  = "abcdefghijklmnopqrstuvwxyz234567"
)

var enc = base32.NewEncoding(alphabet).WithPadding(base32.NoPadding)

// Errors of Verify, for a caller that tells the operator why a bounce is
// unverified.
var (
	ErrNoToken      = errors.New("verp: no token")
	ErrMalformed    = errors.New("verp: malformed token")
	ErrBadSignature = errors.New("verp: bad signature")
	ErrExpired      = errors.New("verp: token expired")
)

// Keys signs with the first secret and verifies with any of them.
type Keys struct {
	secrets [][]byte
}

// New returns the keys; the first secret signs, and every secret is
// accepted by Verify (rotation: put the new secret first, keep the old one
// until the mail signed with it can no longer bounce). A secret must have
// at least 16 bytes.
func New(secrets ...[]byte) (*Keys, error) {
	if len(secrets) == 0 {
		return nil, errors.New("verp: no secret")
	}
	k := &Keys{}
	for i, s := range secrets {
		if len(s) < minSecret {
			return nil, fmt.Errorf("verp: secret %d has %d bytes, want at least %d", i+1, len(s), minSecret)
		}
		k.secrets = append(k.secrets, append([]byte(nil), s...))
	}
	return k, nil
}

// ParseSecrets splits the value of a secret's environment variable: one
// secret, or several separated by commas or white space (the first signs).
func ParseSecrets(s string) ([][]byte, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	if len(fields) == 0 {
		return nil, errors.New("verp: no secret")
	}
	out := make([][]byte, len(fields))
	for i, f := range fields {
		out[i] = []byte(f)
	}
	return out, nil
}

// Token returns the signed token for mail sent to recipient at t (only the
// UTC day of t is kept). The recipient must be a plain address whose local
// part is a dot-atom (RFC 5322 §3.4.1): a quoted local part cannot be
// carried inside another address.
func (k *Keys) Token(recipient string, t time.Time) (string, error) {
	local, domain, err := split(recipient)
	if err != nil {
		return "", err
	}
	d := t.UTC().Unix() / int64(day/time.Second)
	if d < 0 || d > maxDay {
		return "", fmt.Errorf("verp: send time %s out of range", t.UTC().Format(time.DateOnly))
	}
	var raw [rawLen]byte
	binary.BigEndian.PutUint16(raw[:2], uint16(d))
	copy(raw[2:], mac(k.secrets[0], raw[:2], local+"@"+domain))
	return string(Version) + enc.EncodeToString(raw[:]) + "=" + local + "=" + domain, nil
}

// ReturnPath returns base with the token of recipient added to its local
// part: "bounces@example.org" gives "bounces+TOKEN@example.org".
func (k *Keys) ReturnPath(base, recipient string, t time.Time) (string, error) {
	at := strings.LastIndexByte(base, '@')
	if at <= 0 || at == len(base)-1 || strings.ContainsAny(base, " \t\r\n<>\"") {
		return "", fmt.Errorf("verp: base address %q: want local@domain", base)
	}
	if strings.Contains(base[:at], "+") {
		return "", fmt.Errorf("verp: base address %q: its local part must not contain '+'", base)
	}
	tok, err := k.Token(recipient, t)
	if err != nil {
		return "", err
	}
	return base[:at] + "+" + tok + base[at:], nil
}

// Verify checks a token (as Token makes it, or as Find takes it out of an
// address) at now: it returns the recipient it was issued for and its send
// day, or why it fails. A token older than maxAge (counted from the end of
// its send day) is ErrExpired; maxAge 0 means no limit.
func (k *Keys) Verify(token string, now time.Time, maxAge time.Duration) (recipient string, sent time.Time, err error) {
	if token == "" {
		return "", time.Time{}, ErrNoToken
	}
	token = strings.ToLower(strings.TrimSpace(token))
	if len(token) < 1+encLen+4 || token[0] != Version || token[1+encLen] != '=' {
		return "", time.Time{}, ErrMalformed
	}
	raw, derr := enc.DecodeString(token[1 : 1+encLen])
	// A non-canonical encoding (other unused low bits in the last letter)
	// is refused, so that one token has one spelling.
	if derr != nil || len(raw) != rawLen || enc.EncodeToString(raw) != token[1:1+encLen] {
		return "", time.Time{}, ErrMalformed
	}
	rest := token[1+encLen+1:]
	eq := strings.LastIndexByte(rest, '=')
	if eq <= 0 || eq == len(rest)-1 {
		return "", time.Time{}, ErrMalformed
	}
	recipient = rest[:eq] + "@" + rest[eq+1:]
	if _, _, err := split(recipient); err != nil {
		return "", time.Time{}, ErrMalformed
	}
	ok := false
	for _, s := range k.secrets {
		// hmac.Equal is constant-time; every key is tried, so the time
		// does not tell which one matched.
		if hmac.Equal(raw[2:], mac(s, raw[:2], recipient)) {
			ok = true
		}
	}
	if !ok {
		return "", time.Time{}, ErrBadSignature
	}
	sent = time.Unix(int64(binary.BigEndian.Uint16(raw[:2]))*int64(day/time.Second), 0).UTC()
	if sent.After(now.Add(skew)) {
		return recipient, sent, fmt.Errorf("%w: send day %s is in the future", ErrMalformed, sent.Format(time.DateOnly))
	}
	if maxAge > 0 && now.Sub(sent.Add(day)) > maxAge {
		return recipient, sent, fmt.Errorf("%w: sent %s, older than %s", ErrExpired, sent.Format(time.DateOnly), maxAge)
	}
	return recipient, sent, nil
}

// Find returns the token in the local part of addr ("bounces+TOKEN@…"),
// or "" when it has none. Angle brackets and a display name around the
// address are skipped.
func Find(addr string) string {
	addr = strings.TrimSpace(addr)
	if i := strings.LastIndexByte(addr, '<'); i >= 0 {
		addr = addr[i+1:]
		if j := strings.IndexByte(addr, '>'); j >= 0 {
			addr = addr[:j]
		}
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	local := addr[:at]
	for i := 0; i < len(local); i++ {
		if local[i] != '+' {
			continue
		}
		t := local[i+1:]
		if len(t) > 1+encLen && (t[0] == Version) && t[1+encLen] == '=' && isBase32(t[1:1+encLen]) {
			return t
		}
	}
	return ""
}

func isBase32(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(alphabet, rune(s[i]|0x20)) {
			return false
		}
	}
	return true
}

func mac(secret, day []byte, recipient string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(macDomain))
	h.Write(day)
	h.Write([]byte(recipient))
	return h.Sum(nil)[:macLen]
}

// split checks a recipient address and returns its lower-cased parts.
func split(addr string) (local, domain string, err error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", fmt.Errorf("verp: recipient %q: want local@domain", addr)
	}
	local, domain = addr[:at], addr[at+1:]
	if !dotAtom(local) {
		return "", "", fmt.Errorf("verp: recipient %q: the local part must be a dot-atom (no quotes, spaces or specials)", addr)
	}
	if strings.ContainsAny(domain, "=@ \t\"<>()[],;:\\") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", "", fmt.Errorf("verp: recipient %q: bad domain", addr)
	}
	return local, domain, nil
}

// dotAtom reports whether s is a dot-atom of RFC 5322 §3.2.3: atext runs
// separated by single dots.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0:
		default:
			return false
		}
	}
	return true
}
