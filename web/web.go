// Package web serves bounced's read-only web report (docs/web.md): the
// front page (mailboxes, 30 days of mail as a chart drawn on the server in
// SVG, top failing domains, sender-side alerts, the database's size),
// the suppression list with its CSV, and one recipient's history. Pages
// are html/template with one stylesheet served from the binary: no
// script, nothing fetched from elsewhere, a Content-Security-Policy that
// allows nothing else. Everything shown comes from mail, which anyone can
// write: it is escaped, and bidirectional-text controls are shown as
// their code points (an address with U+202E cannot pass for another).
//
// It does not write: only GET and HEAD are served, and no page changes
// anything. It holds no SQL (storage does) and does not read the config.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/bounced/bounced/storage"
)

// Mailbox is one configured mailbox as the front page shows it.
type Mailbox struct {
	Name string
	// Next returns when its schedule is next due after a time.
	Next func(time.Time) time.Time
}

// Auth says who may see the report. With Required, a request needs the
// token (as "Authorization: Bearer TOKEN", or as the password of HTTP
// basic auth with any user name, for a browser) or the user name and
// password; a report that requires auth with none configured refuses
// every request.
type Auth struct {
	Required bool
	Token    string
	User     string
	Password string
}

// Options configure the report.
type Options struct {
	// DB returns the database to read (a read-only handle is enough). It
	// is asked on every request: the daemon may open it later, or again
	// after a reload.
	DB func(context.Context) (*storage.DB, error)
	// Mailboxes returns the configured mailboxes (nil: none).
	Mailboxes func() []Mailbox
	// Health returns the thresholds of the health checks (nil: the
	// defaults).
	Health func() storage.HealthOptions
	Auth   Auth
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: discard
}

// Days is how many days the front page covers.
const Days = 30

// PageSize is the number of rows of a page of /suppressions.
const PageSize = 50

// csp allows the one stylesheet and data: images; no script, no frame, no
// form posting elsewhere.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

//go:embed web.css
var css []byte

// Handler serves the report.
type Handler struct {
	o   Options
	mux *http.ServeMux
}

// New returns the report's handler: /, /suppressions, /suppressions.csv,
// /recipients/ADDRESS and /web.css; anything else is 404.
func New(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Mailboxes == nil {
		o.Mailboxes = func() []Mailbox { return nil }
	}
	if o.Health == nil {
		o.Health = func() storage.HealthOptions { return storage.DefaultHealth }
	}
	h := &Handler{o: o, mux: http.NewServeMux()}
	h.mux.HandleFunc("/{$}", h.overview)
	h.mux.HandleFunc("/suppressions", h.suppressions)
	h.mux.HandleFunc("/suppressions.csv", h.suppressionsCSV)
	h.mux.HandleFunc("/recipients/{address}", h.recipient)
	h.mux.HandleFunc("/web.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(css)
	})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "No such page.", nil)
	})
	return h
}

// ServeHTTP sets the security headers, allows GET and HEAD only and
// checks the credentials before any page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "read-only: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	if !h.o.Auth.allows(r) {
		if !h.o.Auth.configured() {
			http.Error(w, "the web report is served off loopback only with [web] token or user and password set in the config", http.StatusForbidden)
			return
		}
		hd.Set("WWW-Authenticate", `Basic realm="bounced", charset="UTF-8"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// configured reports whether a token or a user and password are set.
func (a Auth) configured() bool { return a.Token != "" || a.User != "" && a.Password != "" }

// allows reports whether r may see the report.
func (a Auth) allows(r *http.Request) bool {
	if !a.Required {
		return true
	}
	ok := false
	if a.Token != "" {
		if t, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
			ok = ok || same(t, a.Token)
		}
		if _, p, found := r.BasicAuth(); found {
			ok = ok || same(p, a.Token)
		}
	}
	if a.User != "" && a.Password != "" {
		if u, p, found := r.BasicAuth(); found {
			// Both compared, always: the time says nothing of which differs.
			uok, pok := same(u, a.User), same(p, a.Password)
			ok = ok || uok && pok
		}
	}
	return ok
}

// same compares two secrets in constant time, their lengths included
// (it compares their SHA-256).
func same(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
