package server

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// AuthConfig configures how sessions authenticate to a realm, one field
// per method; a nil field disables the method. The zero value admits
// anonymous sessions only, under authrole "anonymous", as a router without
// authentication does. Once any other method is set, anonymous sessions
// are admitted only if Anonymous is set too.
//
// A client offers methods in HELLO.Details.authmethods, in its order of
// preference (anonymous when it offers none); the router uses the first
// one the realm enables. Static methods list their principals here;
// dynamic ones name a procedure (Authenticator) that the router calls as
// Crossbar.io does, with (realm, authid, details), and that returns the
// principal: a role string, or a dictionary with "role" and optionally
// "authid" and "extra" (sent in WELCOME.Details.authextra), plus what the
// method needs ("secret" for wampcra, "pubkey" for cryptosign).
type AuthConfig struct {
	// Anonymous admits sessions without credentials.
	Anonymous *AnonymousAuth
	// Ticket admits sessions that send a shared ticket (a password).
	Ticket *TicketAuth
	// WAMPCRA admits sessions that sign a challenge with a shared secret.
	WAMPCRA *WAMPCRAAuth
	// Cryptosign admits sessions that sign a challenge with an Ed25519 key.
	Cryptosign *CryptosignAuth
	// TLS admits sessions by the client certificate that the TLS server
	// verified (auth_tls.go).
	TLS *TLSAuth
	// Cookie remembers a browser's login with one of the methods above in
	// a cookie, and admits its later connections by it (auth_cookie.go).
	Cookie *CookieAuth
}

// AnonymousAuth configures anonymous authentication. A session gets a
// random authid whatever it claims in HELLO.
type AnonymousAuth struct {
	// Role is the authrole of anonymous sessions. Default "anonymous".
	Role string
}

// TicketAuth configures ticket authentication: static principals, or
// Authenticator. The ticket travels in clear in AUTHENTICATE, so the router
// refuses it on a connection that is neither TLS nor loopback unless
// AllowInsecure is set.
type TicketAuth struct {
	// Principals are the static users, by authid.
	Principals map[string]TicketPrincipal
	// Authenticator, instead of Principals, names the procedure that
	// checks a ticket. It is called after AUTHENTICATE with (realm,
	// authid, details), details holding "ticket" and the session's
	// "session", "authid", "authmethod", "transport".
	Authenticator wamp.URI
	// AuthenticatorRealm is the realm whose dealer calls Authenticator.
	// Default: the realm being joined.
	AuthenticatorRealm wamp.URI
	// AllowInsecure accepts tickets on connections that are neither TLS
	// nor loopback (behind a TLS-terminating proxy, say).
	AllowInsecure bool
}

// TicketPrincipal is one static ticket user. Exactly one of Ticket and
// TicketHash is set.
type TicketPrincipal struct {
	// Role is the authrole the user gets.
	Role string
	// Ticket is the ticket in clear. Prefer TicketHash. Its check costs
	// as much as that of the costliest TicketHash of the realm, as an
	// unknown user's does: timing tells no user from another.
	Ticket string
	// TicketHash is the ticket hashed by [HashTicket]: a leaked
	// configuration does not leak the ticket.
	TicketHash string
}

// WAMPCRAAuth configures WAMP-CRA authentication: static users, or
// Authenticator.
type WAMPCRAAuth struct {
	// Users are the static users, by authid.
	Users map[string]CRAUser
	// Authenticator, instead of Users, names the procedure that returns
	// a user's principal at HELLO: called with (realm, authid, details),
	// it returns a dictionary with "secret", "role" and, for a salted
	// secret, "salt", "iterations" and "keylen".
	Authenticator wamp.URI
	// AuthenticatorRealm is the realm whose dealer calls Authenticator.
	// Default: the realm being joined.
	AuthenticatorRealm wamp.URI
}

// CRAUser is one WAMP-CRA user. With a salt, the client derives its
// signing key from its password by PBKDF2-HMAC-SHA256 (Salt, Iterations,
// KeyLen, sent in the CHALLENGE), and Secret is that derived key, base64
// encoded, as Autobahn's derive_key and client.DeriveCRAKey compute it:
// the password itself is stored nowhere.
type CRAUser struct {
	// Role is the authrole the user gets.
	Role string
	// Secret is the shared secret, or the derived key for a salted user.
	Secret string
	// Salt, when set, makes the secret salted.
	Salt string
	// Iterations is the PBKDF2 iteration count of a salted secret.
	// Default 1000, Autobahn's.
	Iterations int
	// KeyLen is the derived key's length in bytes. Default 32.
	KeyLen int
}

