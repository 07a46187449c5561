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

// rawHandshake opens a raw socket connection and sends a JSON handshake
// announcing 2^(9+exp) bytes as the client's largest message; it returns
// the router's four-octet reply and the connection.
func rawHandshake(t *testing.T, network, addr string, exp byte) ([4]byte, net.Conn) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte{0x7F, exp<<4 | 1, 0, 0}); err != nil {
		t.Fatal(err)
	}
	var reply [4]byte
	if _, err := io.ReadFull(c, reply[:]); err != nil {
		t.Fatalf("%s %s: reading the handshake reply: %v", network, addr, err)
	}
	c.SetDeadline(time.Time{})
	return reply, c
}

// The router's refusals (the specification's error codes in the high
// nibble of the second octet).
var (
	lengthUnacceptable = [4]byte{0x7F, 2 << 4, 0, 0}
	connectionLimit    = [4]byte{0x7F, 4 << 4, 0, 0}
)

// TestRawSocketLimitsFromConfigFile: transports.rawsocket's unix,
// max_connections and min_client_length: the Unix socket serves, a client
// accepting too short messages gets the length-unacceptable reply, and
// the connection past the limit, on any raw socket listener, the
// connection-limit reply.
func TestRawSocketLimitsFromConfigFile(t *testing.T) {
	sock := filepath.Join(shortDir(t), "wampd.sock")
	addr, _ := startWampd(t, "--config", writeConfig(t, `{"realms": [{"name": "realm1"}],
  "transports": {"rawsocket": {"unix": "`+sock+`", "max_connections": 2, "min_client_length": 4096}}}`))

	// 512 and 2048 bytes are below 4096; 4096 is accepted.
	for _, exp := range []byte{0, 2} {
		if reply, _ := rawHandshake(t, "unix", sock, exp); reply != lengthUnacceptable {
			t.Fatalf("a client announcing %d bytes: reply % x, want % x", 512<<exp, reply, lengthUnacceptable)
		}
	}
	reply, first := rawHandshake(t, "unix", sock, 3)
	if reply[1]&0x0F != 1 || reply[1]>>4 == 0 {
		t.Fatalf("a client announcing 4096 bytes: reply % x, want acceptance", reply)
	}

	s, err := client.Join(t.Context(), "rs://"+addr, "realm1", nil)
	if err != nil {
		t.Fatalf("the second connection: %v", err)
	}
	defer s.Leave(context.Background())
	for _, l := range [][2]string{{"tcp", addr}, {"unix", sock}} {
		if reply, _ := rawHandshake(t, l[0], l[1], 15); reply != connectionLimit {
			t.Fatalf("a third connection over %s: reply % x, want % x", l[0], reply, connectionLimit)
		}
	}
	if _, err := client.Join(t.Context(), "unix://"+sock, "realm1", nil); err == nil || !strings.Contains(err.Error(), "maximum connection count reached") {
		t.Fatalf("the Go client's third connection: %v", err)
	}
	// A closed connection frees its place.
	first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s2, err := client.Join(t.Context(), "unix://"+sock, "realm1", nil)
		if err == nil {
			s2.Leave(t.Context())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no place 5 s after a connection closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRawSocketLimitFlags: --raw-max-connections and
// --raw-min-client-length, and their bad values.
func TestRawSocketLimitFlags(t *testing.T) {
	addr, _ := startWampd(t, "--raw-max-connections", "1", "--raw-min-client-length", "1024")
	if reply, _ := rawHandshake(t, "tcp", addr, 0); reply != lengthUnacceptable {
		t.Fatalf("a client announcing 512 bytes: reply % x, want % x", reply, lengthUnacceptable)
	}
	s, err := client.Join(t.Context(), "rs://"+addr, "realm1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Leave(context.Background())
	if reply, _ := rawHandshake(t, "tcp", addr, 15); reply != connectionLimit {
		t.Fatalf("a second connection: reply % x, want % x", reply, connectionLimit)
	}

	for _, c := range []struct{ args, want string }{
		{"--raw-max-connections=-1", "--raw-max-connections: -1 is negative"},
		{"--raw-min-client-length=16777216", "--raw-min-client-length: 16777216 is not from 0 to 16777215"},
	} {
		if err := run(t.Context(), []string{"--addr", "127.0.0.1:0", c.args}, io.Discard, io.Discard, nil); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := parseConfig([]byte(`{"transports": {"rawsocket": {"max_connections": -1, "min_client_length": 16777216, "unix": 5}}}`)); err == nil ||
		!strings.Contains(err.Error(), "transports.rawsocket.max_connections: must be an integer from 0 to") ||
		!strings.Contains(err.Error(), "transports.rawsocket.min_client_length: must be an integer from 0 to 16777215") ||
		!strings.Contains(err.Error(), "transports.rawsocket.unix: must be a string") {
		t.Errorf("bad rawsocket keys: %v", err)
	}
}
