package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// idp is a token endpoint and device endpoint of the test's own.
type idp struct {
	mu       sync.Mutex
	refresh  string // the valid refresh token
	rotate   bool   // hand out a new refresh token with every access token
	fail     int    // HTTP status to answer the next token requests with (0: work)
	issued   int
	pending  int // device flow: answer authorization_pending this often first
	srv      *httptest.Server
	lastForm map[string]string
}

func newIDP(t *testing.T) *idp {
	d := &idp{refresh: "rt-1"}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", d.token)
	mux.HandleFunc("/device", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"device_code":"dc-1","user_code":"ABCD-EFGH","verification_uri":"https://idp.example/device","expires_in":600,"interval":1}`)
	})
	d.srv = httptest.NewServer(mux)
	t.Cleanup(d.srv.Close)
	return d
}

func (d *idp) token(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r.ParseForm()
	d.lastForm = map[string]string{}
	for k := range r.Form {
		d.lastForm[k] = r.Form.Get(k)
	}
	w.Header().Set("Content-Type", "application/json")
	if d.fail != 0 {
		w.WriteHeader(d.fail)
		fmt.Fprint(w, `{"error":"temporarily_unavailable","error_description":"down for maintenance"}`)
		return
	}
	switch r.Form.Get("grant_type") {
	case "refresh_token":
		if r.Form.Get("refresh_token") != d.refresh {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`)
			return
		}
	case "urn:ietf:params:oauth:grant-type:device_code":
		if d.pending > 0 {
			d.pending--
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"authorization_pending"}`)
			return
		}
	default:
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"unsupported_grant_type"}`)
		return
	}
	d.issued++
	rt := ""
	if d.rotate || r.Form.Get("grant_type") != "refresh_token" {
		d.refresh = fmt.Sprintf("rt-%d", d.issued+1)
		rt = d.refresh
	}
	fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":3600,"refresh_token":%q}`, d.issued, rt)
}

func (d *idp) source(t *testing.T, file string) *Refresh {
	return NewRefresh(RefreshConfig{ClientID: "client", ClientSecret: "s3cret", TokenURL: d.srv.URL + "/token",
		DeviceURL: d.srv.URL + "/device", Scopes: []string{"imap"}, RefreshTokenFile: file})
}

func TestRefresh(t *testing.T) {
	d := newIDP(t)
	file := filepath.Join(t.TempDir(), "refresh")
	if err := WriteSecret(file, "rt-1"); err != nil {
		t.Fatal(err)
	}
	src := d.source(t, file)
	now := time.Now() // x/oauth2 dates the expiry by the real clock
	src.now = func() time.Time { return now }
	ctx := context.Background()
	tok, err := src.Token(ctx)
	if err != nil || tok != "at-1" {
		t.Fatalf("Token = %q, %v; want at-1", tok, err)
	}
	// The token in hand serves until a minute before it expires.
	if tok, _ := src.Token(ctx); tok != "at-1" || d.issued != 1 {
		t.Errorf("second Token = %q after %d requests, want the cached at-1", tok, d.issued)
	}
	// Rotation: a new refresh token is written back, owner-only.
	d.rotate = true
	src.Forget()
	if tok, err := src.Token(ctx); err != nil || tok != "at-2" {
		t.Fatalf("Token after Forget = %q, %v", tok, err)
	}
	b, _ := os.ReadFile(file)
	if strings.TrimSpace(string(b)) != "rt-3" {
		t.Errorf("refresh token file holds %q, want the rotated rt-3", b)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("refresh token file mode %v, want 0600", fi.Mode().Perm())
	}
	// Expiry: a new token 59 minutes later, with the rotated refresh token.
	now = now.Add(59*time.Minute + time.Second)
	if tok, err := src.Token(ctx); err != nil || tok != "at-3" {
		t.Errorf("Token near expiry = %q, %v; want a new at-3", tok, err)
	}
}

