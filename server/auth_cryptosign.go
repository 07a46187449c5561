package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/wampkit/wampkit/wamp"
)

// cryptosignAuth is WAMP-Cryptosign: the client announces an Ed25519
// public key in HELLO.Details.authextra.pubkey, the router challenges it
// with 32 random bytes, and the client answers with its signature of them
// followed by the bytes signed (96 bytes, hex). A new challenge per
// attempt makes a recorded AUTHENTICATE worthless.
//
// TLS channel binding is not offered: a client that asks for it gets a
// CHALLENGE with channel_binding null, which the specification allows, and
// signs the bare challenge.
//
// An unknown key or authid gets a challenge all the same and fails at
// AUTHENTICATE.
type cryptosignAuth struct {
	r     *realm
	cfg   *CryptosignAuth
	byKey map[string]string // hex public key (lower case) -> authid
}

func newCryptosignAuth(r *realm, cfg *CryptosignAuth) *cryptosignAuth {
	a := &cryptosignAuth{r: r, cfg: cfg, byKey: map[string]string{}}
	for id, p := range cfg.Principals {
		for _, k := range p.AuthorizedKeys {
			a.byKey[strings.ToLower(k)] = id
		}
	}
	return a
}

func (a *cryptosignAuth) hello(ctx context.Context, req *authRequest) (*identity, *challenge, error) {
	pkHex, _ := req.authextra["pubkey"].(string)
	pub, err := hex.DecodeString(pkHex)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, nil, refused(wamp.ErrAuthenticationFailed, "cryptosign needs HELLO.Details.authextra.pubkey: an Ed25519 public key, 64 hex digits")
	}
	pkHex = strings.ToLower(pkHex)
	id := &identity{authid: req.authid, authmethod: methodCryptosign, authprovider: "static"}
	known, why := false, fmt.Sprintf("public key %s is not authorized for authid %q", pkHex, req.authid)
	if a.cfg.Authenticator != "" {
		id.authprovider = "dynamic"
		p, err := a.r.callAuthenticator(ctx, a.cfg.AuthenticatorRealm, a.cfg.Authenticator, req, req.details())
		if e, ok := errors.AsType[*authError](err); ok && e.guess {
			why = e.why
		} else if err != nil {
			return nil, nil, err
		} else {
			got, _ := p.fields["pubkey"].(string)
			known = subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(pkHex)) == 1
			why = "the authenticator returned another public key"
			id.authid, id.authrole, id.authextra = cmpOr(cmpOr(p.authid, req.authid), pkHex), p.role, p.extra
		}
	} else if owner, ok := a.byKey[pkHex]; ok && (req.authid == "" || req.authid == owner) {
		known = true
		id.authid, id.authrole = owner, a.cfg.Principals[owner].Role
	}
	ch := make([]byte, 32)
	rand.Read(ch)
	return nil, &challenge{
		extra: wamp.Dict{"challenge": hex.EncodeToString(ch), "channel_binding": nil},
		verify: func(ctx context.Context, m *wamp.Authenticate) (*identity, error) {
			ok := cryptosignVerify(pub, ch, nil, m.Signature)
			if !known {
				return nil, badCredentials(why)
			}
			if !ok {
				return nil, badCredentials("wrong cryptosign signature")
			}
			return id, nil
		},
	}, nil
}

// cryptosignVerify checks a cryptosign AUTHENTICATE signature: hex of the
// 64-byte Ed25519 signature of the message followed by the 32-byte message
// itself, the message being the challenge, or the challenge XOR the
// channel ID under channel binding.
func cryptosignVerify(pub ed25519.PublicKey, challenge, channelID []byte, signature string) bool {
	b, err := hex.DecodeString(signature)
	if err != nil || len(b) != ed25519.SignatureSize+32 || len(challenge) != 32 {
		return false
	}
	msg := make([]byte, 32)
	copy(msg, challenge)
	if channelID != nil {
		if len(channelID) != 32 {
			return false
		}
		subtle.XORBytes(msg, challenge, channelID)
	}
	if subtle.ConstantTimeCompare(b[ed25519.SignatureSize:], msg) != 1 {
		return false
	}
	return ed25519.Verify(pub, msg, b[:ed25519.SignatureSize])
}
