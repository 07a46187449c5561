package main

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

const base = `"realm":"r","url":"ws://h/ws","transports":["websocket"]`

// The first test vector of the WAMP-Cryptosign specification: the seed,
// its public key, and the signature of a challenge of 32 0xff bytes.
const (
	seedHex = "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510"
	pubHex  = "1adfc8bfe1d35616e64dffbd900096f23b066f914c8c2ffbb66f6075b96e116d"
	sigHex  = "b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03"
)

func TestCredentials(t *testing.T) {
	for _, tc := range []struct {
		in      string
		methods []string
		extra   wamp.Dict
	}{
		{`"authid":"joe","ticket":"t"`, []string{"ticket"}, nil},
		{`"authid":"joe","secret":"s"`, []string{"wampcra"}, nil},
		{`"privateKey":"` + seedHex + `"`, []string{"cryptosign"}, wamp.Dict{"pubkey": pubHex}},
		{`"privateKey":"\u0000` + "TVfZemj1VWlmIKbYScDOWCVoUY1ynrdT3HxzLeKARRA=" + `"`, []string{"cryptosign"}, wamp.Dict{"pubkey": pubHex}},
		{`"authid":"joe","ticket":"t","secret":"s","privateKey":"` + seedHex + `","authextra":{"x":1}`,
			[]string{"cryptosign", "wampcra", "ticket"}, wamp.Dict{"x": int64(1), "pubkey": pubHex}},
		{`"authid":"joe","ticket":"t","authmethods":["cookie","ticket"]`, []string{"cookie", "ticket"}, nil},
		{`"authid":"joe"`, nil, nil},
	} {
		c, err := decodeConnectConfig([]byte("{" + base + "," + tc.in + "}"))
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if !reflect.DeepEqual(c.authMethods, tc.methods) || !reflect.DeepEqual(c.authExtra, tc.extra) {
			t.Errorf("%s: authmethods %v, authextra %v; want %v, %v", tc.in, c.authMethods, c.authExtra, tc.methods, tc.extra)
		}
	}

	for in, want := range map[string]string{
		`"ticket":"t"`:                            "ticket needs authid",
		`"secret":"s"`:                            "secret needs authid",
		`"authid":"joe","ticket":""`:              "ticket is empty",
		`"authid":"joe","ticket":5`:               "ticket: want a string, got a number",
		`"privateKey":"abcd"`:                     "privateKey: want 64 hex digits",
		`"privateKey":"` + seedHex[:62] + `zz"`:   "privateKey: want 64 hex digits",
		`"privateKey":"\u0000AAEC"`:               "want an Ed25519 seed of 32 bytes, got 3",
		`"privateKey":{"seed":"` + seedHex + `"}`: "privateKey: want a hex string or a Uint8Array, got an object",
	} {
		_, err := decodeConnectConfig([]byte("{" + base + "," + in + "}"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

func TestCredentialsAnswerChallenges(t *testing.T) {
	c, err := decodeConnectConfig([]byte("{" + base + `,"authid":"joe","ticket":"t1","secret":"pw","privateKey":"` + seedHex + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var asked []string
	page := func(_ context.Context, ch *wamp.Challenge) (string, wamp.Dict, error) {
		asked = append(asked, ch.AuthMethod)
		return "from the page", nil, nil
	}
	f := c.onChallenge(page)

	sig, _, err := f(ctx, &wamp.Challenge{AuthMethod: "ticket", Extra: wamp.Dict{}})
	if err != nil || sig != "t1" {
		t.Errorf("ticket: %q, %v", sig, err)
	}

	cra := &wamp.Challenge{AuthMethod: "wampcra", Extra: wamp.Dict{"challenge": "c", "salt": "salt", "iterations": int64(10), "keylen": int64(32)}}
	want, _, _ := client.CRAAuth("pw")(ctx, cra)
	if sig, _, err := f(ctx, cra); err != nil || sig != want {
		t.Errorf("wampcra: %q, %v; want %q", sig, err, want)
	}

	challenge := strings.Repeat("ff", 32)
	sig, _, err = f(ctx, &wamp.Challenge{AuthMethod: "cryptosign", Extra: wamp.Dict{"challenge": challenge}})
	if err != nil || sig != sigHex+challenge {
		t.Errorf("cryptosign: %q, %v; want the specification's signature", sig, err)
	}

	// Other methods go to the page's onchallenge.
	if sig, _, err := f(ctx, &wamp.Challenge{AuthMethod: "scram"}); err != nil || sig != "from the page" || !reflect.DeepEqual(asked, []string{"scram"}) {
		t.Errorf("scram: %q, %v, asked %v", sig, err, asked)
	}
	// Without onchallenge, they fail with a reason.
	if _, _, err := c.onChallenge(nil)(ctx, &wamp.Challenge{AuthMethod: "scram"}); err == nil || !strings.Contains(err.Error(), `no credentials for the router's "scram" challenge`) {
		t.Errorf("scram without onchallenge: %v", err)
	}
	// No credentials: the page's hook alone, or none.
	plain, _ := decodeConnectConfig([]byte("{" + base + "}"))
	if plain.onChallenge(nil) != nil {
		t.Error("an OnChallenge without credentials nor onchallenge")
	}
}
