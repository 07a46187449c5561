package browsertests

import (
	"context"
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/wamp"
)

// The users of the authenticated realm1.
const (
	// erinSeed is erin's Ed25519 private key seed (the first test vector
	// of the WAMP-Cryptosign specification).
	erinSeed = "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510"
	// carol's salted WAMP-CRA password and its salt.
	carolPassword, carolSalt = "carol-password", "carol-salt"
)

// authConfig is the router of the authentication tests: realm1 with
// ticket, wampcra (salted) and cryptosign users, cookie authentication, a
// role "user" that may do anything under com.test. and a role "listener"
// that may only subscribe there.
func authConfig(t *testing.T) *server.Config {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, carolPassword, []byte(carolSalt), 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := hex.DecodeString(erinSeed)
	erinPub := hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	all := server.Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	return &server.Config{Realms: []server.RealmConfig{{
		Name: realm,
		Roles: []server.RoleConfig{
			{Name: "user", Permissions: []server.Permission{{URI: "com.test.", Match: "prefix", Allow: all}}},
			{Name: "listener", Permissions: []server.Permission{{URI: "com.test.", Match: "prefix", Allow: server.Actions{Subscribe: true}}}},
		},
		Auth: server.AuthConfig{
			Ticket: &server.TicketAuth{Principals: map[string]server.TicketPrincipal{
				"alice":   {Role: "user", Ticket: "alice-ticket"},
				"lee":     {Role: "listener", Ticket: "lee-ticket"},
				"backend": {Role: "user", Ticket: "backend-ticket"},
			}},
			WAMPCRA: &server.WAMPCRAAuth{Users: map[string]server.CRAUser{
				"carol": {Role: "user", Secret: base64.StdEncoding.EncodeToString(key), Salt: carolSalt, Iterations: 1000, KeyLen: 32},
			}},
			Cryptosign: &server.CryptosignAuth{Principals: map[string]server.CryptosignPrincipal{
				"erin": {Role: "user", AuthorizedKeys: []string{erinPub}},
			}},
			Cookie: &server.CookieAuth{},
		},
	}}}
}

// welcomeJS connects with opts and returns what WELCOME said of the
// session, and the transport.
func welcomeJS(opts string) string {
	return fmt.Sprintf(`window.S = await wampkit.connect({realm: %s, %s});
		note('sessions', S.details.authid + ' by ' + S.details.authmethod);
		return [S.details.authid, S.details.authrole, S.details.authmethod, S.transport];`, js(realm), opts)
}

// TestCookieLogin: a page logs in with a ticket, reloads, and is
// authenticated by the cookie that the router set on its first connection
// (authmethod "cookie", the same authid), which its scripts cannot read
// (HttpOnly). After a logout (GOODBYE wamp.close.logout) the cookie admits
// no one. Over WebSocket and over long-poll.
func TestCookieLogin(t *testing.T) {
	for _, transport := range []string{"websocket", "longpoll"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t, envConfig{Router: authConfig(t)})
			tb := openTabs(t, "page")[0]
			tr := fmt.Sprintf("transports: [%s], retry: false", js(transport))

			tb.open(e.url("/test/harness.html"))
			tb.expect(welcomeJS(tr+`, authid: 'alice', ticket: 'alice-ticket'`), fmt.Sprintf(`["alice", "user", "ticket", %q]`, transport))
			tb.expect(`return document.cookie;`, `""`)
			tb.run(`await S.leave(); return null;`)

			tb.open(e.url("/test/harness.html"))
			tb.expect(welcomeJS(tr+`, authmethods: ['cookie']`), fmt.Sprintf(`["alice", "user", "cookie", %q]`, transport))
			tb.expect(`await S.subscribe('com.test.news', collect('news'));
				await S.publish('com.test.news', ['mine'], null, {exclude_me: false, acknowledge: true});
				while (received.news.length === 0) await sleep(10);
				return received.news;`, `[{"args": ["mine"], "kwargs": {}}]`)
			tb.expect(`return noted('sessions');`, `["alice by cookie"]`)
			tb.screenshot("cookie-login-" + transport)
			tb.run(`await S.leave('wamp.close.logout'); return null;`)

			tb.open(e.url("/test/harness.html"))
			tb.expect(fmt.Sprintf(`const r = await attempt(wampkit.connect({realm: %s, %s, authmethods: ['cookie']}));
				return [r.error.class, r.error.uri];`, js(realm), tr), `["WampError", "wamp.error.authentication_failed"]`)
			// With a fallback method, the page logs in again.
			tb.expect(welcomeJS(tr+`, authid: 'alice', ticket: 'alice-ticket', authmethods: ['cookie', 'ticket']`),
				fmt.Sprintf(`["alice", "user", "ticket", %q]`, transport))
		})
	}
}

