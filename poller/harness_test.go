package poller

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/internal/clock/clocktest"
)

// backend is an IMAP server the scenarios run against: go-imap's in-process
// memserver, or a real server when BOUNCED_TEST_IMAP is set: "dovecot" (or
// "1"), "courier" or "cyrus", started by scripts/dovecot, scripts/courier
// or scripts/cyrus, which print the IMAP_* variables.
type backend struct {
	name         string
	host         string
	port         int
	tls          TLSMode
	tlsConf      *tls.Config
	user, pass   string
	user2, pass2 string
	logins       *atomic.Int64 // memserver only: LOGIN/AUTHENTICATE attempts
	lists        *atomic.Int64 // memserver only: listing commands (FETCH of UID and RFC822.SIZE alone)
}

var (
	certOnce sync.Once
	certErr  error
	certPair tls.Certificate
	certPool *x509.CertPool
)

// testCert is a self-signed certificate for 127.0.0.1 and localhost.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "localhost"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			DNSNames:              []string{"localhost"},
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			certErr = err
			return
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			certErr = err
			return
		}
		certPool = x509.NewCertPool()
		certPool.AddCert(cert)
		certPair = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
	})
	if certErr != nil {
		t.Fatal(certErr)
	}
	return certPair, certPool
}

type memConfig struct {
	caps    imap.CapSet
	tls     TLSMode
	xoauth2 bool // accept XOAUTH2 with token "token-ok"
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// startMem starts an in-process server on 127.0.0.1:0 with the two users
// of the Dovecot script.
func startMem(t testing.TB, mc memConfig) *backend {
	t.Helper()
	if mc.caps == nil {
		mc.caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}}
	}
	if mc.tls == "" {
		mc.tls = TLSNone
	}
	mem := imapmemserver.New()
	for _, up := range [][2]string{{"bounces@example.test", "secret"}, {"bounces2@example.test", "secret2"}} {
		u := imapmemserver.NewUser(up[0], up[1])
		if err := u.Create("INBOX", nil); err != nil {
			t.Fatal(err)
		}
		mem.AddUser(u)
	}
	b := &backend{name: "mem", host: "127.0.0.1", tls: mc.tls, user: "bounces@example.test", pass: "secret",
		user2: "bounces2@example.test", pass2: "secret2", logins: new(atomic.Int64), lists: new(atomic.Int64)}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			sess := mem.NewSession()
			if mc.xoauth2 {
				return &xoauthSession{SessionIMAP4rev2: sess.(imapserver.SessionIMAP4rev2), logins: b.logins}, nil, nil
			}
			return &countingSession{SessionIMAP4rev2: sess.(imapserver.SessionIMAP4rev2), logins: b.logins, lists: b.lists}, nil, nil
		},
		Caps:         mc.caps,
		InsecureAuth: true,
		Logger:       discardLogger{},
	}
	var ln net.Listener
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if mc.tls != TLSNone {
		cert, pool := testCert(t)
		sc := &tls.Config{Certificates: []tls.Certificate{cert}}
		b.tlsConf = &tls.Config{RootCAs: pool}
		if mc.tls == TLSImplicit {
			ln = tls.NewListener(ln, sc)
		} else {
			opts.TLSConfig = sc
			opts.Caps[imap.CapStartTLS] = struct{}{}
		}
	}
	srv := imapserver.New(opts)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	b.port = ln.Addr().(*net.TCPAddr).Port
	return b
}

type countingSession struct {
	imapserver.SessionIMAP4rev2
	logins *atomic.Int64
	lists  *atomic.Int64
}

func (s *countingSession) Login(user, pass string) error {
	s.logins.Add(1)
	return s.SessionIMAP4rev2.Login(user, pass)
}

func (s *countingSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if options.RFC822Size && len(options.BodySection) == 0 && !options.Flags {
		s.lists.Add(1)
	}
	return s.SessionIMAP4rev2.Fetch(w, numSet, options)
}

// xoauthSession accepts SASL XOAUTH2 with the token "token-ok".
type xoauthSession struct {
	imapserver.SessionIMAP4rev2
	logins *atomic.Int64
}

func (s *xoauthSession) AuthenticateMechanisms() []string { return []string{"XOAUTH2", "OAUTHBEARER"} }

func (s *xoauthSession) Authenticate(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" && mech != "OAUTHBEARER" {
		return nil, errors.New("unsupported mechanism")
	}
	return &xoauthServer{s: s, bearer: mech == "OAUTHBEARER"}, nil
}

