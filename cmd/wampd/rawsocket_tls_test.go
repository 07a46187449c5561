package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/internal/testcert"
	"github.com/wampkit/wampkit/wamp"
)

// tlsFiles are a CA and the router's key pair signed by it, written into a
// test's directory.
type tlsFiles struct {
	ca                *testcert.CA
	roots             *x509.CertPool // holds ca's certificate
	dir               string
	caFile            string
	certFile, keyFile string
}

func newTLSFiles(t *testing.T) *tlsFiles {
	t.Helper()
	f := &tlsFiles{dir: t.TempDir(), ca: testcert.NewCA(t, "test CA")}
	f.roots = f.ca.Pool
	f.caFile = f.write(t, "ca.pem", f.ca.PEM())
	f.certFile, f.keyFile = testcert.WriteFiles(t, f.dir, "server", f.ca.Issue(t, "wampd"))
	return f
}

func (f *tlsFiles) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// section is the configuration file's tls section; with clientCA, it
// names the CA file for client certificates.
func (f *tlsFiles) section(clientCA bool) string {
	s := `"tls": {"cert_file": "` + f.certFile + `", "key_file": "` + f.keyFile + `"`
	if clientCA {
		s += `, "client_ca_file": "` + f.caFile + `"`
	}
	return s + "}"
}

// TestRawSocketTLS: transports.rawsocket.tls serves the raw socket
// listener over TLS with the router's certificate: a client trusting the
// CA joins over rss:// and calls a procedure registered over WSS; plain
// rs:// and a client that does not trust the CA fail, and so do raw
// sockets on the HTTPS port; --raw-tls does the same for --raw-addr.
func TestRawSocketTLS(t *testing.T) {
	f := newTLSFiles(t)
	rawAddr := freeAddr(t)
	addr, _ := startWampd(t, "--config", writeConfig(t, `{`+f.section(false)+`, "realms": [{"name": "realm1"}],
  "transports": {"rawsocket": {"listen": "`+rawAddr+`", "tls": true}}}`))
	trusting := &client.Config{TLSConfig: &tls.Config{RootCAs: f.roots}}

	callee, err := client.Join(t.Context(), "wss://"+addr+"/ws", "realm1", trusting)
	if err != nil {
		t.Fatal(err)
	}
	defer callee.Leave(context.Background())
	if _, err := callee.Register(t.Context(), "com.example.echo", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: inv.Args}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, ser := range []string{"json", "msgpack", "cbor"} {
		s, err := client.Join(t.Context(), "rss://"+rawAddr, "realm1", &client.Config{Serializer: ser, TLSConfig: trusting.TLSConfig})
		if err != nil {
			t.Fatalf("rss:// %s: %v", ser, err)
		}
		res, err := s.Call(t.Context(), "com.example.echo", wamp.List{"over TLS", ser}, nil)
		if err != nil || !reflect.DeepEqual(res.Args, wamp.List{"over TLS", ser}) {
			t.Errorf("rss:// %s: call = %+v, %v", ser, res, err)
		}
		s.Leave(t.Context())
	}

	// The certificate the listener shows is the file's.
	c, err := tls.Dial("tcp", rawAddr, &tls.Config{RootCAs: f.roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS to the raw socket listener: %v", err)
	}
	if cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "wampd" {
		t.Errorf("the raw socket listener's certificate is for %q, want wampd", cn)
	}
	c.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := client.Join(ctx, "rs://"+rawAddr, "realm1", nil); err == nil {
		t.Error("plain rs:// joined on the TLS raw socket listener")
	}
	if _, err := client.Join(ctx, "rss://"+rawAddr, "realm1", nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("rss:// without the CA: %v, want a certificate error", err)
	}
	if ctx.Err() != nil {
		t.Error("the failed joins waited for the timeout instead of failing at once")
	}

	// The HTTPS port carries no raw sockets, plain or TLS: HTTP waits for
	// the end of a request line that never comes.
	for _, url := range []string{"rs://" + addr, "rss://" + addr} {
		jctx, jcancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		if _, err := client.Join(jctx, url, "realm1", trusting); err == nil {
			t.Errorf("%s joined on the HTTPS port", url)
		}
		jcancel()
	}

	// --raw-tls over a file with only the tls section.
	rawAddr2 := freeAddr(t)
	startWampd(t, "--config", writeConfig(t, `{`+f.section(false)+`}`), "--raw-addr", rawAddr2, "--raw-tls")
	s, err := client.Join(t.Context(), "rss://"+rawAddr2, "realm1", trusting)
	if err != nil {
		t.Fatalf("rss:// with --raw-tls: %v", err)
	}
	s.Leave(t.Context())
	if _, err := client.Join(ctx, "rs://"+rawAddr2, "realm1", nil); err == nil {
		t.Error("plain rs:// joined on the --raw-tls listener")
	}
}

// TestRawSocketTLSErrors: TLS raw sockets without a certificate or without
// a TCP listener are refused at start, the configuration's with its
// location; --raw-tls=false turns the file's setting off.
func TestRawSocketTLSErrors(t *testing.T) {
	if _, err := parseConfig([]byte(`{"transports": {"rawsocket": {"listen": "127.0.0.1:0", "tls": true}}}`)); err == nil ||
		err.Error() != "transports.rawsocket.tls: needs the file's tls section (cert_file and key_file): the router's certificate" {
		t.Errorf("tls without the tls section: %v", err)
	}
	if _, err := parseConfig([]byte(`{"transports": {"rawsocket": {"tls": "yes"}}}`)); err == nil ||
		err.Error() != "transports.rawsocket.tls: must be true or false, not a string" {
		t.Errorf("tls not a boolean: %v", err)
	}

	f := newTLSFiles(t)
	// A wampd that starts instead runs until the timeout, then returns nil.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--raw-addr", "127.0.0.1:0", "--raw-tls"},
			"--raw-tls: needs the configuration file's tls section (cert_file and key_file): the router's certificate"},
		{[]string{"--config", writeConfig(t, `{`+f.section(false)+`}`), "--raw-tls"},
			"--raw-tls (transports.rawsocket.tls): no TCP listener to serve over TLS; give --raw-addr or transports.rawsocket.listen"},
		{[]string{"--config", writeConfig(t, `{`+f.section(false)+`, "transports": {"rawsocket": {"unix": "`+filepath.Join(shortDir(t), "wampd.sock")+`", "tls": true}}}`)},
			"--raw-tls (transports.rawsocket.tls): no TCP listener to serve over TLS; give --raw-addr or transports.rawsocket.listen"},
	} {
		if err := run(ctx, append([]string{"--addr", "127.0.0.1:0"}, c.args...), io.Discard, io.Discard, nil); err == nil || err.Error() != c.want {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}

	rawAddr := freeAddr(t)
	startWampd(t, "--config", writeConfig(t, `{`+f.section(false)+`, "transports": {"rawsocket": {"listen": "`+rawAddr+`", "tls": true}}}`), "--raw-tls=false")
	s, err := client.Join(t.Context(), "rs://"+rawAddr, "realm1", nil)
	if err != nil {
		t.Fatalf("rs:// with --raw-tls=false over the file's tls: %v", err)
	}
	s.Leave(t.Context())
}

