package verp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	secretA = []byte("0123456789abcdef-secret-a")
	secretB = []byte("fedcba9876543210-secret-b")
	sendDay = time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)
)

func keys(t *testing.T, s ...[]byte) *Keys {
	t.Helper()
	k, err := New(s...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestReturnPathRoundTrip(t *testing.T) {
	k := keys(t, secretA)
	for _, rcpt := range []string{"jane@example.com", "Jane.Doe+news@Example.COM", "a=b@example.com", "o'brien@example.ie", "{ab}~@example.org"} {
		rp, err := k.ReturnPath("bounces@example.org", rcpt, sendDay)
		if err != nil {
			t.Fatalf("ReturnPath(%s): %v", rcpt, err)
		}
		if !strings.HasPrefix(rp, "bounces+1") || !strings.HasSuffix(rp, "@example.org") {
			t.Errorf("ReturnPath(%s) = %q, want bounces+1…@example.org", rcpt, rp)
		}
		// An MTA may upper-case the address it delivers to; the token must survive.
		for _, delivered := range []string{rp, strings.ToUpper(rp), "Bounces <" + rp + ">"} {
			tok := Find(delivered)
			if tok == "" {
				t.Fatalf("Find(%q) = \"\"", delivered)
			}
			got, sent, err := k.Verify(tok, sendDay.Add(72*time.Hour), 30*24*time.Hour)
			if err != nil {
				t.Fatalf("Verify(%q): %v", tok, err)
			}
			if want := strings.ToLower(rcpt); got != want {
				t.Errorf("Verify(%q): recipient = %q, want %q", tok, got, want)
			}
			if want := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC); !sent.Equal(want) {
				t.Errorf("Verify(%q): sent = %s, want %s", tok, sent, want)
			}
		}
	}
}

func TestTokenLayout(t *testing.T) {
	tok, err := keys(t, secretA).Token("jane@example.com", sendDay)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 1+20+1+len("jane=example.com") || tok[0] != '1' || !strings.HasSuffix(tok, "=jane=example.com") {
		t.Errorf("Token = %q, want 1 + 20 letters + =jane=example.com", tok)
	}
	if tok != strings.ToLower(tok) {
		t.Errorf("Token = %q, want lower case only", tok)
	}
}

func TestVerifyRejects(t *testing.T) {
	k := keys(t, secretA)
	now := sendDay.Add(48 * time.Hour)
	tok, _ := k.Token("jane@example.com", sendDay)
	mac := tok[:21]
	other, _ := keys(t, secretB).Token("jane@example.com", sendDay)
	raw, _ := enc.DecodeString(tok[1:21])
	raw[1]++ // the next send day, same MAC
	day2 := "1" + enc.EncodeToString(raw) + tok[21:]
	future, _ := k.Token("jane@example.com", now.Add(72*time.Hour))
	for _, tc := range []struct {
		name, tok string
		want      error
	}{
		{"empty", "", ErrNoToken},
		{"moved to another address", mac + "=ceo=bigcustomer.example", ErrBadSignature},
		{"moved to another domain", mac + "=jane=example.net", ErrBadSignature},
		{"signed with an unknown key", other, ErrBadSignature},
		{"send day changed", day2, ErrBadSignature},
		{"truncated", tok[:15], ErrMalformed},
		{"no recipient", mac + "=", ErrMalformed},
		{"bad base32", "1" + strings.Repeat("0", 20) + "=jane=example.com", ErrMalformed},
		{"other version", "2" + tok[1:], ErrMalformed},
		{"from the future", future, ErrMalformed},
	} {
		_, _, err := k.Verify(tc.tok, now, 30*24*time.Hour)
		if !errors.Is(err, tc.want) {
			t.Errorf("Verify(%s %q): err = %v, want %v", tc.name, tc.tok, err, tc.want)
		}
	}
}

func TestVerifyExpiry(t *testing.T) {
	k := keys(t, secretA)
	tok, _ := k.Token("jane@example.com", sendDay)
	maxAge := 30 * 24 * time.Hour
	endOfDay := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	if _, _, err := k.Verify(tok, endOfDay.Add(maxAge), maxAge); err != nil {
		t.Errorf("Verify at the last moment: %v", err)
	}
	_, _, err := k.Verify(tok, endOfDay.Add(maxAge+time.Second), maxAge)
	if !errors.Is(err, ErrExpired) {
		t.Errorf("Verify after max age: err = %v, want ErrExpired", err)
	}
	if _, _, err := k.Verify(tok, endOfDay.Add(10*maxAge), 0); err != nil {
		t.Errorf("Verify with no max age: %v", err)
	}
}

func TestRotation(t *testing.T) {
	old := keys(t, secretA)
	tokOld, _ := old.Token("jane@example.com", sendDay)
	rotated := keys(t, secretB, secretA) // new first: signs; old still verifies
	tokNew, _ := rotated.Token("jane@example.com", sendDay)
	if tokNew == tokOld {
		t.Fatal("the rotated keys sign with the old secret")
	}
	now := sendDay.Add(time.Hour)
	for _, tok := range []string{tokOld, tokNew} {
		if _, _, err := rotated.Verify(tok, now, 0); err != nil {
			t.Errorf("Verify(%q) with both keys: %v", tok, err)
		}
	}
	retired := keys(t, secretB) // the old secret dropped
	if _, _, err := retired.Verify(tokOld, now, 0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(old token) after the old key is retired: err = %v, want ErrBadSignature", err)
	}
}

func TestNewAndParseSecrets(t *testing.T) {
	if _, err := New(); err == nil {
		t.Error("New(): no error without a secret")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("New(short): no error for a 5-byte secret")
	}
	s, err := ParseSecrets(" new-secret-0123456789, old-secret-0123456789\n")
	if err != nil || len(s) != 2 || string(s[0]) != "new-secret-0123456789" || string(s[1]) != "old-secret-0123456789" {
		t.Errorf("ParseSecrets = %q, %v; want the two secrets in order", s, err)
	}
	if _, err := ParseSecrets("  "); err == nil {
		t.Error("ParseSecrets(blank): no error")
	}
}

func TestSignRejects(t *testing.T) {
	k := keys(t, secretA)
	for _, rcpt := range []string{"\"john doe\"@example.com", "nobody", "@example.com", "a@", "a..b@example.com", ".a@example.com", "a@exa mple.com"} {
		if tok, err := k.Token(rcpt, sendDay); err == nil {
			t.Errorf("Token(%q) = %q, want an error", rcpt, tok)
		}
	}
	for _, base := range []string{"bounces", "bounces+x@example.org", "<bounces@example.org>", "@example.org"} {
		if rp, err := k.ReturnPath(base, "jane@example.com", sendDay); err == nil {
			t.Errorf("ReturnPath(%q) = %q, want an error", base, rp)
		}
	}
}

func TestFind(t *testing.T) {
	tok, _ := keys(t, secretA).Token("a+b@example.com", sendDay)
	for _, tc := range []struct{ in, want string }{
		{"bounces+" + tok + "@example.org", tok},
		{"<bounces+" + tok + "@example.org>", tok},
		{"list+sub+" + tok + "@example.org", tok},
		{"bounces@example.org", ""},
		{"bounces+jane=example.com@example.org", ""}, // classic VERP, unsigned
		{"", ""},
	} {
		if got := Find(tc.in); got != tc.want {
			t.Errorf("Find(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	k, _ := New(secretA)
	tok, _ := k.Token("jane@example.com", sendDay)
	f.Add("bounces+" + tok + "@example.org")
	f.Add(tok)
	f.Add("1aaaaaaaaaaaaaaaaaaaa==")
	f.Fuzz(func(t *testing.T, s string) {
		for _, in := range []string{s, Find(s)} {
			rcpt, _, err := k.Verify(in, sendDay, 0)
			if err == nil {
				if !strings.Contains(rcpt, "@") {
					t.Fatalf("Verify(%q) accepted recipient %q without @", in, rcpt)
				}
				// Only a token this key signed verifies: sign it again.
				again, serr := k.Token(rcpt, sendDay)
				if serr != nil || !strings.EqualFold(again[:21], strings.TrimSpace(in)[:21]) {
					t.Fatalf("Verify(%q) accepted a token the key does not make (%q, %v)", in, again, serr)
				}
			}
		}
	})
}
