package server

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
)

// cookiePeer presents a local peer as a browser connection on loopback
// that carries the tracking cookie id.
type cookiePeer struct {
	transport.Peer
	id string
}

func (p cookiePeer) Info() transport.Info {
	return transport.Info{Transport: "websocket", Serializer: "json", RemoteAddr: "127.0.0.1:40000", CookieID: p.id}
}

// withCookie connects to r as a browser whose connection carries cookie id.
func withCookie(t testing.TB, r *Router, id string) *rawClient {
	t.Helper()
	return connectWrapped(t, r, func(p transport.Peer) transport.Peer { return cookiePeer{p, id} })
}

// cookieRealm is secureRealm with cookie authentication.
func cookieRealm(c CookieAuth) RealmConfig {
	rc := secureRealm()
	rc.Auth.Cookie = &c
	return rc
}

// ticketLogin logs alice in with her ticket.
func (c *rawClient) ticketLogin(realm wamp.URI) {
	c.t.Helper()
	c.hello(realm, "alice", []string{"ticket"}, nil)
	c.challenge("ticket")
	c.send(&wamp.Authenticate{Signature: "alice-ticket", Extra: wamp.Dict{}})
	c.welcome("alice", "user", "ticket", "static")
}

// leave sends GOODBYE with reason and expects the router's answer.
func (c *rawClient) leave(reason wamp.URI) {
	c.t.Helper()
	c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: reason})
	if g := expect[*wamp.Goodbye](c); g.Reason != wamp.ErrGoodbyeAndOut {
		c.t.Fatalf("GOODBYE %s, want %s", g.Reason, wamp.ErrGoodbyeAndOut)
	}
	c.expectClosed()
}

func TestCookieLogin(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{cookieRealm(CookieAuth{})}})
	jar := rand.Text()

	// A first connection without login: offering only cookie fails, and
	// falls through to the next method offered.
	c := withCookie(t, r, jar)
	c.hello("secure", "", []string{"cookie"}, nil)
	c.authFailed("no cookie login")
	c = withCookie(t, r, jar)
	c.hello("secure", "alice", []string{"cookie", "ticket"}, nil)
	c.challenge("ticket")
	c.send(&wamp.Authenticate{Signature: "alice-ticket", Extra: wamp.Dict{}})
	c.welcome("alice", "user", "ticket", "static")
	c.leave(wamp.ErrCloseRealm) // an ordinary leave keeps the login

	// The next connection with the cookie is alice, by cookie.
	c = withCookie(t, r, jar)
	c.hello("secure", "", []string{"cookie"}, nil)
	c.welcome("alice", "user", "cookie", "cookie")
	c.subscribe("com.app.chat", nil) // what alice's role may do
	c = withCookie(t, r, jar)
	c.hello("secure", "alice", []string{"cookie", "ticket"}, nil)
	c.welcome("alice", "user", "cookie", "cookie")

	t.Run("another cookie", func(t *testing.T) {
		c := withCookie(t, r, rand.Text())
		c.hello("secure", "", []string{"cookie"}, nil)
		c.authFailed("no cookie login")
	})
	t.Run("no cookie", func(t *testing.T) {
		c := withCookie(t, r, "")
		c.hello("secure", "", []string{"cookie"}, nil)
		c.authFailed("no cookie login")
	})
	t.Run("another authid claimed", func(t *testing.T) {
		c := withCookie(t, r, jar)
		c.hello("secure", "bob", []string{"cookie"}, nil)
		c.authFailed("no cookie login")
	})
	t.Run("a method offered first wins", func(t *testing.T) {
		c := withCookie(t, r, jar)
		c.hello("secure", "carol", []string{"wampcra", "cookie"}, nil)
		c.challenge("wampcra")
	})
	t.Run("not offered", func(t *testing.T) {
		c := withCookie(t, r, jar)
		c.hello("secure", "alice", []string{"ticket"}, nil)
		c.challenge("ticket")
	})
	t.Run("listed among the realm's methods", func(t *testing.T) {
		c := withCookie(t, r, jar)
		c.hello("secure", "", []string{"scram"}, nil)
		a := c.expectAbort(wamp.ErrNoAuthMethod)
		if m, _ := a.Details["message"].(string); !strings.HasSuffix(m, "it accepts anonymous, ticket, wampcra, cryptosign, cookie") {
			t.Fatalf("ABORT message %q", m)
		}
	})
}

func TestCookieAnonymousBindsNothing(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{cookieRealm(CookieAuth{})}})
	jar := rand.Text()
	c := withCookie(t, r, jar)
	c.hello("secure", "", nil, nil)
	c.welcome("", "anonymous", "anonymous", "static")
	c = withCookie(t, r, jar)
	c.hello("secure", "", []string{"cookie"}, nil)
	c.authFailed("no cookie login")
	if n := r.cookies.len(); n != 0 {
		t.Fatalf("%d cookie logins, want 0", n)
	}
}

