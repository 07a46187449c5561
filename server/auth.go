package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/wampkit/wampkit/wamp"
)

// Authentication happens in the handshake, between HELLO and WELCOME: the
// realm's authenticator for the method the client offers answers the
// HELLO, either at once (anonymous) or with a CHALLENGE whose AUTHENTICATE
// it then verifies. HelloTimeout bounds the whole exchange, dynamic
// authenticator calls included. The identity in WELCOME comes from the
// authenticator only; what the client claims in HELLO is a request.

// authenticator authenticates the HELLOs of one method on one realm.
type authenticator interface {
	// hello answers a HELLO: an identity when no challenge is needed, or
	// a challenge whose verify checks the AUTHENTICATE. An error is an
	// *authError.
	hello(ctx context.Context, req *authRequest) (*identity, *challenge, error)
}

// authRequest is what an authenticator knows of a HELLO.
type authRequest struct {
	realm     wamp.URI
	authid    string    // as claimed in HELLO, possibly ""
	authextra wamp.Dict // HELLO.Details.authextra, possibly nil
	session   wamp.ID   // the ID that WELCOME will carry
	secure    bool      // the connection is TLS, loopback or in-process
	method    string    // the method being tried
	// transport describes the connection (session.transportInfo), for
	// details.
	transport func() wamp.Dict
	// tlsSubject and tlsFingerprint name the verified TLS client
	// certificate (transport.Info), "" when there is none.
	tlsSubject, tlsFingerprint string
}

// details is the session's details that a dynamic authenticator gets.
// Only those need them: they are made on demand.
func (req *authRequest) details() wamp.Dict {
	return wamp.Dict{
		"session":    int64(req.session),
		"authid":     req.authid,
		"authmethod": req.method,
		"authextra":  req.authextra,
		"transport":  req.transport(),
	}
}

// identity is the outcome of a successful authentication.
type identity struct {
	authid, authrole, authmethod, authprovider string
	authextra                                  wamp.Dict // WELCOME.Details.authextra, or nil
}

// challenge is a pending authentication: the CHALLENGE's extra, and the
// check of the client's AUTHENTICATE.
type challenge struct {
	extra  wamp.Dict
	verify func(ctx context.Context, a *wamp.Authenticate) (*identity, error)
}

// authError is a refused authentication: the ABORT's reason and message,
// and what only the log learns. A guess (wrong credentials, unknown user)
// counts towards the rate limits; its message is the same whatever went
// wrong, so that a client cannot tell an unknown user from a wrong secret.
type authError struct {
	uri   wamp.URI
	msg   string
	why   string
	guess bool
}

func (e *authError) Error() string { return e.msg + " (" + e.why + ")" }

// badCredentials is the failure of a guess; why is for the log.
func badCredentials(why string) error {
	return &authError{uri: wamp.ErrAuthenticationFailed, msg: "authentication failed", why: why, guess: true}
}

// refused is a failure that is not a guess: a message the client may read.
func refused(uri wamp.URI, msg string) error {
	return &authError{uri: uri, msg: msg, why: msg}
}

// Authentication methods.
const (
	methodAnonymous  = "anonymous"
	methodTicket     = "ticket"
	methodWAMPCRA    = "wampcra"
	methodCryptosign = "cryptosign"
)

// methodOrder is the order in which the realm's methods are listed in
// messages.
var methodOrder = []string{methodAnonymous, methodTicket, methodWAMPCRA, methodCryptosign, methodTLS}

// newAuthenticators builds a realm's authenticators from its config.
func newAuthenticators(r *realm, a *AuthConfig) map[string]authenticator {
	out := map[string]authenticator{}
	if *a == (AuthConfig{}) {
		out[methodAnonymous] = &anonymousAuth{role: "anonymous"}
		return out
	}
	if a.Anonymous != nil {
		out[methodAnonymous] = &anonymousAuth{role: cmpOr(a.Anonymous.Role, "anonymous")}
	}
	if a.Ticket != nil {
		out[methodTicket] = newTicketAuth(r, a.Ticket)
	}
	if a.WAMPCRA != nil {
		out[methodWAMPCRA] = newCRAAuth(r, a.WAMPCRA)
	}
	if a.Cryptosign != nil {
		out[methodCryptosign] = newCryptosignAuth(r, a.Cryptosign)
	}
	if a.TLS != nil {
		out[methodTLS] = newTLSAuth(a.TLS)
	}
	return out
}

// dynamicAuth is one dynamic authenticator of a realm's config.
type dynamicAuth struct {
	method string
	proc   wamp.URI
	realm  wamp.URI // "" for the realm itself
}

// dynamic lists the dynamic authenticators of a.
func (a *AuthConfig) dynamic() []dynamicAuth {
	var out []dynamicAuth
	if a.Ticket != nil && a.Ticket.Authenticator != "" {
		out = append(out, dynamicAuth{methodTicket, a.Ticket.Authenticator, a.Ticket.AuthenticatorRealm})
	}
	if a.WAMPCRA != nil && a.WAMPCRA.Authenticator != "" {
		out = append(out, dynamicAuth{methodWAMPCRA, a.WAMPCRA.Authenticator, a.WAMPCRA.AuthenticatorRealm})
	}
	if a.Cryptosign != nil && a.Cryptosign.Authenticator != "" {
		out = append(out, dynamicAuth{methodCryptosign, a.Cryptosign.Authenticator, a.Cryptosign.AuthenticatorRealm})
	}
	return out
}

