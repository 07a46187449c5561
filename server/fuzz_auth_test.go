package server

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// The fuzz targets of authentication. FuzzAuthenticate runs a whole
// handshake per input: HELLO (with a fuzzed authid and authextra), the
// router's CHALLENGE, a fuzzed AUTHENTICATE, then WELCOME or ABORT.
// FuzzAuthVerify feeds the same inputs to the realm's authenticators
// directly, many times faster. FuzzCryptosignVerify checks the cryptosign
// signature check alone, channel binding included. Fuzzed input must never
// authenticate unless it is the credential itself. The seeds are in
// testdata/fuzz/<Target>; FuzzAuthenticate and FuzzAuthVerify have the same.

// Authentication methods of the auth fuzz targets, by the input's method
// byte.
var fuzzMethods = []string{methodTicket, methodWAMPCRA, methodCryptosign}

// fuzzAuthRouter is a router whose realm "secure" is secureRealm, with
// bob's ticket hashed with one PBKDF2 iteration (a login costs microseconds,
// not 30 ms) and no limit on failed attempts, which fuzzing makes by the
// million.
func fuzzAuthRouter(t testing.TB) *Router {
	rc := secureRealm()
	salt := []byte("fuzz-salt")
	rc.Auth.Ticket = &TicketAuth{Principals: map[string]TicketPrincipal{
		"alice": {Role: "user", Ticket: "alice-ticket"},
		"bob":   {Role: "admin", TicketHash: ticketHash{iterations: 1, salt: salt, key: deriveTicket("bob-ticket", salt, 1)}.String()},
	}}
	return newTestRouter(t, Config{
		Realms:                 []RealmConfig{rc},
		AuthFailuresPerAddress: RateLimit{Burst: -1},
		AuthFailuresPerAuthID:  RateLimit{Burst: -1},
	})
}

// fuzzUser is who may log in with a method, and how.
type fuzzUser struct {
	role string
	// sign answers the CHALLENGE with the right credential.
	sign func(ch *wamp.Challenge) string
}

// daveKey is dave's derived wampcra key, derived once: each derivation
// costs a thousand HMACs.
var daveKey = sync.OnceValue(func() string { return deriveCRA("dave-password", "salt123", 1000, 32) })

// fuzzUsers lists, per method, the users of the fuzzed realm.
var fuzzUsers = map[string]map[string]fuzzUser{
	methodTicket: {
		"alice": {"user", func(*wamp.Challenge) string { return "alice-ticket" }},
		"bob":   {"admin", func(*wamp.Challenge) string { return "bob-ticket" }},
	},
	methodWAMPCRA: {
		"carol": {"user", func(ch *wamp.Challenge) string { return hmacB64("carol-secret", ch.Extra["challenge"].(string)) }},
		"dave": {"admin", func(ch *wamp.Challenge) string {
			return hmacB64(daveKey(), ch.Extra["challenge"].(string))
		}},
	},
	methodCryptosign: {
		"erin": {"user", func(ch *wamp.Challenge) string { return signCS(erinKey, ch) }},
	},
}

// fuzzFirstUser names, per method, the user whose credential an unknown
// authid tries.
var fuzzFirstUser = map[string]string{methodTicket: "alice", methodWAMPCRA: "carol", methodCryptosign: "erin"}

// jsonDict decodes data as a JSON object, or returns nil.
func jsonDict(data []byte) wamp.Dict {
	v, err := codec.DecodeJSONValue(data)
	if err != nil {
		return nil
	}
	d, _ := v.(wamp.Dict)
	return d
}

// fuzzSignature builds the AUTHENTICATE signature from the input: sig as
// it is (mode 0), or sig with every "{}" replaced by the right credential
// (mode 1) or by it in upper case (mode 2), so that the fuzzer explores
// what lies near the credential: a prefix, a suffix, a changed case.
func fuzzSignature(mode uint8, sig, good string) string {
	switch mode % 3 {
	case 1:
		return strings.ReplaceAll(sig, "{}", good)
	case 2:
		return strings.ReplaceAll(sig, "{}", strings.ToUpper(good))
	}
	return sig
}