func TestCookieOtherMethodsBind(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{cookieRealm(CookieAuth{})}})
	jar := rand.Text()
	c := withCookie(t, r, jar)
	c.hello("secure", "erin", []string{"cryptosign"}, wamp.Dict{"pubkey": pubHex(erinKey)})
	c.send(&wamp.Authenticate{Signature: signCS(erinKey, c.challenge("cryptosign")), Extra: wamp.Dict{}})
	c.welcome("erin", "user", "cryptosign", "static")

	c = withCookie(t, r, jar)
	c.hello("secure", "", []string{"cookie"}, nil)
	c.welcome("erin", "user", "cookie", "cookie")

	// A login with another method on the same cookie replaces it.
	c = withCookie(t, r, jar)
	c.hello("secure", "carol", []string{"wampcra"}, nil)
	ch := c.challenge("wampcra")
	c.send(&wamp.Authenticate{Signature: hmacB64("carol-secret", ch.Extra["challenge"].(string)), Extra: wamp.Dict{}})
	c.welcome("carol", "user", "wampcra", "static")
	c = withCookie(t, r, jar)
	c.hello("secure", "", []string{"cookie"}, nil)
	c.welcome("carol", "user", "cookie", "cookie")
}

func TestCookiePreferred(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{cookieRealm(CookieAuth{Preferred: true})}})
	jar := rand.Text()
	c := withCookie(t, r, jar)
	c.ticketLogin("secure")

	// Whatever the HELLO offers, the cookie's login comes first...
	for _, methods := range [][]string{nil, {"ticket"}, {"wampcra", "cookie"}} {
		c = withCookie(t, r, jar)
		c.hello("secure", "", methods, nil)
		c.welcome("alice", "user", "cookie", "cookie")
	}
	// ... unless it claims someone else: a user logs in as another.
	c = withCookie(t, r, jar)
	c.hello("secure", "bob", []string{"ticket"}, nil)
	c.challenge("ticket")
}

func TestCookieLogout(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{cookieRealm(CookieAuth{})}})
	jar, other := rand.Text(), rand.Text()
	a := withCookie(t, r, jar)
	a.ticketLogin("secure")
	b := withCookie(t, r, jar) // a second tab of the same browser
	b.hello("secure", "", []string{"cookie"}, nil)
	b.welcome("alice", "user", "cookie", "cookie")
	o := withCookie(t, r, other) // another browser
	o.ticketLogin("secure")

	a.leave(closeLogout)
	if g := expect[*wamp.Goodbye](b); g.Reason != closeLogout {
		t.Fatalf("the other tab got GOODBYE %s, want %s", g.Reason, closeLogout)
	}
	c := withCookie(t, r, jar)
	c.hello("secure", "", []string{"cookie"}, nil)
	c.authFailed("no cookie login")

	// The other browser is still logged in.
	c = withCookie(t, r, other)
	c.hello("secure", "", []string{"cookie"}, nil)
	c.welcome("alice", "user", "cookie", "cookie")
}

func TestCookieExpires(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{cookieRealm(CookieAuth{MaxAge: 300 * time.Millisecond})}})
	jar := rand.Text()
	c := withCookie(t, r, jar)
	c.ticketLogin("secure")
	c = withCookie(t, r, jar)
	c.hello("secure", "", []string{"cookie"}, nil)
	c.welcome("alice", "user", "cookie", "cookie")

	time.Sleep(400 * time.Millisecond)
	c = withCookie(t, r, jar)
	c.hello("secure", "", []string{"cookie"}, nil)
	c.authFailed("no cookie login")
	if n := r.cookies.len(); n != 0 {
		t.Fatalf("%d cookie logins after expiry, want 0", n)
	}
}

func TestCookieRealmsApart(t *testing.T) {
	other := cookieRealm(CookieAuth{})
	other.Name = "other"
	r := newTestRouter(t, Config{Realms: []RealmConfig{cookieRealm(CookieAuth{}), other}})
	jar := rand.Text()
	c := withCookie(t, r, jar)
	c.ticketLogin("secure")
	c = withCookie(t, r, jar)
	c.hello("other", "", []string{"cookie"}, nil)
	c.authFailed("no cookie login")
}

