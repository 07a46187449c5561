package client

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/wampkit/wampkit/wamp"
)

// ChallengeFunc is the type of Config.OnChallenge: it answers a CHALLENGE
// with the signature and extra of AUTHENTICATE.
type ChallengeFunc = func(ctx context.Context, c *wamp.Challenge) (signature string, extra wamp.Dict, err error)

// TicketAuth returns an OnChallenge hook for ticket authentication: it
// answers with the ticket. Use it with AuthMethods []string{"ticket"} and
// the user's AuthID. The ticket crosses the wire in clear: use wss://.
func TicketAuth(ticket string) ChallengeFunc {
	return func(_ context.Context, c *wamp.Challenge) (string, wamp.Dict, error) {
		if c.AuthMethod != "ticket" {
			return "", nil, fmt.Errorf("client: ticket authentication cannot answer a %q challenge", c.AuthMethod)
		}
		return ticket, wamp.Dict{}, nil
	}
}

// CRAAuth returns an OnChallenge hook for WAMP-CRA with the user's secret
// (its password): it signs the challenge with HMAC-SHA256, first deriving
// the key by PBKDF2 when the router says the secret is salted. Use it with
// AuthMethods []string{"wampcra"} and the user's AuthID.
func CRAAuth(secret string) ChallengeFunc {
	return func(_ context.Context, c *wamp.Challenge) (string, wamp.Dict, error) {
		if c.AuthMethod != "wampcra" {
			return "", nil, fmt.Errorf("client: wampcra authentication cannot answer a %q challenge", c.AuthMethod)
		}
		ch, ok := c.Extra["challenge"].(string)
		if !ok {
			return "", nil, fmt.Errorf("client: wampcra CHALLENGE has no challenge string")
		}
		key := secret
		if salt, ok := c.Extra["salt"].(string); ok && salt != "" {
			iterations, ok1 := intExtra(c.Extra["iterations"], 1000)
			keylen, ok2 := intExtra(c.Extra["keylen"], 32)
			if !ok1 || !ok2 {
				return "", nil, fmt.Errorf("client: wampcra CHALLENGE has bad iterations or keylen")
			}
			var err error
			if key, err = DeriveCRAKey(secret, salt, iterations, keylen); err != nil {
				return "", nil, err
			}
		}
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte(ch))
		return base64.StdEncoding.EncodeToString(mac.Sum(nil)), wamp.Dict{}, nil
	}
}

// maxCRAIterations bounds the iterations a router may ask of the client's
// key derivation, so that a hostile router cannot stall it.
const maxCRAIterations = 10_000_000

// DeriveCRAKey derives a salted WAMP-CRA key from a password: base64 of
// PBKDF2-HMAC-SHA256(password, salt, iterations, keylen), as Autobahn's
// derive_key. A router stores this key (wampd's "secret" of a salted
// wampcra user), never the password.
func DeriveCRAKey(password, salt string, iterations, keylen int) (string, error) {
	if iterations < 1 || iterations > maxCRAIterations || keylen < 1 || keylen > 256 {
		return "", fmt.Errorf("client: wampcra key derivation: iterations %d or keylen %d out of range", iterations, keylen)
	}
	k, err := pbkdf2.Key(sha256.New, password, []byte(salt), iterations, keylen)
	if err != nil {
		return "", fmt.Errorf("client: wampcra key derivation: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k), nil
}

// intExtra reads an integer of a CHALLENGE's extra, def when absent.
func intExtra(v any, def int) (int, bool) {
	switch n := v.(type) {
	case nil:
		return def, true
	case int64:
		return int(n), true
	case uint64:
		return int(min(n, math.MaxInt32)), true
	case float64:
		if n == math.Trunc(n) && n >= 0 && n <= math.MaxInt32 {
			return int(n), true
		}
	}
	return 0, false
}

// CryptosignAuth returns an OnChallenge hook for WAMP-Cryptosign: it signs
// the router's challenge with key. Use it with AuthMethods
// []string{"cryptosign"} and AuthExtra [CryptosignAuthExtra](key); AuthID
// is optional (the router finds the user by the key). TLS channel binding
// is not supported: a challenge that asks for it is refused.
func CryptosignAuth(key ed25519.PrivateKey) ChallengeFunc {
	return func(_ context.Context, c *wamp.Challenge) (string, wamp.Dict, error) {
		if c.AuthMethod != "cryptosign" {
			return "", nil, fmt.Errorf("client: cryptosign authentication cannot answer a %q challenge", c.AuthMethod)
		}
		if cb, ok := c.Extra["channel_binding"].(string); ok && cb != "" {
			return "", nil, fmt.Errorf("client: cryptosign channel binding %q is not supported", cb)
		}
		s, _ := c.Extra["challenge"].(string)
		msg, err := hex.DecodeString(s)
		if err != nil || len(msg) != 32 {
			return "", nil, fmt.Errorf("client: cryptosign CHALLENGE is not 32 bytes in hex")
		}
		sig := ed25519.Sign(key, msg)
		return hex.EncodeToString(append(sig, msg...)), wamp.Dict{}, nil
	}
}

// CryptosignAuthExtra returns HELLO's authextra for cryptosign with key:
// its public key in hex.
func CryptosignAuthExtra(key ed25519.PrivateKey) wamp.Dict {
	return wamp.Dict{"pubkey": hex.EncodeToString(key.Public().(ed25519.PublicKey))}
}
