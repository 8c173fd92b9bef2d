package webhook

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/storage"
)

// The kill tests run this test binary again as a child that records an
// event and is killed (SIGKILL) at a chosen point; the parent then opens
// the database as the next process would and delivers.
const (
	childEnv    = "BOUNCED_WEBHOOK_KILL_CHILD" // the child's mode: committed | in-flight
	childDBEnv  = "BOUNCED_WEBHOOK_KILL_DB"
	childURLEnv = "BOUNCED_WEBHOOK_KILL_URL"
)

// TestKillChild is the child's body; it does nothing in a normal run.
func TestKillChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("the child of TestKill")
	}
	ctx := context.Background()
	db, err := storage.Open(ctx, os.Getenv(childDBEnv), storage.Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	d, err := New(Options{Store: db, Targets: []Target{{Name: "t", URL: os.Getenv(childURLEnv)}}})
	if err == nil {
		err = d.Register(ctx)
	}
	if err == nil {
		err = db.Suppress(ctx, "killed@example.org", "kill test")
	}
	if err != nil {
		fmt.Println("child:", err)
		os.Exit(2)
	}
	fmt.Println("committed")
	if mode == "in-flight" {
		d.Flush(ctx) // killed by the parent while the receiver holds the request
	}
	select {} // killed here
}

// TestKill: a process killed between the commit of an event and its
// delivery, or while the receiver holds the request (it took it, but no
// 2xx came back, so the delivery was never marked), loses nothing: the
// next process delivers it, with the same id.
func TestKill(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	for _, mode := range []string{"committed", "in-flight"} {
		t.Run(mode, func(t *testing.T) {
			var mu sync.Mutex
			var ids []string
			took := make(chan struct{}, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				mu.Lock()
				ids = append(ids, r.Header.Get("X-Bounced-Event-Id"))
				first := len(ids) == 1
				mu.Unlock()
				if mode == "in-flight" && first {
					took <- struct{}{}
					<-r.Context().Done() // the child dies holding the connection
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			dbPath := filepath.Join(t.TempDir(), "bounced.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+mode, childDBEnv+"="+dbPath, childURLEnv+"="+srv.URL)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil || line != "committed\n" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child: %q, %v", line, err)
			}
			if mode == "in-flight" {
				select {
				case <-took:
				case <-time.After(30 * time.Second):
					cmd.Process.Kill()
					t.Fatal("the child sent nothing")
				}
			}
			cmd.Process.Kill()
			cmd.Wait()

			// The next process.
			ctx := context.Background()
			db, err := storage.Open(ctx, dbPath, storage.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			d, err := New(Options{Store: db, Targets: []Target{{Name: "t", URL: srv.URL}}})
			if err != nil {
				t.Fatal(err)
			}
			res := d.Flush(ctx)
			if res[0].Delivered != 1 || res[0].Pending != 0 {
				t.Fatalf("after the kill: %+v, want the event delivered", res)
			}
			mu.Lock()
			defer mu.Unlock()
			want := 1
			if mode == "in-flight" {
				want = 2
			}
			if len(ids) != want || ids[0] == "" || ids[len(ids)-1] != ids[0] {
				t.Errorf("requests by event id: %q, want %d with one id", ids, want)
			}
		})
	}
}
