package poller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// This is the only file that speaks go-imap. Every call that waits on the
// server runs under a watchdog that closes the connection when the step
// outlives the time-out: go-imap has no context, and its own read deadline
// is reset between responses.

// session is one logged-in connection.
type session struct {
	c        *imapclient.Client
	timeout  time.Duration
	log      *slog.Logger
	caps     imap.CapSet
	ns       *namespace      // the server's namespaces, asked at the first folder name
	folders  map[string]bool // known to exist
	timedOut atomic.Bool
	release  func() bool // stops the context.AfterFunc
	closeMu  sync.Once
	listUIDs uint32 // UIDs per listing command at most

	ignoreMove, ignoreUIDPlus bool
}

// msgInfo is a UID above the cursor with its RFC822.SIZE.
type msgInfo struct {
	UID  uint32
	Size int64
}

// folderState is what SELECT or EXAMINE says.
type folderState struct {
	UIDValidity uint32
	UIDNext     uint32
	Messages    uint32
}

// dial connects and logs in. The connection is closed when connCtx ends.
func (p *Poller) dial(connCtx context.Context) (*session, error) {
	d := net.Dialer{Timeout: p.o.Timeout}
	conn, err := d.DialContext(connCtx, "tcp", p.addr)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w: %w", p.addr, ErrConnect, err)
	}
	if p.o.TLS == TLSImplicit {
		tc := p.tlsConf.Clone()
		if tc.NextProtos == nil {
			tc.NextProtos = []string{"imap"}
		}
		tconn := tls.Client(conn, tc)
		hctx, cancel := context.WithTimeout(connCtx, p.o.Timeout)
		err := tconn.HandshakeContext(hctx)
		timedOut := errors.Is(hctx.Err(), context.DeadlineExceeded)
		cancel()
		if err != nil {
			conn.Close()
			if timedOut {
				err = fmt.Errorf("no answer within %s: %w", p.o.Timeout, err)
			}
			return nil, fmt.Errorf("tls handshake with %s: %w: %w%s", p.addr, ErrConnect, err, tlsModeHint(p.o.TLS, err))
		}
		conn = tconn
	}
	s := &session{timeout: p.o.Timeout, log: p.log, folders: map[string]bool{}, listUIDs: p.listUIDs,
		ignoreMove: p.ignoreMove, ignoreUIDPlus: p.ignoreUIDPlus}
	opts := &imapclient.Options{TLSConfig: p.tlsConf.Clone()}
	if p.o.TLS == TLSStartTLS {
		// NewStartTLS waits for the greeting, sends STARTTLS and does the
		// TLS handshake. go-imap sets read deadlines of its own on the
		// connection (30 s a response, none in the handshake), so a
		// deadline set here is overwritten: a watchdog closes the
		// connection when the whole outlives the time-out.
		var timedOut atomic.Bool
		t := time.AfterFunc(p.o.Timeout, func() {
			timedOut.Store(true)
			conn.Close()
		})
		c, err := imapclient.NewStartTLS(conn, opts)
		if !t.Stop() && err == nil {
			c.Close() // it fired as NewStartTLS returned
			err = net.ErrClosed
		}
		if err != nil {
			conn.Close()
			if timedOut.Load() {
				err = fmt.Errorf("no answer within %s: %w", p.o.Timeout, err)
			}
			return nil, fmt.Errorf("starttls with %s: %w: %w%s", p.addr, ErrConnect, err, tlsModeHint(p.o.TLS, err))
		}
		s.c = c
	} else {
		s.c = imapclient.New(conn, opts)
		if err := s.step(s.c.WaitGreeting); err != nil {
			s.close()
			return nil, fmt.Errorf("greeting from %s: %w: %w", p.addr, ErrConnect, err)
		}
	}
	s.release = context.AfterFunc(connCtx, s.close)
	// go-imap asks CAPABILITY by itself after a greeting without them and
	// after STARTTLS. Let that be answered before LOGIN: Courier drops
	// every command pipelined behind LOGIN, and go-imap would then hand
	// our own CAPABILITY's answer to its lost one (see capabilities).
	if err := s.step(func() error {
		if s.c.Caps() == nil {
			return errors.New("no capabilities before login")
		}
		return nil
	}); err != nil {
		s.close()
		return nil, fmt.Errorf("asking capabilities of %s: %w: %w", p.addr, ErrConnect, err)
	}

	var mech sasl.Client
	if p.o.Auth != AuthLogin {
		// RFC 3501 §6.2.2: the server names its SASL mechanisms as AUTH=.
		want := imap.Cap("AUTH=" + strings.ToUpper(string(p.o.Auth)))
		if caps := s.c.Caps(); !caps.Has(want) {
			s.close()
			return nil, fmt.Errorf("logging in to %s: %w: the server does not offer %s (it offers %s)", p.addr, ErrAuth, want, offered(caps))
		}
	}
	secret, err := p.o.Secret()
	if err != nil {
		s.close()
		if errors.Is(err, ErrAuth) {
			return nil, fmt.Errorf("getting the secret: %w", err)
		}
		return nil, fmt.Errorf("reading secret: %w", err)
	}
	switch p.o.Auth {
	case AuthXOAuth2:
		mech = xoauth2{user: p.o.Username, token: secret}
	case AuthOAuthBearer:
		mech = oauthBearer{user: p.o.Username, token: secret, host: p.o.Host, port: p.o.Port}
	}
	var lerr error
	if mech != nil {
		lerr = s.step(func() error { return s.c.Authenticate(mech) })
	} else {
		lerr = s.step(func() error { return s.c.Login(p.o.Username, secret).Wait() })
	}
	if lerr != nil {
		s.close()
		var ie *imap.Error
		if errors.As(lerr, &ie) {
			if p.o.Rejected != nil {
				p.o.Rejected()
			}
			return nil, fmt.Errorf("logging in to %s as %q: %w: %v", p.addr, p.o.Username, ErrAuth, lerr)
		}
		return nil, fmt.Errorf("logging in to %s as %q: %w: %w", p.addr, p.o.Username, ErrConnect, lerr)
	}
	if err := s.capabilities(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// capabilities asks the server's capabilities after login and never takes
// an empty answer for the truth. go-imap (v2 beta.8) asks CAPABILITY by
// itself after STARTTLS, pipelined behind LOGIN; a server that never
// answers that one (Courier, 12 of 20 connections) leaves it waiting, and
// go-imap then hands every later "* CAPABILITY" reply to that oldest
// command: our own returns an empty set while the client's set is right.
// So an empty answer is checked against the client's set, then asked
// again; a server whose capabilities stay unknown fails the run instead of
// being taken for one that can neither MOVE nor UIDPLUS.
func (s *session) capabilities() error {
	for try := 0; try < 2; try++ {
		var caps imap.CapSet
		err := s.step(func() error {
			var err error
			caps, err = s.c.Capability().Wait()
			if err == nil && !knownCaps(caps) {
				caps = s.c.Caps() // the client's own set, filled by the reply our command lost
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("asking capabilities: %w", err)
		}
		if knownCaps(caps) {
			s.caps = caps
			return nil
		}
		s.log.Debug("capabilities: empty answer, asking again")
	}
	return fmt.Errorf("asking capabilities: the server answered with none twice, so whether it can MOVE is unknown: %w", ErrConnect)
}

// knownCaps reports whether caps is a server's real answer: every IMAP
// server names its revision.
func knownCaps(caps imap.CapSet) bool {
	return caps.Has(imap.CapIMAP4rev1) || caps.Has(imap.CapIMAP4rev2)
}

// tlsModeHint says, after a failed connection, when the error looks like
// a TLS mode that does not fit the port: TLS bytes where IMAP was
// expected (an implicit-TLS port, 993, used with starttls), or plain IMAP
// where a TLS handshake was (a plain port, 143, used with implicit).
func tlsModeHint(mode TLSMode, err error) string {
	e := err.Error()
	switch {
	case mode == TLSStartTLS && (strings.Contains(e, `got "\x15"`) || strings.Contains(e, `got "\x16"`) || errors.Is(err, io.ErrUnexpectedEOF)):
		return ` (the server seems to speak TLS at once on this port: is it the implicit-TLS port, 993? then tls = "implicit")`
	case mode == TLSImplicit && strings.Contains(e, "first record does not look like a TLS handshake"):
		return ` (the server speaks plain IMAP on this port: is it port 143? then tls = "starttls", or use the implicit-TLS port, 993)`
	}
	return ""
}

// step runs f under the watchdog.
func (s *session) step(f func() error) error {
	t := time.AfterFunc(s.timeout, func() {
		s.timedOut.Store(true)
		s.c.Close()
	})
	err := f()
	t.Stop()
	if err != nil && s.timedOut.Load() {
		return fmt.Errorf("no answer within %s: %w", s.timeout, err)
	}
	return err
}

func (s *session) close() {
	s.closeMu.Do(func() {
		if s.release != nil {
			s.release()
		}
		s.c.Close()
	})
}

// logout says goodbye politely, then closes.
func (s *session) logout() {
	if err := s.step(func() error { return s.c.Logout().Wait() }); err != nil {
		s.log.Debug("logout", "err", err)
	}
	s.close()
}

// capList names the capabilities the poller cares about that the server has.
func (s *session) capList() []string {
	var l []string
	for _, c := range []imap.Cap{imap.CapIMAP4rev2, imap.CapMove, imap.CapUIDPlus} {
		if s.caps.Has(c) {
			l = append(l, string(c))
		}
	}
	return l
}

// disposalPath says how this session disposes of mail to move, and why
// (Summary.Disposal).
func (s *session) disposalPath() string {
	switch {
	case s.hasMove():
		return "MOVE"
	case s.hasUIDPlus():
		return "UID COPY + UID EXPUNGE (no MOVE)"
	}
	return "flag (neither MOVE nor UIDPLUS)"
}

func (s *session) hasMove() bool    { return !s.ignoreMove && s.caps.Has(imap.CapMove) }
func (s *session) hasUIDPlus() bool { return !s.ignoreUIDPlus && s.caps.Has(imap.CapUIDPlus) }

// open selects (read-write) or examines (read-only) a folder.
func (s *session) open(folder string, readOnly bool) (folderState, error) {
	name, err := s.wireName(folder)
	if err != nil {
		return folderState{}, err
	}
	var data *imap.SelectData
	err = s.step(func() error {
		var err error
		data, err = s.c.Select(name, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
		return err
	})
	if err != nil {
		verb := "selecting"
		if readOnly {
			verb = "examining"
		}
		return folderState{}, fmt.Errorf("%s %q: %w", verb, name, err)
	}
	return folderState{UIDValidity: data.UIDValidity, UIDNext: uint32(data.UIDNext), Messages: data.NumMessages}, nil
}

// status asks STATUS of a folder without selecting it.
func (s *session) status(folder string) (folderState, error) {
	name, err := s.wireName(folder)
	if err != nil {
		return folderState{}, err
	}
	var data *imap.StatusData
	err = s.step(func() error {
		var err error
		data, err = s.c.Status(name, &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true}).Wait()
		return err
	})
	if err != nil {
		return folderState{}, fmt.Errorf("status of %q: %w", name, err)
	}
	st := folderState{UIDValidity: data.UIDValidity, UIDNext: uint32(data.UIDNext)}
	if data.NumMessages != nil {
		st.Messages = *data.NumMessages
	}
	return st, nil
}

// above lists the UIDs above last and below next (the UIDNEXT of SELECT
// or STATUS: mail that arrives later waits for the next run) with their
// sizes, in UID order. It asks in ranges of at most listUIDs UIDs, each
// command under its own time-out, so that a large backlog or a slow link
// never makes one step too long to finish. When the server sent no UIDNEXT
// (next 0) it asks for "last+1:*" in one command, the only way left to know
// where the folder ends.
func (s *session) above(last, next uint32) ([]msgInfo, error) {
	var out []msgInfo
	if next == 0 {
		var set imap.UIDSet
		set.AddRange(imap.UID(last+1), 0)
		if err := s.list(set, last, &out); err != nil {
			return nil, fmt.Errorf("listing uids above %d: %w", last, err)
		}
	}
	for _, r := range uidRanges(last, next, s.listUIDs) {
		var set imap.UIDSet
		set.AddRange(imap.UID(r[0]), imap.UID(r[1]))
		if err := s.list(set, last, &out); err != nil {
			return nil, fmt.Errorf("listing uids %s: %w", set, err)
		}
	}
	sortInfos(out)
	// A server may answer for one UID twice; the range commands never
	// overlap, but be strict.
	out = slices.CompactFunc(out, func(a, b msgInfo) bool { return a.UID == b.UID })
	return out, nil
}

// list runs one UID FETCH (UID RFC822.SIZE) of set under the watchdog
// and appends the UIDs above last to out. "n:*" always matches the
// highest UID, so the answer is filtered; so is anything outside set.
func (s *session) list(set imap.UIDSet, last uint32, out *[]msgInfo) error {
	return s.step(func() error {
		cmd := s.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true})
		for {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			var mi msgInfo
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					mi.UID = uint32(it.UID)
				case imapclient.FetchItemDataRFC822Size:
					mi.Size = it.Size
				}
			}
			if mi.UID > last && set.Contains(imap.UID(mi.UID)) {
				*out = append(*out, mi)
			}
		}
		return cmd.Close()
	})
}

