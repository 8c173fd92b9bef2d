package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Probe tries to reach t's receiver as a delivery would, and sends it
// nothing: it connects to the URL's host (or to the proxy the environment
// names for it, as http.DefaultTransport does) and, for https, completes
// the TLS handshake, verifying the certificate against tlsConf's roots
// (nil: the system's). It gives up after t.Timeout (DefaultTimeout when
// 0). There is no test event a receiver knows to ignore, so no request is
// made: a receiver that would refuse the events (a wrong path, token or
// secret) passes, and says so at the first delivery. The result says what
// was tried, in words.
func (t Target) Probe(ctx context.Context, tlsConf *tls.Config) (string, error) {
	return t.probe(ctx, tlsConf, http.ProxyFromEnvironment)
}

func (t Target) probe(ctx context.Context, tlsConf *tls.Config, proxy func(*http.Request) (*url.URL, error)) (string, error) {
	u, err := url.Parse(t.URL)
	if err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("url %q: want an http(s) URL", redactURL(t.URL))
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := hostPort(u)
	p, err := proxy(&http.Request{Method: http.MethodPost, URL: u, Header: http.Header{}})
	if err != nil {
		return "", fmt.Errorf("finding the proxy for %s: %w", addr, err)
	}
	if p != nil {
		paddr := hostPort(p)
		c, err := dial(ctx, paddr, timeout)
		if err != nil {
			return "", fmt.Errorf("connecting to the proxy %s: %w", paddr, err)
		}
		c.Close()
		return fmt.Sprintf("connects to the proxy %s (from the environment; %s behind it is not tried)", paddr, addr), nil
	}
	c, err := dial(ctx, addr, timeout)
	if err != nil {
		return "", fmt.Errorf("connecting to %s: %w", addr, err)
	}
	defer c.Close()
	if u.Scheme == "http" {
		return fmt.Sprintf("connects to %s (http, no TLS)", addr), nil
	}
	conf := &tls.Config{}
	if tlsConf != nil {
		conf = tlsConf.Clone()
	}
	conf.ServerName = u.Hostname()
	tc := tls.Client(c, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("no TLS handshake within %s", timeout)
		}
		return "", fmt.Errorf("TLS with %s: %w", addr, err)
	}
	defer tc.Close()
	return fmt.Sprintf("connects to %s, %s, certificate valid for %s", addr, tls.VersionName(tc.ConnectionState().Version), u.Hostname()), nil
}

// dial connects to addr, wording a timeout as one.
func dial(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("no connection within %s", timeout)
	}
	return c, err
}

// hostPort is u's host and port, the scheme's port when it names none.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "socks5", "socks5h":
			port = "1080"
		default:
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