// CryptosignAuth configures WAMP-Cryptosign authentication (Ed25519):
// static principals, or Authenticator.
type CryptosignAuth struct {
	// Principals are the static users, by authid.
	Principals map[string]CryptosignPrincipal
	// Authenticator, instead of Principals, names the procedure that
	// returns the principal of a public key at HELLO: called with (realm,
	// authid, details), details.authextra.pubkey being the client's key,
	// it returns a dictionary with "pubkey" (which must be that key),
	// "role" and optionally "authid".
	Authenticator wamp.URI
	// AuthenticatorRealm is the realm whose dealer calls Authenticator.
	// Default: the realm being joined.
	AuthenticatorRealm wamp.URI
}

// CryptosignPrincipal is one static cryptosign user.
type CryptosignPrincipal struct {
	// Role is the authrole the user gets.
	Role string
	// AuthorizedKeys are the user's Ed25519 public keys, hex encoded (64
	// hex digits).
	AuthorizedKeys []string
}

// TLSAuth configures TLS client certificate authentication. It admits a
// session whose connection carries a client certificate that the TLS
// server verified against the CAs it trusts (in wampd, tls.client_ca_file),
// with no CHALLENGE: the identity comes from the certificate, whatever
// HELLO claims. A connection without such a certificate fails the method.
//
// A certificate is looked up by its fingerprint among the Principals
// that pin one, then by its subject's common name (CN) among the
// Principals; a principal that pins a fingerprint admits that certificate
// only. A certificate that no principal names gets its CN as authid and
// Role as authrole, if Role is set.
type TLSAuth struct {
	// Role, when set, admits every verified certificate: authid its CN,
	// authrole Role. Unset, only Principals are admitted.
	Role string
	// Principals are the static users, by authid.
	Principals map[string]TLSPrincipal
}

// TLSPrincipal is one static TLS client certificate user.
type TLSPrincipal struct {
	// Role is the authrole the user gets.
	Role string
	// Fingerprint, when set, pins the user's certificate: its SHA-256
	// digest in hex (64 digits, colons and case ignored, as
	// "openssl x509 -fingerprint -sha256" prints it). The certificate
	// then need not carry the authid as CN. Unset, the user is the
	// verified certificate whose CN is the authid.
	Fingerprint string
}

// RoleConfig is one role of a realm and what its sessions may do: static
// Permissions, or an Authorizer procedure.
type RoleConfig struct {
	// Name is the authrole.
	Name string
	// Permissions grant actions on URIs. An action on a URI that no
	// permission grants is refused with wamp.error.not_authorized.
	Permissions []Permission
	// Authorizer, instead of Permissions, names a procedure of the realm
	// that decides each action of the role's sessions, as Crossbar.io's
	// dynamic authorizers do: it is called with (session details, uri,
	// action, options), action being "call", "register", "publish" or
	// "subscribe", and returns a boolean or a dictionary {"allow": bool,
	// "disclose": bool, "cache": bool}; with cache, the session's
	// later actions of the same kind on the same URI reuse the answer.
	// For "subscribe" and "register", options always hold "match"
	// ("exact", "prefix" or "wildcard"), and the answer holds for the
	// whole pattern: the router does not check its events or calls one
	// by one.
	// A failing or late authorizer refuses the action.
	Authorizer wamp.URI
	// TrustLevel, when set, is the trust level the dealer gives every call
	// of the role's sessions: INVOCATION.Details.trustlevel, 0 the lowest
	// (the call_trustlevels feature). Unset, invocations carry none.
	TrustLevel *int
}

// Permission grants actions on the URIs that URI and Match cover.
//
// For an action on a URI, the permission whose pattern matches the URI
// best applies (exact, then the longest prefix, then wildcard), as for
// routing. A pattern subscription or registration needs a prefix or
// wildcard permission that covers every URI of the pattern (an exact
// permission grants no pattern); the most specific such one decides. A
// narrower permission that refuses the action inside the pattern (a
// carve-out, such as prefix "com.app.admin." under "com.app.") makes the
// router refuse such a registration, and check each event of such a
// subscription against the role: the subscriber gets every event but
// those of the carve-out.
type Permission struct {
	// URI is the URI or pattern; "" with Match "prefix" covers every URI.
	URI wamp.URI
	// Match is "exact" (or ""), "prefix" or "wildcard".
	Match string
	// Allow lists the actions allowed.
	Allow Actions
	// Disclose makes the router disclose the session's identity (session
	// ID, authid, authrole) to callees of its calls and subscribers of
	// its events, whatever the session asks.
	Disclose Disclose
}

