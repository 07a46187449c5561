package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/wamp"
)

func TestBridgeAndMetrics(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("file-secret-0123456789\n"), 0o600)
	addr, _ := startWampd(t, "--bridge-realm", "realm1", "--bridge-key", "k1:inline-secret-0123456789", "--bridge-key", "k2:@"+secretFile)

	for id, secret := range map[string]string{"k1": "inline-secret-0123456789", "k2": "file-secret-0123456789"} {
		body := `{"topic": "com.example.news", "args": ["from ` + id + `"]}`
		req, _ := http.NewRequest("POST", "http://"+addr+"/publish", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		server.SignBridgeRequest(req, id, secret, []byte(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(out), `{"id":`) {
			t.Fatalf("publish with key %s: %d %s", id, resp.StatusCode, out)
		}
	}

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`wampkit_sessions{realm="realm1",transport="http-bridge"} 1`,
		`wampkit_messages_received_total{type="PUBLISH"} 2`,
		`wampkit_messages_sent_total{type="PUBLISHED"} 2`,
	} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", out)
	}
}

func TestBridgeFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--bridge-key", "k:0123456789abcdef"}, "--bridge-key needs --bridge-realm"},
		{[]string{"--bridge-realm", "realm1"}, "--bridge-realm needs at least one --bridge-key"},
		{[]string{"--bridge-realm", "realm1", "--bridge-key", "nocolon"}, "want id:secret or id:@file"},
		{[]string{"--bridge-realm", "realm1", "--bridge-key", "k:@/nonexistent/secret"}, "--bridge-key k: open /nonexistent/secret"},
		{[]string{"--bridge-realm", "realm1", "--bridge-key", "k:short"}, `the secret of key "k" is shorter than 16 bytes`},
		{[]string{"--bridge-realm", "other", "--bridge-key", "k:0123456789abcdef"}, `no realm "other"`},
	} {
		err := run(t.Context(), append([]string{"--addr", "127.0.0.1:0"}, c.args...), io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}

// bridgePost signs and posts a bridge request, and returns its status and
// decoded body.
func bridgePost(t *testing.T, addr, action, keyID, secret, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/"+action, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	server.SignBridgeRequest(req, keyID, secret, []byte(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %d, body not JSON: %v", action, res.StatusCode, err)
	}
	res.Body.Close()
	return res.StatusCode, out
}

// bridgeRealm is a realm whose roles tell the bridge's permissions apart:
// notifier may only publish, relay may publish and call; anonymous
// sessions (the test's subscriber and callee) are service.
const bridgeRealm = `{"name": "realm1",
    "roles": [
      {"name": "notifier", "permissions": [{"uri": "com.example.", "match": "prefix", "allow": {"publish": true}}]},
      {"name": "relay", "permissions": [{"uri": "com.example.", "match": "prefix", "allow": {"publish": true, "call": true}}]},
      {"name": "service", "permissions": [{"uri": "com.example.", "match": "prefix", "allow": {"subscribe": true, "register": true}}]}
    ],
    "auth": {"anonymous": {"role": "service"}}}`