// TestCRAAndCryptosign: a page joins with wampcra (a salted user: the
// client derives the key from the password) and with cryptosign (a seed:
// the client adds the public key and signs), through declarative
// credentials; a wrong password is refused; the onchallenge hook still
// answers challenges itself.
func TestCRAAndCryptosign(t *testing.T) {
	e := newEnv(t, envConfig{Router: authConfig(t)})
	tb := openTabs(t, "page")[0]
	tb.open(e.url("/test/harness.html"))

	tb.expect(welcomeJS(fmt.Sprintf(`authid: 'carol', secret: %s`, js(carolPassword))), `["carol", "user", "wampcra", "websocket"]`)
	tb.run(`await S.leave(); return null;`)
	tb.expect(welcomeJS(fmt.Sprintf(`privateKey: %s`, js(erinSeed))), `["erin", "user", "cryptosign", "websocket"]`)
	tb.run(`await S.leave(); return null;`)
	tb.expect(welcomeJS(`transports: ['longpoll'], authid: 'carol', secret: 'carol-password'`), `["carol", "user", "wampcra", "longpoll"]`)
	tb.run(`await S.leave(); return null;`)

	tb.expect(fmt.Sprintf(`const r = await attempt(wampkit.connect({realm: %s, retry: false, authid: 'carol', secret: 'not her password'}));
		return [r.error.class, r.error.uri];`, js(realm)), `["WampError", "wamp.error.authentication_failed"]`)
	tb.expect(welcomeJS(`authid: 'alice', authmethods: ['ticket'], onchallenge: async (method, extra) => {
			note('challenges', method);
			return 'alice-ticket';
		}`), `["alice", "user", "ticket", "websocket"]`)
	tb.expect(`return [noted('challenges'), noted('sessions')];`,
		`[["ticket"], ["carol by wampcra", "erin by cryptosign", "carol by wampcra", "alice by ticket"]]`)
}

// TestNotAuthorizedInPage: a page whose role may only subscribe gets
// wamp.error.not_authorized when it calls a procedure that a Go backend
// registered, and shows it; its subscription works.
func TestNotAuthorizedInPage(t *testing.T) {
	e := newEnv(t, envConfig{Router: authConfig(t)})
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	backend, err := client.Join(ctx, e.wsURL(), realm, &client.Config{
		AuthID: "backend", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("backend-ticket"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Leave(context.Background())
	if _, err := backend.Register(ctx, "com.test.add", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		a, _ := wamp.AsInt(inv.Args[0])
		b, _ := wamp.AsInt(inv.Args[1])
		return &client.Result{Args: wamp.List{a + b}}, nil
	}); err != nil {
		t.Fatal(err)
	}

	tb := openTabs(t, "listener")[0]
	tb.open(e.url("/test/harness.html"))
	tb.expect(welcomeJS(`authid: 'lee', ticket: 'lee-ticket'`), `["lee", "listener", "ticket", "websocket"]`)
	tb.expect(`await S.subscribe('com.test.news', collect('news'));
		try {
			await S.call('com.test.add', [2, 3]);
			note('calls', 'com.test.add answered');
		} catch (e) {
			note('calls', 'com.test.add: ' + e.uri);
		}
		return noted('calls');`, `["com.test.add: wamp.error.not_authorized"]`)
	if got := tb.text("#calls li"); got != "com.test.add: wamp.error.not_authorized" {
		t.Errorf("the page shows %q", got)
	}
	tb.screenshot("not-authorized")

	if err := backend.Publish(ctx, "com.test.news", wamp.List{"for listeners"}, nil, client.Acknowledge()); err != nil {
		t.Fatal(err)
	}
	tb.waitFor(`received.news.length === 1`)
	// The same call from a user is answered.
	r, err := backend.Call(ctx, "com.test.add", wamp.List{2, 3}, nil)
	if err != nil || len(r.Args) != 1 {
		t.Fatalf("the backend's own call: %v, %v", r, err)
	}
	if n, ok := wamp.AsInt(r.Args[0]); !ok || n != 5 {
		t.Fatalf("the backend's own call: %v, %v", r, err)
	}
}

// readmeAuthJS returns the example of the README's "Authentication in the
// browser" section, runnable inside an async function.
func readmeAuthJS(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## Authentication in the browser\n")
	_, block, ok2 := strings.Cut(section, "```javascript\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no ```javascript block in its Authentication in the browser section")
	}
	const static = "import { connect } from '/wamp.js';"
	if !strings.Contains(block, static) {
		t.Fatalf("README.md's authentication example no longer starts with %q", static)
	}
	return strings.Replace(block, static, "const { connect } = await import('/wamp.js');", 1)
}

// TestReadmeAuthExample runs the README's authentication example as
// written: the first visit logs in with the ticket, the reload by cookie,
// and after a logout the ticket is needed again.
func TestReadmeAuthExample(t *testing.T) {
	e := newEnv(t, envConfig{Router: authConfig(t)})
	tb := openTabs(t, "readme")[0]
	example := readmeAuthJS(t) + `
		window.session = session;
		return [authid, authmethod];`
	for _, want := range []string{"ticket", "cookie"} {
		tb.open(e.url("/test/harness.html"))
		tb.expect(example, fmt.Sprintf(`["alice", %q]`, want))
	}
	tb.run(`await session.leave('wamp.close.logout'); return null;`)
	tb.open(e.url("/test/harness.html"))
	tb.expect(example, `["alice", "ticket"]`)
}
