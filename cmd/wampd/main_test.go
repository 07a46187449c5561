package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp"
)

// startWampd runs wampd with args on a free port and returns its address
// and a function that stops it (as SIGTERM would) and returns run's error.
func startWampd(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, append([]string{"--addr", "127.0.0.1:0", "--log-level", "error"}, args...), io.Discard, io.Discard, ready)
	}()
	select {
	case addr := <-ready:
		stopped := false
		stop := func() error {
			if stopped {
				return nil
			}
			stopped = true
			cancel()
			select {
			case err := <-errc:
				return err
			case <-time.After(15 * time.Second):
				return errors.New("wampd did not stop within 15 s")
			}
		}
		t.Cleanup(func() { stop() })
		return addr, stop
	case err := <-errc:
		cancel()
		t.Fatalf("wampd did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("wampd did not start within 10 s")
	}
	return "", nil
}

// TestHealthz: /healthz answers 200 "ok" while wampd serves, and 503
// with a reason once shutdown has begun, through the drain.
func TestHealthz(t *testing.T) {
	addr, stop := startWampd(t)
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}

	// A session that never answers GOODBYE holds the drain open for the
	// router's goodbye timeout (2 s).
	p, err := rawsocket.Dial(t.Context(), "tcp", addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}}); err != nil {
		t.Fatal(err)
	}
	if m, err := p.Recv(); err != nil || m.Type() != wamp.TypeWelcome {
		t.Fatalf("HELLO answered with %v, %v", m, err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	for {
		code, body := get()
		if code == http.StatusServiceUnavailable {
			if body != "shutting down\n" {
				t.Fatalf("/healthz during shutdown: %d %q", code, body)
			}
			break
		}
		if code != 200 {
			t.Fatalf("/healthz: %d %q", code, body)
		}
		select {
		case err := <-stopped:
			t.Fatalf("wampd stopped (%v) and /healthz never answered 503", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// Meanwhile a new session is told why it cannot join.
	_, err = client.Join(t.Context(), "ws://"+addr+"/ws", "realm1", nil)
	if werr, ok := errors.AsType[*wamp.Error](err); !ok || werr.URI != wamp.ErrSystemShutdown {
		t.Errorf("join during the drain: %v, want ABORT %s", err, wamp.ErrSystemShutdown)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v", err)
	}
}

func TestGracefulShutdownSaysGoodbye(t *testing.T) {
	addr, stop := startWampd(t, "--realm", "app")
	s, err := client.Join(t.Context(), "ws://"+addr+"/ws", "app", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("run returned %v after shutdown", err)
	}
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session still open after shutdown")
	}
	cerr, ok := errors.AsType[*client.CloseError](s.Err())
	if !ok || cerr.Reason != wamp.ErrSystemShutdown {
		t.Fatalf("session ended with %v, want GOODBYE %s", s.Err(), wamp.ErrSystemShutdown)
	}
}

func TestUnknownRealmAborts(t *testing.T) {
	addr, _ := startWampd(t) // realm1 only
	_, err := client.Join(t.Context(), "ws://"+addr+"/ws", "other", nil)
	werr, ok := errors.AsType[*wamp.Error](err)
	if !ok || werr.URI != wamp.ErrNoSuchRealm {
		t.Fatalf("join of an unknown realm: %v", err)
	}
	if _, err := client.Join(t.Context(), "ws://"+addr+"/ws", "realm1", nil); err != nil {
		t.Fatalf("join realm1: %v", err)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"realms": [{"name": "fromfile"}], "limits": {"max_pending_calls": 5}}`), 0o600)
	addr, _ := startWampd(t, "--config", good)
	if _, err := client.Join(t.Context(), "ws://"+addr+"/ws", "fromfile", nil); err != nil {
		t.Fatalf("join the configured realm: %v", err)
	}

	for name, body := range map[string]string{
		"unknown field": `{"realms": [{"name": "a"}], "bogus": 1}`,
		"bad realm":     `{"realms": [{"name": "a b"}]}`,
		"not json":      `{`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		os.WriteFile(path, []byte(body), 0o600)
		err := run(t.Context(), []string{"--config", path, "--addr", "127.0.0.1:0"}, io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"--version"}, &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "wampd ") || !strings.Contains(out.String(), "go1.") {
		t.Fatalf("--version printed %q", out.String())
	}
}
