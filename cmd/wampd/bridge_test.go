package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wampkit/wampkit/server"
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