// anonymousAuth admits everyone under one role, with a random authid: an
// anonymous session's claims get it nothing.
type anonymousAuth struct{ role string }

func (a *anonymousAuth) hello(ctx context.Context, req *authRequest) (*identity, *challenge, error) {
	return &identity{authid: rand.Text()[:16], authrole: a.role, authmethod: methodAnonymous, authprovider: "static"}, nil, nil
}

// authenticate runs the authentication part of the handshake for hello on
// rlm: it picks the method, challenges the client when the method needs
// it, and sets the session's identity. On failure it has sent ABORT, and
// it reports false.
func (s *session) authenticate(ctx context.Context, rlm *realm, hello *wamp.Hello) bool {
	d := hello.Details
	offered := []string{methodAnonymous}
	if v, ok := d["authmethods"]; ok && v != nil {
		l, ok := v.(wamp.List)
		if !ok {
			s.abort(wamp.ErrProtocolViolation, "HELLO.Details.authmethods must be a list of strings")
			return false
		}
		offered = offered[:0]
		for _, m := range l {
			if m, ok := m.(string); ok {
				offered = append(offered, m)
			}
		}
	}
	authid, err := stringOption(d, "authid", "")
	if err != nil {
		s.abort(wamp.ErrProtocolViolation, "HELLO.Details.authid must be a string")
		return false
	}
	authextra, ok := d["authextra"].(wamp.Dict)
	if !ok && d["authextra"] != nil {
		s.abort(wamp.ErrProtocolViolation, "HELLO.Details.authextra must be a dictionary")
		return false
	}
	if id := rlm.cookieLogin(s, authid, offered); id != nil {
		return s.admit(rlm, id)
	}
	info := s.peer.Info()
	var method string
	var a authenticator
	for _, m := range offered {
		x := rlm.auth[m]
		if x == nil {
			continue
		}
		a, method = x, m
		// Without a verified certificate, tls gives way to the next
		// method the client offers, and fails if there is none.
		if m != methodTLS || info.TLSClientFingerprint != "" {
			break
		}
	}
	if a == nil {
		if rlm.cookie != nil && slices.Contains(offered, methodCookie) {
			s.router.stats.authFailed(methodCookie)
			s.abort(wamp.ErrAuthenticationFailed, "no cookie login on realm %q: it expired, the user logged out, or the browser sent no cookie", rlm.name)
			return false
		}
		var have []string
		for _, m := range methodOrder {
			if rlm.auth[m] != nil {
				have = append(have, m)
			}
		}
		if rlm.cookie != nil {
			have = append(have, methodCookie)
		}
		s.abort(wamp.ErrNoAuthMethod, "realm %q accepts none of the offered authentication methods (%s); it accepts %s",
			rlm.name, strings.Join(offered, ", "), strings.Join(have, ", "))
		return false
	}
	req := &authRequest{realm: rlm.name, authid: authid, authextra: authextra, session: s.id, secure: s.secure,
		method: method, transport: s.transportInfo,
		tlsSubject: info.TLSClientSubject, tlsFingerprint: info.TLSClientFingerprint}
	limits := s.router.authLimits
	addrKey, idKey := addressKey(info.RemoteAddr), string(rlm.name)+"\x00"+authid
	if method == methodCryptosign && authid == "" {
		pk, _ := authextra["pubkey"].(string)
		idKey = string(rlm.name) + "\x00pubkey:" + strings.ToLower(pk)
	}
	// The attempt holds a token from HELLO until it ends; only a failed
	// guess keeps it.
	guessed := false
	if method != methodAnonymous {
		if !limits.begin(addrKey, idKey) {
			s.router.stats.authFailed(method)
			s.abort(wamp.ErrAuthenticationFailed, "too many failed authentication attempts; try again later")
			return false
		}
		defer func() {
			if !guessed {
				limits.end(addrKey, idKey)
			}
		}()
	}

	fail := func(err error) bool {
		e, ok := errors.AsType[*authError](err)
		if !ok {
			e = &authError{uri: wamp.ErrAuthenticationFailed, msg: "authentication failed", why: err.Error()}
		}
		if e.guess {
			guessed = true
		}
		s.router.stats.authFailed(method)
		s.logInfo("authentication failed", "method", method, "authid", authid, "reason", e.why)
		s.abort(e.uri, "%s", e.msg)
		return false
	}
	id, ch, err := a.hello(ctx, req)
	if err != nil {
		return fail(err)
	}
	if ch != nil {
		s.send(&wamp.Challenge{AuthMethod: method, Extra: ch.extra})
		m, err := s.peer.Recv()
		if err != nil {
			if errors.Is(err, wamp.ErrInvalidMessage) {
				s.abort(wamp.ErrProtocolViolation, "%v", err)
			}
			return false
		}
		s.stats.received(m.Type())
		switch m := m.(type) {
		case *wamp.Authenticate:
			if id, err = ch.verify(ctx, m); err != nil {
				return fail(err)
			}
		case *wamp.Abort:
			s.logInfo("peer aborted the authentication", "reason", string(m.Reason))
			s.q.shut()
			return false
		default:
			s.abort(wamp.ErrProtocolViolation, "the answer to CHALLENGE must be AUTHENTICATE, not %s", m.Type())
			return false
		}
	}
	return s.admit(rlm, id)
}

