package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/wamp"
)

const example = "testdata/example.json"

// TestExampleConfig loads the README's example and logs in with each of
// its methods against a running wampd.
func TestExampleConfig(t *testing.T) {
	fc, err := loadConfigFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if len(fc.Warnings) != 0 {
		t.Errorf("the example has warnings: %v", fc.Warnings)
	}
	r := fc.Router
	if len(r.Realms) != 2 || len(r.Realms[0].Roles) != 4 || r.Realms[0].Roles[2].Permissions[2].Match != "wildcard" ||
		r.Realms[0].Auth.WAMPCRA.Users["peter"].Iterations != 4096 || r.Realms[1].Auth.Ticket.AuthenticatorRealm != "realm1" ||
		r.AuthFailuresPerAddress != (server.RateLimit{Burst: 10, Every: 6e9}) || fc.WebSocketPath != "/ws" {
		t.Fatalf("example read as %+v", fc)
	}
	// The keys that act only at run time, read into the router's
	// configuration: the maximum call timeout, a role's trust level (one
	// role has one), the event history.
	cfg, hc := fc.apply(server.Config{}, server.HTTPConfig{})
	if cfg.MaxCallTimeout != 10*time.Minute || cfg.DefaultCallTimeout != 0 {
		t.Errorf("call timeouts read as default %v, max %v", cfg.DefaultCallTimeout, cfg.MaxCallTimeout)
	}
	for i, ro := range cfg.Realms[0].Roles {
		if (ro.TrustLevel != nil) != (ro.Name == "backend") || ro.TrustLevel != nil && *ro.TrustLevel != 2 {
			t.Errorf("roles[%d] %q: trust level %v", i, ro.Name, ro.TrustLevel)
		}
	}
	if h := cfg.Realms[0].EventHistory; !reflect.DeepEqual(h, []server.EventHistoryConfig{{Topic: "com.example.public.news", Match: "exact", Limit: 100}}) {
		t.Errorf("event_history read as %+v", h)
	}
	if !reflect.DeepEqual(hc.OriginPatterns, []string{"app.example.com", "*.example.org"}) {
		t.Errorf("allowed_origins read as %v", hc.OriginPatterns)
	}

	addr, _ := startWampd(t, "--config", example)
	url := "ws://" + addr + "/ws"
	join := func(realm string, cfg *client.Config) (*client.Session, error) {
		s, err := client.Join(t.Context(), url, realm, cfg)
		if err == nil {
			t.Cleanup(func() { s.Leave(context.Background()) })
		}
		return s, err
	}

	backend, err := join("realm1", &client.Config{AuthID: "backend-1", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("backend-ticket-change-me")})
	if err != nil {
		t.Fatalf("backend (ticket): %v", err)
	}
	if _, err := backend.Register(t.Context(), "com.example.authenticate", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		if inv.Args[1] == "zoe" && inv.Args[2].(wamp.Dict)["ticket"] == "zoe-ticket" {
			return &client.Result{Args: wamp.List{"user"}}, nil
		}
		return nil, &wamp.Error{URI: "com.example.no_such_user"}
	}); err != nil {
		t.Fatal(err)
	}

	peter, err := join("realm1", &client.Config{AuthID: "peter", AuthMethods: []string{"wampcra"}, OnChallenge: client.CRAAuth("peter-password")})
	if err != nil {
		t.Fatalf("peter (wampcra): %v", err)
	}
	if _, err := peter.Call(t.Context(), "wamp.session.count", nil, nil); err != nil {
		t.Fatalf("frontend calls wamp.session.count: %v", err)
	}
	_, err = peter.Call(t.Context(), "com.example.admin.reset", nil, nil)
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrNotAuthorized {
		t.Fatalf("frontend calls an admin procedure: %v", err)
	}

	seed, _ := hex.DecodeString("6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b")
	key := ed25519.NewKeyFromSeed(seed)
	device, err := join("realm1", &client.Config{AuthMethods: []string{"cryptosign"}, AuthExtra: client.CryptosignAuthExtra(key), OnChallenge: client.CryptosignAuth(key)})
	if err != nil {
		t.Fatalf("device-7 (cryptosign): %v", err)
	}
	if d := device.Details(); d["authid"] != "device-7" || d["authrole"] != "frontend" {
		t.Fatalf("device-7 details %v", d)
	}

	anon, err := join("realm1", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.Call(t.Context(), "wamp.session.count", nil, nil)
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrNotAuthorized {
		t.Fatalf("anonymous calls wamp.session.count: %v", err)
	}

	zoe, err := join("app", &client.Config{AuthID: "zoe", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("zoe-ticket")})
	if err != nil {
		t.Fatalf("zoe (dynamic ticket in app): %v", err)
	}
	if d := zoe.Details(); d["authrole"] != "user" || d["authprovider"] != "dynamic" {
		t.Fatalf("zoe details %v", d)
	}
	_, err = join("app", &client.Config{AuthID: "zoe", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("wrong")})
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrAuthenticationFailed {
		t.Fatalf("zoe with a wrong ticket: %v", err)
	}
}

