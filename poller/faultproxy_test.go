package poller

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
)

// faultProxy is a TCP proxy between the poller and an IMAP server that
// cuts or stalls a connection at one chosen point: when the client sends
// the nth command of some kind (before the server sees it, or after, once
// some bytes of the server's answer went through). It reads the client's
// commands, so it sits in front of a plain IMAP port (the memserver, or
// Dovecot's IMAP port with plaintext login allowed); the poller speaks to it
// without TLS, as it may to a loopback address.
type faultProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	plan  []fault           // for the next connections, in order
	fired map[string]int    // what fired, by label
	open  map[net.Conn]bool // to close at the end
	wg    sync.WaitGroup
}

// phase is the kind of client command a fault waits for.
type phase string

const (
	phaseAccept  phase = "accept"  // at once: the client never gets the greeting
	phaseLogin   phase = "login"   // LOGIN, AUTHENTICATE
	phaseSelect  phase = "select"  // SELECT, EXAMINE
	phaseSizes   phase = "sizes"   // UID FETCH of UIDs and sizes
	phaseFetch   phase = "fetch"   // UID FETCH BODY.PEEK[]: mid-fetch
	phaseSearch  phase = "search"  // UID SEARCH: mail pending from an earlier run
	phaseFolder  phase = "folder"  // LIST, CREATE of an action folder: after a commit, before the move
	phaseMove    phase = "move"    // UID MOVE or UID COPY: between commit and move, or the move done and its answer lost
	phaseStore   phase = "store"   // UID STORE: \Deleted before the expunge, or the flag action
	phaseExpunge phase = "expunge" // UID EXPUNGE: mid-expunge
	phaseLogout  phase = "logout"
)

// fault is one cut or stall.
type fault struct {
	phase phase
	nth   int  // the nth command of the phase on the connection, from 1
	sent  bool // forward the command first; the fault comes skip bytes into what the server sends after it
	skip  int
	stall bool // stop forwarding both ways (the poller's time-out must end it) instead of closing
}

func (f fault) String() string {
	what, when := "cut", "before"
	if f.stall {
		what = "stall"
	}
	if f.sent {
		when = "after"
	}
	if f.phase == phaseAccept {
		return what + " at accept"
	}
	return fmt.Sprintf("%s %s %s", what, when, f.phase)
}

// randomFault picks a fault; the phases where mail is at risk (fetch,
// move, expunge) come more often.
func randomFault(rng *rand.Rand) fault {
	phases := []phase{phaseAccept, phaseLogin, phaseSelect, phaseSizes, phaseSearch, phaseFolder, phaseLogout,
		phaseFetch, phaseFetch, phaseFetch, phaseMove, phaseMove, phaseMove, phaseMove, phaseStore, phaseStore, phaseExpunge, phaseExpunge}
	f := fault{phase: phases[rng.IntN(len(phases))], nth: 1, sent: rng.IntN(2) == 0, skip: rng.IntN(3000), stall: rng.IntN(4) == 0}
	switch f.phase {
	case phaseFetch, phaseMove, phaseStore, phaseExpunge, phaseFolder:
		f.nth = 1 + rng.IntN(2)
	}
	return f
}

func startFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, fired: map[string]int{}, open: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *faultProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// arm sets the faults of the next connections, one each, in order; the
// connections after them have none.
func (p *faultProxy) arm(fs ...fault) {
	p.mu.Lock()
	p.plan = fs
	p.mu.Unlock()
}

// take returns what fired since the last take.
func (p *faultProxy) take() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fired
	p.fired = map[string]int{}
	return f
}

func (p *faultProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *faultProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		var f *fault
		if len(p.plan) > 0 {
			f = &p.plan[0]
			p.plan = p.plan[1:]
		}
		p.open[c] = true
		p.mu.Unlock()
		p.wg.Go(func() { p.serve(c, f) })
	}
}

// proxied is one client connection and its upstream.
type proxied struct {
	p            *faultProxy
	client, up   net.Conn
	f            *fault
	mu           sync.Mutex
	fired        bool
	stalled      bool
	armed        bool // the trigger was forwarded: count the answer's bytes
	answered     int
	closeOnce    sync.Once
	clientClosed chan struct{}
}

