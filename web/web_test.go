package web

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bounced/bounced/storage"
)

func get(t *testing.T, h http.Handler, method, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// TestHostile feeds hostile addresses, diagnostics and notes through every
// page: they come out as text, never as markup, and the bidi override as
// its code point.
func TestHostile(t *testing.T) {
	h := New(demoOptions(demoDB(t)))
	pages := []string{
		"/",
		"/suppressions",
		"/suppressions?q=" + url.QueryEscape(hostileAddr),
		"/suppressions?q=evil.example",
		"/suppressions?q=rtl.example",
		"/suppressions?q=" + url.QueryEscape(`"><script>`) + "&since=" + url.QueryEscape(`<x>`),
		"/suppressions?reason=" + url.QueryEscape(`"><script>alert(1)</script>`),
		recipientURL(hostileAddr),
		recipientURL(rtlAddr),
		recipientURL("manual@evil.example"),
		recipientURL(`<script>@nobody.example`),
		"/nothing/" + url.PathEscape(`<script>`),
	}
	for _, p := range pages {
		res, body := get(t, h, "GET", p, nil)
		if res.StatusCode >= 500 {
			t.Errorf("GET %s: status %d: %s", p, res.StatusCode, body)
		}
		checkHeaders(t, p, res)
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type = %q", p, ct)
		}
		for _, bad := range []string{"<script", "<img", "<b ", "<i>", "onerror=\"", "\u202e", "</td></tr></table><"} {
			if strings.Contains(body, bad) {
				i := strings.Index(body, bad)
				t.Errorf("GET %s: page contains %q unescaped: ...%s...", p, bad, body[max(0, i-80):min(len(body), i+80)])
			}
		}
	}
	// The hostile values are there, as text.
	_, body := get(t, h, "GET", recipientURL(hostileAddr), nil)
	for _, want := range []string{"&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;@evil.example", "&lt;img src=x onerror=&#34;alert(&#39;d&#39;)&#34;&gt;",
		"⟨U+202E⟩", strings.Repeat("A", 5000), "dsn &lt;rule&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("recipient page of %q: no %q", hostileAddr, want)
		}
	}
	_, body = get(t, h, "GET", "/suppressions?q=rtl.example", nil)
	if !strings.Contains(body, "admin⟨U+202E⟩moc.knab@rtl.example") {
		t.Errorf("/suppressions?q=rtl.example: the RTL address is not shown with its code point:\n%s", body)
	}
	_, body = get(t, h, "GET", "/suppressions?q=evil.example", nil)
	if !strings.Contains(body, "&lt;b onmouseover=&#39;x&#39;&gt;&#34;note&#34;&lt;/b&gt; &amp; ⟨U+202E⟩") {
		t.Errorf("/suppressions?q=evil.example: the note is not shown escaped:\n%s", body)
	}
	// The link to the recipient page escapes the address as one segment.
	if !strings.Contains(body, `href="/recipients/%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E@evil.example"`) {
		t.Errorf("/suppressions?q=evil.example: no escaped link to the hostile address:\n%s", body)
	}
	_, body = get(t, h, "GET", "/", nil)
	if !strings.Contains(body, "login: &lt;b&gt;NO&lt;/b&gt; [AUTHENTICATIONFAILED] &#34;bad&#34;") {
		t.Errorf("/: the failed run's error is not shown escaped")
	}
}

func checkHeaders(t *testing.T, page string, res *http.Response) {
	t.Helper()
	if got := res.Header.Get("Content-Security-Policy"); got != csp || !strings.Contains(got, "default-src 'none'") {
		t.Errorf("%s: Content-Security-Policy = %q", page, got)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options = %q", page, got)
	}
}

// TestReadOnly: only GET and HEAD, and neither changes the database.
func TestReadOnly(t *testing.T) {
	db := demoDB(t)
	h := New(demoOptions(db))
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		for _, p := range []string{"/", "/suppressions", "/suppressions.csv", recipientURL("manual@evil.example")} {
			res, _ := get(t, h, m, p, nil)
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: status %d, Allow %q, want 405 and GET, HEAD", m, p, res.StatusCode, res.Header.Get("Allow"))
			}
		}
	}
	res, body := get(t, h, "HEAD", "/", nil)
	if res.StatusCode != 200 || body != "" {
		t.Errorf("HEAD /: status %d, %d bytes", res.StatusCode, len(body))
	}
	// Nothing of the database is changed by the pages (no route writes;
	// the suppression of the hand-suppressed address stays).
	hist, err := db.Recipient(context.Background(), "manual@evil.example")
	if err != nil || hist.Recipient.State != storage.StateSuppressed {
		t.Errorf("manual@evil.example: %v, %v", hist.Recipient.State, err)
	}
}