type xoauthServer struct {
	s      *xoauthSession
	bearer bool // OAUTHBEARER (RFC 7628): a GS2 header, then host, port, auth
	failed bool
}

func (x *xoauthServer) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		if x.bearer && string(resp) != "\x01" {
			return nil, true, errors.New("OAUTHBEARER: the client did not end the failed exchange with %x01")
		}
		return nil, true, errors.New("invalid token")
	}
	x.s.logins.Add(1)
	var user, token string
	fields := strings.Split(string(resp), "\x01")
	if x.bearer {
		gs2, ok := strings.CutPrefix(fields[0], "n,a=")
		if !ok || !strings.HasSuffix(gs2, ",") {
			return nil, true, fmt.Errorf("OAUTHBEARER: bad GS2 header %q", fields[0])
		}
		user = strings.TrimSuffix(gs2, ",")
	}
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, "user="); ok && !x.bearer {
			user = v
		}
		if v, ok := strings.CutPrefix(f, "auth=Bearer "); ok {
			token = v
		}
	}
	if token != "token-ok" {
		x.failed = true
		return []byte(`{"status":"401"}`), false, nil
	}
	if err := x.s.SessionIMAP4rev2.Login(user, "secret"); err != nil {
		return nil, true, err
	}
	return nil, true, nil
}

// realName is the real server the environment names (BOUNCED_TEST_IMAP:
// "1" is Dovecot), "dovecot" when it names none: the name of the scenarios'
// subtests (scripts/test runs them with -run /NAME).
func realName() string {
	switch v := os.Getenv("BOUNCED_TEST_IMAP"); v {
	case "", "1":
		return "dovecot"
	default:
		return v
	}
}