// subscribeNews joins realm1 at addr and subscribes to com.example.news.
func subscribeNews(t *testing.T, addr string) <-chan *client.Event {
	t.Helper()
	s, err := client.Join(t.Context(), "ws://"+addr+"/ws", "realm1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Leave(context.Background()) })
	events := make(chan *client.Event, 4)
	if _, err := s.Subscribe(t.Context(), "com.example.news", func(ev *client.Event) { events <- ev }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(t.Context(), "com.example.add", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: wamp.List{"added"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return events
}

func nextEvent(t *testing.T, events <-chan *client.Event) *client.Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return nil
}

// TestBridgeFromConfigFile: the file's bridge section (realm, authrole,
// authid, keys from an environment variable and a file) serves publish
// end to end, under its role's permissions.
func TestBridgeFromConfigFile(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "bridge.key")
	os.WriteFile(secretFile, []byte("file-secret-0123456789\n"), 0o600)
	t.Setenv("WAMPD_TEST_BRIDGE_SECRET", "env-secret-0123456789")
	path := writeConfig(t, `{"realms": [`+bridgeRealm+`],
  "bridge": {"realm": "realm1", "authrole": "notifier", "authid": "billing",
             "keys": {"k1": {"secret_env": "WAMPD_TEST_BRIDGE_SECRET"}, "k2": {"secret_file": "`+secretFile+`"}}}}`)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"--check-config", path}, &out, io.Discard, nil); err != nil || out.String() != path+": ok\n" {
		t.Fatalf("--check-config: %v, printed %q", err, out.String())
	}
	addr, _ := startWampd(t, "--config", path)
	events := subscribeNews(t, addr)

	for id, secret := range map[string]string{"k1": "env-secret-0123456789", "k2": "file-secret-0123456789"} {
		status, body := bridgePost(t, addr, "publish", id, secret, `{"topic": "com.example.news", "args": ["from `+id+`"], "options": {"disclose_me": true}}`)
		if status != http.StatusOK || body["id"] == nil {
			t.Fatalf("publish with %s: %d %v", id, status, body)
		}
		ev := nextEvent(t, events)
		if ev.Args[0] != "from "+id || ev.Details["publisher_authrole"] != "notifier" || ev.Details["publisher_authid"] != "billing" {
			t.Fatalf("EVENT args %v details %v", ev.Args, ev.Details)
		}
	}
	// The role may only publish: a call is refused by authorization, as
	// for any session of that role (a WAMP error: 200 with "error").
	status, body := bridgePost(t, addr, "call", "k1", "env-secret-0123456789", `{"procedure": "com.example.add"}`)
	if status != http.StatusOK || body["error"] != string(wamp.ErrNotAuthorized) ||
		fmt.Sprint(body["args"]) != `[role "notifier" may not call "com.example.add"]` {
		t.Fatalf("call by a publish-only bridge: %d %v", status, body)
	}
	// A wrong secret for a configured key is refused.
	if status, body := bridgePost(t, addr, "publish", "k1", "file-secret-0123456789", `{"topic": "com.example.news"}`); status != http.StatusUnauthorized {
		t.Fatalf("k1 signed with k2's secret: %d %v", status, body)
	}
}

// TestBridgeRoleFlag: --bridge-role sets the bridge's role, over the
// file's, and the role's permissions apply.
func TestBridgeRoleFlag(t *testing.T) {
	const secret = "flag-secret-0123456789"
	path := writeConfig(t, `{"realms": [`+bridgeRealm+`],
  "bridge": {"realm": "realm1", "authrole": "notifier", "keys": {"k1": {"secret": "`+secret+`"}}}}`)
	addr, _ := startWampd(t, "--config", path, "--bridge-role", "relay", "--bridge-key", "k2:"+secret+"-2")
	events := subscribeNews(t, addr)
	if status, body := bridgePost(t, addr, "publish", "k2", secret+"-2", `{"topic": "com.example.news", "options": {"disclose_me": true}}`); status != http.StatusOK {
		t.Fatalf("publish: %d %v", status, body)
	}
	if ev := nextEvent(t, events); ev.Details["publisher_authrole"] != "relay" || ev.Details["publisher_authid"] != "http-bridge" {
		t.Fatalf("EVENT details %v, want publisher_authrole relay", ev.Details)
	}
	status, body := bridgePost(t, addr, "call", "k1", secret, `{"procedure": "com.example.add"}`)
	if status != http.StatusOK || fmt.Sprint(body["args"]) != "[added]" {
		t.Fatalf("call by relay: %d %v", status, body)
	}

	// Flags alone, in a realm without roles.
	addr, _ = startWampd(t, "--bridge-realm", "realm1", "--bridge-role", "cron", "--bridge-key", "k:"+secret)
	events = subscribeNews(t, addr)
	if status, body := bridgePost(t, addr, "publish", "k", secret, `{"topic": "com.example.news", "options": {"disclose_me": true}}`); status != http.StatusOK {
		t.Fatalf("publish: %d %v", status, body)
	}
	if ev := nextEvent(t, events); ev.Details["publisher_authrole"] != "cron" {
		t.Fatalf("EVENT details %v, want publisher_authrole cron", ev.Details)
	}
}

