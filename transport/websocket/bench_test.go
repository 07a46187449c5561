//go:build !js

package websocket_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// The client half of BenchmarkIdleConnections runs in a child process, so
// that the parent measures the accepting side alone.
const (
	idleURLEnv = "WAMPKIT_IDLE_URL"
	idleNEnv   = "WAMPKIT_IDLE_N"
)

// inUse is the memory that live objects and goroutine stacks take.
var probe = func() {}

func inUse() uint64 {
	probe()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// BenchmarkIdleConnections opens 2,000 idle connections (WAMPKIT_IDLE_N
// changes the number) from a child process and reports the heap and stack
// that each costs the accepting side, whose handler goroutine waits in
// Recv as a router's reader does, and the client side, which has no reader.
func BenchmarkIdleConnections(b *testing.B) {
	n := 2000
	if s := os.Getenv(idleNEnv); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("%s: %v", idleNEnv, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var accepted atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		accepted.Add(1)
		go func() {
			for {
				if _, err := p.Recv(); err != nil {
					return
				}
			}
		}()
	})}
	go srv.Serve(ln)
	defer srv.Close()

	before := inUse()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClient$")
	cmd.Env = append(os.Environ(), idleURLEnv+"=ws://"+ln.Addr().String(), idleNEnv+"="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()

	var clientKiB float64
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "client KiB/conn "); ok {
			clientKiB, _ = strconv.ParseFloat(v, 64)
			break
		}
	}
	if clientKiB == 0 {
		b.Fatal("the client process did not connect")
	}
	go io.Copy(io.Discard, stdout)
	deadline := time.Now().Add(30 * time.Second)
	for accepted.Load() < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d connections accepted", accepted.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let every handler settle in Recv
	serverKiB := float64(inUse()-before) / float64(n) / 1024
	b.ReportMetric(serverKiB, "server-KiB/conn")
	b.ReportMetric(clientKiB, "client-KiB/conn")
}

// TestIdleClient is the client half of BenchmarkIdleConnections; it does
// nothing unless that benchmark started it.
func TestIdleClient(t *testing.T) {
	url := os.Getenv(idleURLEnv)
	if url == "" {
		t.Skip("helper process of BenchmarkIdleConnections")
	}
	n, err := strconv.Atoi(os.Getenv(idleNEnv))
	if err != nil {
		t.Fatal(err)
	}
	before := inUse()
	peers := make([]transport.Peer, 0, n)
	for range n {
		p, err := websocket.Dial(context.Background(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		peers = append(peers, p)
	}
	fmt.Printf("client KiB/conn %.2f\n", float64(inUse()-before)/float64(n)/1024)
	io.Copy(io.Discard, os.Stdin) // hold the connections until the parent is done
	runtime.KeepAlive(peers)
	os.Exit(0)
}

// BenchmarkRoundTrip sends a CALL from a client to an accepting peer and a
// RESULT back, over loopback, for each serializer.
func BenchmarkRoundTrip(b *testing.B) {
	call := &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.add", Args: wamp.List{int64(2), int64(3)}}
	result := &wamp.Result{Request: 1, Details: wamp.Dict{}, Args: wamp.List{int64(5)}}
	for _, c := range codec.All {
		b.Run(c.Name(), func(b *testing.B) {
			peers := make(chan transport.Peer, 1)
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if p, err := websocket.Accept(w, r, nil); err == nil {
					peers <- p
				}
			}))
			defer hs.Close()
			client, err := websocket.Dial(b.Context(), "ws"+strings.TrimPrefix(hs.URL, "http"), &websocket.DialOptions{Codecs: []codec.Codec{c}})
			if err != nil {
				b.Fatal(err)
			}
			srv := <-peers
			go func() {
				for {
					if _, err := srv.Recv(); err != nil {
						return
					}
					if err := srv.Send(result); err != nil {
						return
					}
				}
			}()
			b.ReportAllocs()
			for b.Loop() {
				if err := client.Send(call); err != nil {
					b.Fatal(err)
				}
				if _, err := client.Recv(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			go client.Recv()
			srv.Close()
		})
	}
}
