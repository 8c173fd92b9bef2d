// Package oauth gets OAuth 2.0 access tokens for IMAP logins (RFC 6749):
// from a command of the operator's, or by bounced's own refresh-token flow
// (golang.org/x/oauth2), whose refresh token the device authorization grant
// (RFC 8628, Device) obtains once, with no browser on the server. A
// rotated refresh token is written back atomically, owner-only.
//
// It does not speak IMAP or SASL (the poller does), and no token ever
// appears in its errors.
package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Provider is where a provider's endpoints are and which scopes reach its
// IMAP service.
type Provider struct {
	TokenURL  string
	DeviceURL string
	Scopes    []string
}

// Preset returns the endpoints and IMAP scopes of a named provider:
// "google" (Gmail) or "microsoft" (Microsoft 365; tenant "" is "common").
func Preset(name, tenant string) (Provider, bool) {
	switch name {
	case "google":
		// https://developers.google.com/identity/protocols/oauth2/limited-input-device
		return Provider{
			TokenURL:  "https://oauth2.googleapis.com/token",
			DeviceURL: "https://oauth2.googleapis.com/device/code",
			Scopes:    []string{"https://mail.google.com/"},
		}, true
	case "microsoft":
		// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
		if tenant == "" {
			tenant = "common"
		}
		base := "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/"
		return Provider{
			TokenURL:  base + "token",
			DeviceURL: base + "devicecode",
			Scopes:    []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"},
		}, true
	}
	return Provider{}, false
}

// ErrToken marks every failure to get a token: the poller treats it like a
// rejected login (it backs off, never loops).
var ErrToken = errors.New("oauth: no access token")

// expiryMargin: a token this close to its expiry is not used for a login.
const expiryMargin = time.Minute

// httpTimeout bounds one request to a token endpoint.
const httpTimeout = 30 * time.Second

// Refresh gets access tokens with a refresh token kept in a file.
type Refresh struct {
	conf oauth2.Config
	file string // the refresh token, one line, 0600
	now  func() time.Time
	hc   *http.Client

	mu  sync.Mutex
	tok *oauth2.Token // the access token in hand
}

// RefreshConfig is what Refresh needs.
type RefreshConfig struct {
	ClientID, ClientSecret string
	TokenURL, DeviceURL    string
	Scopes                 []string
	RefreshTokenFile       string
	HTTPClient             *http.Client // nil: one with a 30 s timeout
}

// NewRefresh returns a token source for c.
func NewRefresh(c RefreshConfig) *Refresh {
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: httpTimeout}
	}
	return &Refresh{
		conf: oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Scopes: c.Scopes,
			Endpoint: oauth2.Endpoint{TokenURL: c.TokenURL, DeviceAuthURL: c.DeviceURL}},
		file: c.RefreshTokenFile, now: time.Now, hc: hc,
	}
}

// Token returns an access token: the one in hand while it is valid, else a
// new one from the token endpoint, for the refresh token in the file (read
// each time, so that `bounced auth` takes effect at the next login). A
// refresh token the endpoint rotated is written back before the access
// token is used.
func (r *Refresh) Token(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tok != nil && r.tok.AccessToken != "" && (r.tok.Expiry.IsZero() || r.now().Add(expiryMargin).Before(r.tok.Expiry)) {
		return r.tok.AccessToken, nil
	}
	rt, err := readSecret(r.file)
	if err != nil {
		return "", fmt.Errorf("%w: refresh_token_file: %v (run `bounced auth MAILBOX` to get one)", ErrToken, err)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, r.hc)
	tok, err := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		return "", fmt.Errorf("%w: refreshing at %s: %s", ErrToken, r.conf.Endpoint.TokenURL, describe(err))
	}
	if tok.RefreshToken != "" && tok.RefreshToken != rt {
		if err := WriteSecret(r.file, tok.RefreshToken); err != nil {
			return "", fmt.Errorf("%w: saving the rotated refresh token: %v", ErrToken, err)
		}
	}
	r.tok = tok
	return tok.AccessToken, nil
}

// Forget drops the access token in hand (the server rejected it: revoked
// before its expiry), so the next login gets a new one.
func (r *Refresh) Forget() {
	r.mu.Lock()
	r.tok = nil
	r.mu.Unlock()
}