// TestConfigErrorsWithLocations checks that one file's every mistake is
// reported, each at its place.
func TestConfigErrorsWithLocations(t *testing.T) {
	bad := `{
  "listen": 8080,
  "transports": {"websocket": {"path": "ws"}, "rawsocket": {"listen": "127.0.0.1:8081"}},
  "limits": {"hello_timeout_ms": -5, "auth_failures_per_address": {"burst": 0}},
  "realms": [
    {"name": "a b", "bogus": true},
    {
      "name": "app",
      "roles": [
        {"name": "user", "permissions": [
          {"uri": "com.ok", "allow": {"call": true}},
          {"uri": "com..x", "match": "exact", "allow": {"call": "yes"}},
          {"uri": "com.x", "match": "fuzzy"}
        ]},
        {"name": "user"},
        {"name": "dyn", "authorizer": "com.auth", "permissions": [{"uri": "a.b"}]}
      ],
      "auth": {
        "anonymous": {"role": "visitor"},
        "ticket": {"principals": {"joe": {"role": "nobody", "ticket": "t", "ticket_hash": "x"}, "ann": {"role": "user"}}},
        "wampcra": {"type": "dynamic"},
        "cryptosign": {"principals": {"dev": {"role": "user", "authorized_keys": ["abcd", 5]}}},
        "scram": {}
      }
    },
    {"name": "other", "auth": {"ticket": {"authenticator": "com.auth.t"}}},
    {"name": "third", "roles": [{"name": "r"}], "auth": {"cryptosign": {"authenticator": "com.auth.c", "authenticator_realm": "nowhere"}}}
  ]
}`
	_, err := parseConfig([]byte(bad))
	if err == nil {
		t.Fatal("a bad file was accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"listen: must be a string, not a number",
		`transports.websocket.path: must start with /`,
		"limits.hello_timeout_ms: must be an integer from 0 to",
		"limits.auth_failures_per_address.burst: must be positive, or -1",
		`realms[0].bogus: unknown field`,
		`realms[0].name: invalid realm name "a b"`,
		`realms[1].roles[0].permissions[1].uri: invalid URI "com..x" for match "exact"`,
		`realms[1].roles[0].permissions[1].allow.call: must be true or false, not a string`,
		`realms[1].roles[0].permissions[2].match: match "fuzzy" is not one of exact, prefix, wildcard`,
		`realms[1].roles[1].name: duplicate role "user"`,
		`realms[1].roles[2]: a role has permissions or an authorizer, not both`,
		`realms[1].auth.anonymous.role: realm "app" has no role "visitor"`,
		`realms[1].auth.ticket.principals["joe"].role: realm "app" has no role "nobody"`,
		`realms[1].auth.ticket.principals["joe"]: set exactly one of ticket and ticket_hash`,
		`realms[1].auth.ticket.principals["ann"]: set exactly one of ticket and ticket_hash`,
		`realms[1].auth.wampcra.authenticator: a dynamic method needs an authenticator procedure`,
		`realms[1].auth.cryptosign.principals["dev"].authorized_keys[0]: not an Ed25519 public key`,
		`realms[1].auth.cryptosign.principals["dev"].authorized_keys[1]: must be a string, not a number`,
		`realms[1].auth.scram: unknown field`,
		`realms[3].auth.cryptosign.authenticator_realm: no realm "nowhere" on this router`,
		`realms[2].auth.ticket.authenticator: realm "other", which would host the authenticator, has no roles`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q", want)
		}
	}
	if t.Failed() {
		t.Logf("errors:\n%s", msg)
	}
	// Each mistake once: a value of the wrong type is not reported again
	// as missing by the router's checks.
	if n := strings.Count(msg, `authorized_keys[1]`); n != 1 {
		t.Errorf("authorized_keys[1] reported %d times", n)
	}

	for in, want := range map[string]string{
		"{\n  \"realms\": [\n    {\"name\": \"a\",}\n  ]\n}": "line 3, column 18: not JSON",
		`{"realms": []} {}`: "data after the top-level object",
		`[]`:                "must be an object, not a list",
	} {
		if _, err := parseConfig([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseConfig(%q): %v, want %q", in, err, want)
		}
	}
}

func TestCheckConfigFlag(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.json")
	os.WriteFile(plain, []byte(`{"realms": [{"name": "r", "auth": {"ticket": {"principals": {"joe": {"role": "user", "ticket": "t"}}}}}]}`), 0o600)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"--check-config", plain}, &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, plain+": ok") || !strings.Contains(s, `warning: realms[0].auth.ticket.principals["joe"].ticket: a ticket in clear`) {
		t.Fatalf("--check-config printed %q", s)
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"realms": [{"name": "r", "roles": [{"name": 1}], "auth": {"anonymous": {"role": "x"}}}]}`), 0o600)
	err := run(t.Context(), []string{"--check-config", bad}, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), bad+": 2 mistakes") || !strings.Contains(err.Error(), "realms[0].roles[0].name: must be a string") {
		t.Fatalf("--check-config of a bad file: %v", err)
	}
	// --config checks the same at start.
	err = run(t.Context(), []string{"--config", bad, "--addr", "127.0.0.1:0"}, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "realms[0].roles[0].name") {
		t.Fatalf("--config of a bad file: %v", err)
	}
}

func TestHashTicketFlag(t *testing.T) {
	var out bytes.Buffer
	if err := hashTicket(strings.NewReader("s3cret\n"), &out); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(out.String())
	cfg := server.Config{Realms: []server.RealmConfig{{Name: "r", Auth: server.AuthConfig{Ticket: &server.TicketAuth{
		Principals: map[string]server.TicketPrincipal{"joe": {Role: "user", TicketHash: h}},
	}}}}}
	if !strings.HasPrefix(h, "pbkdf2-sha256$") || cfg.Validate() != nil {
		t.Fatalf("--hash-ticket printed %q: %v", h, cfg.Validate())
	}
	if err := hashTicket(strings.NewReader(""), io.Discard); err == nil {
		t.Fatal("an empty ticket was hashed")
	}
	// HMAC pads a short key with zeros: "s3cret\x00" would hash as "s3cret".
	if err := hashTicket(strings.NewReader("s3cret\x00\n"), io.Discard); err == nil {
		t.Fatal("a ticket with a NUL byte was hashed")
	}
}

// TestREADMEShowsTheExample keeps the README's configuration example the
// file that TestExampleConfig loads.
func TestREADMEShowsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Configuration file\n")
	_, block, ok2 := strings.Cut(section, "```json\n")
	block, _, ok3 := strings.Cut(block, "```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no JSON example in its Configuration file section")
	}
	file, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if block != string(file) {
		t.Fatalf("README.md's example differs from %s", example)
	}
}