// TestBridgeConfigFileErrors: the bridge section's mistakes, each at its
// place; a role the realm does not define is refused at start.
func TestBridgeConfigFileErrors(t *testing.T) {
	t.Setenv("WAMPD_TEST_EMPTY", "")
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.key")
	_, err := parseConfig([]byte(`{"realms": [` + bridgeRealm + `, {"name": "open"}],
  "bridge": {"realm": "realm1", "authrole": "ghost", "bogus": 1, "keys": {
    "a": {"secret_env": "WAMPD_TEST_EMPTY"},
    "b": {"secret_file": "` + missing + `"},
    "c": {"secret": "0123456789abcdef", "secret_env": "HOME"},
    "d": {"secret": "short"},
    "e": {}
  }}}`))
	if err == nil {
		t.Fatal("a bad bridge section was accepted")
	}
	for _, want := range []string{
		`bridge.authrole: realm "realm1" has no role "ghost"`,
		"bridge.bogus: unknown field",
		`bridge.keys["a"].secret_env: the environment variable WAMPD_TEST_EMPTY is not set`,
		`bridge.keys["b"].secret_file: open ` + missing + `: no such file or directory`,
		`bridge.keys["c"]: set exactly one of secret, secret_env and secret_file`,
		`bridge.keys["d"]: the secret is shorter than 16 bytes`,
		`bridge.keys["e"]: set exactly one of secret, secret_env and secret_file`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q", want)
		}
	}
	if t.Failed() {
		t.Logf("errors:\n%v", err)
	}
	for in, want := range map[string]string{
		`{"realms": [{"name": "a"}], "bridge": {"realm": "b", "keys": {"k": {"secret": "0123456789abcdef"}}}}`:            `bridge.realm: no realm "b" in realms`,
		`{"realms": [` + bridgeRealm + `], "bridge": {"realm": "realm1", "keys": {"k": {"secret": "0123456789abcdef"}}}}`: `bridge.authrole: realm "realm1" has no role "http-bridge"`,
		`{"bridge": {"keys": {}}}`:        "bridge.realm: the bridge needs a realm",
		`{"bridge": {"realm": "realm1"}}`: "bridge.keys: the bridge needs at least one key",
	} {
		if _, err := parseConfig([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}

	// At start: the file's undefined role with the file and its location;
	// the flag's with the router's refusal.
	path := writeConfig(t, `{"realms": [`+bridgeRealm+`], "bridge": {"realm": "realm1", "authrole": "ghost", "keys": {"k": {"secret": "0123456789abcdef"}}}}`)
	if err := run(t.Context(), []string{"--config", path, "--addr", "127.0.0.1:0"}, io.Discard, io.Discard, nil); err == nil ||
		err.Error() != path+`: bridge.authrole: realm "realm1" has no role "ghost"` {
		t.Errorf("--config with an undefined bridge role: %v", err)
	}
	path = writeConfig(t, `{"realms": [`+bridgeRealm+`]}`)
	if err := run(t.Context(), []string{"--config", path, "--addr", "127.0.0.1:0", "--bridge-realm", "realm1", "--bridge-role", "ghost", "--bridge-key", "k:0123456789abcdef"}, io.Discard, io.Discard, nil); err == nil ||
		err.Error() != `server: bridge: realm "realm1" has no role "ghost"` {
		t.Errorf("--bridge-role undefined in the realm: %v", err)
	}
}

// TestREADMEBridgeExample loads the README's bridge example.
func TestREADMEBridgeExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "An HTTP bridge that may only publish")
	_, block, ok2 := strings.Cut(section, "```json\n")
	block, _, ok3 := strings.Cut(block, "```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no bridge example")
	}
	t.Setenv("WAMPD_BRIDGE_SECRET", "readme-secret-0123456789")
	fc, err := parseConfig([]byte(block))
	if err != nil {
		t.Fatalf("the README's bridge example: %v", err)
	}
	want := server.BridgeConfig{Realm: "realm1", AuthRole: "notifier", AuthID: "billing", Keys: map[string]string{"billing-1": "readme-secret-0123456789"}}
	if b := fc.Bridge; b == nil || b.Realm != want.Realm || b.AuthRole != want.AuthRole || b.AuthID != want.AuthID || !maps.Equal(b.Keys, want.Keys) {
		t.Fatalf("read as %+v, want %+v", fc.Bridge, want)
	}
}
