package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/storage"
)

// TestReport: the web report of `run` reads the config's database (opened
// at the first request), shows its mailboxes, and off loopback wants the
// token of [web].
func TestReport(t *testing.T) {
	cfg := configs.Default()
	cfg.Mailboxes = []configs.Mailbox{{Name: "primary", Schedule: "@every 5m"}, {Name: "off", Disabled: true}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name, listen, auth string
		want               int
	}{
		{"loopback", "127.0.0.1:9464", "", 200},
		{"public without the token", "0.0.0.0:9464", "", 401},
		{"public with the token", "0.0.0.0:9464", "Bearer t0ken", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.Listen, c.ListenPublic = tc.listen, true
			c.DB = filepath.Join(t.TempDir(), "bounced.db")
			c.Web.TokenEnv = "BOUNCED_TEST_WEB_TOKEN"
			t.Setenv("BOUNCED_TEST_WEB_TOKEN", "t0ken")
			r, err := newReport(c, log)
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			req := httptest.NewRequest("GET", "/", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			// Before the daemon created the database: 503, not a crash.
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if want := map[int]int{200: 503, 401: 401}[tc.want]; rec.Code != want {
				t.Errorf("before the database: %d, want %d", rec.Code, want)
			}
			db, err := storage.Open(context.Background(), c.DB, storage.Options{})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			rec = httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("GET /: %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == http.StatusOK && (!strings.Contains(rec.Body.String(), "primary") || strings.Contains(rec.Body.String(), ">off<")) {
				t.Errorf("GET /: the enabled mailbox is not shown, or the disabled one is:\n%s", rec.Body)
			}
		})
	}
	c := cfg
	c.Web.TokenEnv = "BOUNCED_TEST_WEB_UNSET"
	if _, err := newReport(c, log); err == nil || !strings.Contains(err.Error(), "BOUNCED_TEST_WEB_UNSET") {
		t.Errorf("token_env unset: %v", err)
	}
}
