package server

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// Cookie authentication, as Crossbar.io does it: the router hands every
// browser connection (WebSocket upgrade, long-poll open) a random tracking
// cookie before anything is known of who connects. When a session then
// authenticates with another method on a realm that enables cookie
// authentication, the router binds the cookie to the session's identity as
// WELCOME leaves. A later connection that carries the cookie and offers
// the cookie method (or any, when the realm prefers cookies) is welcomed
// with that identity and authmethod "cookie", until the login expires or
// a session of the cookie leaves with GOODBYE wamp.close.logout.
//
// The logins live in memory only: a restart of the router logs everyone
// out. The tracking cookie is HttpOnly, so that a script injected into the
// page cannot read it, SameSite, so that another site's page cannot use
// it, and Secure on TLS connections.

// CookieAuth configures cookie authentication on a realm.
//
// A connection gets its tracking cookie before the realm it joins is
// known, so a router tracks connections with one cookie: the realms that
// enable cookie authentication share it (each with its own logins) and
// must agree on its Name and SameSite.
type CookieAuth struct {
	// Name is the cookie's name. Default DefaultCookieName, Crossbar.io's.
	Name string
	// MaxAge is how long a login lasts from the authentication that made
	// it; the cookie's Max-Age is the longest of the realms that share it.
	// Default DefaultCookieMaxAge.
	MaxAge time.Duration
	// SameSite is http.SameSiteLaxMode (the default, also for 0) or
	// http.SameSiteStrictMode, which withholds the cookie even when a
	// link from another site opens the page.
	SameSite http.SameSite
	// Preferred welcomes by cookie every HELLO whose connection carries a
	// login of the realm, whatever methods it offers, unless it claims
	// another authid. Otherwise only a HELLO that offers "cookie" (before
	// any other method the realm accepts) is.
	Preferred bool
}

// Defaults of CookieAuth and Config.MaxCookieLogins.
const (
	DefaultCookieName      = "cbtid"
	DefaultCookieMaxAge    = 24 * time.Hour
	DefaultMaxCookieLogins = 100_000
)

// maxCookieMaxAge bounds CookieAuth.MaxAge: a login is not forever.
const maxCookieMaxAge = 400 * 24 * time.Hour // the longest Chromium keeps a cookie

const methodCookie = "cookie"

// closeLogout is the GOODBYE reason of a session that logs out, as
// Crossbar.io and Autobahn name it (the WAMP specification names none).
const closeLogout wamp.URI = "wamp.close.logout"

// withDefaults returns a copy of c with its defaults filled in.
func (c *CookieAuth) withDefaults() *CookieAuth {
	out := *c
	out.Name = cmpOr(out.Name, DefaultCookieName)
	if out.MaxAge == 0 {
		out.MaxAge = DefaultCookieMaxAge
	}
	if out.SameSite == 0 || out.SameSite == http.SameSiteDefaultMode {
		out.SameSite = http.SameSiteLaxMode
	}
	return &out
}

// checkCookies checks the cookie authentication of every realm.
func (c *checker) checkCookies(realms []RealmConfig) {
	first := -1 // the first realm with cookie authentication
	for i := range realms {
		a := &realms[i].Auth
		if a.Cookie == nil {
			continue
		}
		p := fmt.Sprintf("realms[%d].auth.cookie", i)
		ck := a.Cookie.withDefaults()
		if !validCookieName(ck.Name) {
			c.add(p+".name", "%q is not a cookie name (letters, digits and !#$%%&'*+-.^_`|~)", a.Cookie.Name)
		}
		if a.Cookie.MaxAge < 0 || a.Cookie.MaxAge > maxCookieMaxAge {
			c.add(p+".max_age_s", "max age %v is not positive and at most %v (400 days)", a.Cookie.MaxAge, maxCookieMaxAge)
		}
		if ck.SameSite != http.SameSiteLaxMode && ck.SameSite != http.SameSiteStrictMode {
			c.add(p+".same_site", "SameSite must be lax or strict: a login cookie is not sent cross-site")
		}
		if first < 0 {
			first = i
		} else if msg := cookieConflict(realms[first].Auth.Cookie, a.Cookie); msg != "" {
			c.add(p, "%s in realms[%d]: the realms of a router share one tracking cookie", msg, first)
		}
		if a.Ticket == nil && a.WAMPCRA == nil && a.Cryptosign == nil {
			c.add(p, "cookie authentication remembers a login made with another method: enable ticket, wampcra or cryptosign too")
		}
	}
}

// validCookieName tells whether name is an RFC 6265 cookie name (a token).
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case slices.Contains([]byte("!#$%&'*+-.^_`|~"), c):
		default:
			return false
		}
	}
	return true
}