func TestCookieJarBounded(t *testing.T) {
	var j cookieJar
	j.init(3)
	now := time.Now()
	k := func(i int) cookieKey { return cookieKey{"r", string(rune('a' + i))} }
	for i := range 3 {
		j.bind(k(i), cookieLogin{authid: "u", expires: now.Add(time.Duration(10-i) * time.Minute)}, now)
	}
	// Full: the login closest to its end (k(2)) makes room.
	j.bind(k(3), cookieLogin{authid: "u", expires: now.Add(time.Hour)}, now)
	if j.len() != 3 {
		t.Fatalf("%d logins, want 3", j.len())
	}
	if _, ok := j.login(k(2), now); ok {
		t.Fatal("the login closest to its end is still there")
	}
	for _, i := range []int{0, 1, 3} {
		if _, ok := j.login(k(i), now); !ok {
			t.Fatalf("login %d is gone", i)
		}
	}
	// Expired logins go first, all of them.
	later := now.Add(20 * time.Minute)
	j.bind(k(4), cookieLogin{authid: "u", expires: later.Add(time.Hour)}, later)
	if j.len() != 2 {
		t.Fatalf("%d logins, want 2 (k(3) and k(4))", j.len())
	}
	// Replacing a login needs no room.
	j.bind(k(4), cookieLogin{authid: "v", expires: later.Add(time.Hour)}, later)
	if l, _ := j.login(k(4), later); l.authid != "v" || j.len() != 2 {
		t.Fatalf("login %+v, %d logins", l, j.len())
	}
}

// cookieServer serves r's HTTP endpoints; tls makes it HTTPS.
func cookieServer(t *testing.T, r *Router, tls bool) *httptest.Server {
	t.Helper()
	h := r.Handler(HTTPConfig{})
	hs := httptest.NewUnstartedServer(h)
	if tls {
		hs.StartTLS()
	} else {
		hs.Start()
	}
	t.Cleanup(hs.Close)
	return hs
}