// TestRawSocketTLSClientCertificate: with tls.client_ca_file, the TLS raw
// socket listener verifies a client certificate as HTTPS does, and the tls
// method takes the authid from its subject; a client without one still
// joins, anonymously.
func TestRawSocketTLSClientCertificate(t *testing.T) {
	f := newTLSFiles(t)
	rawAddr := freeAddr(t)
	startWampd(t, "--config", writeConfig(t, `{`+f.section(true)+`,
  "transports": {"rawsocket": {"listen": "`+rawAddr+`", "tls": true}},
  "realms": [{"name": "devices", "roles": [{"name": "device"}, {"name": "guest"}],
              "auth": {"tls": {"role": "device"}, "anonymous": {"role": "guest"}}}]}`))

	join := func(certs ...tls.Certificate) wamp.Dict {
		t.Helper()
		s, err := client.Join(t.Context(), "rss://"+rawAddr, "devices", &client.Config{
			AuthID: "admin", AuthMethods: []string{"tls", "anonymous"},
			TLSConfig: &tls.Config{RootCAs: f.roots, Certificates: certs},
		})
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		defer s.Leave(t.Context())
		return s.Details()
	}
	d := join(f.ca.Issue(t, "sensor-7"))
	if d["authid"] != "sensor-7" || d["authrole"] != "device" || d["authmethod"] != "tls" {
		t.Fatalf("with a certificate: WELCOME details %v", d)
	}
	if d := join(); d["authrole"] != "guest" || d["authmethod"] != "anonymous" {
		t.Fatalf("without a certificate: WELCOME details %v", d)
	}
	// A certificate of another CA is refused in the TLS handshake.
	stranger := testcert.NewCA(t, "other CA").Issue(t, "sensor-7")
	if _, err := client.Join(t.Context(), "rss://"+rawAddr, "devices", &client.Config{
		AuthMethods: []string{"tls"},
		TLSConfig:   &tls.Config{RootCAs: f.roots, Certificates: []tls.Certificate{stranger}},
	}); err == nil {
		t.Error("a certificate of an unknown CA joined")
	}
}
