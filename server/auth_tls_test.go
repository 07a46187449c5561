package server

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/internal/testcert"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/longpoll"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
)

// fingerprint is a certificate's SHA-256 in openssl's spelling, which the
// config accepts.
func fingerprint(c tls.Certificate) string {
	sum := sha256.Sum256(c.Certificate[0])
	var parts []string
	for _, b := range sum {
		parts = append(parts, strings.ToUpper(hex.EncodeToString([]byte{b})))
	}
	return strings.Join(parts, ":")
}

// tlsRouter serves r over HTTPS (WebSocket and long-poll) and raw socket
// over TLS, both verifying client certificates of ca when given (or, with
// clientAuth, as told).
type tlsRouter struct {
	r       *Router
	https   *httptest.Server
	rawAddr string
	roots   *x509.CertPool // trusts the server's certificate
}

func startTLSRouter(t *testing.T, r *Router, ca *testcert.CA, clientAuth tls.ClientAuthType) *tlsRouter {
	t.Helper()
	srv := httptest.NewUnstartedServer(r.Handler(HTTPConfig{}))
	srv.TLS = &tls.Config{ClientCAs: ca.Pool, ClientAuth: clientAuth}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: srv.TLS.Certificates,
		ClientCAs:    ca.Pool,
		ClientAuth:   clientAuth,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rawsocket.Serve(ln, nil, func(p transport.Peer) { go r.Serve(p) })
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return &tlsRouter{r: r, https: srv, rawAddr: ln.Addr().String(), roots: roots}
}

// clientTLS is the TLS config of a client presenting certs.
func (tr *tlsRouter) clientTLS(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: tr.roots, Certificates: certs}
}

// dial connects over transport kind with certs.
func (tr *tlsRouter) dial(t *testing.T, kind string, certs ...tls.Certificate) (transport.Peer, error) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tr.clientTLS(certs...)}}
	t.Cleanup(hc.CloseIdleConnections)
	base := strings.Replace(tr.https.URL, "https://", "wss://", 1)
	switch kind {
	case "websocket":
		return websocket.Dial(t.Context(), base+"/ws", &websocket.DialOptions{HTTPClient: hc})
	case "longpoll":
		return longpoll.Dial(t.Context(), tr.https.URL+"/lp", &longpoll.DialOptions{HTTPClient: hc})
	case "rawsocket":
		return rawsocket.Dial(t.Context(), "tcp", tr.rawAddr, &rawsocket.DialOptions{TLSConfig: tr.clientTLS(certs...)})
	}
	t.Fatalf("no transport %q", kind)
	return nil, nil
}

// join joins realm over kind with certs, offering methods and claiming
// authid.
func (tr *tlsRouter) join(t *testing.T, kind, realm string, cfg *client.Config, certs ...tls.Certificate) (*client.Session, error) {
	t.Helper()
	p, err := tr.dial(t, kind, certs...)
	if err != nil {
		t.Fatalf("dial %s: %v", kind, err)
	}
	s, err := client.JoinPeer(t.Context(), p, realm, cfg)
	if err == nil {
		t.Cleanup(func() { s.Leave(t.Context()) })
	}
	return s, err
}

func wantIdentity(t *testing.T, s *client.Session, authid, authrole, authmethod string) {
	t.Helper()
	d := s.Details()
	if d["authid"] != authid || d["authrole"] != authrole || d["authmethod"] != authmethod || d["authprovider"] != "static" {
		t.Fatalf("WELCOME details %v, want authid %q authrole %q authmethod %q authprovider static", d, authid, authrole, authmethod)
	}
}

func tlsRealm(pinned tls.Certificate) RealmConfig {
	return RealmConfig{
		Name: "certs",
		Roles: []RoleConfig{
			{Name: "device", Permissions: []Permission{{URI: "com.device.", Match: "prefix", Allow: Actions{Publish: true}}}},
			{Name: "admin", Permissions: []Permission{{URI: "", Match: "prefix", Allow: Actions{Call: true}}}},
		},
		Auth: AuthConfig{
			TLS: &TLSAuth{Role: "device", Principals: map[string]TLSPrincipal{
				"ops":  {Role: "admin", Fingerprint: fingerprint(pinned)},
				"root": {Role: "admin"},
			}},
			Ticket: &TicketAuth{Principals: map[string]TicketPrincipal{"alice": {Role: "device", Ticket: "alice-ticket"}}},
		},
	}
}

