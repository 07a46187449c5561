package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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
// An unknown user gets a challenge of the same shape, with a salt derived
// from a secret of the router and the authid (the same on every attempt,
// as a real user's), and fails at AUTHENTICATE like a wrong password.
type craAuth struct {
	r     *realm
	cfg   *WAMPCRAAuth
	key   []byte // the router's secret for decoy salts
	decoy CRAUser
}

func newCRAAuth(r *realm, cfg *WAMPCRAAuth) *craAuth {
	a := &craAuth{r: r, cfg: cfg, key: make([]byte, 32)}
	rand.Read(a.key)
	// Decoys look like the most common kind of user.
	salted, roles := 0, map[string]int{}
	for _, u := range cfg.Users {
		if u.Salt != "" {
			salted++
			a.decoy.Iterations, a.decoy.KeyLen = max(a.decoy.Iterations, u.Iterations), max(a.decoy.KeyLen, u.KeyLen)
		}
		roles[u.Role]++
	}
	if salted*2 >= len(cfg.Users) {
		a.decoy.Salt = "salted"
	}
	a.decoy.Role = "user"
	for role, n := range roles {
		if n > roles[a.decoy.Role] || n == roles[a.decoy.Role] && role < a.decoy.Role {
			a.decoy.Role = role
		}
	}
	return a
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
		p, err := a.r.callAuthenticator(ctx, a.cfg.AuthenticatorRealm, a.cfg.Authenticator, req, req.details)
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
		user = a.decoy
		if user.Salt != "" {
			mac := hmac.New(sha256.New, a.key)
			mac.Write([]byte(string(req.realm) + "\x00" + req.authid))
			user.Salt = base64.RawStdEncoding.EncodeToString(mac.Sum(nil)[:16])
		}
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