// Device runs the device authorization grant (RFC 8628): it asks the
// device endpoint for a code, writes where to enter it to w, polls the
// token endpoint until the user has agreed (or the code expires, or ctx
// ends), and writes the refresh token to the file.
func (r *Refresh) Device(ctx context.Context, w io.Writer) error {
	if r.conf.Endpoint.DeviceAuthURL == "" {
		return errors.New("oauth: no device_url: the device flow needs the provider's device authorization endpoint")
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, r.hc)
	da, err := r.conf.DeviceAuth(ctx)
	if err != nil {
		return fmt.Errorf("asking %s for a device code: %s", r.conf.Endpoint.DeviceAuthURL, describe(err))
	}
	fmt.Fprintf(w, "Open %s and enter the code %s", da.VerificationURI, da.UserCode)
	if !da.Expiry.IsZero() {
		fmt.Fprintf(w, " (valid until %s)", da.Expiry.Local().Format("15:04:05"))
	}
	fmt.Fprintln(w, ".")
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "Or open %s\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(w, "Waiting for the sign-in ...")
	tok, err := r.conf.DeviceAccessToken(ctx, da)
	if err != nil {
		return fmt.Errorf("waiting for the sign-in at %s: %s", r.conf.Endpoint.TokenURL, describe(err))
	}
	if tok.RefreshToken == "" {
		return errors.New("the token endpoint sent no refresh token: ask for offline access (Microsoft: the scope offline_access)")
	}
	if err := WriteSecret(r.file, tok.RefreshToken); err != nil {
		return fmt.Errorf("saving the refresh token: %w", err)
	}
	r.mu.Lock()
	r.tok = tok
	r.mu.Unlock()
	fmt.Fprintf(w, "Signed in; the refresh token is in %s.\n", r.file)
	return nil
}

// describe says what a token endpoint answered, without any token: its
// error code and description (RFC 6749 §5.2) and the HTTP status.
func describe(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		s := re.ErrorCode
		if s == "" {
			s = "error"
		}
		if re.ErrorDescription != "" {
			s += ": " + firstLine(re.ErrorDescription, 200)
		}
		if re.Response != nil {
			s += fmt.Sprintf(" (HTTP %d)", re.Response.StatusCode)
		}
		return s
	}
	return err.Error()
}

// Command gets access tokens by running a command of the operator's (a
// credential helper): its standard output is the token, or a JSON object
// with access_token and expires_in (seconds) or expiry (RFC 3339).
type Command struct {
	argv    []string
	timeout time.Duration
	now     func() time.Time

	mu     sync.Mutex
	token  string
	expiry time.Time
}

// CommandTTL is how long a plain-text token from a command is used: the
// command did not say how long it lives.
const CommandTTL = 5 * time.Minute

// NewCommand returns a token source that runs argv (no shell).
func NewCommand(argv []string) *Command {
	return &Command{argv: argv, timeout: httpTimeout, now: time.Now}
}

// Token returns the token in hand while it is valid, else runs the command.
func (c *Command) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Add(expiryMargin).Before(c.expiry) {
		return c.token, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &limited{w: &out, n: 64 << 10}, &limited{w: &errOut, n: 4 << 10}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no token within %s", c.timeout)
		}
		msg := firstLine(errOut.String(), 200)
		if msg != "" {
			msg = ": " + msg
		}
		return "", fmt.Errorf("%w: token_command %s: %v%s", ErrToken, c.argv[0], err, msg)
	}
	tok, ttl, err := parseCommandOutput(out.Bytes())
	if err != nil {
		return "", fmt.Errorf("%w: token_command %s: %v", ErrToken, c.argv[0], err)
	}
	c.token, c.expiry = tok, c.now().Add(ttl)
	return tok, nil
}

// Forget drops the token in hand.
func (c *Command) Forget() {
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
}

// parseCommandOutput reads a token command's output: JSON with
// access_token (and expires_in or expiry), or the token as text.
func parseCommandOutput(b []byte) (token string, ttl time.Duration, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "", 0, errors.New("printed nothing")
	}
	if b[0] == '{' {
		var j struct {
			AccessToken string      `json:"access_token"`
			ExpiresIn   json.Number `json:"expires_in"`
			Expiry      time.Time   `json:"expiry"`
		}
		if err := json.Unmarshal(b, &j); err != nil {
			return "", 0, fmt.Errorf("printed JSON that does not parse: %v", err)
		}
		if j.AccessToken == "" {
			return "", 0, errors.New("printed JSON without access_token")
		}
		ttl = CommandTTL
		if n, err := j.ExpiresIn.Int64(); err == nil && n > 0 {
			ttl = time.Duration(n) * time.Second
		} else if !j.Expiry.IsZero() {
			ttl = time.Until(j.Expiry)
		}
		return j.AccessToken, ttl, nil
	}
	if bytes.ContainsAny(b, " \t\r\n") {
		return "", 0, errors.New("printed more than one word: want the token alone, or JSON with access_token")
	}
	return string(b), CommandTTL, nil
}

// WriteSecret writes s to path atomically (a temporary file in the same
// directory, synced, renamed into place), owner-only.
func WriteSecret(path, s string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename: no such file
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readSecret reads a one-line secret file.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

func firstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// limited writes at most n bytes to w and drops the rest.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	k := min(len(p), l.n)
	if k > 0 {
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
