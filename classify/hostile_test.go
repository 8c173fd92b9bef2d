package classify

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/internal/hostile"
)

// TestHostileMail: the classifier returns on every mail of the hostile set
// (50 MB, 10,000 parts, 1,000-deep nesting, a 1 MiB header line, 10,000
// headers, NULs, broken encodings and charsets, 10,000 recipients, a
// message/rfc822 loop, 150 status parts of 1,000 recipients) without a
// panic, with a known kind, at most maxRecipients recipients, each address
// once and every failed one with an address, and with
// what it allocates bounded by what it reads (at most maxMessageSize). The
// time guard only catches a hang: speed lives in benchmarks.
func TestHostileMail(t *testing.T) {
	for _, m := range hostile.Mails() {
		t.Run(m.Name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			type result struct {
				v     Verdict
				err   error
				panic any
			}
			done := make(chan result, 1)
			start := time.Now()
			go func() {
				defer func() {
					if r := recover(); r != nil {
						done <- result{panic: r}
					}
				}()
				v, err := Message(m.Raw)
				done <- result{v: v, err: err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(2 * time.Minute):
				t.Fatalf("Message(%s) did not return within 2 minutes (%s)", m.Name, m.Comment)
			}
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if r.panic != nil {
				t.Fatalf("Message(%s) panicked: %v", m.Name, r.panic)
			}
			if m.NotMessage {
				if !errors.Is(r.err, ErrNotMessage) {
					t.Errorf("Message(%s): %v, want ErrNotMessage", m.Name, r.err)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("Message(%s): %v, want a verdict (%s)", m.Name, r.err, m.Comment)
			}
			v := r.v
			if !slices.Contains(Kinds, v.Kind) {
				t.Errorf("Message(%s): kind %q, not a known kind", m.Name, v.Kind)
			}
			if len(v.Recipients) > maxRecipients {
				t.Errorf("Message(%s): %d recipients, limit %d", m.Name, len(v.Recipients), maxRecipients)
			}
			seen := map[string]bool{}
			for _, rc := range v.Recipients {
				if rc.Action == ActionFailed && rc.Address == "" {
					t.Errorf("Message(%s): a failed recipient without an address: %+v", m.Name, rc)
				}
				// A second outcome for one address would count one
				// failure twice toward its soft score.
				if a := strings.ToLower(rc.Address); seen[a] {
					t.Errorf("Message(%s): %s reported twice", m.Name, rc.Address)
				}
				seen[strings.ToLower(rc.Address)] = true
			}
			read := min(len(m.Raw), maxMessageSize)
			alloc := after.TotalAlloc - before.TotalAlloc
			if limit := uint64(8*read + 16<<20); alloc > limit {
				t.Errorf("Message(%s): allocated %d bytes for %d read, want at most %d", m.Name, alloc, read, limit)
			}
			t.Logf("%s (%s): %d bytes, kind %s, %d recipients, %d notes; %s, %.1f MiB allocated",
				m.Name, m.Comment, len(m.Raw), v.Kind, len(v.Recipients), len(v.Notes), took.Round(time.Millisecond), float64(alloc)/(1<<20))
			if testing.Verbose() {
				for _, n := range v.Notes {
					fmt.Printf("    note: %.200s\n", n)
				}
			}
		})
	}
}
