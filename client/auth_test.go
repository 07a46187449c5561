package client

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// TestCryptosignRefusesChannelBinding: the client cannot bind a
// signature to the TLS channel, so a CHALLENGE that asks for it is
// refused rather than answered with a signature the router would reject.
func TestCryptosignRefusesChannelBinding(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	challenge := strings.Repeat("ab", 32)
	sign := CryptosignAuth(key)
	for _, cb := range []string{"tls-unique", "tls-exporter"} {
		_, _, err := sign(t.Context(), &wamp.Challenge{AuthMethod: "cryptosign", Extra: wamp.Dict{"challenge": challenge, "channel_binding": cb}})
		if err == nil || !strings.Contains(err.Error(), `channel binding "`+cb+`" is not supported`) {
			t.Errorf("channel binding %q: %v", cb, err)
		}
	}
	// No binding, asked as null or not at all: a signature of the challenge.
	for _, extra := range []wamp.Dict{{"challenge": challenge}, {"challenge": challenge, "channel_binding": nil}} {
		sig, _, err := sign(t.Context(), &wamp.Challenge{AuthMethod: "cryptosign", Extra: extra})
		if err != nil {
			t.Fatalf("extra %v: %v", extra, err)
		}
		b, err := hex.DecodeString(sig)
		if err != nil || len(b) != 96 || hex.EncodeToString(b[64:]) != challenge ||
			!ed25519.Verify(key.Public().(ed25519.PublicKey), b[64:], b[:64]) {
			t.Fatalf("extra %v: signature %q does not sign the challenge", extra, sig)
		}
	}
	for _, bad := range []any{"abcd", strings.Repeat("zz", 32), int64(7), nil} {
		if _, _, err := sign(t.Context(), &wamp.Challenge{AuthMethod: "cryptosign", Extra: wamp.Dict{"challenge": bad}}); err == nil {
			t.Errorf("challenge %v accepted", bad)
		}
	}
}

// TestCRAIterationCap: a hostile router cannot make the client's key
// derivation run for ever, nor allocate a huge key: out-of-range salted
// CHALLENGE parameters are refused before any PBKDF2 runs.
func TestCRAIterationCap(t *testing.T) {
	sign := CRAAuth("password")
	for name, extra := range map[string]wamp.Dict{
		"iterations over the cap":         {"iterations": int64(maxCRAIterations + 1)},
		"iterations 2^40 as a JSON float": {"iterations": float64(1 << 40)},
		"iterations 2^63 as an unsigned":  {"iterations": uint64(1 << 63)},
		"iterations zero":                 {"iterations": int64(0)},
		"iterations negative":             {"iterations": int64(-5)},
		"iterations fractional":           {"iterations": 1000.5},
		"iterations as a string":          {"iterations": "1000"},
		"keylen over 256":                 {"keylen": int64(257)},
		"keylen zero":                     {"keylen": int64(0)},
	} {
		extra["challenge"], extra["salt"] = "{}", "salt"
		answered := async(func() error {
			_, _, err := sign(t.Context(), &wamp.Challenge{AuthMethod: "wampcra", Extra: extra})
			return err
		})
		select {
		case err := <-answered:
			if err == nil {
				t.Errorf("%s: answered", name)
			} else if !strings.Contains(err.Error(), "iterations") && !strings.Contains(err.Error(), "keylen") {
				t.Errorf("%s: %v does not say what is wrong", name, err)
			}
		case <-time.After(100 * time.Millisecond):
			t.Errorf("%s: no answer within 100 ms: the key derivation runs", name)
		}
	}
	if _, err := DeriveCRAKey("password", "salt", maxCRAIterations+1, 32); err == nil {
		t.Error("DeriveCRAKey accepted iterations over the cap")
	}
	if _, _, err := sign(t.Context(), &wamp.Challenge{AuthMethod: "wampcra", Extra: wamp.Dict{"salt": "salt"}}); err == nil ||
		!strings.Contains(err.Error(), "no challenge string") {
		t.Errorf("CHALLENGE without a challenge: %v", err)
	}
}

// TestAuthHelpersRefuseOtherMethods: each helper answers its own method
// only, and says so.
func TestAuthHelpersRefuseOtherMethods(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	helpers := map[string]ChallengeFunc{"ticket": TicketAuth("t"), "wampcra": CRAAuth("s"), "cryptosign": CryptosignAuth(key)}
	for method, f := range helpers {
		for other := range helpers {
			if other == method {
				continue
			}
			_, _, err := f(t.Context(), &wamp.Challenge{AuthMethod: other, Extra: wamp.Dict{}})
			want := method + ` authentication cannot answer a "` + other + `" challenge`
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s helper, %s challenge: %v, want %q", method, other, err, want)
			}
		}
	}
}

// TestChallengeForMethodNotOffered: a router that challenges a method the
// client did not offer breaks the protocol: the join fails at once with
// an error that names the method, without asking OnChallenge.
func TestChallengeForMethodNotOffered(t *testing.T) {
	for name, cfg := range map[string]*Config{
		"anonymous": {OnChallenge: TicketAuth("t")},
		"ticket":    {AuthID: "alice", AuthMethods: []string{"ticket"}, OnChallenge: TicketAuth("t")},
		"ticket through HelloDetails": {HelloDetails: wamp.Dict{"authmethods": wamp.List{"ticket"}},
			OnChallenge: func(context.Context, *wamp.Challenge) (string, wamp.Dict, error) {
				return "", nil, errors.New("OnChallenge called")
			}},
	} {
		t.Run(name, func(t *testing.T) {
			c, rp := pipe()
			r := &router{t: t, peer: rp}
			done := async(func() error {
				_, err := JoinPeer(t.Context(), c, "realm1", cfg)
				return err
			})
			expect[*wamp.Hello](r)
			r.send(&wamp.Challenge{AuthMethod: "wampcra", Extra: wamp.Dict{"challenge": "{}"}})
			a := expect[*wamp.Abort](r)
			if a.Reason != wamp.ErrProtocolViolation || !strings.Contains(a.Details["message"].(string), `"wampcra"`) {
				t.Errorf("ABORT %v", wamp.ToList(a))
			}
			err := within(t, done)
			if _, final := errors.AsType[*finalError](err); !final || !strings.Contains(err.Error(), `CHALLENGE for "wampcra", a method the client did not offer`) {
				t.Fatalf("join: %v", err)
			}
			r.closed()
		})
	}
}
