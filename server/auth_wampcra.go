package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// craAuth is WAMP-CRA: the router sends a JSON challenge (authid, authrole,
// authmethod, authprovider, nonce, timestamp, session) and the client
// answers with base64(HMAC-SHA256(secret, challenge)). With a salted user
// the CHALLENGE also carries salt, iterations and keylen, and the secret is
// the PBKDF2 key the client derives from its password. The router runs no
// key derivation: it stores the derived key.
//
// An unknown user gets a decoy: the challenge of a user picked among the
// static ones by the authid (salted or not, iterations, keylen, role, a
// salt as long and of the same characters), so that the shapes of
// unknown users' challenges are those of the real users'. It is drawn
// from a secret of the router and the authid, so that it is the same on
// every attempt, as a real user's is (until the router restarts). The
// decoy fails at AUTHENTICATE like a wrong password.
type craAuth struct {
	r   *realm
	cfg *WAMPCRAAuth
	key []byte // the router's secret for decoys
	// templates are the static users, by authid, that decoys copy; with
	// none (a dynamic authenticator), a decoy has a salt of 16 random
	// bytes in base64 and Autobahn's default iterations and keylen.
	templates []CRAUser
}

func newCRAAuth(r *realm, cfg *WAMPCRAAuth) *craAuth {
	a := &craAuth{r: r, cfg: cfg, key: make([]byte, 32)}
	rand.Read(a.key)
	for _, id := range sortedKeys(cfg.Users) {
		a.templates = append(a.templates, cfg.Users[id])
	}
	return a
}

// decoy is the user an unknown authid looks like: a template's shape, its
// salt's characters drawn from the classes the template's salt uses.
func (a *craAuth) decoy(realm wamp.URI, authid string) CRAUser {
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(string(realm) + "\x00" + authid))
	rng := mrand.New(mrand.NewChaCha8([32]byte(mac.Sum(nil))))
	if len(a.templates) == 0 {
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return CRAUser{Role: "user", Salt: base64.RawStdEncoding.EncodeToString(b)}
	}
	t := a.templates[rng.IntN(len(a.templates))]
	u := CRAUser{Role: t.Role, Iterations: t.Iterations, KeyLen: t.KeyLen}
	if t.Salt != "" {
		alphabet := saltAlphabet(t.Salt)
		salt := make([]byte, len(t.Salt))
		for i := range salt {
			salt[i] = alphabet[rng.IntN(len(alphabet))]
		}
		u.Salt = string(salt)
	}
	return u
}

// saltAlphabet is the characters a salt like s could hold: the classes of
// its characters (digits, a-f, g-z, A-F, G-Z; hexadecimal salts stay
// hexadecimal) and every other character it holds.
func saltAlphabet(s string) string {
	classes := []string{"0123456789", "abcdef", "ghijklmnopqrstuvwxyz", "ABCDEF", "GHIJKLMNOPQRSTUVWXYZ"}
	used := make([]bool, len(classes))
	var other []byte
	for i := range len(s) {
		c := s[i]
		k := slices.IndexFunc(classes, func(cl string) bool { return strings.IndexByte(cl, c) >= 0 })
		switch {
		case k >= 0:
			used[k] = true
		case bytes.IndexByte(other, c) < 0:
			other = append(other, c)
		}
	}
	var out []byte
	for k, cl := range classes {
		if used[k] {
			out = append(out, cl...)
		}
	}
	return string(append(out, other...))
}

// craChallenge is the challenge's JSON object, in the specification's
// order of fields.
type craChallenge struct {
	AuthID       string `json:"authid"`
	AuthRole     string `json:"authrole"`
	AuthMethod   string `json:"authmethod"`
	AuthProvider string `json:"authprovider"`
	Nonce        string `json:"nonce"`
	Timestamp    string `json:"timestamp"`
	Session      int64  `json:"session"`
}

func (a *craAuth) hello(ctx context.Context, req *authRequest) (*identity, *challenge, error) {
	id := &identity{authid: req.authid, authmethod: methodWAMPCRA, authprovider: "static"}
	user, known := a.cfg.Users[req.authid]
	why := fmt.Sprintf("no wampcra user %q", req.authid)
	if a.cfg.Authenticator != "" {
		id.authprovider = "dynamic"
		p, err := a.r.callAuthenticator(ctx, a.cfg.AuthenticatorRealm, a.cfg.Authenticator, req, req.details())
		if e, ok := errors.AsType[*authError](err); ok && e.guess {
			known, why = false, e.why
		} else if err != nil {
			return nil, nil, err
		} else if user, err = craPrincipal(p); err != nil {
			a.r.router.cfg.Logger.Warn("dynamic authenticator returned a bad wampcra principal", "realm", string(a.r.name), "err", err)
			return nil, nil, &authError{uri: wamp.ErrAuthenticationFailed, msg: "authentication is unavailable", why: err.Error()}
		} else {
			known = true
			id.authid, id.authextra = cmpOr(p.authid, req.authid), p.extra
		}
	}
	secret := []byte(user.Secret)
	if !known {
		user = a.decoy(req.realm, req.authid)
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	id.authrole = user.Role
	c, _ := json.Marshal(craChallenge{
		AuthID:       id.authid,
		AuthRole:     id.authrole,
		AuthMethod:   methodWAMPCRA,
		AuthProvider: id.authprovider,
		Nonce:        rand.Text(),
		Timestamp:    time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Session:      int64(req.session),
	})
	extra := wamp.Dict{"challenge": string(c)}
	if user.Salt != "" {
		extra["salt"] = user.Salt
		extra["iterations"] = int64(cmpInt(user.Iterations, 1000))
		extra["keylen"] = int64(cmpInt(user.KeyLen, 32))
	}
	want := craSign(secret, c)
	return nil, &challenge{extra: extra, verify: func(ctx context.Context, m *wamp.Authenticate) (*identity, error) {
		ok := equalSecret(m.Signature, want)
		if !known {
			return nil, badCredentials(why)
		}
		if !ok {
			return nil, badCredentials("wrong wampcra signature")
		}
		return id, nil
	}}, nil
}

// craSign is the WAMP-CRA signature: base64 of HMAC-SHA256 keyed with the
// secret's bytes (for a salted user, the base64 text of the derived key).
func craSign(secret, challenge []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(challenge)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// craPrincipal reads a dynamic authenticator's wampcra principal.
func craPrincipal(p *principal) (CRAUser, error) {
	u := CRAUser{Role: p.role}
	var err error
	if u.Secret, err = stringOption(p.fields, "secret", ""); err != nil || u.Secret == "" {
		return u, fmt.Errorf("a wampcra principal needs a string secret")
	}
	if u.Salt, err = stringOption(p.fields, "salt", ""); err != nil {
		return u, err
	}
	for _, f := range []struct {
		key      string
		to       *int
		min, max int64
	}{{"iterations", &u.Iterations, 1, maxIterations}, {"keylen", &u.KeyLen, 1, 256}} {
		if v, ok := p.fields[f.key]; ok && v != nil {
			n, ok := toInt(v)
			if !ok || n < f.min || n > f.max {
				return u, fmt.Errorf("a wampcra principal's %s must be an integer in [%d, %d]", f.key, f.min, f.max)
			}
			*f.to = int(n)
		}
	}
	return u, nil
}

func cmpInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}
