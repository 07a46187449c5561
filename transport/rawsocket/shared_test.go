//go:build !js

package rawsocket_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/internal/testcert"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// echo serves a peer by sending back every message it receives.
func echo(p transport.Peer) {
	defer p.Close()
	for {
		m, err := p.Recv()
		if err != nil {
			return
		}
		if p.Send(m) != nil {
			return
		}
	}
}

// roundTrip sends a message on p and checks that it comes back.
func roundTrip(t *testing.T, p transport.Peer) {
	t.Helper()
	want := &wamp.Publish{Request: 3, Options: wamp.Dict{}, Topic: "com.example.echo", Args: wamp.List{"hi", []byte{1, 2}}}
	send(t, p, want)
	if got := recv(t, p); !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

// TestSharedListener: HTTP and raw socket clients on one port, a silent
// client holding up neither.
func TestSharedListener(t *testing.T) {
	ln := listen(t, "tcp")
	addr := ln.Addr().String()
	httpLn, rawLn := rawsocket.NewSharedListener(ln, 300*time.Millisecond)
	if httpLn.Addr().String() != addr || rawLn.Addr().String() != addr {
		t.Errorf("Addr() = %v and %v, want %s", httpLn.Addr(), rawLn.Addr(), addr)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "http ok")
	})}
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Serve(httpLn) }()
	rawDone := make(chan error, 1)
	go func() { rawDone <- rawsocket.Serve(rawLn, nil, echo) }()

	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	start := time.Now()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "http ok" {
		t.Errorf("HTTP body %q", body)
	}
	for _, c := range codec.All {
		p, err := rawsocket.Dial(t.Context(), "tcp", addr, &rawsocket.DialOptions{Codec: c})
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, p)
		p.Close()
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("HTTP and raw socket took %v next to a silent client", d)
	}

	// The silent client goes to HTTP once the peek times out.
	time.Sleep(400 * time.Millisecond)
	silent.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(silent, "GET / HTTP/1.0\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(silent), nil)
	if err != nil {
		t.Fatalf("the silent client's late HTTP request: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "http ok" {
		t.Errorf("late HTTP body %q", body)
	}

	// Closing one side leaves the other serving; closing both closes ln.
	hs.Close()
	if err := <-httpDone; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("http.Server.Serve = %v", err)
	}
	p, err := rawsocket.Dial(t.Context(), "tcp", addr, nil)
	if err != nil {
		t.Fatalf("raw socket after the HTTP side closed: %v", err)
	}
	roundTrip(t, p)
	p.Close()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	expectEOF(t, c) // HTTP is gone: dropped
	c.Close()
	rawLn.Close()
	if err := <-rawDone; err != nil {
		t.Errorf("Serve = %v after its listener closed", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the port still accepts after both sides closed")
	}
}

func TestSharedListenerBaseClosed(t *testing.T) {
	ln := listen(t, "unix")
	httpLn, rawLn := rawsocket.NewSharedListener(ln, 0)
	ln.Close()
	for _, l := range []net.Listener{httpLn, rawLn} {
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after the base closed: %v, want net.ErrClosed", err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestTLS(t *testing.T) {
	ca := testcert.NewCA(t, "wampkit raw socket test CA")
	cert, pool := ca.Issue(t, "127.0.0.1"), ca.Pool
	ln := tls.NewListener(listen(t, "tcp"), &tls.Config{Certificates: []tls.Certificate{cert}})
	defer ln.Close()
	s, err := rawsocket.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln, echo) }()
	defer func() { ln.Close(); <-done }()
	addr := ln.Addr().String()

	p, err := rawsocket.Dial(t.Context(), "tcp", addr, &rawsocket.DialOptions{Codec: codec.MessagePack, TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, p)
	if err := p.(transport.BatchSender).SendBatch([]wamp.Message{&wamp.Published{Request: 1, Publication: 2}, &wamp.Published{Request: 3, Publication: 4}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []wamp.ID{1, 3} {
		if m := recv(t, p).(*wamp.Published); m.Request != want {
			t.Errorf("request %d, want %d", m.Request, want)
		}
	}
	p.Close()

	_, err = rawsocket.Dial(t.Context(), "tcp", addr, &rawsocket.DialOptions{TLSConfig: &tls.Config{}})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Dial trusting no CA: %v, want a certificate error", err)
	}
}

// TestSharedListenerWrites: the HTTP side's writes, which go out with raw
// system calls, wait for a slow reader and stop at the write deadline.
func TestSharedListenerWrites(t *testing.T) {
	ln := listen(t, "tcp")
	httpLn, rawLn := rawsocket.NewSharedListener(ln, 0)
	defer rawLn.Close()
	want := strings.Repeat("0123456789abcdef", 1<<19) // 8 MiB, far more than the socket buffers
	writeErr := make(chan error, 1)
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			if r.URL.Path == "/stalled" {
				rc.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
			}
			_, err := io.WriteString(w, want)
			if err == nil {
				err = rc.Flush()
			}
			if r.URL.Path == "/stalled" {
				writeErr <- err
			}
		}),
	}
	go hs.Serve(httpLn)
	defer hs.Close()

	// A slow reader gets it all, in order.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /slow HTTP/1.0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	buf := make([]byte, 256<<10)
	for {
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", got.Len(), err)
		}
		time.Sleep(time.Millisecond)
	}
	if got.String() != want {
		t.Fatalf("read %d bytes, not the %d written", got.Len(), len(want))
	}

	// A client that never reads: the write fails at the deadline.
	stalled, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	io.WriteString(stalled, "GET /stalled HTTP/1.0\r\n\r\n")
	select {
	case err := <-writeErr:
		if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
			t.Fatalf("write to a client that does not read: %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write to a client that does not read outlived its deadline by 10 s")
	}
}
