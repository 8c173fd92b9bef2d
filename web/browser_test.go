package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// chromium finds Debian's headless Chromium: $BOUNCED_CHROMIUM, else
// chromium or chromium-browser on the PATH.
func chromium() string {
	if p := os.Getenv("BOUNCED_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser drives headless Chromium through the pages of the demo
// database as a person would: the charts render (an <svg> with bars, in
// the stylesheet's colours: the CSP let it load), the search finds a
// domain's suppressions, the CSV of the page downloads with the bytes the
// server sent, a hostile address shows as text and its link leads to its
// page. On a failure it writes a screenshot of each page it was on and
// prints where. With BOUNCED_WEB_SCREENSHOT=FILE it saves the front page
// as a PNG (docs/web-report.png is made so).
func TestBrowser(t *testing.T) {
	exe := chromium()
	if exe == "" {
		msg := "chromium not found (apt-get install chromium, or set BOUNCED_CHROMIUM): the browser test of the web report did not run"
		fmt.Fprintln(os.Stderr, "SKIP TestBrowser: "+msg)
		t.Skip(msg)
	}
	srv := demoServer(t)
	shots, err := os.MkdirTemp("", "bounced-web-browser-")
	if err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 1000), chromedp.Flag("disable-gpu", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancel()
	// The first call starts the browser, on a context without a timeout
	// (its timeout would stop the browser); the steps then have 90 s.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	failed := false
	// step runs one part of the walk; on failure it saves a screenshot of
	// the page the browser is on.
	step := func(name string, f func() error) {
		t.Helper()
		err := f()
		if err == nil {
			return
		}
		failed = true
		png, serr := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if serr != nil {
			t.Errorf("%s: %v (no screenshot: %v)", name, err, serr)
			return
		}
		p := filepath.Join(shots, strings.ReplaceAll(name, " ", "-")+".png")
		os.WriteFile(p, png, 0o644)
		t.Errorf("%s: %v (screenshot: %s)", name, err, p)
	}
	defer func() {
		if !failed {
			os.RemoveAll(shots)
		}
	}()
	texts := func(sel chromedp.CSSAll) ([]string, error) {
		nodes, err := chromedp.Run(ctx, chromedp.Nodes(sel, chromedp.AtLeast(0)))
		if err != nil {
			return nil, err
		}
		var out []string
		for _, n := range nodes {
			text, err := chromedp.Run(ctx, chromedp.Text(chromedp.NodeIDs{n.NodeID}))
			if err != nil {
				return nil, err
			}
			out = append(out, text)
		}
		return out, nil
	}

	// The front page: two charts with bars, in the stylesheet's colours.
	step("front page", func() error {
		err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("figure.chart svg rect.bar")))
		if err != nil {
			return err
		}
		svgs, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("figure.chart svg")))
		if err != nil {
			return err
		}
		bars, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("svg rect.bar")))
		if err != nil {
			return err
		}
		if len(svgs) != 2 || len(bars) < 60 {
			return fmt.Errorf("%d charts, %d bars; want 2 charts with a few bars a day", len(svgs), len(bars))
		}
		style, err := chromedp.Run(ctx, chromedp.ComputedStyle(chromedp.CSS("svg rect.bar.s0")))
		if err != nil {
			return err
		}
		fill := ""
		for _, p := range style {
			if p.Name == "fill" {
				fill = p.Value
			}
		}
		if fill != "rgb(78, 121, 167)" {
			return fmt.Errorf("the first series is filled %q, want the stylesheet's rgb(78, 121, 167)", fill)
		}
		if out := os.Getenv("BOUNCED_WEB_SCREENSHOT"); out != "" {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1420)); err != nil {
				return err
			}
			png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, png, 0o644); err != nil {
				return err
			}
			t.Logf("wrote %s", out)
			return chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000))
		}
		return nil
	})

	// The search box of the header: a domain lists its suppressions.
	var listed []string
	step("search", func() error {
		err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("header input[name=q]"), "d1.example"),
			chromedp.Submit(chromedp.CSS("header input[name=q]")),
			chromedp.WaitVisible(chromedp.CSS("table.list")))
		if err != nil {
			return err
		}
		location, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			return err
		}
		listed, err = texts("table.list td.addr a")
		if err != nil {
			return err
		}
		if !strings.Contains(location, "q=d1.example") || len(listed) == 0 {
			return fmt.Errorf("at %s, %d rows", location, len(listed))
		}
		for _, a := range listed {
			if !strings.HasSuffix(a, "@d1.example") {
				return fmt.Errorf("the search for d1.example lists %q", a)
			}
		}
		return nil
	})

	// The CSV of the page downloads, with the bytes the server sends.
	step("csv download", func() error {
		progress := chromedp.Events(ctx, browser.DownloadProgress)
		href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#csv"), "href"))
		if err != nil {
			return err
		}
		err = chromedp.Do(ctx,
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
					Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: ptr(true)})
				return err
			}),
			chromedp.Click(chromedp.CSS("#csv")))
		if err != nil {
			return err
		}
		guid := ""
		for ev, err := range progress {
			if err != nil {
				return fmt.Errorf("waiting for the download: %w", err)
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				guid = ev.GUID
				break
			}
		}
		got, err := os.ReadFile(filepath.Join(downloads, guid))
		if err != nil {
			return err
		}
		res, err := http.Get(srv.URL + href.Value)
		if err != nil {
			return err
		}
		want, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !bytes.Equal(got, want) {
			return fmt.Errorf("the downloaded CSV (%d bytes) differs from %s (%d bytes)", len(got), href.Value, len(want))
		}
		recs, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
		if err != nil || len(recs) != len(listed)+1 || strings.Join(recs[0], ",") != strings.Join(SuppressionsHeader, ",") {
			return fmt.Errorf("the downloaded CSV has %d rows for %d on the page (%v):\n%s", len(recs)-1, len(listed), err, got)
		}
		for i, r := range recs[1:] {
			if r[0] != listed[i] {
				return fmt.Errorf("CSV row %d is %q, the page's %q", i+1, r[0], listed[i])
			}
		}
		return nil
	})

	// A hostile address shows as text, and its link leads to its page.
	step("hostile address", func() error {
		err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/suppressions?q=evil.example"), chromedp.WaitVisible(chromedp.CSS("table.list")))
		if err != nil {
			return err
		}
		shown, err := texts("table.list td.addr a")
		if err != nil {
			return err
		}
		if !slices.Contains(shown, hostileAddr) {
			return fmt.Errorf("evil.example lists %q, want %q among them as text", shown, hostileAddr)
		}
		bad, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("script, img, main b"), chromedp.AtLeast(0)))
		if err != nil {
			return err
		}
		if len(bad) != 0 {
			return fmt.Errorf("%d script, img or b elements on the page: markup from the data", len(bad))
		}
		sel := chromedp.CSS(`table.list td.addr a[href="` + recipientURL(hostileAddr) + `"]`)
		if err := chromedp.Do(ctx, chromedp.Click(sel), chromedp.WaitVisible(chromedp.CSS("h1.addr"))); err != nil {
			return err
		}
		heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1.addr")))
		if err != nil {
			return err
		}
		if heading != hostileAddr {
			return fmt.Errorf("its page is titled %q, want %q", heading, hostileAddr)
		}
		return nil
	})
	step("rtl address", func() error {
		err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+recipientURL(rtlAddr)), chromedp.WaitVisible(chromedp.CSS("h1.addr")))
		if err != nil {
			return err
		}
		heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1.addr")))
		if err != nil {
			return err
		}
		if want := "admin⟨U+202E⟩moc.knab@rtl.example"; heading != want {
			return fmt.Errorf("shown as %q, want %q", heading, want)
		}
		return nil
	})
}

func ptr[T any](v T) *T { return &v }