// uidRanges splits the UIDs above last and below next into inclusive
// ranges of at most n UIDs, in order.
func uidRanges(last, next, n uint32) [][2]uint32 {
	if n == 0 {
		n = 1
	}
	var rs [][2]uint32
	for lo := uint64(last) + 1; lo < uint64(next); lo += uint64(n) {
		hi := min(lo+uint64(n)-1, uint64(next)-1)
		rs = append(rs, [2]uint32{uint32(lo), uint32(hi)})
	}
	return rs
}

// fetched is one mail read from the server.
type fetched struct {
	UID      uint32
	Internal time.Time
	Raw      []byte
	Err      error // the literal could not be read whole
}

// fetch reads BODY.PEEK[] of uids (which never sets \Seen) into buffers
// from alloc and calls fn per mail in the server's order. The watchdog
// restarts after every mail, so a large batch is fine as long as the server
// keeps sending.
func (s *session) fetch(uids []uint32, limit int64, alloc func(n int64) []byte, fn func(fetched)) error {
	set := uidSet(uids)
	t := time.AfterFunc(s.timeout, func() {
		s.timedOut.Store(true)
		s.c.Close()
	})
	defer t.Stop()
	cmd := s.c.Fetch(set, &imap.FetchOptions{
		UID:          true,
		InternalDate: true,
		BodySection:  []*imap.FetchItemBodySection{{Peek: true}},
	})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var f fetched
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				f.UID = uint32(it.UID)
			case imapclient.FetchItemDataInternalDate:
				f.Internal = it.Time
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					continue
				}
				if n := it.Literal.Size(); n > limit {
					f.Err = fmt.Errorf("literal of %d bytes exceeds the limit of %d", n, limit)
					continue
				}
				buf := alloc(it.Literal.Size())
				if _, err := io.ReadFull(it.Literal, buf); err != nil {
					// The connection broke inside the literal. go-imap
					// has handed its reader back to its decoder already
					// (on any error of the literal), so reading on, as
					// Next and Close do to discard the rest, would race
					// with it: cut the connection, leave the command.
					s.c.Close()
					if s.timedOut.Load() {
						err = fmt.Errorf("no answer within %s: %w", s.timeout, err)
					}
					return fmt.Errorf("fetching uids %s: reading uid %d: %w", set, f.UID, err)
				}
				f.Raw = buf
			}
		}
		t.Reset(s.timeout)
		if f.UID != 0 {
			fn(f)
		}
	}
	err := cmd.Close()
	if err != nil {
		if s.timedOut.Load() {
			err = fmt.Errorf("no answer within %s: %w", s.timeout, err)
		}
		return fmt.Errorf("fetching uids %s: %w", set, err)
	}
	return nil
}

