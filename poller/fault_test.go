package poller

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// proxiedBackends runs f against each backend through a fault proxy: direct
// is the server itself (for the test's own client), via the proxy in front
// of its plain IMAP port (for the poller).
func proxiedBackends(t *testing.T, f func(t *testing.T, direct, via *backend, px *faultProxy)) {
	run := func(t *testing.T, direct *backend) {
		px := startFaultProxy(t, fmt.Sprintf("%s:%d", direct.host, direct.port))
		via := *direct
		via.host, via.port, via.tls, via.tlsConf = "127.0.0.1", px.port(), TLSNone, nil
		f(t, direct, &via, px)
	}
	t.Run("mem", func(t *testing.T) { run(t, startMem(t, memConfig{})) })
	t.Run(realName(), func(t *testing.T) { run(t, realServer(t, TLSStartTLS)) })
}

// seriesRNG is the series' random source: the seed, and the test's name so
// that every subtest draws its own sequence.
func seriesRNG(t *testing.T) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	return rand.New(rand.NewPCG(faultSeed(t), h.Sum64()))
}

// tally counts what a series did, for its log line (docs/reliability.md).
type tally struct {
	rounds, failed int
	fired          map[string]int
}

func (ty *tally) String() string {
	keys := slices.Sorted(maps.Keys(ty.fired))
	var parts []string
	n := 0
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, ty.fired[k]))
		n += ty.fired[k]
	}
	return fmt.Sprintf("%d runs (%d failed), %d faults fired: %s", ty.rounds, ty.failed, n, strings.Join(parts, ", "))
}

// TestFaultProxy: runs through a proxy that cuts or stalls the poller's
// connections (the fetching one and the disposer's own) at seeded random
// points: at accept, during login, at select, while sizes are listed,
// mid-fetch, while pending mail is searched, after a commit before the
// move, during the move with the answer lost, at the \Deleted store or the
// expunge of COPY+EXPUNGE, at logout. Each round appends a few new mails
// and runs once with two faults armed; after each round whatever left the
// folder or was flagged must be committed. A clean run then finishes the
// work: every mail is stored once, disposed as its kind's action says, and
// the suppression list is that of an undisturbed run over the same mails.
// BOUNCED_FAULT_ROUNDS sets the rounds per mode, BOUNCED_FAULT_SEED the seed.
func TestFaultProxy(t *testing.T) {
	proxiedBackends(t, func(t *testing.T, direct, via *backend, px *faultProxy) {
		for _, mode := range []struct {
			name   string
			noMove bool
		}{{"move", false}, {"copy-expunge", true}} {
			t.Run(mode.name, func(t *testing.T) {
				rng := seriesRNG(t)
				rounds := faultRounds(t, 30)
				a := direct.admin(t)
				mails := genMails(rng, "px"+mode.name, rounds*4)
				checkKinds(t, mails)
				folder := a.fresh("fault")
				st := newTestStore(t)
				faulty := func(o *Options) { o.Batch, o.DisposeBatch, o.Timeout = 3, 2, 500*time.Millisecond }
				ty := tally{fired: map[string]int{}}
				next := 0
				for range rounds {
					k := min(len(mails)-next, 2+rng.IntN(5))
					a.put(folder, mails[next:next+k]...)
					next += k
					px.arm(randomFault(rng), randomFault(rng))
					p := via.realPoller(t, folder, st, faulty)
					p.ignoreMove = mode.noMove
					_, err := p.PollOnce(t.Context())
					ty.rounds++
					if err != nil {
						ty.failed++
					}
					for k, n := range px.take() {
						ty.fired[k] += n
					}
					checkMovedCommitted(t, a, folder, st.DB, mails[:next])
				}
				a.put(folder, mails[next:]...)
				px.arm()
				p := via.realPoller(t, folder, st, func(o *Options) { o.Batch, o.DisposeBatch = 3, 2 })
				p.ignoreMove = mode.noMove
				if sum, err := p.PollOnce(t.Context()); err != nil {
					t.Fatalf("the clean run after the faults: %+v, %v", sum, err)
				}
				want := undisturbed(t, direct, a, mails, nil)
				gone, extra := checkSeries(t, a, folder, st.DB, mails, want)
				t.Logf("%d mails, %d suppressed: %s; %d marked gone (moved, answer lost), %d extra copies in target folders",
					len(mails), len(want), ty.String(), gone, extra)
			})
		}
	})
}