// authInput is one fuzzed login attempt.
type authInput struct {
	method    string
	authid    string
	authextra wamp.Dict // HELLO.Details.authextra
	mode      uint8
	sig       string
	extra     wamp.Dict // AUTHENTICATE.Extra
}

// newAuthInput reads the fuzz input: for cryptosign, authextra.pubkey is
// erin's unless helloExtra sets one.
func newAuthInput(method uint8, authid string, mode uint8, sig string, extra, helloExtra []byte) authInput {
	in := authInput{method: fuzzMethods[int(method)%len(fuzzMethods)], authid: authid, authextra: jsonDict(helloExtra),
		mode: mode, sig: sig, extra: jsonDict(extra)}
	if in.authextra == nil {
		in.authextra = wamp.Dict{}
	}
	if _, ok := in.authextra["pubkey"]; !ok && in.method == methodCryptosign {
		in.authextra["pubkey"] = pubHex(erinKey)
	}
	return in
}

// pubkey is the cryptosign public key of the HELLO, or nil when it is
// missing or malformed, which the router refuses at HELLO.
func (in authInput) pubkey() []byte {
	s, _ := in.authextra["pubkey"].(string)
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil
	}
	return b
}

// outcome is what the router must do with an attempt.
type outcome struct {
	signature string // what AUTHENTICATE carries
	welcome   bool   // only then is the session welcomed ...
	authid    string // ... with this authid
	role      string // ... and role
}

// expect answers ch the fuzzed way and tells what must happen.
func (in authInput) expect(ch *wamp.Challenge) outcome {
	users := fuzzUsers[in.method]
	user, known := users[in.authid]
	authid := in.authid
	if in.method == methodCryptosign {
		// The key picks the user; an authid must be that user's.
		user, authid = users["erin"], "erin"
		known = bytes.Equal(in.pubkey(), erinKey.Public().(ed25519.PublicKey)) && (in.authid == "" || in.authid == "erin")
	}
	if !known {
		user = users[fuzzFirstUser[in.method]]
	}
	good := user.sign(ch)
	o := outcome{signature: fuzzSignature(in.mode, in.sig, good), authid: authid, role: user.role}
	right := o.signature == good
	if in.method == methodCryptosign {
		// The signature is bytes in hex, either case.
		a, errA := hex.DecodeString(o.signature)
		b, _ := hex.DecodeString(good)
		right = errA == nil && bytes.Equal(a, b)
	}
	o.welcome = known && right
	return o
}

// FuzzAuthenticate runs a handshake per input: HELLO for one method with
// the fuzzed authid and authextra, then, after the router's CHALLENGE, an
// AUTHENTICATE with the fuzzed signature and extra. The router welcomes
// the session, with the user's authid and role, exactly when the signature
// is the credential of a known user (for cryptosign: the same bytes, in
// either hex case, for erin's key, with authid "" or erin's); otherwise it
// aborts with wamp.error.authentication_failed (or not_authorized) and
// closes. A cryptosign HELLO without a valid public key gets no CHALLENGE.
func FuzzAuthenticate(f *testing.F) {
	r := fuzzAuthRouter(f)
	f.Fuzz(func(t *testing.T, method uint8, authid string, mode uint8, sig string, extra, helloExtra []byte) {
		in := newAuthInput(method, authid, mode, sig, extra, helloExtra)
		c := connect(t, r)
		c.hello("secure", in.authid, []string{in.method}, in.authextra)
		if in.method == methodCryptosign && in.pubkey() == nil {
			c.authFailed("authextra.pubkey")
			return
		}
		o := in.expect(c.challenge(in.method))
		c.send(&wamp.Authenticate{Signature: o.signature, Extra: in.extra})
		got := c.next()
		if o.welcome {
			w, ok := got.(*wamp.Welcome)
			if !ok || w.Details["authid"] != o.authid || w.Details["authrole"] != o.role || w.Details["authmethod"] != in.method {
				t.Fatalf("%s %q with the right credential %q: got %s %v, want WELCOME as %q (%s)", in.method, in.authid, o.signature, got.Type(), got, o.authid, o.role)
			}
			return
		}
		a, ok := got.(*wamp.Abort)
		if !ok || (a.Reason != wamp.ErrAuthenticationFailed && a.Reason != wamp.ErrNotAuthorized) {
			t.Fatalf("%s %q with %q: got %s %v, want ABORT authentication_failed", in.method, in.authid, o.signature, got.Type(), got)
		}
		c.expectClosed()
	})
}

