package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when":      when,
	"recipient": recipientURL,
	"bytes":     humanBytes,
	"score":     func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
	"f1":        func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
}).ParseFS(templateFS, "templates/*.html"))

// when shows a time in UTC, to the second; the zero time as "-".
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateTime) + " UTC"
}

// recipientURL is the path of an address's page, the address one escaped
// path segment ('/' included).
func recipientURL(address string) string { return "/recipients/" + url.PathEscape(address) }

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// render executes a page into a buffer, so that an error is a 500 and
// not half a page, and shows every invisible formatting character that
// came from data as its code point (visible).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		h.o.Logger.Error("web: rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write([]byte(visible(b.String())))
	}
}

// visible replaces the characters that change how the text around them
// is shown without being seen (bidirectional overrides and isolates such
// as U+202E, zero-width characters, other controls but tab and newline)
// with their code point as text, "⟨U+202E⟩": an address cannot look like
// another. The templates hold none of them, so only data is changed.
func visible(s string) string {
	if strings.IndexFunc(s, invisible) < 0 {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if invisible(c) {
			fmt.Fprintf(&b, "⟨U+%04X⟩", c)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func invisible(c rune) bool {
	switch {
	case c == '\t' || c == '\n' || c == '\r':
		return false
	case c < 0x20 || c >= 0x7f && c < 0xa0:
		return true
	case c >= 0x200b && c <= 0x200f, c >= 0x202a && c <= 0x202e, c >= 0x2066 && c <= 0x2069,
		c == 0x061c, c == 0xfeff, c == 0x2028, c == 0x2029:
		return true
	}
	return false
}

type errorPage struct {
	Title, Message string
}

// fail shows an error page; err, if any, is logged and not shown.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, message string, err error) {
	if err != nil {
		h.o.Logger.Error("web: serving page", "path", r.URL.Path, "err", err)
	}
	h.render(w, r, status, "error", errorPage{Title: http.StatusText(status), Message: message})
}

func (h *Handler) db(w http.ResponseWriter, r *http.Request) (*storage.DB, bool) {
	db, err := h.o.DB(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, "The database cannot be read now.", err)
		return nil, false
	}
	return db, true
}

// mailboxView is one mailbox's row of the front page.
type mailboxView struct {
	Name     string
	Last     *storage.Run
	Took     time.Duration
	Next     time.Time
	Overdue  bool
	Health   *storage.Health
	HealthOK bool
	Err      string
}

type overviewView struct {
	Title     string
	Now       time.Time
	Mailboxes []mailboxView
	Kinds     chart
	Reasons   chart
	O         storage.Overview
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	db, ok := h.db(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	now := h.o.Now()
	days := lastDays(now, Days)
	from, _ := time.Parse(time.DateOnly, days[0])
	o, err := db.Overview(ctx, from, 20)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The report cannot be read.", err)
		return
	}
	v := overviewView{Title: "bounced", Now: now, O: o}
	v.Mailboxes, err = h.mailboxes(ctx, db, now)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The runs cannot be read.", err)
		return
	}
	byKind := map[classify.Kind]*series{}
	var kinds []series
	for _, k := range classify.Kinds {
		byKind[k] = &series{name: string(k), byDay: map[string]int{}}
	}
	for _, d := range o.Days {
		for k, n := range d.ByKind {
			s, ok := byKind[k]
			if !ok {
				s = &series{name: string(k), byDay: map[string]int{}}
				byKind[k] = s
			}
			s.byDay[d.Day] += n
			s.total += n
		}
	}
	for _, k := range classify.Kinds {
		if byKind[k].total > 0 {
			kinds = append(kinds, *byKind[k])
		}
		delete(byKind, k)
	}
	for _, s := range byKind { // a kind this build does not know
		kinds = append(kinds, *s)
	}
	v.Kinds = newChart("Mails per day by kind", days, kinds)
	byReason := map[string]*series{}
	var reasons []series
	for _, rd := range o.Reasons {
		s, ok := byReason[rd.Reason]
		if !ok {
			s = &series{name: rd.Reason, byDay: map[string]int{}}
			byReason[rd.Reason] = s
		}
		s.byDay[rd.Day] += rd.Outcomes
		s.total += rd.Outcomes
	}
	for _, s := range byReason {
		reasons = append(reasons, *s)
	}
	// Map order is random: equal totals sort by name.
	sortByName(reasons)
	v.Reasons = newChart("Failed recipients per day by reason", days, reasons)
	h.render(w, r, http.StatusOK, "overview", v)
}

func sortByName(s []series) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].name < s[j-1].name; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// mailboxes is what `bounced status --offline` says of each configured
// mailbox: its last run, when it is next due (overdue a minute after),
// its health.
func (h *Handler) mailboxes(ctx context.Context, db *storage.DB, now time.Time) ([]mailboxView, error) {
	runs, err := db.LastRuns(ctx)
	if err != nil {
		return nil, err
	}
	last := map[string]storage.Run{}
	for _, r := range runs {
		last[r.Account] = r
	}
	var out []mailboxView
	for _, m := range h.o.Mailboxes() {
		mv := mailboxView{Name: m.Name}
		from := now
		if r, ok := last[m.Name]; ok {
			run := r
			mv.Last = &run
			if !r.Ended.IsZero() {
				mv.Took = r.Ended.Sub(r.Started).Round(time.Millisecond)
				from = r.Ended
			}
		}
		if m.Next != nil {
			mv.Next = m.Next(from)
			mv.Overdue = now.Sub(mv.Next) > time.Minute
		}
		hl, err := db.MailboxHealth(ctx, m.Name, now, h.o.Health())
		if err != nil {
			mv.Err = "health unknown: " + err.Error()
		} else {
			mv.Health = &hl
			mv.HealthOK = len(hl.Problems) == 0
		}
		out = append(out, mv)
	}
	return out, nil
}