// setCookie returns the response's cookie of the given name, or nil.
func setCookie(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestCookieSetOnUpgradeAndOpen(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{cookieRealm(CookieAuth{Name: "wkid", MaxAge: time.Hour, SameSite: http.SameSiteStrictMode})}})
	hs := cookieServer(t, r, false)
	ctx := t.Context()
	wsURL := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"

	check := func(t *testing.T, res *http.Response) *http.Cookie {
		t.Helper()
		c := setCookie(res, "wkid")
		if c == nil {
			t.Fatalf("no Set-Cookie wkid in %v", res.Header["Set-Cookie"])
		}
		if !validCookieID(c.Value) || !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 3600 {
			t.Fatalf("cookie %s", c)
		}
		return c
	}
	t.Run("websocket", func(t *testing.T) {
		conn, res, err := ws.Dial(ctx, wsURL, &ws.DialOptions{Subprotocols: []string{"wamp.2.json"}})
		if err != nil {
			t.Fatal(err)
		}
		conn.CloseNow()
		check(t, res)
	})
	t.Run("longpoll", func(t *testing.T) {
		res, err := http.Post(hs.URL+"/lp/open", "application/json", strings.NewReader(`{"protocols": ["wamp.2.json"]}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("open: %s", res.Status)
		}
		check(t, res)
	})
	t.Run("kept when valid", func(t *testing.T) {
		id := rand.Text()
		h := http.Header{"Cookie": {"wkid=" + id}}
		conn, res, err := ws.Dial(ctx, wsURL, &ws.DialOptions{Subprotocols: []string{"wamp.2.json"}, HTTPHeader: h})
		if err != nil {
			t.Fatal(err)
		}
		conn.CloseNow()
		if c := setCookie(res, "wkid"); c != nil {
			t.Fatalf("a request with a valid cookie got another: %s", c)
		}
	})
	t.Run("replaced when forged", func(t *testing.T) {
		h := http.Header{"Cookie": {"wkid=admin"}}
		conn, res, err := ws.Dial(ctx, wsURL, &ws.DialOptions{Subprotocols: []string{"wamp.2.json"}, HTTPHeader: h})
		if err != nil {
			t.Fatal(err)
		}
		conn.CloseNow()
		if c := check(t, res); c.Value == "admin" {
			t.Fatal("the forged value was kept")
		}
	})
}

func TestCookieSecureOnTLS(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{cookieRealm(CookieAuth{})}})
	hs := cookieServer(t, r, true)
	res, err := hs.Client().Post(hs.URL+"/lp/open", "application/json", strings.NewReader(`{"protocols": ["wamp.2.json"]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	c := setCookie(res, DefaultCookieName)
	if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != int(DefaultCookieMaxAge/time.Second) {
		t.Fatalf("cookie %v, want Secure, HttpOnly, SameSite=Lax, a day", c)
	}
}

func TestNoCookieWithoutCookieAuth(t *testing.T) {
	r := newSecureRouter(t, nil)
	hs := cookieServer(t, r, false)
	res, err := http.Post(hs.URL+"/lp/open", "application/json", strings.NewReader(`{"protocols": ["wamp.2.json"]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if v := res.Header["Set-Cookie"]; len(v) != 0 {
		t.Fatalf("Set-Cookie %v from a router without cookie authentication", v)
	}
}

// TestCookieOverWebSocket logs in over a real WebSocket with the cookie
// the upgrade set, then comes back with it.
func TestCookieOverWebSocket(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{cookieRealm(CookieAuth{})}})
	hs := cookieServer(t, r, false)
	wsURL := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	conn, res, err := ws.Dial(t.Context(), wsURL, &ws.DialOptions{Subprotocols: []string{"wamp.2.json"}})
	if err != nil {
		t.Fatal(err)
	}
	conn.CloseNow()
	cookie := setCookie(res, DefaultCookieName)
	if cookie == nil {
		t.Fatal("no cookie on the upgrade")
	}
	dial := func() *rawClient {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		p, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {cookie.String()}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return &rawClient{t: t, peer: p}
	}
	c := dial()
	c.ticketLogin("secure")
	c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrCloseRealm})
	expect[*wamp.Goodbye](c)

	c = dial()
	c.hello("secure", "", []string{"cookie"}, nil)
	c.welcome("alice", "user", "cookie", "cookie")
	c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: closeLogout})
	expect[*wamp.Goodbye](c)

	c = dial()
	c.hello("secure", "", []string{"cookie"}, nil)
	if a := expect[*wamp.Abort](c); a.Reason != wamp.ErrAuthenticationFailed {
		t.Fatalf("ABORT %s after logout, want %s", a.Reason, wamp.ErrAuthenticationFailed)
	}
}

func TestCookieConfig(t *testing.T) {
	ticket := &TicketAuth{Principals: map[string]TicketPrincipal{"alice": {Role: "user", Ticket: "t"}}}
	realm := func(name wamp.URI, c CookieAuth) RealmConfig {
		return RealmConfig{Name: name, Auth: AuthConfig{Ticket: ticket, Cookie: &c}}
	}
	for _, tc := range []struct {
		name   string
		realms []RealmConfig
		want   string
	}{
		{"bad name", []RealmConfig{realm("a", CookieAuth{Name: "my id"})}, `realms[0].auth.cookie.name: "my id" is not a cookie name`},
		{"negative max age", []RealmConfig{realm("a", CookieAuth{MaxAge: -time.Second})}, "realms[0].auth.cookie.max_age_s: max age -1s is not positive"},
		{"same site none", []RealmConfig{realm("a", CookieAuth{SameSite: http.SameSiteNoneMode})}, "realms[0].auth.cookie.same_site: SameSite must be lax or strict"},
		{"two names", []RealmConfig{realm("a", CookieAuth{}), realm("b", CookieAuth{Name: "x"})}, `realms[1].auth.cookie: cookie name "x" differs from "cbtid" in realms[0]`},
		{"two same sites", []RealmConfig{realm("a", CookieAuth{}), realm("b", CookieAuth{SameSite: http.SameSiteStrictMode})}, "realms[1].auth.cookie: SameSite differs from the one in realms[0]"},
		{"nothing to remember", []RealmConfig{{Name: "a", Auth: AuthConfig{Anonymous: &AnonymousAuth{}, Cookie: &CookieAuth{}}}}, "realms[0].auth.cookie: cookie authentication remembers a login made with another method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{Realms: tc.realms}.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
			if _, ok := errors.AsType[*ConfigError](err); !ok {
				t.Fatalf("Validate: %T, want *ConfigError", err)
			}
		})
	}
	// Lax is the default, so these agree.
	if err := (Config{Realms: []RealmConfig{realm("a", CookieAuth{}), realm("b", CookieAuth{SameSite: http.SameSiteLaxMode, MaxAge: time.Hour})}}).Validate(); err != nil {
		t.Fatal(err)
	}

	r := newTestRouter(t, Config{Realms: []RealmConfig{realm("a", CookieAuth{})}})
	if err := r.AddRealm(realm("b", CookieAuth{Name: "x"})); err == nil || !strings.Contains(err.Error(), `cookie name "x" differs from "cbtid"`) {
		t.Fatalf("AddRealm: %v", err)
	}
	if err := r.AddRealm(realm("c", CookieAuth{MaxAge: 48 * time.Hour})); err != nil {
		t.Fatal(err)
	}
	if r.cookies.maxAge != 48*time.Hour {
		t.Fatalf("cookie Max-Age %v, want the longest realm's, 48h", r.cookies.maxAge)
	}
}
