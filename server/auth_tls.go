package server

import (
	"context"
	"encoding/hex"
	"strings"

	"github.com/wampkit/wampkit/wamp"
)

// methodTLS authenticates by the TLS client certificate that the server's
// TLS config verified. Its identity comes from the transport
// (transport.Info.TLSClientSubject and TLSClientFingerprint), so it needs
// no CHALLENGE.
const methodTLS = "tls"

// tlsAuth is TLS client certificate authentication (see TLSAuth).
type tlsAuth struct {
	role     string
	byCN     map[string]tlsUser // principals by authid
	byPinned map[string]string  // authids of pinned principals by fingerprint
}

type tlsUser struct {
	role        string
	fingerprint string // normalised; "" when not pinned
}

func newTLSAuth(cfg *TLSAuth) *tlsAuth {
	a := &tlsAuth{role: cfg.Role, byCN: map[string]tlsUser{}, byPinned: map[string]string{}}
	for id, p := range cfg.Principals {
		fp, _ := normalFingerprint(p.Fingerprint) // validated
		a.byCN[id] = tlsUser{role: p.Role, fingerprint: fp}
		if fp != "" {
			a.byPinned[fp] = id
		}
	}
	return a
}

// hello admits the certificate's principal. A certificate is not a guess
// that the failure limits should count: the CA vouched for it.
func (a *tlsAuth) hello(ctx context.Context, req *authRequest) (*identity, *challenge, error) {
	if req.tlsFingerprint == "" {
		return nil, nil, refused(wamp.ErrAuthenticationFailed, "no verified TLS client certificate on this connection")
	}
	admit := func(authid, role string) (*identity, *challenge, error) {
		return &identity{authid: authid, authrole: role, authmethod: methodTLS, authprovider: "static"}, nil, nil
	}
	if id, ok := a.byPinned[req.tlsFingerprint]; ok {
		return admit(id, a.byCN[id].role)
	}
	cn := req.tlsSubject
	if u, ok := a.byCN[cn]; ok && cn != "" {
		if u.fingerprint != "" {
			return nil, nil, refused(wamp.ErrAuthenticationFailed, "the client certificate is not the one pinned for its subject")
		}
		return admit(cn, u.role)
	}
	switch {
	case a.role == "":
		return nil, nil, refused(wamp.ErrAuthenticationFailed, "no TLS principal for the client certificate")
	case cn == "":
		return nil, nil, refused(wamp.ErrAuthenticationFailed, "the client certificate's subject has no common name to use as authid")
	}
	return admit(cn, a.role)
}

// normalFingerprint reads a SHA-256 fingerprint written in hex, with or
// without colons, in any case; it returns 64 lowercase hex digits.
func normalFingerprint(s string) (string, bool) {
	s = strings.ToLower(strings.ReplaceAll(s, ":", ""))
	b, err := hex.DecodeString(s)
	return s, err == nil && len(b) == 32
}