// TestAuth: off loopback a request needs the token or the user and
// password; without any configured every request is refused.
func TestAuth(t *testing.T) {
	db := demoDB(t)
	basic := func(u, p string) http.Header {
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth(u, p)
		return r.Header
	}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	for _, tc := range []struct {
		name   string
		auth   Auth
		header http.Header
		want   int
	}{
		{"loopback", Auth{}, nil, 200},
		{"public, nothing configured", Auth{Required: true}, nil, 403},
		{"public, nothing configured, any basic", Auth{Required: true}, basic("", ""), 403},
		{"token, none given", Auth{Required: true, Token: "s3cret-token"}, nil, 401},
		{"token as bearer", Auth{Required: true, Token: "s3cret-token"}, bearer("s3cret-token"), 200},
		{"wrong bearer", Auth{Required: true, Token: "s3cret-token"}, bearer("s3cret-tokeN"), 401},
		{"prefix of the token", Auth{Required: true, Token: "s3cret-token"}, bearer("s3cret"), 401},
		{"token as basic password", Auth{Required: true, Token: "s3cret-token"}, basic("anyone", "s3cret-token"), 200},
		{"basic", Auth{Required: true, User: "ops", Password: "pw"}, basic("ops", "pw"), 200},
		{"basic, wrong password", Auth{Required: true, User: "ops", Password: "pw"}, basic("ops", "pW"), 401},
		{"basic, wrong user", Auth{Required: true, User: "ops", Password: "pw"}, basic("root", "pw"), 401},
		{"basic, token configured too", Auth{Required: true, Token: "t", User: "ops", Password: "pw"}, basic("ops", "pw"), 200},
		{"empty password is no password", Auth{Required: true, User: "ops"}, basic("ops", ""), 403},
	} {
		o := demoOptions(db)
		o.Auth = tc.auth
		h := New(o)
		for _, p := range []string{"/", "/suppressions.csv", "/web.css"} {
			res, body := get(t, h, "GET", p, tc.header)
			if res.StatusCode != tc.want {
				t.Errorf("%s: GET %s: status %d, want %d (%s)", tc.name, p, res.StatusCode, tc.want, body)
			}
			if tc.want == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s: GET %s: no WWW-Authenticate", tc.name, p)
			}
			checkHeaders(t, tc.name+" "+p, res)
		}
	}
}