// realServer returns the real server described by the environment, or
// skips.
func realServer(t testing.TB, mode TLSMode) *backend {
	t.Helper()
	if os.Getenv("BOUNCED_TEST_IMAP") == "" {
		t.Skip("BOUNCED_TEST_IMAP not set: no real IMAP server (scripts/dovecot, scripts/courier or scripts/cyrus start prints the variables)")
	}
	get := func(k string) string {
		v := os.Getenv(k)
		if v == "" {
			t.Fatalf("BOUNCED_TEST_IMAP is set but %s is empty", k)
		}
		return v
	}
	pem, err := os.ReadFile(get("IMAP_CA"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("IMAP_CA %s: no certificate", os.Getenv("IMAP_CA"))
	}
	portVar := "IMAP_PORT"
	if mode == TLSImplicit {
		portVar = "IMAPS_PORT"
	}
	port, err := strconv.Atoi(get(portVar))
	if err != nil {
		t.Fatal(err)
	}
	pass2 := os.Getenv("IMAP_PASS2")
	if pass2 == "" {
		pass2 = "secret2"
	}
	return &backend{name: realName(), host: get("IMAP_HOST"), port: port, tls: mode, tlsConf: &tls.Config{RootCAs: pool},
		user: get("IMAP_USER"), pass: get("IMAP_PASS"), user2: get("IMAP_USER2"), pass2: pass2}
}

// backends lists what each scenario runs against: the memserver always,
// the real server over implicit TLS when the environment names one.
func backends(t *testing.T, run func(t *testing.T, b *backend)) {
	t.Run("mem", func(t *testing.T) { run(t, startMem(t, memConfig{})) })
	t.Run(realName(), func(t *testing.T) { run(t, realServer(t, TLSImplicit)) })
}

// admin is a separate client that sets up and inspects the server. It
// takes folder names as the config writes them and maps them into the
// server's personal namespace as the poller does (namespace.wire).
type admin struct {
	t  testing.TB
	c  *imapclient.Client
	ns namespace
}

func (b *backend) admin(t *testing.T) *admin {
	t.Helper()
	addr := net.JoinHostPort(b.host, strconv.Itoa(b.port))
	opts := &imapclient.Options{TLSConfig: b.tlsConf, DebugWriter: debugW}
	var c *imapclient.Client
	var err error
	switch b.tls {
	case TLSImplicit:
		c, err = imapclient.DialTLS(addr, opts)
	case TLSStartTLS:
		c, err = imapclient.DialStartTLS(addr, opts)
	default:
		c, err = imapclient.DialInsecure(addr, opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	// As the poller does (session.capabilities): go-imap's own CAPABILITY
	// answered before LOGIN, and an empty answer after it is not the truth.
	c.Caps()
	if err := c.Login(b.user, b.pass).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	a := &admin{t: t, c: c}
	caps, err := c.Capability().Wait()
	if !knownCaps(caps) {
		caps = c.Caps()
	}
	if err == nil && caps.Has(imap.CapNamespace) {
		if data, err := c.Namespace().Wait(); err == nil && len(data.Personal) > 0 {
			a.ns.prefix, a.ns.delim = data.Personal[0].Prefix, data.Personal[0].Delim
		}
	}
	if a.ns.delim == 0 {
		if l, err := c.List("", "", nil).Collect(); err == nil && len(l) > 0 {
			a.ns.delim = l[0].Delim
		}
	}
	return a
}

// unselect leaves the selected folder without expunging anything: EXAMINE
// INBOX, then UNSELECT (RFC 3691), or CLOSE on a server without it
// (Courier), which expunges nothing in a folder selected read-only (RFC
// 3501 §6.4.2). It does not ask the client whether a folder is selected:
// go-imap updates its state after the command completes, so right after an
// UNSELECT it may still say "selected" (Cyrus then answers a second
// UNSELECT with BAD). A folder left selected read-only makes Courier
// refuse an APPEND to it.
func (a *admin) unselect() {
	a.t.Helper()
	if _, err := a.c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		a.t.Fatal(err)
	}
	var err error
	if a.c.Caps().Has(imap.CapUnselect) {
		err = a.c.Unselect().Wait()
	} else {
		err = a.c.UnselectAndExpunge().Wait()
	}
	if err != nil {
		a.t.Fatal(err)
	}
}

// fresh returns a new folder name unique to this test, created empty.
func (a *admin) fresh(prefix string) string {
	a.t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	if err := a.c.Create(a.ns.wire(name), nil).Wait(); err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { a.deleteTree(name) })
	return name
}

func (a *admin) deleteTree(name string) {
	l, _ := a.c.List("", a.ns.wire(name)+"*", nil).Collect()
	slices.SortFunc(l, func(x, y *imap.ListData) int { return len(y.Mailbox) - len(x.Mailbox) })
	for _, d := range l {
		a.c.Delete(d.Mailbox).Wait()
	}
}

// recreate deletes and creates folder again: a new UIDVALIDITY.
// A server may refuse to delete a folder with children (Cyrus:
// [HASCHILDREN]; RFC 3501 §6.3.4 allows it): they are renamed aside
// first and back after.
func (a *admin) recreate(folder string) {
	a.t.Helper()
	folder = a.ns.wire(folder)
	a.unselect()
	var parked [][2]string // child, its name aside
	err := a.c.Delete(folder).Wait()
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code == imap.ResponseCodeHasChildren {
		d := string(a.ns.delim)
		l, lerr := a.c.List("", folder+d+"%", nil).Collect()
		if lerr != nil {
			a.t.Fatal(lerr)
		}
		for i, c := range l {
			aside := a.ns.wire(fmt.Sprintf("parked-%d-%d", time.Now().UnixNano(), i))
			if err := a.c.Rename(c.Mailbox, aside, nil).Wait(); err != nil {
				a.t.Fatal(err)
			}
			parked = append(parked, [2]string{c.Mailbox, aside})
		}
		err = a.c.Delete(folder).Wait()
	}
	if err != nil {
		a.t.Fatal(err)
	}
	if err := a.c.Create(folder, nil).Wait(); err != nil {
		a.t.Fatal(err)
	}
	for _, p := range parked {
		if err := a.c.Rename(p[1], p[0], nil).Wait(); err != nil {
			a.t.Fatal(err)
		}
	}
}

func (a *admin) append(folder string, mails ...[]byte) {
	a.t.Helper()
	folder = a.ns.wire(folder)
	for _, m := range mails {
		cmd := a.c.Append(folder, int64(len(m)), nil)
		if _, err := cmd.Write(m); err != nil {
			a.t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			a.t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			a.t.Fatal(err)
		}
	}
}

// expunge removes the mails of folder with those subjects, as another
// client would.
func (a *admin) expunge(folder string, subjects ...string) {
	a.t.Helper()
	var set imap.UIDSet
	for _, m := range a.list(folder) {
		if slices.Contains(subjects, m.Subject) {
			set.AddNum(imap.UID(m.UID))
		}
	}
	if _, err := a.c.Select(a.ns.wire(folder), nil).Wait(); err != nil {
		a.t.Fatal(err)
	}
	defer a.unselect()
	if err := a.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		a.t.Fatal(err)
	}
	if err := a.c.UIDExpunge(set).Close(); err != nil {
		a.t.Fatal(err)
	}
}