// Actions are the four actions a permission may allow.
type Actions struct {
	Call, Register, Publish, Subscribe bool
}

// Disclose lists when a permission discloses the acting session.
type Disclose struct {
	// Caller discloses the caller to the callee.
	Caller bool
	// Publisher discloses the publisher to the subscribers.
	Publisher bool
}

// RateLimit is a token bucket: Burst attempts at once, then one more every
// Every.
type RateLimit struct {
	// Burst is the bucket's size. Negative disables the limit.
	Burst int
	// Every is how often one attempt is given back.
	Every time.Duration
}

// Default authentication limits; see Config.AuthFailuresPerAddress.
var (
	DefaultAuthFailuresPerAddress = RateLimit{Burst: 10, Every: 6 * time.Second}
	DefaultAuthFailuresPerAuthID  = RateLimit{Burst: 30, Every: 2 * time.Second}
)

// DefaultAuthorizerTimeout is the default of Config.AuthorizerTimeout.
const DefaultAuthorizerTimeout = 5 * time.Second

// ConfigError is one mistake in a Config, at a path written as in wampd's
// configuration file, such as realms[0].roles[1].permissions[2].uri.
type ConfigError struct {
	Path string
	Msg  string
}

func (e *ConfigError) Error() string { return e.Path + ": " + e.Msg }

// checker collects ConfigErrors.
type checker struct{ errs []error }

func (c *checker) add(path, format string, a ...any) {
	c.errs = append(c.errs, &ConfigError{Path: path, Msg: fmt.Sprintf(format, a...)})
}

func (c *checker) err() error { return errors.Join(c.errs...) }

// key writes a map key in a path.
func key(k string) string { return fmt.Sprintf("[%q]", k) }

func knownMatch(m string) bool {
	return m == "" || m == wamp.MatchExact || m == wamp.MatchPrefix || m == wamp.MatchWildcard
}