// TestSuppressionsCSV: the CSV is the page's rows, the same filter and
// page, with the cells a spreadsheet would run neutralised.
func TestSuppressionsCSV(t *testing.T) {
	h := New(demoOptions(demoDB(t)))
	_, page := get(t, h, "GET", "/suppressions?q=evil.example", nil)
	res, body := get(t, h, "GET", "/suppressions.csv?q=evil.example", nil)
	if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="suppressions.csv"` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("reading the CSV: %v\n%s", err, body)
	}
	if strings.Join(recs[0], ",") != strings.Join(SuppressionsHeader, ",") {
		t.Errorf("header = %v", recs[0])
	}
	if len(recs) != 3 {
		t.Fatalf("%d rows, want the 2 suppressions of evil.example:\n%s", len(recs)-1, body)
	}
	for _, r := range recs[1:] {
		if !strings.Contains(page, template.HTMLEscapeString(r[0])) {
			t.Errorf("CSV row %q is not on the page", r[0])
		}
	}
	// Paged: page 2 of all suppressions is the page's 2 rows, as a file.
	_, page2 := get(t, h, "GET", "/suppressions?page=2", nil)
	res, body = get(t, h, "GET", "/suppressions.csv?page=2", nil)
	recs, _ = csv.NewReader(strings.NewReader(body)).ReadAll()
	if rows := strings.Count(page2, `<td class="addr">`); rows != len(recs)-1 || rows == 0 {
		t.Errorf("page 2 shows %d rows, its CSV has %d", rows, len(recs)-1)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "page-2") {
		t.Errorf("Content-Disposition of page 2 = %q", cd)
	}
}

// TestSuppressionsPageOfPages: the pager says which rows of how many and
// which page of how many; the last page links to no next one, and a page
// past the end says so and links to the last.
func TestSuppressionsPageOfPages(t *testing.T) {
	db := demoDB(t)
	h := New(demoOptions(db))
	_, total, err := db.SuppressionPage(context.Background(), storage.SuppressionFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	rows, none, err := db.SuppressionPage(context.Background(), storage.SuppressionFilter{Limit: 1, NoTotal: true})
	if err != nil || none != -1 || len(rows) != 1 {
		t.Errorf("NoTotal: %d rows, total %d, %v; want 1 row, total -1", len(rows), none, err)
	}
	pages := (total + PageSize - 1) / PageSize
	if pages < 2 {
		t.Fatalf("the demo database has %d suppressions, want more than a page", total)
	}
	_, first := get(t, h, "GET", "/suppressions", nil)
	for _, want := range []string{fmt.Sprintf("1–%d of %d", PageSize, total), fmt.Sprintf("page 1 of %d", pages), `rel="next"`} {
		if !strings.Contains(first, want) {
			t.Errorf("page 1 lacks %q", want)
		}
	}
	_, last := get(t, h, "GET", fmt.Sprintf("/suppressions?page=%d", pages), nil)
	if want := fmt.Sprintf("%d–%d of %d", (pages-1)*PageSize+1, total, total); !strings.Contains(last, want) {
		t.Errorf("the last page lacks %q", want)
	}
	if strings.Contains(last, `rel="next"`) || !strings.Contains(last, fmt.Sprintf("page %d of %d", pages, pages)) {
		t.Errorf("the last page links to a next page, or does not say it is the last")
	}
	_, past := get(t, h, "GET", fmt.Sprintf("/suppressions?page=%d", pages+3), nil)
	if !strings.Contains(past, "past the last page") || !strings.Contains(past, fmt.Sprintf("page=%d", pages)) {
		t.Errorf("a page past the end does not say so or link to the last page")
	}
	// A filter counts only what it selects.
	_, evil := get(t, h, "GET", "/suppressions?q=evil.example", nil)
	if !strings.Contains(evil, "1–2 of 2") || !strings.Contains(evil, "page 1 of 1") {
		t.Errorf("the filtered page does not say 1–2 of 2, page 1 of 1")
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "",
		"user@example.org":          "user@example.org",
		"=cmd|'/Ccalc'!A0@evil.org": "'=cmd|'/Ccalc'!A0@evil.org",
		"+1@x.org":                  "'+1@x.org",
		"-2@x.org":                  "'-2@x.org",
		"@x":                        "'@x",
		"\tx":                       "'\tx",
		"\rx":                       "'\rx",
		"'quoted":                   "''quoted",
		"-12.5":                     "-12.5",
		"3":                         "3",
		"1.":                        "1.",
	} {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSuppressionsFilter: search by address prefix and by domain, filter
// by reason and since, page by page.
func TestSuppressionsFilter(t *testing.T) {
	h := New(demoOptions(demoDB(t)))
	rows := func(q string) []string {
		t.Helper()
		res, body := get(t, h, "GET", "/suppressions.csv?"+q, nil)
		if res.StatusCode != 200 {
			t.Fatalf("GET /suppressions.csv?%s: %d %s", q, res.StatusCode, body)
		}
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs[1:] {
			out = append(out, r[0]+" "+r[1])
		}
		return out
	}
	if got := rows("q=manual%40"); len(got) != 1 || got[0] != "manual@evil.example manual" {
		t.Errorf("q=manual@: %v", got)
	}
	if got := rows("q=EVIL.example&reason=manual"); len(got) != 1 {
		t.Errorf("q=evil.example&reason=manual: %v", got)
	}
	for _, r := range rows("reason=userunknown") {
		if !strings.HasSuffix(r, " userunknown") {
			t.Errorf("reason=userunknown lists %s", r)
		}
	}
	// Since: only the three recorded last (demoDB's hostile ones and the
	// manual one are the newest).
	if got := rows("since=" + url.QueryEscape(demoNow.Add(-90*60e9).Format("2006-01-02T15:04:05Z"))); len(got) != 3 {
		t.Errorf("since an hour and a half ago: %v", got)
	}
	all := rows("") // page 1
	if len(all) != PageSize {
		t.Fatalf("page 1 has %d rows, want %d", len(all), PageSize)
	}
	seen := map[string]bool{}
	for p := 1; ; p++ {
		got := rows("page=" + string(rune('0'+p)))
		for _, r := range got {
			if seen[r] {
				t.Errorf("page %d repeats %s", p, r)
			}
			seen[r] = true
		}
		if len(got) < PageSize {
			break
		}
	}
	res, body := get(t, h, "GET", "/suppressions?since=yesterday", nil)
	if res.StatusCode != 400 || !strings.Contains(body, "since: &#34;yesterday&#34;") {
		t.Errorf("since=yesterday: %d\n%s", res.StatusCode, body)
	}
}

// TestOverview: the chart has bars, the mailboxes their state.
func TestOverview(t *testing.T) {
	h := New(demoOptions(demoDB(t)))
	res, body := get(t, h, "GET", "/", nil)
	if res.StatusCode != 200 {
		t.Fatalf("GET /: %d", res.StatusCode)
	}
	for _, want := range []string{"<svg", `<rect class="bar s0"`, "2026-06-23 bounce: ", "userunknown", "never-run", "never",
		"FAILED: login", "d0.example", "Last vacuum: none recorded", "free pages"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /: no %q", want)
		}
	}
	if n := strings.Count(body, "<rect "); n < 60 {
		t.Errorf("GET /: %d bars, want a few per day", n)
	}
	res, _ = get(t, h, "GET", "/nothing", nil)
	if res.StatusCode != 404 {
		t.Errorf("GET /nothing: %d", res.StatusCode)
	}
	res, _ = get(t, h, "GET", recipientURL("nobody@nowhere.example"), nil)
	if res.StatusCode != 404 {
		t.Errorf("unknown recipient: %d", res.StatusCode)
	}
	o := demoOptions(nil)
	o.DB = func(context.Context) (*storage.DB, error) { return nil, errors.New("no database yet") }
	res, body = get(t, New(o), "GET", "/", nil)
	if res.StatusCode != 503 || strings.Contains(body, "no database yet") {
		t.Errorf("without a database: %d %s", res.StatusCode, body)
	}
}