// admit gives the session the identity that authentication established,
// if the realm has its role; otherwise it sends ABORT and reports false.
func (s *session) admit(rlm *realm, id *identity) bool {
	if !rlm.authz.hasRole(id.authrole) {
		s.router.stats.authFailed(id.authmethod)
		s.abort(wamp.ErrNoSuchRole, "realm %q has no role %q", rlm.name, id.authrole)
		return false
	}
	s.authid, s.authrole, s.authmethod, s.authprovider = id.authid, id.authrole, id.authmethod, id.authprovider
	s.authextra = id.authextra
	return true
}

// secureConn tells whether a connection keeps a secret from the network:
// TLS, loopback, a Unix socket (whose peer address the raw socket
// transport reports as "unix:" and the socket's path) or no network at all.
func secureConn(transportName, remoteAddr string, tls bool) bool {
	if tls || transportName == "local" || strings.HasPrefix(remoteAddr, "unix:") {
		return true
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// addressKey is the rate limit key of a remote address: its host, and for
// IPv6 its /64, which one user typically holds whole.
func addressKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// equalSecret compares two secrets in constant time, whatever their
// lengths: it compares their SHA-256 digests.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// principal is what a dynamic authenticator returned: a role, or a
// dictionary with "role", optionally "authid" and "extra", and what the
// method needs.
type principal struct {
	role, authid string
	extra        wamp.Dict
	fields       wamp.Dict
}

// parsePrincipal reads a dynamic authenticator's result.
func parsePrincipal(args wamp.List) (*principal, error) {
	if len(args) == 0 {
		return nil, errors.New("the authenticator returned nothing")
	}
	switch v := args[0].(type) {
	case string:
		return &principal{role: v, fields: wamp.Dict{}}, nil
	case wamp.Dict:
		p := &principal{fields: v}
		var err error
		if p.role, err = stringOption(v, "role", ""); err != nil {
			return nil, err
		}
		if p.authid, err = stringOption(v, "authid", ""); err != nil {
			return nil, err
		}
		if e, ok := v["extra"]; ok && e != nil {
			if p.extra, ok = e.(wamp.Dict); !ok {
				return nil, errors.New("option extra must be a dictionary")
			}
		}
		if p.role == "" {
			return nil, errors.New("the authenticator returned no role")
		}
		return p, nil
	}
	return nil, fmt.Errorf("the authenticator returned %T, not a role or a dictionary", args[0])
}

// callAuthenticator calls a dynamic authenticator with (realm, authid,
// details) through the dealer of host (the realm itself when "") and
// returns the principal. An authenticator that answers with an ERROR
// refuses the principal: a guess. One that is missing, fails or is late
// makes authentication unavailable, which is no guess.
func (r *realm) callAuthenticator(ctx context.Context, host, proc wamp.URI, req *authRequest, details wamp.Dict) (*principal, error) {
	hr := r
	if host != "" && host != r.name {
		if hr = r.router.realm(host); hr == nil {
			return nil, refused(wamp.ErrAuthenticationFailed, "authentication is unavailable")
		}
	}
	args, _, err := hr.caller().call(ctx, proc, wamp.List{string(req.realm), req.authid, details})
	if err != nil {
		if e, ok := errors.AsType[*wamp.Error](err); ok && !unavailable(e.URI) {
			return nil, badCredentials("the authenticator refused: " + e.Error())
		}
		r.router.cfg.Logger.Warn("dynamic authenticator unavailable", "realm", string(r.name), "procedure", string(proc), "err", err)
		return nil, &authError{uri: wamp.ErrAuthenticationFailed, msg: "authentication is unavailable", why: err.Error()}
	}
	p, err := parsePrincipal(args)
	if err != nil {
		r.router.cfg.Logger.Warn("dynamic authenticator returned a bad principal", "realm", string(r.name), "procedure", string(proc), "err", err)
		return nil, &authError{uri: wamp.ErrAuthenticationFailed, msg: "authentication is unavailable", why: err.Error()}
	}
	return p, nil
}

// unavailable tells the error URIs that mean a procedure could not answer,
// rather than that it said no.
func unavailable(u wamp.URI) bool {
	switch u {
	case wamp.ErrNoSuchProcedure, wamp.ErrCanceled, wamp.ErrTimeout, wamp.ErrUnavailable, wamp.ErrNoAvailableCallee:
		return true
	}
	return false
}
