package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/webhook"
)

// campaignBounce is a DSN for gone@example.com whose returned headers
// carry listmonk's campaign header.
const campaignBounce = "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@sender.example\r\n" +
	"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.net>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain\r\n\r\nThe mail to gone@example.com could not be delivered.\r\n\r\n" +
	"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n" +
	"Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
	"Diagnostic-Code: smtp; 550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown\r\n\r\n" +
	"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: news@sender.example\r\nTo: gone@example.com\r\nSubject: Our news\r\n" +
	"Message-ID: <campaign-7@sender.example>\r\nX-Listmonk-Campaign: 9f86b50d-5711-41c8-ab03-bc91c43d711b\r\n\r\n--b1--\r\n"

// hookReceiver is a generic and a listmonk receiver of the test's own.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	generic  []hookRequest
	listmonk []hookRequest
	status   int           // what the generic receiver answers (0: 200)
	got      chan struct{} // a request arrived
}

type hookRequest struct {
	header http.Header
	body   []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{got: make(chan struct{}, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		status := 200
		if r.URL.Path == "/lm"+webhook.ListmonkPath {
			rc.listmonk = append(rc.listmonk, hookRequest{r.Header.Clone(), body})
		} else {
			rc.generic = append(rc.generic, hookRequest{r.Header.Clone(), body})
			if rc.status != 0 {
				status = rc.status
			}
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
		rc.got <- struct{}{}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) events(t *testing.T) []storage.OutboxEvent {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []storage.OutboxEvent
	for _, r := range rc.generic {
		if err := webhook.Verify([]byte("hook-secret"), r.header.Get(webhook.SignatureHeader), r.body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("a request does not verify: %v", err)
		}
		var ev storage.OutboxEvent
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func hookConfig(t *testing.T, rc *hookReceiver, mails [][]byte) (cfg, dbPath string) {
	t.Helper()
	t.Setenv("BOUNCED_TEST_HOOK_SECRET", "hook-secret")
	t.Setenv("BOUNCED_TEST_LISTMONK_TOKEN", "lm-token")
	cfg, dbPath, _ = imapConfig(t, mails, `
[[webhook]]
name = "crm"
url = "`+rc.URL+`/crm"
secret_env = "BOUNCED_TEST_HOOK_SECRET"
max_backoff = "1s"

[[webhook]]
name = "listmonk"
url = "`+rc.URL+`/lm"
kind = "listmonk"
username = "bounced"
token_env = "BOUNCED_TEST_LISTMONK_TOKEN"
`)
	return cfg, dbPath
}

func fixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bounces", filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPollDeliversWebhooks: a poll writes the events of its mail in the
// transaction of their outcomes and delivers them before it exits: the
// generic target gets every event, signed; listmonk gets the suppressions,
// with the campaign of the returned original.
func TestPollDeliversWebhooks(t *testing.T) {
	rc := newHookReceiver(t)
	cfg, _ := hookConfig(t, rc, [][]byte{[]byte(campaignBounce), fixture(t, "arf/abuse.eml"), sampleMails()[0]})
	out, errOut, code := runCmd(t, "", "poll", "--config", cfg)
	if code != 0 {
		t.Fatalf("poll: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"webhook crm: delivered 3, pending 0, dead-lettered 0", "webhook listmonk: delivered 2, pending 0, dead-lettered 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("poll printed no %q:\n%s%s", want, out, errOut)
		}
	}
	var got []string
	for _, ev := range rc.events(t) {
		got = append(got, string(ev.Type)+" "+ev.Address+" "+ev.Reason+" "+ev.Mailbox)
		if ev.ID == "" || ev.At.IsZero() {
			t.Errorf("event without id or time: %+v", ev)
		}
	}
	want := []string{
		"complaint kim@isp.example complaint:abuse primary",
		"suppression.added gone@example.com userunknown primary",
		"suppression.added kim@isp.example complaint:abuse primary",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("generic events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.listmonk) != 2 {
		t.Fatalf("listmonk got %d requests, want 2", len(rc.listmonk))
	}
	var b struct {
		Email, CampaignUUID, Source, Type string
	}
	r := rc.listmonk[0]
	json.Unmarshal(r.body, &struct {
		Email        *string `json:"email"`
		CampaignUUID *string `json:"campaign_uuid"`
		Source       *string `json:"source"`
		Type         *string `json:"type"`
	}{&b.Email, &b.CampaignUUID, &b.Source, &b.Type})
	if b.Email != "gone@example.com" || b.CampaignUUID != "9f86b50d-5711-41c8-ab03-bc91c43d711b" || b.Source != "bounced" || b.Type != "hard" ||
		r.header.Get("Authorization") != "token bounced:lm-token" {
		t.Errorf("listmonk request: %s %v", r.body, r.header)
	}
	if !strings.Contains(string(rc.listmonk[1].body), `"type":"complaint"`) {
		t.Errorf("listmonk complaint: %s", rc.listmonk[1].body)
	}
}

// TestWebhooksDeadLetterAndRetry: a receiver that refuses an event for
// good dead-letters it; status says so (exit 1, text and JSON); webhooks
// list shows it; retry re-queues it and the next poll delivers it.
func TestWebhooksDeadLetterAndRetry(t *testing.T) {
	rc := newHookReceiver(t)
	rc.status = 422
	cfg, _ := hookConfig(t, rc, [][]byte{[]byte(campaignBounce)})
	out, errOut, code := runCmd(t, "", "poll", "--config", cfg)
	if code != 0 || !strings.Contains(out, "webhook crm: delivered 0, pending 0, dead-lettered 1") {
		t.Fatalf("poll: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = runCmd(t, "", "status", "--config", cfg, "--offline")
	if code != 1 || !strings.Contains(out, "crm: 0 pending, 1 dead-lettered") || !strings.Contains(out, "last error: 422 Unprocessable Entity") ||
		!strings.Contains(out, `PROBLEM: webhook "crm": 1 events dead-lettered`) {
		t.Errorf("status with a dead letter: exit %d\n%s", code, out)
	}
	out, _, _ = runCmd(t, "", "status", "--config", cfg, "--offline", "--format", "json")
	var st statusReport
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.OK || len(st.Mailboxes) != 1 || !st.Mailboxes[0].OK {
		t.Errorf("status --format json: %v\n%s", err, out)
	}
	if hooks := st.Webhooks; hooks.OK || len(hooks.Targets) != 2 || hooks.Targets[0].Target != "crm" || hooks.Targets[0].Dead != 1 ||
		len(hooks.Problems) != 1 || !strings.Contains(hooks.Problems[0], `webhook "crm": 1 events dead-lettered`) {
		t.Errorf("status --format json: webhooks %+v\n%s", hooks, out)
	}
	// The shape, as a consumer without Go's types reads it: one object,
	// each part by its name.
	var shape map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &shape); err != nil || len(shape) != 3 || shape["ok"] == nil || shape["mailboxes"] == nil || shape["webhooks"] == nil {
		t.Errorf("status --format json: want one object with ok, mailboxes and webhooks: %v\n%s", err, out)
	}
	out, errOut, code = runCmd(t, "", "webhooks", "list", "--config", cfg, "--state", "dead")
	if code != 0 || !strings.Contains(out, "crm") || !strings.Contains(out, "dead") || !strings.Contains(out, "suppression.added") ||
		!strings.Contains(out, "gone@example.com") || !strings.Contains(out, "last error (HTTP 422)") {
		t.Errorf("webhooks list: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = runCmd(t, "", "webhooks", "list", "--config", cfg, "--state", "all", "--format", "json")
	var ds []storage.Delivery
	if err := json.Unmarshal([]byte(out), &ds); err != nil || code != 0 || len(ds) != 2 {
		t.Errorf("webhooks list --format json: %v\n%s", err, out)
	}
	rc.mu.Lock()
	rc.status = 0
	rc.mu.Unlock()
	out, errOut, code = runCmd(t, "", "webhooks", "retry", "--config", cfg, "--target", "crm")
	if code != 0 || !strings.Contains(out, "re-queued 1 dead-lettered deliveries") {
		t.Fatalf("webhooks retry: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCmd(t, "", "poll", "--config", cfg)
	if code != 0 || !strings.Contains(out, "webhook crm: delivered 1, pending 0, dead-lettered 0") {
		t.Errorf("poll after retry: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, code := runCmd(t, "", "status", "--config", cfg, "--offline"); code != 0 {
		t.Errorf("status after the retry: exit %d\n%s", code, out)
	}
	// A replay of a delivered event, by its id.
	id := ds[0].Event.ID
	if out, errOut, code := runCmd(t, "", "webhooks", "retry", "--config", cfg, id); code != 0 || !strings.Contains(out, "re-queued 2 named deliveries") {
		t.Errorf("webhooks retry %s: exit %d\n%s%s", id, code, out, errOut)
	}
	if _, errOut, code := runCmd(t, "", "webhooks", "retry", "--config", cfg, "no-such-id"); code != 1 || !strings.Contains(errOut, "event no-such-id: storage: not found") {
		t.Errorf("webhooks retry of an unknown id: exit %d, %s", code, errOut)
	}
}

// TestWebhooksCommandUsage: the command's usage errors read as every
// other command's.
func TestWebhooksCommandUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"webhooks"}, "webhooks: want list or retry"},
		{[]string{"webhooks", "purge"}, "webhooks: want list or retry"},
		{[]string{"webhooks", "list", "extra"}, `webhooks: unexpected argument "extra"`},
		{[]string{"webhooks", "list", "--state", "gone"}, `webhooks: --state must be undelivered, pending, dead, delivered or all, not "gone"`},
		{[]string{"webhooks", "list", "--format", "csv"}, `webhooks: --format must be text or json, not "csv"`},
	} {
		if _, errOut, code := runCmd(t, "", tc.args...); code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, %s; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestRunDeliversWebhooks: the daemon delivers continuously: the event of
// its first run reaches the receiver without any poll.
func TestRunDeliversWebhooks(t *testing.T) {
	rc := newHookReceiver(t)
	cfg, _ := hookConfig(t, rc, [][]byte{[]byte(campaignBounce)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	var logs syncBuffer
	go func() {
		done <- run(ctx, []string{"run", "--config", cfg}, strings.NewReader(""), &bytes.Buffer{}, &logs)
	}()
	deadline := time.After(30 * time.Second)
	for n := 0; n < 2; {
		select {
		case <-rc.got:
			n++
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("the daemon delivered %d of 2 requests within 30s", n)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	evs := rc.events(t)
	if len(evs) != 1 || evs[0].Type != storage.EventSuppressionAdded || evs[0].Address != "gone@example.com" {
		t.Errorf("generic events: %+v", evs)
	}
}

// TestRunReloadsWebhooks: a reload with the same [[webhook]] tables keeps
// the running delivery; a changed one replaces it; one that cannot start
// (its secret is not in the environment) fails the reload and keeps the
// running one.
func TestRunReloadsWebhooks(t *testing.T) {
	rc := newHookReceiver(t)
	cfgPath, _ := hookConfig(t, rc, sampleMails())
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hooks := newWebhookRunner(log, nil, nil)
	d := newDaemon(cfgPath, log, hooks.mod)
	d.webhooks = hooks
	ctx, cancel := context.WithCancel(t.Context())
	defer func() {
		cancel()
		d.wait()
	}()
	if err := d.start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	current := func() *hookSlot {
		hooks.mu.Lock()
		defer hooks.mu.Unlock()
		return hooks.cur
	}
	first := current()
	if first == nil || strings.Join(first.d.Names(), ",") != "crm,listmonk" {
		t.Fatalf("no delivery after start: %+v", first)
	}
	if err := d.reload(ctx); err != nil || current() != first {
		t.Errorf("reload of the same config: %v; the delivery was replaced", err)
	}
	text, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(text), `max_backoff = "1s"`, `max_backoff = "2s"`, 1)
	if err := os.WriteFile(cfgPath, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.reload(ctx); err != nil || current() == first {
		t.Fatalf("reload of a changed [[webhook]]: %v; the delivery was kept", err)
	}
	second := current()
	bad := strings.Replace(changed, `secret_env = "BOUNCED_TEST_HOOK_SECRET"`, `secret_env = "BOUNCED_TEST_UNSET_SECRET"`, 1)
	if err := os.WriteFile(cfgPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.reload(ctx); err == nil || !strings.Contains(err.Error(), "BOUNCED_TEST_UNSET_SECRET is not set") || current() != second {
		t.Errorf("reload with an unset secret: %v; want the error and the running delivery kept", err)
	}
}

// TestOutboxStoreKeepsTheMonitorsHealth: the monitor wraps the outbox's
// store and still judges each mailbox's health after its run.
func TestOutboxStoreKeepsTheMonitorsHealth(t *testing.T) {
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "b.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := poller.Options{Store: db}
	outboxMod(slog.New(slog.NewTextHandler(io.Discard, nil)), func() storage.HealthOptions { return storage.DefaultHealth }, func() {})(&o)
	if _, ok := o.Store.(interface {
		MailboxHealth(context.Context, string, time.Time, storage.HealthOptions) (storage.Health, error)
	}); !ok {
		t.Error("the outbox's store hides MailboxHealth from the monitor")
	}
}

// TestCheckConfigWebhooks: check-config says per [[webhook]] whether its
// secret or token is set and whether the receiver can be reached, sends it
// nothing, and fails (exit 1) on a missing token or a receiver that is
// down; --offline checks the environment without connecting.
func TestCheckConfigWebhooks(t *testing.T) {
	rc := newHookReceiver(t)
	cfg, _ := hookConfig(t, rc, sampleMails())
	host := strings.TrimPrefix(rc.URL, "http://")
	out, errOut, code := runCmd(t, "", "check-config", "--config", cfg)
	for _, want := range []string{
		"config ok: 1 mailbox(es), 1 enabled, 2 webhook(s),",
		`webhook "crm": generic ` + rc.URL + "/crm, events all\n  ok   secret_env BOUNCED_TEST_HOOK_SECRET is set\n" +
			"  ok   connects to " + host + " (http, no TLS); no event sent",
		`webhook "listmonk": listmonk ` + rc.URL + "/lm, events suppression.added\n  ok   token_env BOUNCED_TEST_LISTMONK_TOKEN is set\n" +
			"  ok   connects to " + host,
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("check-config: exit %d, want %q in\n%s%s", code, want, out, errOut)
		}
	}
	rc.mu.Lock()
	if n := len(rc.generic) + len(rc.listmonk); n != 0 {
		t.Errorf("check-config sent the receivers %d requests, want none", n)
	}
	rc.mu.Unlock()

	t.Setenv("BOUNCED_TEST_LISTMONK_TOKEN", "")
	for _, tc := range []struct {
		offline  bool
		connects int // crm only: listmonk is not tried without its token
	}{{false, 1}, {true, 0}} {
		args := []string{"check-config", "--config", cfg}
		if tc.offline {
			args = append(args, "--offline")
		}
		out, _, code = runCmd(t, "", args...)
		if code != 1 || !strings.Contains(out, "  FAIL token_env: environment variable BOUNCED_TEST_LISTMONK_TOKEN is not set") ||
			strings.Count(out, "connects to") != tc.connects {
			t.Errorf("check-config (offline %v) without the listmonk token: exit %d, want 1, a FAIL line and %d connections\n%s", tc.offline, code, tc.connects, out)
		}
	}

	t.Setenv("BOUNCED_TEST_LISTMONK_TOKEN", "lm-token")
	rc.Close()
	out, _, code = runCmd(t, "", "check-config", "--config", cfg)
	if code != 1 || !strings.Contains(out, "  FAIL connecting to "+host) || strings.Contains(out, "connects to") {
		t.Errorf("check-config with the receiver down: exit %d, want 1 and FAIL connecting\n%s", code, out)
	}
}