func TestTLSAuth(t *testing.T) {
	ca, other := testcert.NewCA(t, "wampkit test CA"), testcert.NewCA(t, "another CA")
	sensor, opsCert, root := ca.Issue(t, "sensor-1"), ca.Issue(t, "ops-laptop"), ca.Issue(t, "root")
	r := newTestRouter(t, Config{Realms: []RealmConfig{
		tlsRealm(opsCert),
		{Name: "pinned", Roles: []RoleConfig{{Name: "admin"}}, Auth: AuthConfig{TLS: &TLSAuth{Principals: map[string]TLSPrincipal{
			"ops": {Role: "admin", Fingerprint: fingerprint(opsCert)},
		}}}},
	}})
	tr := startTLSRouter(t, r, ca, tls.VerifyClientCertIfGiven)
	offerTLS := func() *client.Config {
		// The claim is a request: the certificate decides.
		return &client.Config{AuthID: "admin", AuthMethods: []string{"tls"}}
	}

	for _, kind := range []string{"websocket", "longpoll", "rawsocket"} {
		t.Run(kind, func(t *testing.T) {
			s, err := tr.join(t, kind, "certs", offerTLS(), sensor)
			if err != nil {
				t.Fatalf("join: %v", err)
			}
			wantIdentity(t, s, "sensor-1", "device", "tls")
		})
	}
	t.Run("pinned certificate names its principal", func(t *testing.T) {
		s, err := tr.join(t, "websocket", "certs", offerTLS(), opsCert)
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		wantIdentity(t, s, "ops", "admin", "tls")
	})
	t.Run("principal by common name", func(t *testing.T) {
		s, err := tr.join(t, "websocket", "certs", offerTLS(), root)
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		wantIdentity(t, s, "root", "admin", "tls")
	})
	t.Run("common name of a pinned principal on another certificate", func(t *testing.T) {
		_, err := tr.join(t, "websocket", "certs", offerTLS(), ca.Issue(t, "ops"))
		wantAuthFailed(t, err)
	})
	t.Run("realm without a default role admits principals only", func(t *testing.T) {
		s, err := tr.join(t, "websocket", "pinned", offerTLS(), opsCert)
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		wantIdentity(t, s, "ops", "admin", "tls")
		_, err = tr.join(t, "websocket", "pinned", offerTLS(), sensor)
		wantAuthFailed(t, err)
	})
	t.Run("no certificate", func(t *testing.T) {
		before := r.Stats().AuthFailures["tls"]
		for _, kind := range []string{"websocket", "longpoll", "rawsocket"} {
			_, err := tr.join(t, kind, "certs", offerTLS())
			wantAuthFailed(t, err)
			if e, _ := errors.AsType[*wamp.Error](err); !strings.Contains(e.Error(), "no verified TLS client certificate") {
				t.Fatalf("%s: %v, want the reason", kind, err)
			}
		}
		if n := r.Stats().AuthFailures["tls"]; n != before+3 {
			t.Fatalf("AuthFailures[tls] %d, want %d", n, before+3)
		}
	})
	t.Run("no certificate falls back to the next method offered", func(t *testing.T) {
		cfg := &client.Config{AuthID: "alice", AuthMethods: []string{"tls", "ticket"}, OnChallenge: client.TicketAuth("alice-ticket")}
		s, err := tr.join(t, "websocket", "certs", cfg)
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		wantIdentity(t, s, "alice", "device", "ticket")
	})
	t.Run("a certificate comes before the next method", func(t *testing.T) {
		cfg := &client.Config{AuthID: "alice", AuthMethods: []string{"tls", "ticket"}, OnChallenge: client.TicketAuth("alice-ticket")}
		s, err := tr.join(t, "websocket", "certs", cfg, sensor)
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		wantIdentity(t, s, "sensor-1", "device", "tls")
	})
	t.Run("certificate of another CA", func(t *testing.T) {
		// The TLS handshake refuses it before WAMP begins.
		for _, kind := range []string{"websocket", "longpoll", "rawsocket"} {
			p, err := tr.dial(t, kind, other.Issue(t, "sensor-1"))
			if err == nil {
				// TLS 1.3 reports a refused client certificate on the
				// first read.
				_, err = client.JoinPeer(t.Context(), p, "certs", offerTLS())
			}
			if err == nil {
				t.Fatalf("%s: a certificate of another CA joined", kind)
			}
		}
	})
	t.Run("realm without tls", func(t *testing.T) {
		p, err := tr.dial(t, "websocket", sensor)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.JoinPeer(t.Context(), p, "certs", &client.Config{AuthMethods: []string{"anonymous"}})
		if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrNoAuthMethod {
			t.Fatalf("join: %v, want %s", err, wamp.ErrNoAuthMethod)
		}
	})
}

