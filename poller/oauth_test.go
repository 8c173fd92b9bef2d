package poller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/oauth"
)

// authServer is an OAuth 2.0 provider of the test's own: a token endpoint
// (refresh grant, rotating the refresh token) and the RFC 7662
// introspection endpoint that Dovecot's oauth2 passdb asks about every
// token (scripts/dovecot points it at 127.0.0.1:$IMAP_OAUTH2_PORT).
type authServer struct {
	mu       sync.Mutex
	user     string
	refresh  string          // the valid refresh token
	active   map[string]bool // access token -> still valid
	issued   int
	down     bool // the token endpoint answers 503
	asked    int  // introspection requests
	tokenURL string
	// deviceURL is the RFC 8628 device endpoint; the device_code grant
	// succeeds at once (the user "signed in").
	deviceURL string
}

func startAuthServer(t *testing.T, addr, user string) *authServer {
	a := &authServer{user: user, refresh: "rt-1", active: map[string]bool{}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening for the introspection endpoint on %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", a.token)
	mux.HandleFunc("/introspect", a.introspect)
	mux.HandleFunc("/device", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"device_code":"dc-1","user_code":"WXYZ-1234","verification_uri":"http://127.0.0.1/device","expires_in":600,"interval":1}`)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	a.tokenURL = "http://" + ln.Addr().String() + "/token"
	a.deviceURL = "http://" + ln.Addr().String() + "/device"
	return a
}

func (a *authServer) token(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if a.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":"temporarily_unavailable","error_description":"the provider is down"}`)
		return
	}
	r.ParseForm()
	device := r.Form.Get("grant_type") == "urn:ietf:params:oauth:grant-type:device_code" && r.Form.Get("device_code") == "dc-1"
	if !device && (r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("refresh_token") != a.refresh) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`)
		return
	}
	a.issued++
	at := fmt.Sprintf("at-%d", a.issued)
	a.active[at] = true
	a.refresh = fmt.Sprintf("rt-%d", a.issued+1) // rotation
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600,"refresh_token":%q}`, at, a.refresh)
}

func (a *authServer) introspect(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked++
	r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	if !a.active[r.Form.Get("token")] {
		fmt.Fprint(w, `{"active":false}`)
		return
	}
	fmt.Fprintf(w, `{"active":true,"username":%q}`, a.user)
}

// revoke makes every access token given out so far invalid.
func (a *authServer) revoke() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.active)
}

// TestPollOAuth2 logs in to Dovecot with XOAUTH2 and OAUTHBEARER and
// tokens from the refresh-token flow of package oauth, signed in with the
// device flow, against Dovecot's oauth2 passdb and the test's own
// provider: a good token, a rotated
// refresh token, a token revoked before its expiry (dropped, a new one at
// the next login), a malformed token, a revoked refresh token and a
// provider that is down, each a clear error and a failed login (ErrAuth:
// the run backs off), never a token in an error.
func TestPollOAuth2(t *testing.T) {
	t.Run(realName(), func(t *testing.T) {
		b := realServer(t, TLSImplicit)
		port := os.Getenv("IMAP_OAUTH2_PORT")
		if b.name != "dovecot" || port == "" {
			t.Skip("OAuth 2.0 logins need Dovecot's oauth2 passdb (scripts/dovecot sets IMAP_OAUTH2_PORT)")
		}
		as := startAuthServer(t, "127.0.0.1:"+port, b.user)
		adm := b.admin(t)
		// Signed in with the device flow (`bounced auth`): it writes the
		// refresh token, and its access token serves the first login.
		file := filepath.Join(t.TempDir(), "refresh")
		src := oauth.NewRefresh(oauth.RefreshConfig{ClientID: "bounced-test", TokenURL: as.tokenURL, DeviceURL: as.deviceURL, RefreshTokenFile: file})
		var out strings.Builder
		if err := src.Device(t.Context(), &out); err != nil || !strings.Contains(out.String(), "enter the code WXYZ-1234") {
			t.Fatalf("device flow: %v\n%s", err, out.String())
		}
		secret := func() (string, error) {
			tok, err := src.Token(context.Background())
			if err != nil {
				return "", fmt.Errorf("%w: %w", ErrAuth, err)
			}
			return tok, nil
		}
		for _, mech := range []AuthMode{AuthXOAuth2, AuthOAuthBearer} {
			folder := adm.fresh("oauth")
			adm.append(folder, mail("b1", classify.KindBounce))
			poll := func(s func() (string, error)) (Summary, error) {
				p := b.poller(t, "primary", folder, newTestStore(t), func(o *Options) {
					o.Auth, o.Secret, o.Rejected = mech, s, src.Forget
				})
				return p.PollOnce(t.Context())
			}
			if sum, err := poll(secret); err != nil || sum.Recorded != 1 {
				t.Fatalf("%s: a good token: %+v, %v", mech, sum, err)
			}
			if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) != as.refresh {
				t.Errorf("%s: refresh token file %q, want the rotated %q", mech, b, as.refresh)
			}
			// Revoked before its expiry: that login fails, the token is
			// dropped, and the next login gets a new one.
			as.revoke()
			if _, err := poll(secret); !errors.Is(err, ErrAuth) {
				t.Errorf("%s: a revoked access token: %v, want ErrAuth", mech, err)
			}
			if _, err := poll(secret); err != nil {
				t.Errorf("%s: the login after a revoked token: %v, want a new token and success", mech, err)
			}
			if _, err := poll(func() (string, error) { return "not-a-token\x01", nil }); !errors.Is(err, ErrAuth) {
				t.Errorf("%s: a malformed token: %v, want ErrAuth", mech, err)
			}
		}
		// The refresh token itself revoked, then the provider down: clear
		// errors, no token in them.
		as.mu.Lock()
		as.refresh = "rt-revoked"
		as.mu.Unlock()
		src.Forget()
		p := b.poller(t, "primary", "INBOX", newTestStore(t), func(o *Options) { o.Auth, o.Secret = AuthXOAuth2, secret })
		_, err := p.PollOnce(t.Context())
		if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "invalid_grant: Token has been expired or revoked.") || strings.Contains(err.Error(), "rt-") {
			t.Errorf("a revoked refresh token: %v", err)
		}
		as.mu.Lock()
		as.down = true
		as.mu.Unlock()
		_, err = p.PollOnce(t.Context())
		if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "the provider is down (HTTP 503)") {
			t.Errorf("a provider that is down: %v", err)
		}
		if as.asked == 0 {
			t.Error("Dovecot never asked the introspection endpoint")
		}
	})
}
