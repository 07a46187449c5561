package browsertests

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wampkit/wampkit/internal/testcert"
	"github.com/wampkit/wampkit/server"
)

// TestTLSClientCertificateInPage: a page served over HTTPS, in a browser
// that holds a client certificate (CN sensor-7) of the router's CA,
// joins a realm of the "tls" method over wss:// and over long-poll
// https:// with the certificate's subject as authid, though its HELLO
// claims "admin"; the session works. A page in a browser without a
// certificate is refused with wamp.error.authentication_failed.
func TestTLSClientCertificateInPage(t *testing.T) {
	ca := testcert.NewCA(t, "wampkit browser test CA")
	serverCert := ca.Issue(t, "127.0.0.1")
	clientCert := ca.Issue(t, "sensor-7")

	all := server.Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	e := newEnv(t, envConfig{
		Router: &server.Config{Realms: []server.RealmConfig{{
			Name:  realm,
			Roles: []server.RoleConfig{{Name: "device", Permissions: []server.Permission{{URI: "com.test.", Match: "prefix", Allow: all}}}},
			Auth:  server.AuthConfig{TLS: &server.TLSAuth{Role: "device"}},
		}}},
		TLS: &tls.Config{
			Certificates: []tls.Certificate{serverCert},
			ClientCAs:    ca.Pool,
			ClientAuth:   tls.VerifyClientCertIfGiven,
		},
	})
	origin := e.url("")

	withCert := certTab(t, "with certificate", ca, &clientCert, origin)
	withoutCert := certTab(t, "without certificate", ca, nil, origin)

	for _, transport := range []string{"websocket", "longpoll"} {
		opts := fmt.Sprintf(`{realm: %s, transports: [%s], retry: false, authid: 'admin', authmethods: ['tls']}`, js(realm), js(transport))

		withCert.open(e.url("/test/harness.html"))
		withCert.expect(fmt.Sprintf(`window.S = await wampkit.connect(%s);
			return [S.details.authid, S.details.authrole, S.details.authmethod, S.transport];`, opts),
			fmt.Sprintf(`["sensor-7", "device", "tls", %q]`, transport))
		withCert.expect(`await S.register('com.test.whoami', (args, kwargs, details) => details.caller_authid);
			const r = await S.call('com.test.whoami', [], {}, {disclose_me: true});
			await S.leave();
			return r.args;`, `["sensor-7"]`)

		withoutCert.open(e.url("/test/harness.html"))
		withoutCert.expect(fmt.Sprintf(`const r = await attempt(wampkit.connect(%s));
			return [r.error.class, r.error.uri];`, opts), `["WampError", "wamp.error.authentication_failed"]`)
	}
}

// certTab starts a headless Chromium of its own for the test and opens a
// tab in it. Chromium on Linux takes trusted CAs and client certificates
// from the NSS database under $HOME/.pki/nssdb: the browser gets a HOME
// whose database trusts ca and, when cert is not nil, holds cert with its
// key. Its profile selects a client certificate for origin without asking
// (the content setting that the AutoSelectCertificateForUrls policy sets):
// headless, the question would never be answered.
func certTab(t *testing.T, name string, ca *testcert.CA, cert *tls.Certificate, origin string) *tab {
	t.Helper()
	for _, tool := range []string{"certutil", "pk12util", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: the client certificate test fills the browser's NSS database with certutil and pk12util "+
				"(Debian: libnss3-tools) from files that openssl writes; run `make setup-chromium`", tool)
		}
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	nssdb := "sql:" + filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	command(t, "certutil", "-N", "--empty-password", "-d", nssdb)
	command(t, "certutil", "-A", "-t", "C,,", "-n", "wampkit test CA", "-i", caFile, "-d", nssdb)
	if cert != nil {
		certFile, keyFile := testcert.WriteFiles(t, dir, "client", *cert)
		p12 := filepath.Join(dir, "client.p12")
		command(t, "openssl", "pkcs12", "-export", "-passout", "pass:", "-in", certFile, "-inkey", keyFile, "-name", cert.Leaf.Subject.CommonName, "-out", p12)
		command(t, "pk12util", "-i", p12, "-W", "", "-d", nssdb)
	}

	profile := filepath.Join(dir, "profile")
	prefs, err := json.Marshal(map[string]any{"profile": map[string]any{"content_settings": map[string]any{"exceptions": map[string]any{
		"auto_select_certificate": map[string]any{origin + ",*": map[string]any{"setting": map[string]any{"filters": []any{map[string]any{}}}}},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(profile, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), prefs, 0o600); err != nil {
		t.Fatal(err)
	}

	bctx, stop, err := startBrowser(chromedp.Env("HOME="+home), chromedp.UserDataDir(profile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	// The tab opens in the default browser context: the profile's content
	// settings do not reach the off-the-record contexts of openTabs.
	return startTab(t, name, bctx)
}

// command runs name with args and fails the test with its output when it
// fails.
func command(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
