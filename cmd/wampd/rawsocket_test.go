package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// freeAddr returns a TCP address of 127.0.0.1 that nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// shortDir is a fresh directory with a path short enough for a Unix
// socket.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wampd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestRawSocketListeners: raw sockets on the HTTP port, on --raw-addr and
// on --unix reach the same realm as WebSocket.
func TestRawSocketListeners(t *testing.T) {
	rawAddr := freeAddr(t)
	sock := filepath.Join(shortDir(t), "wampd.sock")
	addr, stop := startWampd(t, "--raw-addr", rawAddr, "--unix", sock)

	callee, err := client.Join(t.Context(), "ws://"+addr+"/ws", "realm1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer callee.Leave(context.Background())
	if _, err := callee.Register(t.Context(), "com.example.where", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: inv.Args}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"rs://" + addr, "rs://" + rawAddr, "unix://" + sock} {
		for _, ser := range []string{"json", "msgpack", "cbor"} {
			s, err := client.Join(t.Context(), url, "realm1", &client.Config{Serializer: ser})
			if err != nil {
				t.Fatalf("Join(%s, %s): %v", url, ser, err)
			}
			if info := s.Transport(); info.Transport != "rawsocket" {
				t.Errorf("%s: transport %q", url, info.Transport)
			}
			res, err := s.Call(t.Context(), "com.example.where", wamp.List{url}, nil)
			if err != nil || !reflect.DeepEqual(res.Args, wamp.List{url}) {
				t.Errorf("%s %s: call = %+v, %v", url, ser, res, err)
			}
			s.Leave(t.Context())
		}
	}
	// Shutdown says GOODBYE to raw socket sessions too, and frees the
	// socket path.
	s, err := client.Join(t.Context(), "unix://"+sock, "realm1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("run returned %v after shutdown", err)
	}
	select {
	case <-s.Done():
		if err := s.Err(); err == nil || !strings.Contains(err.Error(), "system_shutdown") {
			t.Errorf("session ended with %v, want wamp.close.system_shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the raw socket session did not end at shutdown")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there after shutdown: %v", err)
	}
}

func TestRawSocketFlags(t *testing.T) {
	addr, _ := startWampd(t, "--raw-shared=false")
	// HTTP waits for the end of a request line that never comes.
	jctx, jcancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer jcancel()
	if _, err := client.Join(jctx, "rs://"+addr, "realm1", nil); err == nil {
		t.Error("rs:// joined on the HTTP port with --raw-shared=false")
	}

	// A socket file left behind by a process that is gone is replaced.
	dir := shortDir(t)
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	startWampd(t, "--unix", stale)
	s, err := client.Join(t.Context(), "unix://"+stale, "realm1", nil)
	if err != nil {
		t.Fatalf("join over the replaced socket: %v", err)
	}
	s.Leave(t.Context())

	// A path in use, or not a socket, is refused.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := run(ctx, []string{"--addr", "127.0.0.1:0", "--unix", stale}, io.Discard, io.Discard, nil); err == nil || !strings.Contains(err.Error(), "another process serves") {
		t.Errorf("--unix on a served path: %v", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if err := run(ctx, []string{"--addr", "127.0.0.1:0", "--unix", file}, io.Discard, io.Discard, nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("--unix on a plain file: %v", err)
	}
}

// TestRawSocketFromConfigFile: transports.rawsocket.listen in the config
// file opens a raw socket listener, as --raw-addr does.
func TestRawSocketFromConfigFile(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	path := filepath.Join(t.TempDir(), "raw.json")
	os.WriteFile(path, []byte(`{"realms": [{"name": "realm1"}], "transports": {"rawsocket": {"listen": "`+addr+`"}}}`), 0o600)
	startWampd(t, "--config", path)
	s, err := client.Join(t.Context(), "rs://"+addr, "realm1", nil)
	if err != nil {
		t.Fatalf("join over the configured raw socket: %v", err)
	}
	s.Leave(t.Context())
}