// validCookieID tells whether v is a tracking cookie's value as the
// router makes them (crypto/rand.Text: 26 base32 characters), so that a
// forged or mangled value is replaced rather than stored.
func validCookieID(v string) bool {
	if len(v) != 26 {
		return false
	}
	for _, c := range []byte(v) {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// cookieConflict tells how two realms' cookie settings differ where they
// must not, or "".
func cookieConflict(a, b *CookieAuth) string {
	a, b = a.withDefaults(), b.withDefaults()
	switch {
	case a.Name != b.Name:
		return fmt.Sprintf("cookie name %q differs from %q", b.Name, a.Name)
	case a.SameSite != b.SameSite:
		return "SameSite differs from the one"
	}
	return ""
}

// cookieJar is the router's cookie state: the tracking cookie that
// connections get, and the logins bound to its values.
type cookieJar struct {
	max int // the most logins kept

	mu     sync.Mutex
	realm  *CookieAuth   // the first realm's settings: Name, SameSite; nil without cookie auth
	maxAge time.Duration // the cookie's Max-Age: the longest of the realms'
	logins map[cookieKey]cookieLogin
}

type cookieKey struct {
	realm wamp.URI
	id    string
}

// cookieLogin is an identity bound to a cookie on a realm.
type cookieLogin struct {
	authid, authrole string
	authextra        wamp.Dict
	expires          time.Time
}

func (j *cookieJar) init(max int) {
	j.max = max
	j.logins = map[cookieKey]cookieLogin{}
}

// addRealm takes a realm's cookie settings into account.
func (j *cookieJar) addRealm(a *AuthConfig) {
	if a.Cookie == nil {
		return
	}
	c := a.Cookie.withDefaults()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.realm == nil {
		j.realm = c
	}
	j.maxAge = max(j.maxAge, c.MaxAge)
}

// conflict tells how a realm added at run time contradicts the cookie
// of the realms already there, or "".
func (j *cookieJar) conflict(a *AuthConfig) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if a.Cookie == nil || j.realm == nil {
		return ""
	}
	return cookieConflict(j.realm, a.Cookie)
}

// track is the transports' cookie hook: the tracking cookie's value that
// the request carries, or a new one set on the response h. Without cookie
// authentication on any realm, it sets nothing and returns "".
func (j *cookieJar) track(req *http.Request, h http.Header) string {
	j.mu.Lock()
	spec, maxAge := j.realm, j.maxAge
	j.mu.Unlock()
	if spec == nil {
		return ""
	}
	if c, err := req.Cookie(spec.Name); err == nil && validCookieID(c.Value) {
		return c.Value
	}
	c := &http.Cookie{
		Name:     spec.Name,
		Value:    rand.Text(), // 130 bits: no one guesses a login
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		HttpOnly: true,
		Secure:   req.TLS != nil,
		SameSite: spec.SameSite,
	}
	h.Add("Set-Cookie", c.String())
	return c.Value
}

// bind remembers a login, dropping expired ones when the jar is full,
// then the one closest to its end.
func (j *cookieJar) bind(k cookieKey, l cookieLogin, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.logins[k]; !ok && len(j.logins) >= j.max {
		var soonest cookieKey
		var first time.Time
		for key, x := range j.logins {
			if !x.expires.After(now) {
				delete(j.logins, key)
			} else if first.IsZero() || x.expires.Before(first) {
				soonest, first = key, x.expires
			}
		}
		if len(j.logins) >= j.max {
			delete(j.logins, soonest)
		}
	}
	j.logins[k] = l
}

// login returns the unexpired login of k.
func (j *cookieJar) login(k cookieKey, now time.Time) (cookieLogin, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	l, ok := j.logins[k]
	if ok && !l.expires.After(now) {
		delete(j.logins, k)
		return cookieLogin{}, false
	}
	return l, ok
}

// forget drops the login of k.
func (j *cookieJar) forget(k cookieKey) {
	j.mu.Lock()
	delete(j.logins, k)
	j.mu.Unlock()
}

// len reports the logins held, expired ones included.
func (j *cookieJar) len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.logins)
}

// cookieID returns the value of the session's tracking cookie, or "".
func (s *session) cookieID() string { return s.peer.Info().CookieID }

// cookieLogin returns the identity that the session's cookie gives on the
// realm, or nil: when the realm enables cookies, the HELLO offers
// "cookie" before any other method the realm accepts (or the realm
// prefers cookies), the connection carries a login of the realm, and the
// HELLO claims no other authid.
func (r *realm) cookieLogin(s *session, authid string, offered []string) *identity {
	if r.cookie == nil {
		return nil
	}
	if !r.cookie.Preferred {
		i := slices.Index(offered, methodCookie)
		if i < 0 || slices.ContainsFunc(offered[:i], func(m string) bool { return r.auth[m] != nil }) {
			return nil
		}
	}
	id := s.cookieID()
	if id == "" {
		return nil
	}
	l, ok := r.router.cookies.login(cookieKey{r.name, id}, time.Now())
	if !ok || (authid != "" && authid != l.authid) {
		return nil
	}
	return &identity{authid: l.authid, authrole: l.authrole, authmethod: methodCookie, authprovider: methodCookie, authextra: l.authextra}
}

// bindCookie binds the session's cookie to its identity as WELCOME is
// queued, when it authenticated with a method that proves who it is.
func (r *realm) bindCookie(s *session) {
	switch s.authmethod {
	case methodTicket, methodWAMPCRA, methodCryptosign:
	default:
		return // anonymous proves nothing; a cookie login is bound already
	}
	id := s.cookieID()
	if id == "" {
		return
	}
	now := time.Now()
	r.router.cookies.bind(cookieKey{r.name, id}, cookieLogin{
		authid: s.authid, authrole: s.authrole, authextra: s.authextra, expires: now.Add(r.cookie.MaxAge),
	}, now)
}

// logout forgets the login of the session's cookie and ends the realm's
// other sessions that came with the same cookie: the browser logs out
// everywhere at once.
func (r *realm) logout(s *session) {
	id := s.cookieID()
	if id == "" {
		return
	}
	r.router.cookies.forget(cookieKey{r.name, id})
	for _, x := range r.sessionsWhere(func(x *session) bool { return x != s && x.cookieID() == id }) {
		x.goodbye(closeLogout, "the user logged out")
	}
	s.logInfo("logged out: cookie login forgotten")
}