// existing returns those of uids still in the selected folder (UID
// SEARCH), in the order given.
func (s *session) existing(uids []uint32) ([]uint32, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	set := uidSet(uids)
	var found imap.UIDSet
	err := s.step(func() error {
		data, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
		if err == nil {
			found = imap.UIDSetNum(data.AllUIDs()...)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("searching uids %s: %w", set, err)
	}
	var out []uint32
	for _, u := range uids {
		if found.Contains(imap.UID(u)) {
			out = append(out, u)
		}
	}
	return out, nil
}

// countAbove counts the UIDs above last and below next (for the backlog
// of status).
func (s *session) countAbove(last, next uint32) (int, error) {
	infos, err := s.above(last, next)
	return len(infos), err
}

// ensureFolder creates folder unless it exists. Config names use "/" as the
// hierarchy delimiter; the server's own is used on the wire.
func (s *session) ensureFolder(folder string) (string, error) {
	name, err := s.wireName(folder)
	if err != nil {
		return "", err
	}
	if s.folders[name] {
		return name, nil
	}
	var found bool
	err = s.step(func() error {
		l, err := s.c.List("", name, nil).Collect()
		for _, d := range l {
			if d.Mailbox == name || strings.EqualFold(name, "INBOX") {
				found = true
			}
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("listing folder %q: %w", name, err)
	}
	if !found {
		err := s.step(func() error { return s.c.Create(name, nil).Wait() })
		var ie *imap.Error
		if err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
			return "", fmt.Errorf("creating folder %q: %w", name, err)
		}
		s.log.Info("created folder", "folder", name)
	}
	s.folders[name] = true
	return name, nil
}

// folderExists reports whether a folder exists, without creating it.
func (s *session) folderExists(folder string) (bool, error) {
	name, err := s.wireName(folder)
	if err != nil {
		return false, err
	}
	return s.exists(name)
}

// exists reports whether a folder of that wire name exists.
func (s *session) exists(name string) (bool, error) {
	var found bool
	err := s.step(func() error {
		l, err := s.c.List("", name, nil).Collect()
		for _, d := range l {
			if d.Mailbox == name || strings.EqualFold(name, "INBOX") {
				found = true
			}
		}
		return err
	})
	return found, err
}

// probeCreate proves that a missing folder (a wire name) can be created:
// it creates it, then deletes it and every parent level the server made
// for it, so the server is left as it was. err says why it cannot be
// created; left names what could not be deleted again (harmless: the
// first run creates it anyway).
func (s *session) probeCreate(name string) (left string, err error) {
	var parents []string // levels that did not exist, innermost first
	if s.ns != nil && s.ns.delim != 0 {
		d := string(s.ns.delim)
		parts := strings.Split(name, d)
		for i := len(parts) - 1; i >= 1; i-- {
			parent := strings.Join(parts[:i], d)
			if strings.EqualFold(parent, "INBOX") || parent+d == s.ns.prefix {
				continue
			}
			ok, err := s.exists(parent)
			if err != nil {
				return "", fmt.Errorf("listing folder %q: %w", parent, err)
			}
			if !ok {
				parents = append(parents, parent)
			}
		}
	}
	if err := s.step(func() error { return s.c.Create(name, nil).Wait() }); err != nil {
		return "", fmt.Errorf("creating folder %q: %w", name, err)
	}
	if err := s.step(func() error { return s.c.Delete(name).Wait() }); err != nil {
		return name, nil
	}
	// A parent the server made stays when its last child goes on some
	// servers (Dovecot), and goes with it on others (Courier lists it
	// only while it has children).
	for _, f := range parents {
		ok, err := s.exists(f)
		if err == nil && ok {
			err = s.step(func() error { return s.c.Delete(f).Wait() })
		}
		if err != nil {
			return f, nil
		}
	}
	return "", nil
}

// wireName is the server's name of a folder of the config (namespace.wire),
// asking the server's namespaces first if need be.
func (s *session) wireName(folder string) (string, error) {
	if s.ns == nil {
		ns, err := s.namespaces()
		if err != nil {
			return "", err
		}
		s.ns = &ns
		if ns.prefix != "" || ns.delim != '/' {
			s.log.Debug("server namespace", "prefix", ns.prefix, "delimiter", string(ns.delim))
		}
	}
	return s.ns.wire(folder), nil
}

// namespaces asks NAMESPACE (RFC 2342) where the server has it, else the
// hierarchy delimiter alone (LIST "" "", RFC 3501 §6.3.8).
func (s *session) namespaces() (namespace, error) {
	var ns namespace
	if s.caps.Has(imap.CapNamespace) {
		var data *imap.NamespaceData
		err := s.step(func() error {
			var err error
			data, err = s.c.Namespace().Wait()
			return err
		})
		if err != nil {
			return ns, fmt.Errorf("asking the namespaces: %w", err)
		}
		if len(data.Personal) > 0 {
			ns.prefix, ns.delim = data.Personal[0].Prefix, data.Personal[0].Delim
		}
		for _, d := range slices.Concat(data.Other, data.Shared) {
			if d.Prefix != "" {
				ns.others = append(ns.others, d.Prefix)
			}
		}
		if ns.delim != 0 {
			return ns, nil
		}
	}
	err := s.step(func() error {
		l, err := s.c.List("", "", nil).Collect()
		if len(l) > 0 {
			ns.delim = l[0].Delim
		}
		return err
	})
	if err != nil {
		return ns, fmt.Errorf("asking the hierarchy delimiter: %w", err)
	}
	return ns, nil
}

// recorded is what a done on this server is recorded as in the store (and
// what move, flag and remove return): a move or a delete is a flag where
// the server has no safe way to do it (see move and remove), recorded as
// "flag instead of <action>" so that a later run can do the action once
// the server can (Poller.redoFlagged).
func (s *session) recorded(a Action) string {
	switch {
	case a.Op == OpMove && !s.hasMove() && !s.hasUIDPlus(),
		a.Op == OpDelete && !s.hasUIDPlus():
		return flagInstead(a)
	}
	return a.String()
}

// flagInsteadPrefix starts the recorded disposal of mail flagged because
// the server could not move or delete it safely.
const flagInsteadPrefix = "flag instead of "

func flagInstead(a Action) string { return flagInsteadPrefix + a.String() }

// move moves uids into folder and returns what was done: the action as
// storage records it ("move:<folder>", or "flag instead of move:<folder>"
// on a server that can neither MOVE nor UID EXPUNGE).
func (s *session) move(uids []uint32, folder string) (string, error) {
	set := uidSet(uids)
	var name string
	if s.hasMove() || s.hasUIDPlus() {
		// The flag fallback needs no folder: none is created for it.
		var err error
		if name, err = s.ensureFolder(folder); err != nil {
			return "", err
		}
	}
	switch {
	case s.hasMove():
		err := s.step(func() error {
			_, err := s.c.Move(set, name).Wait()
			return err
		})
		if err != nil {
			return "", fmt.Errorf("moving uids %s to %q: %w", set, name, err)
		}
		s.log.Debug("moved with MOVE", "folder", name, "uids", set.String())
	case s.hasUIDPlus():
		// RFC 4315: COPY, and only once it succeeded mark and expunge
		// exactly these UIDs.
		if err := s.step(func() error {
			_, err := s.c.Copy(set, name).Wait()
			return err
		}); err != nil {
			return "", fmt.Errorf("copying uids %s to %q: %w", set, name, err)
		}
		if err := s.expunge(set); err != nil {
			return "", err
		}
		s.log.Debug("moved with UID COPY, \\Deleted and UID EXPUNGE (no MOVE)", "folder", name, "uids", set.String())
	default:
		// Without UIDPLUS a plain EXPUNGE would remove every \Deleted mail,
		// including mail we did not process: flag instead.
		s.log.Debug("flagged instead of moving: the server has neither MOVE nor UIDPLUS", "folder", folder, "uids", set.String())
		if err := s.flag(uids); err != nil {
			return "", err
		}
		return flagInstead(Action{Op: OpMove, Folder: folder}), nil
	}
	return "move:" + folder, nil
}

// remove deletes uids (opt-in): \Deleted and UID EXPUNGE, or the flag
// fallback without UIDPLUS.
func (s *session) remove(uids []uint32) (string, error) {
	if !s.hasUIDPlus() {
		s.log.Debug("flagged instead of deleting: the server lacks UIDPLUS", "uids", uidSet(uids).String())
		if err := s.flag(uids); err != nil {
			return "", err
		}
		return flagInstead(Action{Op: OpDelete}), nil
	}
	if err := s.expunge(uidSet(uids)); err != nil {
		return "", err
	}
	return string(OpDelete), nil
}

func (s *session) expunge(set imap.UIDSet) error {
	if err := s.step(func() error {
		return s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	}); err != nil {
		return fmt.Errorf("marking uids %s deleted: %w", set, err)
	}
	if err := s.step(func() error { return s.c.UIDExpunge(set).Close() }); err != nil {
		return fmt.Errorf("expunging uids %s: %w", set, err)
	}
	return nil
}

// flag sets \Seen and $BouncedProcessed.
func (s *session) flag(uids []uint32) error {
	set := uidSet(uids)
	err := s.step(func() error {
		return s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen, Keyword}}, nil).Close()
	})
	if err != nil {
		return fmt.Errorf("flagging uids %s: %w", set, err)
	}
	return nil
}

func uidSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}

// offered lists the SASL mechanisms among caps ("AUTH=PLAIN AUTH=LOGIN"),
// or says there are none.
func offered(caps imap.CapSet) string {
	var l []string
	for c := range caps {
		if strings.HasPrefix(strings.ToUpper(string(c)), "AUTH=") {
			l = append(l, string(c))
		}
	}
	if len(l) == 0 {
		return "no SASL mechanism, LOGIN only"
	}
	slices.Sort(l)
	return strings.Join(l, " ")
}

// oauthBearer is the SASL OAUTHBEARER client (RFC 7628 §3.1): one initial
// response with the GS2 header, host, port and the bearer token. On
// failure the server sends a JSON error as a challenge; the client answers
// with a single %x01 (§3.2.3) and the command fails.
type oauthBearer struct {
	user, token, host string
	port              int
}

var _ sasl.Client = oauthBearer{}

func (o oauthBearer) Start() (string, []byte, error) {
	ir := "n,a=" + o.user + ",\x01host=" + o.host + "\x01port=" + strconv.Itoa(o.port) + "\x01auth=Bearer " + o.token + "\x01\x01"
	return "OAUTHBEARER", []byte(ir), nil
}

func (o oauthBearer) Next(challenge []byte) ([]byte, error) {
	return []byte{0x01}, nil
}

// xoauth2 is the SASL XOAUTH2 client of Google and Microsoft, which
// go-sasl lacks: one initial response "user=U^Aauth=Bearer T^A^A". On
// failure the server sends a JSON challenge that must be answered with an
// empty response; the command then fails.
type xoauth2 struct{ user, token string }

var _ sasl.Client = xoauth2{}

func (x xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x xoauth2) Next(challenge []byte) ([]byte, error) {
	return []byte{}, nil
}