// filter is /suppressions' query string, read and shown back.
type filter struct {
	Q, Reason, Since string
	Page             int
	since            time.Time
}

// readFilter reads q, reason, since (a date, an RFC 3339 time, or a
// duration back from now: "7d", "36h") and page.
func readFilter(r *http.Request, now time.Time) (filter, error) {
	v := r.URL.Query()
	f := filter{Q: strings.TrimSpace(v.Get("q")), Reason: v.Get("reason"), Since: strings.TrimSpace(v.Get("since")), Page: 1}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100000 {
			return f, fmt.Errorf("page: %q is not a page number", p)
		}
		f.Page = n
	}
	if f.Since != "" {
		if t, err := time.Parse(time.DateOnly, f.Since); err == nil {
			f.since = t
		} else if t, err := time.Parse(time.RFC3339, f.Since); err == nil {
			f.since = t
		} else if d, err := parseAgo(f.Since); err == nil {
			f.since = now.Add(-d)
		} else {
			return f, fmt.Errorf("since: %q: want a date (2026-06-01), a time (RFC 3339) or a duration back from now (7d, 36h)", f.Since)
		}
	}
	return f, nil
}

// parseAgo reads a Go duration or a whole number of days ("30d").
func parseAgo(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100000 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}

func (f filter) storage() storage.SuppressionFilter {
	return storage.SuppressionFilter{Query: f.Q, Reason: f.Reason, Since: f.since, Offset: (f.Page - 1) * PageSize, Limit: PageSize}
}

// url is the path with this filter and another page (0: none, for the CSV).
func (f filter) url(path string, page int) string {
	v := url.Values{}
	for _, p := range []struct{ k, v string }{{"q", f.Q}, {"reason", f.Reason}, {"since", f.Since}} {
		if p.v != "" {
			v.Set(p.k, p.v)
		}
	}
	if page > 1 || page > 0 && path == "/suppressions.csv" {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

type suppressionsView struct {
	Title       string
	F           filter
	Problem     string
	Reasons     []string
	Rows        []storage.Recipient
	First, Last int
	Total       int // suppressions the filter selects in all
	Page, Pages int
	Prev, Next  string
	CSV         string
	ByAddress   bool
}

func (h *Handler) suppressions(w http.ResponseWriter, r *http.Request) {
	db, ok := h.db(w, r)
	if !ok {
		return
	}
	v := suppressionsView{Title: "Suppressions"}
	f, err := readFilter(r, h.o.Now())
	v.F = f
	if err != nil {
		v.Problem = err.Error()
		h.render(w, r, http.StatusBadRequest, "suppressions", v)
		return
	}
	v.Reasons, err = db.SuppressionReasons(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The suppression list cannot be read.", err)
		return
	}
	rows, total, err := db.SuppressionPage(r.Context(), f.storage())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The suppression list cannot be read.", err)
		return
	}
	v.Rows, v.Total = rows, total
	v.Page, v.Pages = f.Page, (total+PageSize-1)/PageSize
	v.ByAddress = strings.Contains(f.Q, "@")
	if len(rows) > 0 {
		v.First = (f.Page-1)*PageSize + 1
		v.Last = v.First + len(rows) - 1
		v.CSV = f.url("/suppressions.csv", f.Page)
	}
	if f.Page > 1 {
		v.Prev = f.url("/suppressions", min(f.Page-1, max(v.Pages, 1)))
	}
	if f.Page < v.Pages {
		v.Next = f.url("/suppressions", f.Page+1)
	}
	h.render(w, r, http.StatusOK, "suppressions", v)
}

// suppressionsCSV is the page /suppressions shows with the same query
// string, as CSV: exactly its rows.
func (h *Handler) suppressionsCSV(w http.ResponseWriter, r *http.Request) {
	db, ok := h.db(w, r)
	if !ok {
		return
	}
	f, err := readFilter(r, h.o.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sf := f.storage()
	sf.NoTotal = true // the file has the page's rows, not a count of all
	rows, _, err := db.SuppressionPage(r.Context(), sf)
	if err != nil {
		h.o.Logger.Error("web: serving page", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	cw := NewCSVWriter(&b)
	cw.Write(SuppressionsHeader)
	for _, s := range rows {
		cw.Write(SuppressionRow(s))
	}
	cw.Flush()
	name := "suppressions.csv"
	if f.Page > 1 {
		name = fmt.Sprintf("suppressions-page-%d.csv", f.Page)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if r.Method != http.MethodHead {
		w.Write(b.Bytes())
	}
}

type recipientView struct {
	Title string
	H     storage.History
}

func (h *Handler) recipient(w http.ResponseWriter, r *http.Request) {
	db, ok := h.db(w, r)
	if !ok {
		return
	}
	addr := r.PathValue("address")
	hist, err := db.Recipient(r.Context(), addr)
	if errors.Is(err, storage.ErrNotFound) {
		h.fail(w, r, http.StatusNotFound, "No mail named this address: "+addr, nil)
		return
	}
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The recipient cannot be read.", err)
		return
	}
	h.render(w, r, http.StatusOK, "recipient", recipientView{Title: hist.Recipient.Address, H: hist})
}
