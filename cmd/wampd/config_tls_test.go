package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/internal/testcert"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/websocket"
)

// writeKeyPair writes a server certificate and its key, signed by a new
// CA, into dir and returns their paths.
func writeKeyPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	return testcert.WriteFiles(t, dir, "server", testcert.NewCA(t, "test CA").Issue(t, "wampd"))
}

// TestTLSConfigFile loads testdata/tls.json, the README's example, with
// its key pair's paths pointed at generated files.
func TestTLSConfigFile(t *testing.T) {
	example, err := os.ReadFile("testdata/tls.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := writeKeyPair(t, dir)
	file := strings.NewReplacer("/etc/wampd/server.pem", certFile, "/etc/wampd/server-key.pem", keyFile).Replace(string(example))
	if file == string(example) {
		t.Fatal("testdata/tls.json no longer names /etc/wampd/server.pem and server-key.pem")
	}
	path := filepath.Join(dir, "tls.json")
	os.WriteFile(path, []byte(file), 0o600)
	fc, err := loadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fc.TLSClientCAs == nil || fc.TLSCert != certFile || fc.TLSCertificate == nil || fc.TLSCertificate.Leaf.Subject.CommonName != "wampd" {
		t.Fatalf("tls read as cert %q (%v), client CAs %v", fc.TLSCert, fc.TLSCertificate, fc.TLSClientCAs)
	}
	got := fc.Router.Realms[0].Auth.TLS
	if got == nil || got.Role != "device" || len(got.Principals) != 2 ||
		got.Principals["ops"] != (server.TLSPrincipal{Role: "operator", Fingerprint: "5E:0F:1D:5C:A7:1B:6C:32:7E:64:1C:0E:93:52:3B:0B:6D:27:C4:5A:98:2E:0D:61:F1:C3:3A:6B:0D:7A:E4:21"}) ||
		got.Principals["auditor"] != (server.TLSPrincipal{Role: "operator"}) {
		t.Fatalf("auth.tls read as %+v", got)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	certFile, keyFile := writeKeyPair(t, dir)
	_, wrongKey := testcert.WriteFiles(t, dir, "other", testcert.NewCA(t, "other CA").Issue(t, "other"))
	missing := filepath.Join(dir, "none.pem")

	// The key pair: missing, not PEM, or a key of another certificate;
	// reported at tls.cert_file, by --check-config and at start alike.
	for name, tc := range map[string]struct{ cert, key, want string }{
		"missing certificate": {missing, keyFile, "tls.cert_file: with tls.key_file: open " + missing + ": no such file or directory"},
		"missing key":         {certFile, missing, "tls.cert_file: with tls.key_file: open " + missing + ": no such file or directory"},
		"not PEM":             {notPEM, keyFile, "tls.cert_file: with tls.key_file: tls: failed to find any PEM data in certificate input"},
		"another key":         {certFile, wrongKey, "tls.cert_file: with tls.key_file: tls: private key does not match public key"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		os.WriteFile(path, []byte(`{"tls": {"cert_file": "`+tc.cert+`", "key_file": "`+tc.key+`"}, "realms": [{"name": "r"}]}`), 0o600)
		if err := run(t.Context(), []string{"--check-config", path}, io.Discard, io.Discard, nil); err == nil || err.Error() != path+": "+tc.want {
			t.Errorf("%s: --check-config: %v, want %q", name, err, path+": "+tc.want)
		}
		if err := run(t.Context(), []string{"--config", path, "--addr", "127.0.0.1:0"}, io.Discard, io.Discard, nil); err == nil || err.Error() != path+": "+tc.want {
			t.Errorf("%s: --config: %v, want %q", name, err, path+": "+tc.want)
		}
	}

	for name, tc := range map[string]struct{ tls, auth, want string }{
		"missing CA file": {`"client_ca_file": "` + filepath.Join(dir, "none.pem") + `"`, `{"role": "device"}`,
			"tls.client_ca_file: open " + filepath.Join(dir, "none.pem") + ": no such file or directory"},
		"not PEM": {`"client_ca_file": "` + notPEM + `"`, `{"role": "device"}`,
			"tls.client_ca_file: " + notPEM + " holds no PEM certificate"},
		"no client CA": {``, `{"role": "device"}`,
			"realms[0].auth.tls: needs tls.client_ca_file: without it no client certificate is verified"},
		"dynamic": {`"client_ca_file": "testdata/client-ca.pem"`, `{"type": "dynamic", "role": "device"}`,
			`realms[0].auth.tls.type: tls authentication is "static" only`},
		"unknown field": {`"client_ca_file": "testdata/client-ca.pem"`, `{"principals": {"a": {"role": "device", "certificate-sha1": "ab"}}}`,
			`realms[0].auth.tls.principals["a"].certificate-sha1: unknown field (known: role, fingerprint)`},
		"bad fingerprint": {`"client_ca_file": "testdata/client-ca.pem"`, `{"principals": {"a": {"role": "device", "fingerprint": "ab:cd"}}}`,
			`realms[0].auth.tls.principals["a"].fingerprint: not a SHA-256 fingerprint (64 hex digits, colons allowed)`},
		"unknown role": {`"client_ca_file": "testdata/client-ca.pem"`, `{"role": "robot"}`,
			`realms[0].auth.tls.role: realm "devices" has no role "robot"`},
	} {
		tlsBlock := `"cert_file": "` + certFile + `", "key_file": "` + keyFile + `"`
		if tc.tls != "" {
			tlsBlock += ", " + tc.tls
		}
		file := `{"tls": {` + tlsBlock + `}, "realms": [{"name": "devices", "roles": [{"name": "device"}], "auth": {"tls": ` + tc.auth + `}}]}`
		_, err := parseConfig([]byte(file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// TestWampdTLSClientCertificate: wampd serving WSS with tls.client_ca_file
// admits a client by its certificate, and still serves a client without
// one (which authenticates another way).
func TestWampdTLSClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "test CA")
	certFile, keyFile := testcert.WriteFiles(t, dir, "server", ca.Issue(t, "wampd"))
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := `{
  "tls": {"cert_file": "` + certFile + `", "key_file": "` + keyFile + `",
          "client_ca_file": "` + write("ca.pem", ca.PEM()) + `"},
  "realms": [{"name": "devices", "roles": [{"name": "device"}, {"name": "guest"}],
              "auth": {"tls": {"role": "device"}, "anonymous": {"role": "guest"}}}]
}`
	addr, _ := startWampd(t, "--config", write("wampd.json", []byte(cfg)))

	roots := ca.Pool
	join := func(certs ...tls.Certificate) map[string]any {
		t.Helper()
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
		defer hc.CloseIdleConnections()
		p, err := websocket.Dial(t.Context(), "wss://"+addr+"/ws", &websocket.DialOptions{HTTPClient: hc})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		s, err := client.JoinPeer(t.Context(), p, "devices", &client.Config{AuthID: "admin", AuthMethods: []string{"tls", "anonymous"}})
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		defer s.Leave(t.Context())
		return s.Details()
	}
	d := join(ca.Issue(t, "sensor-7"))
	if d["authid"] != "sensor-7" || d["authrole"] != "device" || d["authmethod"] != "tls" {
		t.Fatalf("with a certificate: WELCOME details %v", d)
	}
	if d := join(); d["authrole"] != "guest" || d["authmethod"] != "anonymous" {
		t.Fatalf("without a certificate: WELCOME details %v", d)
	}
}