// A certificate that the server asked for but did not verify names nobody.
func TestTLSAuthUnverifiedCertificate(t *testing.T) {
	ca := testcert.NewCA(t, "wampkit test CA")
	r := newTestRouter(t, Config{Realms: []RealmConfig{tlsRealm(ca.Issue(t, "ops"))}})
	tr := startTLSRouter(t, r, ca, tls.RequestClientCert)
	for _, kind := range []string{"websocket", "longpoll", "rawsocket"} {
		_, err := tr.join(t, kind, "certs", &client.Config{AuthMethods: []string{"tls"}}, testcert.NewCA(t, "self").Issue(t, "sensor-1"))
		wantAuthFailed(t, err)
	}
}

func TestTLSAuthConfig(t *testing.T) {
	bad := func(a *TLSAuth) string {
		rc := RealmConfig{Name: "certs", Roles: []RoleConfig{{Name: "device"}}, Auth: AuthConfig{TLS: a}}
		err := Config{Realms: []RealmConfig{rc}}.Validate()
		if err == nil {
			return ""
		}
		return err.Error()
	}
	fp := strings.Repeat("ab", 32)
	for name, tc := range map[string]struct {
		a    *TLSAuth
		want string
	}{
		"admits nobody": {&TLSAuth{}, "realms[0].auth.tls: admits nobody"},
		"unknown role":  {&TLSAuth{Role: "ghost"}, `realms[0].auth.tls.role: realm "certs" has no role "ghost"`},
		"principal without role": {&TLSAuth{Principals: map[string]TLSPrincipal{"a": {}}},
			`realms[0].auth.tls.principals["a"].role: a role is required`},
		"bad fingerprint": {&TLSAuth{Principals: map[string]TLSPrincipal{"a": {Role: "device", Fingerprint: "abc"}}},
			`realms[0].auth.tls.principals["a"].fingerprint: not a SHA-256 fingerprint`},
		"shared fingerprint": {&TLSAuth{Principals: map[string]TLSPrincipal{
			"a": {Role: "device", Fingerprint: fp}, "b": {Role: "device", Fingerprint: strings.ToUpper(fp)},
		}}, `realms[0].auth.tls.principals["b"].fingerprint: the certificate is also "a"'s`},
	} {
		if got := bad(tc.a); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
	if err := bad(&TLSAuth{Role: "device", Principals: map[string]TLSPrincipal{"a": {Role: "device", Fingerprint: fp}}}); err != "" {
		t.Errorf("valid config: %s", err)
	}
}

// The connection's certificate reaches Info only when verified.
func TestTLSInfo(t *testing.T) {
	ca := testcert.NewCA(t, "wampkit test CA")
	cert := ca.Issue(t, "sensor-1")
	peers := make(chan transport.Peer, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := websocket.Accept(w, r, nil)
		if err == nil {
			peers <- p
		}
	}))
	srv.TLS = &tls.Config{ClientCAs: ca.Pool, ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}}
	defer hc.CloseIdleConnections()
	c, err := websocket.Dial(t.Context(), "wss://"+srv.Listener.Addr().String(), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := <-peers
	defer p.Close()
	info := p.Info()
	want := strings.ToLower(strings.ReplaceAll(fingerprint(cert), ":", ""))
	if !info.TLS || info.TLSClientSubject != "sensor-1" || info.TLSClientFingerprint != want {
		t.Fatalf("server Info %+v, want TLS, subject sensor-1, fingerprint %s", info, want)
	}
	if ci := c.Info(); ci.TLSClientSubject != "" || ci.TLSClientFingerprint != "" {
		t.Fatalf("client Info %+v names a client certificate", ci)
	}
}
