//go:build !js

package client

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/wampkit/wampkit/internal/testcert"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp"
)

// tlsURLs are the URLs of a router served only over TLS.
type tlsURLs struct {
	rss, wss, https string
}

func (u tlsURLs) all() map[string]string {
	return map[string]string{"rawsocket": u.rss, "websocket": u.wss, "longpoll": u.https}
}

// startTLSRouter serves a router over TLS with a certificate of ca, and
// verifies the client certificates of ca that clients present. Its realm
// "realm1" is open; realm "certs" admits the holders of such a
// certificate, with their certificate's CN as authid.
func startTLSRouter(t *testing.T, ca *testcert.CA) tlsURLs {
	t.Helper()
	r, err := server.New(server.Config{
		Realms: []server.RealmConfig{
			{Name: "realm1"},
			{
				Name: "certs",
				Roles: []server.RoleConfig{{Name: "device", Permissions: []server.Permission{
					{URI: "com.device.", Match: "prefix", Allow: server.Actions{Register: true, Call: true}},
				}}},
				Auth: server.AuthConfig{TLS: &server.TLSAuth{Role: "device"}},
			},
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	serverTLS := &tls.Config{
		Certificates: []tls.Certificate{ca.Issue(t, "router")},
		ClientCAs:    ca.Pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}
	hs := httptest.NewUnstartedServer(r.Handler(server.HTTPConfig{}))
	hs.TLS = serverTLS
	hs.StartTLS()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	serving.Go(func() { rawsocket.Serve(ln, nil, r.Serve) })
	t.Cleanup(func() {
		ln.Close()
		serving.Wait()
		r.Close()
		hs.Close()
	})
	return tlsURLs{
		rss:   "rss://" + ln.Addr().String(),
		wss:   "wss" + strings.TrimPrefix(hs.URL, "https") + "/ws",
		https: hs.URL + "/lp",
	}
}

// TestJoinOverTLS: Config.TLSConfig lets a client trust a router whose
// certificate a private CA signed, over rss://, wss:// and https://;
// without it the system's roots refuse that certificate.
func TestJoinOverTLS(t *testing.T) {
	ca := testcert.NewCA(t, "wampkit client test CA")
	urls := startTLSRouter(t, ca)
	for kind, url := range urls.all() {
		t.Run(kind, func(t *testing.T) {
			s := joinURL(t, url, &Config{TLSConfig: &tls.Config{RootCAs: ca.Pool}})
			if got := s.Transport().Transport; got != kind {
				t.Errorf("Transport() = %q, want %q", got, kind)
			}
			if _, err := s.Register(t.Context(), "com.example.echo", echo); err != nil {
				t.Fatal(err)
			}
			res, err := s.Call(t.Context(), "com.example.echo", wamp.List{"over TLS"}, nil)
			if err != nil || res.Args[0] != "over TLS" {
				t.Fatalf("call: %v, %v", res, err)
			}

			ctx, cancel := context.WithTimeout(t.Context(), wait)
			defer cancel()
			_, err = Join(ctx, url, "realm1", nil)
			if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok {
				t.Fatalf("join with the system's roots: %v, want a certificate verification error", err)
			}
		})
	}
}

// TestJoinWithClientCertificate: a client that presents the certificate
// of Config.TLSConfig joins a realm of the "tls" method with the
// certificate's subject as authid, whatever authid it claims; without a
// certificate the router refuses it.
func TestJoinWithClientCertificate(t *testing.T) {
	ca := testcert.NewCA(t, "wampkit client test CA")
	urls := startTLSRouter(t, ca)
	cert := ca.Issue(t, "sensor-7")
	for kind, url := range urls.all() {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), wait)
			defer cancel()
			s, err := Join(ctx, url, "certs", &Config{
				AuthID:      "admin",
				AuthMethods: []string{"tls"},
				TLSConfig:   &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{cert}},
			})
			if err != nil {
				t.Fatalf("join: %v", err)
			}
			defer s.Leave(ctx)
			d := s.Details()
			if d["authid"] != "sensor-7" || d["authrole"] != "device" || d["authmethod"] != "tls" {
				t.Fatalf("WELCOME details %v, want authid sensor-7, authrole device, authmethod tls", d)
			}
			if _, err := s.Register(ctx, "com.device.ping", echo); err != nil {
				t.Fatal(err)
			}
			if res, err := s.Call(ctx, "com.device.ping", wamp.List{"pong"}, nil); err != nil || res.Args[0] != "pong" {
				t.Fatalf("call: %v, %v", res, err)
			}

			_, err = Join(ctx, url, "certs", &Config{AuthMethods: []string{"tls"}, TLSConfig: &tls.Config{RootCAs: ca.Pool}})
			if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrAuthenticationFailed {
				t.Fatalf("join without a certificate: %v, want %s", err, wamp.ErrAuthenticationFailed)
			}
		})
	}
}
