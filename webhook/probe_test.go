package webhook

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestProbe: a probe connects (and shakes hands for https, verifying the
// certificate) and never sends the receiver a request; what fails is said
// in words, within the target's timeout.
func TestProbe(t *testing.T) {
	var requests atomic.Int32
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) })
	tlsSrv := httptest.NewUnstartedServer(count)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the unknown CA's failed handshake
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(count)
	defer plain.Close()
	roots := tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig
	noProxy := func(*http.Request) (*url.URL, error) { return nil, nil }

	// A port nothing listens on: the address of a closed listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	// A listener that accepts and never answers the TLS handshake.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	for _, tc := range []struct {
		name    string
		target  Target
		tls     *tls.Config
		proxy   func(*http.Request) (*url.URL, error)
		want    string // in the result
		wantErr string // in the error
	}{
		{name: "https", target: Target{URL: tlsSrv.URL + "/hook"}, tls: roots, want: "TLS 1.3, certificate valid for 127.0.0.1"},
		{name: "unknown CA", target: Target{URL: tlsSrv.URL + "/hook"}, wantErr: "TLS with " + strings.TrimPrefix(tlsSrv.URL, "https://") + ": tls: failed to verify certificate"},
		{name: "http", target: Target{URL: plain.URL, Kind: KindListmonk}, want: "(http, no TLS)"},
		{name: "refused", target: Target{URL: "http://" + closed + "/hook"}, wantErr: "connecting to " + closed},
		{name: "no handshake", target: Target{URL: "https://" + mute.Addr().String(), Timeout: 50 * time.Millisecond}, wantErr: "no TLS handshake within 50ms"},
		{name: "proxy", target: Target{URL: "https://hooks.example.com/x"}, want: "connects to the proxy " + strings.TrimPrefix(plain.URL, "http://") + " (from the environment; hooks.example.com:443 behind it is not tried)",
			proxy: func(*http.Request) (*url.URL, error) { return url.Parse(plain.URL) }},
	} {
		proxy := tc.proxy
		if proxy == nil {
			proxy = noProxy
		}
		got, err := tc.target.probe(context.Background(), tc.tls, proxy)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Probe(%s): %q, %v; want the error %q", tc.name, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || !strings.Contains(got, tc.want)):
			t.Errorf("Probe(%s): %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the receivers got %d requests, want none", n)
	}
}
