package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"maps"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// credentials are connect's declarative credentials: with them the page
// needs no crypto code of its own, the client's helpers answer the
// router's challenges.
type credentials struct {
	ticket string             // ticket: the user's ticket
	secret string             // wampcra: the user's secret or password (salted secrets are derived here)
	key    ed25519.PrivateKey // cryptosign: the key made from privateKey, a 32-byte seed
}

// decodeCredentials reads ticket, secret and privateKey from connect's
// options d. The methods offered default to those the credentials serve,
// strongest first; a cryptosign key adds its public key to authextra.
func (c *connectConfig) decodeCredentials(d wamp.Dict) error {
	for _, f := range []struct {
		key string
		dst *string
	}{{"ticket", &c.creds.ticket}, {"secret", &c.creds.secret}} {
		switch v := d[f.key].(type) {
		case nil:
		case string:
			if v == "" {
				return fmt.Errorf("connect options: %s is empty", f.key)
			}
			*f.dst = v
		default:
			return fmt.Errorf("connect options: %s: want a string, got %s", f.key, jsonKind(v))
		}
		if *f.dst != "" && c.authID == "" {
			return fmt.Errorf("connect options: %s needs authid: the router looks the user up by it", f.key)
		}
	}
	switch v := d["privateKey"].(type) {
	case nil:
	case string:
		seed, err := hex.DecodeString(v)
		if err != nil || len(seed) != ed25519.SeedSize {
			return fmt.Errorf("connect options: privateKey: want %d hex digits (an Ed25519 seed of %d bytes)", 2*ed25519.SeedSize, ed25519.SeedSize)
		}
		c.creds.key = ed25519.NewKeyFromSeed(seed)
	case []byte:
		if len(v) != ed25519.SeedSize {
			return fmt.Errorf("connect options: privateKey: want an Ed25519 seed of %d bytes, got %d", ed25519.SeedSize, len(v))
		}
		c.creds.key = ed25519.NewKeyFromSeed(v)
	default:
		return fmt.Errorf("connect options: privateKey: want a hex string or a Uint8Array, got %s", jsonKind(v))
	}
	if c.creds.key != nil {
		c.authExtra = maps.Clone(c.authExtra)
		if c.authExtra == nil {
			c.authExtra = wamp.Dict{}
		}
		maps.Copy(c.authExtra, client.CryptosignAuthExtra(c.creds.key))
	}
	if c.authMethods == nil {
		if c.creds.key != nil {
			c.authMethods = append(c.authMethods, "cryptosign")
		}
		if c.creds.secret != "" {
			c.authMethods = append(c.authMethods, "wampcra")
		}
		if c.creds.ticket != "" {
			c.authMethods = append(c.authMethods, "ticket")
		}
	}
	return nil
}

// onChallenge returns the client's OnChallenge: the credentials answer the
// challenges of their methods, page (the page's onchallenge, or nil) the
// others. It is nil when there is neither.
func (c *connectConfig) onChallenge(page client.ChallengeFunc) client.ChallengeFunc {
	byMethod := map[string]client.ChallengeFunc{}
	if c.creds.ticket != "" {
		byMethod["ticket"] = client.TicketAuth(c.creds.ticket)
	}
	if c.creds.secret != "" {
		byMethod["wampcra"] = client.CRAAuth(c.creds.secret)
	}
	if c.creds.key != nil {
		byMethod["cryptosign"] = client.CryptosignAuth(c.creds.key)
	}
	if len(byMethod) == 0 {
		return page
	}
	return func(ctx context.Context, ch *wamp.Challenge) (string, wamp.Dict, error) {
		if f := byMethod[ch.AuthMethod]; f != nil {
			return f(ctx, ch)
		}
		if page != nil {
			return page(ctx, ch)
		}
		return "", nil, fmt.Errorf("wampkit: connect has no credentials for the router's %q challenge, nor an onchallenge", ch.AuthMethod)
	}
}
