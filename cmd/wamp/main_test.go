package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp"
)

// wampBin is the wamp binary built for the tests.
var wampBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wamp-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wampBin = filepath.Join(dir, "wamp")
	out, err := exec.Command("go", "build", "-o", wampBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Credentials of the secure realm's users.
const (
	craSecret    = "cra-s3cret"
	saltPassword = "salted password"
)

// signerSeed is the Ed25519 seed of the secure realm's cryptosign user.
var signerSeed = bytes.Repeat([]byte{7}, ed25519.SeedSize)

// testRouter is a router serving realm1 (anonymous) and secure, whose
// users are joe (ticket s3cret, role user), ann (WAMP-CRA craSecret, role
// cra), sal (WAMP-CRA, salted, password saltPassword, role salted) and kim
// (cryptosign with signerSeed, role signer). It listens for WebSocket
// (ws), raw sockets over TCP (rs) and a Unix socket (unix).
type testRouter struct {
	ws, rs, unix string
	r            *server.Router
}

// startRouter starts a testRouter and returns its WebSocket URL.
func startRouter(t *testing.T) string {
	t.Helper()
	return startTestRouter(t).ws
}

func startTestRouter(t *testing.T) *testRouter {
	t.Helper()
	saltedKey, err := client.DeriveCRAKey(saltPassword, "pepper", 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	signer := ed25519.NewKeyFromSeed(signerSeed)
	r, err := server.New(server.Config{
		Realms: []server.RealmConfig{
			{Name: "realm1"},
			{Name: "secure", Auth: server.AuthConfig{
				Ticket: &server.TicketAuth{
					Principals: map[string]server.TicketPrincipal{"joe": {Role: "user", Ticket: "s3cret"}},
				},
				WAMPCRA: &server.WAMPCRAAuth{Users: map[string]server.CRAUser{
					"ann": {Role: "cra", Secret: craSecret},
					"sal": {Role: "salted", Secret: saltedKey, Salt: "pepper", Iterations: 1000, KeyLen: 32},
				}},
				Cryptosign: &server.CryptosignAuth{Principals: map[string]server.CryptosignPrincipal{
					"kim": {Role: "signer", AuthorizedKeys: []string{hex.EncodeToString(signer.Public().(ed25519.PublicKey))}},
				}},
			}},
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler(server.HTTPConfig{}))
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "wamp")
	if err != nil {
		t.Fatal(err)
	}
	unix, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	for _, ln := range []net.Listener{tcp, unix} {
		serving.Go(func() { rawsocket.Serve(ln, nil, r.Serve) })
	}
	t.Cleanup(func() {
		tcp.Close()
		unix.Close()
		serving.Wait()
		r.Close()
		srv.Close()
		os.RemoveAll(dir)
	})
	return &testRouter{
		ws:   "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws",
		rs:   "rs://" + tcp.Addr().String(),
		unix: "unix://" + unix.Addr().String(),
		r:    r,
	}
}

// session joins realm1 in-process.
func session(t *testing.T, url string) *client.Session {
	t.Helper()
	s, err := client.Join(t.Context(), url, "realm1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Leave(context.Background()) })
	return s
}

// wampRun runs the binary to its end.
func wampRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wampBin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("wamp %v: %v", args, err)
	}
	return out.String(), errOut.String(), 0
}

func TestCall(t *testing.T) {
	url := startRouter(t)
	s := session(t, url)
	echo := func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
	}
	if _, err := s.Register(t.Context(), "com.example.echo", echo); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(t.Context(), "com.example.bytes", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: wamp.List{[]byte{1, 2}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"com.example.echo", "1", "two", `{"a":[true,null]}`, "k=3", "s=x", `"p=q"`}, `{"args":[1,"two",{"a":[true,null]},"p=q"],"kwargs":{"k":3,"s":"x"}}`},
		{[]string{"com.example.echo", "5"}, "5"},
		{[]string{"com.example.echo", "-2.5"}, "-2.5"},
		{[]string{"com.example.echo", `"\u0000AQI="`}, `"\u0000AQI="`},
		{[]string{"com.example.echo"}, ""},
		{[]string{"com.example.bytes"}, `"\u0000AQI="`},
	} {
		for _, ser := range []string{"json", "msgpack", "cbor"} {
			out, errOut, code := wampRun(t, append([]string{"--url", url, "--serializer", ser, "call"}, c.args...)...)
			if code != 0 || strings.TrimSpace(out) != c.want {
				t.Errorf("%s call %v: exit %d, stdout %q, stderr %q; want %q", ser, c.args, code, out, errOut, c.want)
			}
		}
	}
	// Flags after the command name.
	if out, _, code := wampRun(t, "call", "--url", url, "com.example.echo", "7"); code != 0 || out != "7\n" {
		t.Errorf("flags after the command: exit %d, %q", code, out)
	}
}