func (p *faultProxy) serve(c net.Conn, f *fault) {
	defer func() {
		p.mu.Lock()
		delete(p.open, c)
		p.mu.Unlock()
	}()
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.open[u] = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.open, u)
		p.mu.Unlock()
	}()
	pc := &proxied{p: p, client: c, up: u, f: f, clientClosed: make(chan struct{})}
	if f != nil && f.phase == phaseAccept {
		pc.fire()
	}
	var wg sync.WaitGroup
	wg.Go(pc.fromServer)
	pc.fromClient()
	wg.Wait()
}

func (pc *proxied) shut() {
	pc.closeOnce.Do(func() {
		pc.client.Close()
		pc.up.Close()
	})
}

// fire makes the fault happen: a cut closes both sides at once; a stall
// forwards nothing more until the client gives up and closes.
func (pc *proxied) fire() {
	pc.mu.Lock()
	if pc.fired {
		pc.mu.Unlock()
		return
	}
	pc.fired = true
	pc.stalled = pc.f.stall
	pc.mu.Unlock()
	pc.p.mu.Lock()
	pc.p.fired[pc.f.String()]++
	pc.p.mu.Unlock()
	if !pc.f.stall {
		pc.shut()
	}
}

func (pc *proxied) isStalled() bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.stalled
}

// fromClient forwards the client's lines, watching for the trigger.
func (pc *proxied) fromClient() {
	defer pc.shut()
	r := bufio.NewReader(pc.client)
	seen := map[phase]int{}
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && !pc.isStalled() {
			forward := true
			if pc.f != nil && !pc.fired {
				ph := phaseOf(line)
				if ph != "" {
					seen[ph]++
				}
				if ph == pc.f.phase && seen[ph] == pc.f.nth {
					if pc.f.sent {
						pc.mu.Lock()
						pc.armed = true
						pc.mu.Unlock()
					} else {
						pc.fire()
						forward = false
					}
				}
			}
			if forward && !pc.isStalled() {
				if _, werr := pc.up.Write(line); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// fromServer forwards the server's bytes; once the trigger was sent, the
// fault fires skip bytes later.
func (pc *proxied) fromServer() {
	defer pc.shut()
	buf := make([]byte, 4096)
	for {
		n, err := pc.up.Read(buf)
		chunk := buf[:n]
		pc.mu.Lock()
		if pc.armed && !pc.fired {
			if left := pc.f.skip - pc.answered; left < len(chunk) {
				chunk = chunk[:left]
				pc.mu.Unlock()
				if len(chunk) > 0 {
					pc.client.Write(chunk)
				}
				pc.fire()
				chunk = nil
				pc.mu.Lock()
			} else {
				pc.answered += len(chunk)
			}
		}
		stalled := pc.stalled
		pc.mu.Unlock()
		if len(chunk) > 0 && !stalled {
			if _, werr := pc.client.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// phaseOf names the command of a client line ("A12 UID MOVE 1:3 x").
func phaseOf(line []byte) phase {
	f := strings.Fields(strings.ToUpper(string(line)))
	if len(f) < 2 {
		return ""
	}
	cmd := f[1]
	if cmd == "UID" && len(f) > 2 {
		cmd = f[2]
	}
	switch cmd {
	case "LOGIN", "AUTHENTICATE":
		return phaseLogin
	case "SELECT", "EXAMINE":
		return phaseSelect
	case "FETCH":
		if slices.ContainsFunc(f, func(s string) bool { return strings.Contains(s, "BODY.PEEK[]") }) {
			return phaseFetch
		}
		return phaseSizes
	case "SEARCH":
		return phaseSearch
	case "LIST", "CREATE":
		return phaseFolder
	case "MOVE", "COPY":
		return phaseMove
	case "STORE":
		return phaseStore
	case "EXPUNGE":
		return phaseExpunge
	case "LOGOUT":
		return phaseLogout
	}
	return ""
}