// checkRealmAuth checks a realm's auth and roles. names lists every realm
// of the router, for AuthenticatorRealm.
func (c *checker) checkRealmAuth(p string, rc *RealmConfig, strict bool, names map[wamp.URI]bool) {
	roles := map[string]bool{}
	for i, role := range rc.Roles {
		rp := fmt.Sprintf("%s.roles[%d]", p, i)
		switch {
		case role.Name == "":
			c.add(rp+".name", "a role needs a name")
		case roles[role.Name]:
			c.add(rp+".name", "duplicate role %q", role.Name)
		}
		roles[role.Name] = true
		if role.Authorizer != "" {
			if !wamp.ValidURI(role.Authorizer, strict, false) {
				c.add(rp+".authorizer", "invalid procedure URI %q", role.Authorizer)
			}
			if len(role.Permissions) > 0 {
				c.add(rp, "a role has permissions or an authorizer, not both")
			}
		}
		for j, perm := range role.Permissions {
			pp := fmt.Sprintf("%s.permissions[%d]", rp, j)
			if !knownMatch(perm.Match) {
				c.add(pp+".match", "match %q is not one of exact, prefix, wildcard", perm.Match)
				continue
			}
			match := cmpOr(perm.Match, wamp.MatchExact)
			if !(match == wamp.MatchPrefix && perm.URI == "") && !wamp.ValidPattern(perm.URI, match, strict) {
				c.add(pp+".uri", "invalid URI %q for match %q", perm.URI, match)
			}
		}
	}
	// checkRole reports a static principal's role that the realm lacks.
	checkRole := func(path, role string) {
		switch {
		case role == "":
			c.add(path, "a role is required")
		case len(rc.Roles) > 0 && !roles[role]:
			c.add(path, "realm %q has no role %q", rc.Name, role)
		}
	}
	checkDynamic := func(path string, proc, realm wamp.URI, static int) {
		if proc == "" {
			return
		}
		if !wamp.ValidURI(proc, strict, false) {
			c.add(path+".authenticator", "invalid procedure URI %q", proc)
		}
		if static > 0 {
			c.add(path, "static principals and an authenticator exclude each other")
		}
		if realm != "" && !names[realm] {
			c.add(path+".authenticator_realm", "no realm %q on this router", realm)
		}
	}
	a := &rc.Auth
	if a.Anonymous != nil && a.Anonymous.Role != "" {
		if len(rc.Roles) > 0 && !roles[a.Anonymous.Role] {
			c.add(p+".auth.anonymous.role", "realm %q has no role %q", rc.Name, a.Anonymous.Role)
		}
	} else if a.Anonymous != nil && len(rc.Roles) > 0 && !roles["anonymous"] {
		c.add(p+".auth.anonymous.role", "realm %q has no role \"anonymous\", the default: name the role", rc.Name)
	}
	if t := a.Ticket; t != nil {
		tp := p + ".auth.ticket"
		checkDynamic(tp, t.Authenticator, t.AuthenticatorRealm, len(t.Principals))
		for _, id := range sortedKeys(t.Principals) {
			u := t.Principals[id]
			up := tp + ".principals" + key(id)
			checkRole(up+".role", u.Role)
			switch {
			case (u.Ticket == "") == (u.TicketHash == ""):
				c.add(up, "set exactly one of ticket and ticket_hash")
			case u.TicketHash != "":
				if _, err := parseTicketHash(u.TicketHash); err != nil {
					c.add(up+".ticket_hash", "%v", err)
				}
			}
		}
	}
	if w := a.WAMPCRA; w != nil {
		wp := p + ".auth.wampcra"
		checkDynamic(wp, w.Authenticator, w.AuthenticatorRealm, len(w.Users))
		for _, id := range sortedKeys(w.Users) {
			u := w.Users[id]
			up := wp + ".users" + key(id)
			checkRole(up+".role", u.Role)
			if u.Secret == "" {
				c.add(up+".secret", "a secret is required")
			}
			if u.Salt == "" && (u.Iterations != 0 || u.KeyLen != 0) {
				c.add(up+".salt", "iterations and keylen need a salt")
			}
			if u.Iterations < 0 || u.Iterations > maxIterations {
				c.add(up+".iterations", "iterations %d is not in [1, %d]", u.Iterations, maxIterations)
			}
			if u.KeyLen < 0 || u.KeyLen > 256 {
				c.add(up+".keylen", "keylen %d is not in [1, 256]", u.KeyLen)
			}
		}
	}
	if cs := a.Cryptosign; cs != nil {
		cp := p + ".auth.cryptosign"
		checkDynamic(cp, cs.Authenticator, cs.AuthenticatorRealm, len(cs.Principals))
		owner := map[string]string{}
		for _, id := range sortedKeys(cs.Principals) {
			u := cs.Principals[id]
			up := cp + ".principals" + key(id)
			checkRole(up+".role", u.Role)
			if len(u.AuthorizedKeys) == 0 {
				c.add(up+".authorized_keys", "at least one public key is required")
			}
			for k, pk := range u.AuthorizedKeys {
				kp := fmt.Sprintf("%s.authorized_keys[%d]", up, k)
				b, err := hex.DecodeString(pk)
				switch {
				case err != nil || len(b) != 32:
					c.add(kp, "not an Ed25519 public key (64 hex digits)")
				case owner[strings.ToLower(pk)] != "" && owner[strings.ToLower(pk)] != id:
					c.add(kp, "the key is also %q's: a key names one principal", owner[strings.ToLower(pk)])
				default:
					owner[strings.ToLower(pk)] = id
				}
			}
		}
	}
	if t := a.TLS; t != nil {
		tp := p + ".auth.tls"
		if t.Role == "" && len(t.Principals) == 0 {
			c.add(tp, "admits nobody: set a role for every verified certificate, or principals")
		}
		if t.Role != "" {
			checkRole(tp+".role", t.Role)
		}
		owner := map[string]string{}
		for _, id := range sortedKeys(t.Principals) {
			u := t.Principals[id]
			up := tp + ".principals" + key(id)
			checkRole(up+".role", u.Role)
			if id == "" {
				c.add(up, "an authid is required")
			}
			if u.Fingerprint == "" {
				continue
			}
			fp, ok := normalFingerprint(u.Fingerprint)
			switch {
			case !ok:
				c.add(up+".fingerprint", "not a SHA-256 fingerprint (64 hex digits, colons allowed)")
			case owner[fp] != "":
				c.add(up+".fingerprint", "the certificate is also %q's: a certificate names one principal", owner[fp])
			default:
				owner[fp] = id
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