func TestRefreshErrors(t *testing.T) {
	d := newIDP(t)
	dir := t.TempDir()
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(file string)
		want  string
	}{
		{"no file", func(string) {}, "refresh_token_file: open"},
		{"revoked", func(f string) { WriteSecret(f, "rt-revoked") }, "invalid_grant: Token has been expired or revoked. (HTTP 400)"},
		{"endpoint down", func(f string) { WriteSecret(f, "rt-1"); d.fail = 503 }, "temporarily_unavailable: down for maintenance (HTTP 503)"},
	} {
		file := filepath.Join(dir, tc.name)
		tc.setup(file)
		_, err := d.source(t, file).Token(ctx)
		if err == nil || !errors.Is(err, ErrToken) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrToken and %q", tc.name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "rt-") || strings.Contains(err.Error(), "s3cret")) {
			t.Errorf("%s: the error shows a secret: %v", tc.name, err)
		}
		d.fail = 0
	}
}

func TestDevice(t *testing.T) {
	d := newIDP(t)
	d.pending = 1
	file := filepath.Join(t.TempDir(), "refresh")
	src := d.source(t, file)
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := src.Device(ctx, &out); err != nil {
		t.Fatalf("Device: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Open https://idp.example/device and enter the code ABCD-EFGH") {
		t.Errorf("Device printed %q", out.String())
	}
	b, err := os.ReadFile(file)
	if err != nil || strings.TrimSpace(string(b)) != d.refresh {
		t.Errorf("refresh token file %q, %v; want %q", b, err, d.refresh)
	}
	// The access token of the grant serves the first login.
	if tok, err := src.Token(ctx); err != nil || tok != "at-1" {
		t.Errorf("Token after Device = %q, %v", tok, err)
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) []string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		return []string{p}
	}
	ctx := context.Background()
	count := filepath.Join(dir, "count")
	c := NewCommand(script("json", `echo x >> `+count+`; echo '{"access_token":"at-json","expires_in":120}'`))
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	for range 2 {
		if tok, err := c.Token(ctx); err != nil || tok != "at-json" {
			t.Fatalf("Token = %q, %v", tok, err)
		}
	}
	if b, _ := os.ReadFile(count); strings.Count(string(b), "x") != 1 {
		t.Errorf("the command ran %d times for two logins within the expiry, want 1", strings.Count(string(b), "x"))
	}
	now = now.Add(61 * time.Second) // within a minute of expires_in
	c.Token(ctx)
	if b, _ := os.ReadFile(count); strings.Count(string(b), "x") != 2 {
		t.Errorf("the command ran %d times after the token neared expiry, want 2", strings.Count(string(b), "x"))
	}
	if tok, err := NewCommand(script("plain", "echo at-plain")).Token(ctx); err != nil || tok != "at-plain" {
		t.Errorf("plain Token = %q, %v", tok, err)
	}
	for name, tc := range map[string]struct{ body, want string }{
		"fails":   {"echo 'no credentials' >&2; exit 3", "exit status 3: no credentials"},
		"empty":   {"true", "printed nothing"},
		"words":   {"echo two words", "more than one word"},
		"badjson": {"echo '{\"token\":1}'", "without access_token"},
	} {
		_, err := NewCommand(script(name, tc.body)).Token(ctx)
		if err == nil || !errors.Is(err, ErrToken) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestPreset(t *testing.T) {
	g, ok := Preset("google", "")
	if !ok || g.TokenURL != "https://oauth2.googleapis.com/token" || g.Scopes[0] != "https://mail.google.com/" {
		t.Errorf("google: %+v", g)
	}
	m, ok := Preset("microsoft", "")
	if !ok || !strings.Contains(m.TokenURL, "/common/") || !strings.Contains(strings.Join(m.Scopes, " "), "IMAP.AccessAsUser.All offline_access") {
		t.Errorf("microsoft: %+v", m)
	}
	if _, ok := Preset("yahoo", ""); ok {
		t.Error("Preset(yahoo) exists")
	}
}