// FuzzAuthVerify gives the inputs of FuzzAuthenticate to the realm's
// authenticators directly: hello, then the challenge's verify. verify
// returns the user's identity exactly when FuzzAuthenticate's router
// welcomes; otherwise an *authError that counts as a guess, so that the
// failed-attempt limits see every wrong credential.
func FuzzAuthVerify(f *testing.F) {
	rlm := fuzzAuthRouter(f).realm("secure")
	f.Fuzz(func(t *testing.T, method uint8, authid string, mode uint8, sig string, extra, helloExtra []byte) {
		in := newAuthInput(method, authid, mode, sig, extra, helloExtra)
		req := &authRequest{realm: rlm.name, authid: in.authid, authextra: in.authextra, session: 1, secure: true}
		id, ch, err := rlm.auth[in.method].hello(t.Context(), req)
		if in.method == methodCryptosign && in.pubkey() == nil {
			if e, ok := errors.AsType[*authError](err); !ok || e.uri != wamp.ErrAuthenticationFailed || id != nil || ch != nil {
				t.Fatalf("cryptosign hello with authextra %v: %v, %v, %v; want an authentication_failed error", in.authextra, id, ch, err)
			}
			return
		}
		if err != nil || id != nil || ch == nil {
			t.Fatalf("%s hello for %q: %v, %v, %v; want a challenge", in.method, in.authid, id, ch, err)
		}
		o := in.expect(&wamp.Challenge{AuthMethod: in.method, Extra: ch.extra})
		id, err = ch.verify(t.Context(), &wamp.Authenticate{Signature: o.signature, Extra: in.extra})
		if o.welcome {
			if err != nil || id == nil || id.authid != o.authid || id.authrole != o.role || id.authmethod != in.method {
				t.Fatalf("%s %q with the right credential %q: %+v, %v; want %q (%s)", in.method, in.authid, o.signature, id, err, o.authid, o.role)
			}
			return
		}
		e, ok := errors.AsType[*authError](err)
		if id != nil || !ok || !e.guess || (e.uri != wamp.ErrAuthenticationFailed && e.uri != wamp.ErrNotAuthorized) {
			t.Fatalf("%s %q with %q: %+v, %v; want a guess that failed", in.method, in.authid, o.signature, id, err)
		}
	})
}

// FuzzCryptosignVerify checks the cryptosign signature check alone, with
// and without a channel ID: it accepts a fuzzed signature exactly when its
// bytes are those of the right answer (signature, then the message
// signed), in either hex case. mode builds the signature as in
// FuzzAuthenticate.
func FuzzCryptosignVerify(f *testing.F) {
	pub := erinKey.Public().(ed25519.PublicKey)
	challenge := bytes.Repeat([]byte{0xa5}, 32)
	channelID := bytes.Repeat([]byte{0x3c}, 32)
	answer := func(cid []byte) []byte {
		msg := bytes.Clone(challenge)
		for i := range cid {
			msg[i] ^= cid[i]
		}
		return append(ed25519.Sign(erinKey, msg), msg...)
	}
	goodPlain, goodBound := answer(nil), answer(channelID)
	f.Fuzz(func(t *testing.T, bound bool, mode uint8, sig string) {
		cid, good := []byte(nil), goodPlain
		if bound {
			cid, good = channelID, goodBound
		}
		sent := fuzzSignature(mode, sig, hex.EncodeToString(good))
		b, err := hex.DecodeString(sent)
		want := err == nil && bytes.Equal(b, good)
		if got := cryptosignVerify(pub, challenge, cid, sent); got != want {
			t.Fatalf("cryptosignVerify(%q, channel binding %v) = %v, want %v", sent, bound, got, want)
		}
	})
}