// msgState is one mail as the server holds it.
type msgState struct {
	UID     uint32
	Subject string
	Flags   []imap.Flag
}

// has reports whether the mail has flag f; keywords are case-insensitive
// (RFC 9051 §2.3.2) and the memserver lowercases them.
func (m msgState) has(f imap.Flag) bool {
	return slices.ContainsFunc(m.Flags, func(g imap.Flag) bool { return strings.EqualFold(string(f), string(g)) })
}

// list returns the mails of a folder (nil if it does not exist), read-only.
func (a *admin) list(folder string) []msgState {
	a.t.Helper()
	if _, err := a.c.Select(a.ns.wire(folder), &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return nil
		}
		a.t.Fatal(err)
	}
	defer a.unselect()
	var set imap.UIDSet
	set.AddRange(1, 0)
	msgs, err := a.c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true,
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}}}).Collect()
	if err != nil {
		a.t.Fatal(err)
	}
	out := []msgState{}
	for _, m := range msgs {
		var hdr []byte
		for _, s := range m.BodySection {
			hdr = s.Bytes
		}
		h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(hdr))).ReadMIMEHeader()
		out = append(out, msgState{UID: uint32(m.UID), Subject: h.Get("Subject"), Flags: m.Flags})
	}
	slices.SortFunc(out, func(x, y msgState) int { return int(x.UID) - int(y.UID) })
	return out
}

func (a *admin) subjects(folder string) []string {
	a.t.Helper()
	var s []string
	for _, m := range a.list(folder) {
		s = append(s, m.Subject)
	}
	slices.Sort(s)
	return s
}

var mailSeq atomic.Int64

// mail builds a test mail whose X-Test-Kind header tells fakeClassify the
// verdict. Every mail is unique (its Message-Id), so digests differ.
func mail(subject string, kind classify.Kind) []byte {
	n := mailSeq.Add(1)
	return fmt.Appendf(nil, "From: MAILER-DAEMON@example.test\r\nTo: bounces@example.test\r\nSubject: %s\r\n"+
		"Message-Id: <%d.%d@example.test>\r\nX-Test-Kind: %s\r\n\r\nThe mail to rcpt%d@example.org failed.\r\n",
		subject, time.Now().UnixNano(), n, kind, n)
}

// fakeClassify reads the verdict from X-Test-Kind; "panic" panics. A
// bounce has one hard recipient from the body.
func fakeClassify(raw []byte) (classify.Verdict, error) {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return classify.Verdict{}, classify.ErrNotMessage
	}
	kind := classify.Kind(h.Get("X-Test-Kind"))
	if kind == "panic" {
		panic("fake classifier panic")
	}
	v := classify.Verdict{Kind: kind, Subject: h.Get("Subject")}
	if kind == classify.KindBounce {
		_, rest, _ := bytes.Cut(raw, []byte("mail to "))
		addr, _, _ := bytes.Cut(rest, []byte(" "))
		v.Recipients = []classify.Recipient{{Address: string(addr), Action: classify.ActionFailed, Hard: true, Reason: classify.ReasonUserUnknown}}
	}
	return v, nil
}

// testActions keeps moved mail under the test's folder.
func testActions(base string) map[classify.Kind]Action {
	return map[classify.Kind]Action{
		classify.KindBounce:    {OpMove, base + "/Processed"},
		classify.KindDelay:     {OpMove, base + "/Processed"},
		classify.KindComplaint: {OpMove, base + "/Complaints"},
		classify.KindReport:    {OpMove, base + "/Reports"},
		classify.KindAutoreply: {Op: OpFlag},
		classify.KindDelivered: {OpMove, base + "/Processed"},
		classify.KindUnknown:   {OpMove, base + "/Unrecognized"},
		classify.KindNotBounce: {Op: OpLeave},
	}
}

// poller builds a Poller for b's first user on folder.
func (b *backend) poller(t testing.TB, name, folder string, store Store, mod func(*Options)) *Poller {
	t.Helper()
	o := Options{
		Name:      name,
		Host:      b.host,
		Port:      b.port,
		TLS:       b.tls,
		TLSConfig: b.tlsConf,
		Username:  b.user,
		Secret:    func() (string, error) { return b.pass, nil },
		Folder:    folder,
		Actions:   testActions(folder),
		Timeout:   20 * time.Second,
		Store:     store,
	}
	if mod != nil {
		mod(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	p.classify = fakeClassify
	return p
}

// newFakeClock is the fake time of the poller tests.
func newFakeClock() *clocktest.Fake {
	return clocktest.New(time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC))
}

var debugW io.Writer