func TestCallErrorExitsOne(t *testing.T) {
	url := startRouter(t)
	s := session(t, url)
	if _, err := s.Register(t.Context(), "com.example.fail", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		return nil, &wamp.Error{URI: "com.example.error.bad", Args: wamp.List{"nope"}, Kwargs: wamp.Dict{"n": 1}}
	}); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := wampRun(t, "--url", url, "call", "com.example.fail")
	if code != 1 || errOut != "wamp: com.example.error.bad [\"nope\"] {\"n\":1}\n" {
		t.Errorf("callee error: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = wampRun(t, "--url", url, "call", "com.example.nothing")
	if code != 1 || !strings.HasPrefix(errOut, "wamp: wamp.error.no_such_procedure") {
		t.Errorf("no such procedure: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = wampRun(t, "--url", url, "publish", "wamp.session.on_join")
	if code != 1 || !strings.HasPrefix(errOut, "wamp: wamp.error.not_authorized") {
		t.Errorf("publish under wamp.: exit %d, stderr %q", code, errOut)
	}
}

func TestCallTimeout(t *testing.T) {
	url := startRouter(t)
	s := session(t, url)
	if _, err := s.Register(t.Context(), "com.example.slow", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, errOut, code := wampRun(t, "--url", url, "--timeout", "200ms", "call", "com.example.slow")
	if code != 1 || !strings.HasPrefix(errOut, "wamp: wamp.error.timeout") {
		t.Errorf("slow call: exit %d, stderr %q", code, errOut)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the call took %v with --timeout 200ms", d)
	}
}

func TestPublish(t *testing.T) {
	url := startRouter(t)
	s := session(t, url)
	events := make(chan *client.Event, 1)
	if _, err := s.Subscribe(t.Context(), "com.example.news", func(ev *client.Event) { events <- ev }); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := wampRun(t, "--url", url, "publish", "com.example.news", "1", "hello", "at=[1,2]"); code != 0 || out != "" {
		t.Fatalf("publish: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	select {
	case ev := <-events:
		at, _ := ev.Kwargs["at"].(wamp.List)
		if len(ev.Args) != 2 || ev.Args[0] != int64(1) || ev.Args[1] != "hello" || len(at) != 2 || at[1] != int64(2) {
			t.Fatalf("event %v %v", ev.Args, ev.Kwargs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
}

// started is a wamp process that runs until interrupted.
type started struct {
	cmd    *exec.Cmd
	lines  *bufio.Scanner
	stderr *bytes.Buffer
}

func start(t *testing.T, args ...string) *started {
	t.Helper()
	cmd := exec.Command(wampBin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &started{cmd: cmd, lines: bufio.NewScanner(out), stderr: &errOut}
}

// interrupt sends SIGINT and returns the exit status.
func (p *started) interrupt(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			return ee.ExitCode()
		}
		return 0
	case <-time.After(5 * time.Second):
		t.Fatal("wamp did not exit within 5 s of SIGINT")
	}
	return -1
}

// waitFor retries f until it succeeds or 10 s pass.
func waitFor(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSubscribe(t *testing.T) {
	url := startRouter(t)
	s := session(t, url)
	p := start(t, "--url", url, "subscribe", "com.example.news")
	waitFor(t, "the subscription", func() error {
		res, err := s.Call(t.Context(), "wamp.subscription.lookup", wamp.List{"com.example.news"}, nil)
		if err != nil {
			return err
		}
		if len(res.Args) == 0 || res.Args[0] == nil {
			return errors.New("not subscribed yet")
		}
		return nil
	})
	for i := range 3 {
		if err := s.Publish(t.Context(), "com.example.news", wamp.List{int64(i), []byte{0xff}}, wamp.Dict{"n": "x"}, client.Acknowledge()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if !p.lines.Scan() {
			t.Fatalf("no line %d: %v; stderr %q", i, p.lines.Err(), p.stderr)
		}
		want := fmt.Sprintf(`{"args":[%d,"\u0000/w=="],"kwargs":{"n":"x"},"details":{}}`, i)
		if got := p.lines.Text(); got != want {
			t.Errorf("line %d: %s, want %s", i, got, want)
		}
	}
	if code := p.interrupt(t); code != 0 {
		t.Errorf("exit %d after SIGINT, want 0; stderr %q", code, p.stderr)
	}
}

func TestRegister(t *testing.T) {
	url := startRouter(t)
	s := session(t, url)
	for _, c := range []struct {
		proc   string
		script string
	}{
		{"com.example.cat", "cat"},
		{"com.example.hello", `echo "hello $WAMP_PROCEDURE"`},
		{"com.example.fail", "echo oops >&2; exit 3"},
		{"com.example.silent", "exit 0"},
	} {
		p := start(t, "--url", url, "register", c.proc, "--", "sh", "-c", c.script)
		t.Cleanup(func() { p.interrupt(t) })
		waitFor(t, "registration of "+c.proc, func() error {
			res, err := s.Call(t.Context(), "wamp.registration.lookup", wamp.List{c.proc}, nil)
			if err != nil {
				return err
			}
			if len(res.Args) == 0 || res.Args[0] == nil {
				return errors.New("not registered yet")
			}
			return nil
		})
	}

	res, err := s.Call(t.Context(), "com.example.cat", wamp.List{int64(1), "two"}, wamp.Dict{"k": []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := res.Args[0].(wamp.Dict)
	args, _ := in["args"].(wamp.List)
	kwargs, _ := in["kwargs"].(wamp.Dict)
	if len(res.Args) != 1 || len(args) != 2 || args[0] != int64(1) || args[1] != "two" || !bytes.Equal(kwargs["k"].([]byte), []byte{1}) {
		t.Errorf("cat: %v, want the input {args, kwargs} back", res.Args)
	}

	res, err = s.Call(t.Context(), "com.example.hello", nil, nil)
	if err != nil || len(res.Args) != 1 || res.Args[0] != "hello com.example.hello" {
		t.Errorf("echo: %v %v", res, err)
	}

	_, err = s.Call(t.Context(), "com.example.fail", nil, nil)
	werr, ok := errors.AsType[*wamp.Error](err)
	if !ok || werr.URI != client.RuntimeErrorURI || len(werr.Args) != 1 || werr.Args[0] != "oops" || werr.Kwargs["exit_code"] != int64(3) {
		t.Errorf("failing command: %v", err)
	}

	res, err = s.Call(t.Context(), "com.example.silent", nil, nil)
	if err != nil || len(res.Args) != 0 {
		t.Errorf("silent command: %v %v", res, err)
	}
}

func TestExitCodes(t *testing.T) {
	url := startRouter(t)
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no command", nil, 2, "usage:"},
		{"unknown command", []string{"frobnicate"}, 2, `wamp: unknown command "frobnicate"`},
		{"unknown flag", []string{"--frob", "call", "x"}, 2, "flag provided but not defined: -frob"},
		{"call without procedure", []string{"--url", url, "call"}, 2, "wamp: call needs a URI"},
		{"subscribe with two topics", []string{"--url", url, "subscribe", "a", "b"}, 2, "wamp: subscribe takes one topic"},
		{"register without command", []string{"--url", url, "register", "a.b", "--"}, 2, "wamp: register needs a command"},
		{"register of a missing command", []string{"--url", url, "register", "a.b", "--", "/nonexistent/cmd"}, 2, "wamp: register:"},
		{"duplicate kwarg", []string{"--url", url, "call", "a.b", "k=1", "k=2"}, 2, `wamp: keyword argument "k" given twice`},
		{"bad serializer", []string{"--url", url, "--serializer", "xml", "call", "a.b"}, 2, `wamp: unknown serializer "xml"`},
		{"bad URL scheme", []string{"--url", "ftp://127.0.0.1/", "call", "a.b"}, 2, "wamp: --url:"},
		{"bad private key", []string{"--url", url, "--private-key", "abcd", "call", "a.b"}, 2, "wamp: --private-key: 2 bytes"},
		{"connection refused", []string{"--url", "ws://127.0.0.1:1/ws", "--timeout", "2s", "call", "a.b"}, 3, "wamp: cannot join realm realm1 at ws://127.0.0.1:1/ws"},
		{"no such realm", []string{"--url", url, "--realm", "nowhere", "call", "a.b"}, 3, "wamp.error.no_such_realm"},
		{"wrong ticket", []string{"--url", url, "--realm", "secure", "--authid", "joe", "--ticket", "wrong", "publish", "a.b"}, 3, "wamp: cannot join realm secure at " + url + ": wamp.error.authentication_failed"},
		{"right ticket", []string{"--url", url, "--realm", "secure", "--authid", "joe", "--ticket", "s3cret", "publish", "a.b"}, 0, ""},
		{"help", []string{"-h"}, 0, "usage:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := wampRun(t, c.args...)
			if code != c.code || !strings.Contains(errOut, c.stderr) {
				t.Errorf("exit %d, stderr %q; want %d with %q", code, errOut, c.code, c.stderr)
			}
		})
	}
}

// TestAuthentication: --secret (WAMP-CRA, plain and salted) and
// --private-key (cryptosign, as a seed and as a full key) complete a real
// authentication: the router's callee sees the user's authid and role. A
// wrong secret or key fails the join with exit status 3.
func TestAuthentication(t *testing.T) {
	tr := startTestRouter(t)
	callee, err := client.Join(t.Context(), tr.ws, "secure", &client.Config{
		AuthID: "joe", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("s3cret"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { callee.Leave(context.Background()) })
	if _, err := callee.Register(t.Context(), "com.example.whoami", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: wamp.List{wamp.Dict{"authid": inv.Details["caller_authid"], "authrole": inv.Details["caller_authrole"]}}}, nil
	}, client.DiscloseCaller()); err != nil {
		t.Fatal(err)
	}
	signer := ed25519.NewKeyFromSeed(signerSeed)
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"wampcra", []string{"--authid", "ann", "--secret", craSecret}, 0, `{"authid":"ann","authrole":"cra"}`, ""},
		{"wampcra salted", []string{"--authid", "sal", "--secret", saltPassword}, 0, `{"authid":"sal","authrole":"salted"}`, ""},
		{"cryptosign seed", []string{"--authid", "kim", "--private-key", hex.EncodeToString(signerSeed)}, 0, `{"authid":"kim","authrole":"signer"}`, ""},
		{"cryptosign key", []string{"--authid", "kim", "--private-key", hex.EncodeToString(signer)}, 0, `{"authid":"kim","authrole":"signer"}`, ""},
		{"cryptosign without authid", []string{"--private-key", hex.EncodeToString(signerSeed)}, 0, `{"authid":"kim","authrole":"signer"}`, ""},
		{"wrong secret", []string{"--authid", "ann", "--secret", "wrong"}, 3, "", "wamp.error.authentication_failed"},
		{"salted user with its derived key", []string{"--authid", "sal", "--secret", "pepper"}, 3, "", "wamp.error.authentication_failed"},
		{"unknown key", []string{"--authid", "kim", "--private-key", hex.EncodeToString(otherKey.Seed())}, 3, "", "wamp.error.authentication_failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, url := range []string{tr.ws, tr.rs} {
				out, errOut, code := wampRun(t, append(append([]string{"--url", url, "--realm", "secure"}, c.args...), "call", "com.example.whoami")...)
				if code != c.code || strings.TrimSpace(out) != c.stdout || !strings.Contains(errOut, c.stderr) {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", url, code, out, errOut, c.code, c.stdout, c.stderr)
				}
			}
		})
	}
}

// TestURLHelpListsSchemes: the --url help names every scheme that the
// client says it dials.
func TestURLHelpListsSchemes(t *testing.T) {
	_, errOut, _ := wampRun(t, "--url", "ftp://127.0.0.1/", "call", "a.b")
	_, list, ok := strings.Cut(errOut, "(want ")
	list, _, _ = strings.Cut(list, ")")
	if !ok || list == "" {
		t.Fatalf("no scheme list in %q", errOut)
	}
	schemes := strings.Fields(strings.NewReplacer(",", " ", " or ", " ").Replace(list))
	if len(schemes) < 7 {
		t.Fatalf("schemes %q from %q", schemes, errOut)
	}
	_, help, code := wampRun(t, "-h")
	_, urlHelp, _ := strings.Cut(help, "-url URL")
	urlHelp, _, _ = strings.Cut(urlHelp, "(default")
	words := strings.FieldsFunc(urlHelp, func(r rune) bool { return r < 'a' || r > 'z' })
	for _, scheme := range schemes {
		if !slices.Contains(words, scheme) {
			t.Errorf("--url help %q does not name %s", urlHelp, scheme)
		}
	}
	if code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}

// TestRawSocketURLs: call and publish over rs:// and unix:// reach a
// callee and a subscriber joined over WebSocket; during the call, the
// router counts one raw socket session (the caller).
func TestRawSocketURLs(t *testing.T) {
	tr := startTestRouter(t)
	s := session(t, tr.ws)
	if _, err := s.Register(t.Context(), "com.example.transport", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		raw := tr.r.Stats().Sessions[server.SessionKey{Realm: "realm1", Transport: "rawsocket"}]
		return &client.Result{Args: wamp.List{inv.Args[0]}, Kwargs: wamp.Dict{"serializer": inv.Kwargs["serializer"], "rawsocket_sessions": raw}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	events := make(chan *client.Event, 1)
	if _, err := s.Subscribe(t.Context(), "com.example.news", func(ev *client.Event) { events <- ev }); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{tr.rs, tr.unix} {
		for _, ser := range []string{"json", "msgpack", "cbor"} {
			out, errOut, code := wampRun(t, "--url", url, "--serializer", ser, "call", "com.example.transport", url, "serializer="+ser)
			if want := fmt.Sprintf(`{"args":[%q],"kwargs":{"rawsocket_sessions":1,"serializer":%q}}`, url, ser); code != 0 || strings.TrimSpace(out) != want {
				t.Errorf("call over %s with %s: exit %d, stdout %q, stderr %q; want %s", url, ser, code, out, errOut, want)
			}
		}
		if out, errOut, code := wampRun(t, "--url", url, "publish", "com.example.news", url); code != 0 || out != "" {
			t.Fatalf("publish over %s: exit %d, stdout %q, stderr %q", url, code, out, errOut)
		}
		select {
		case ev := <-events:
			if len(ev.Args) != 1 || ev.Args[0] != url {
				t.Errorf("event published over %s: %v", url, ev.Args)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event published over %s", url)
		}
	}
}

func TestSessionLostExitsThree(t *testing.T) {
	r, err := server.New(server.Config{Realms: []server.RealmConfig{{Name: "realm1"}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler(server.HTTPConfig{}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	p := start(t, "--url", url, "subscribe", "com.example.news")
	// Wait until the session exists, then close every session at once.
	waitFor(t, "the session", func() error {
		if len(r.Stats().Sessions) == 0 {
			return errors.New("no session yet")
		}
		return nil
	})
	r.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		ee, ok := errors.AsType[*exec.ExitError](err)
		if !ok || ee.ExitCode() != 3 || !strings.Contains(p.stderr.String(), "session lost") {
			t.Fatalf("exit %v, stderr %q; want 3 and session lost", err, p.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wamp subscribe did not notice the router closing")
	}
}
