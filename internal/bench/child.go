package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/rawsocket"
)

// The hidden first arguments that make this binary a child process. The
// second argument names the phase, for the profile's file name.
const (
	roleRouter = "serve-router"
	roleEcho   = "serve-echo"
)

// profileEnv names the directory where a child writes its CPU profile
// and, at each memory reading, its heap profile.
const profileEnv = "WAMPKIT_BENCH_CPUPROFILE"

// realm is the realm the router child serves.
const realm = "realm1"

func isRole(arg string) bool { return arg == roleRouter || arg == roleEcho }

// serveChild runs a child: it listens on 127.0.0.1:0, prints
// "listening ADDR" and then answers one line per command read on stdin.
// The router serves raw sockets on ADDR too, as wampd does, and on a Unix
// socket whose path follows: "listening ADDR PATH". The commands:
//
//	cpu   -> "cpu NANOSECONDS"               (user + system time so far)
//	mem   -> "mem HEAP STACKS RSS"           (bytes in use, after a GC)
//	cpu and mem answer "error MESSAGE" when they fail
//	quit  -> exits (so does the end of stdin, as when the parent dies)
//
// It returns the exit status.
func serveChild(args []string) int {
	role, phase := args[0], "run"
	if len(args) > 1 {
		phase = args[1]
	}
	if err := serve(role, phase, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", role, err)
		return 1
	}
	return 0
}

func serve(role, phase string, in io.Reader, out io.Writer) error {
	var h http.Handler
	var router *server.Router
	switch role {
	case roleRouter:
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		r, err := server.New(server.Config{Realms: []server.RealmConfig{{Name: realm}}, Logger: logger})
		if err != nil {
			return err
		}
		h = r.Handler(server.HTTPConfig{})
		router = r
	case roleEcho:
		mux := http.NewServeMux()
		mux.HandleFunc("/", echo)
		mux.Handle("/relay", newRelay())
		h = mux
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	profileDir := os.Getenv(profileEnv)
	profileName := strings.TrimPrefix(role, "serve-") + "-" + phase
	if profileDir != "" {
		f, err := os.Create(filepath.Join(profileDir, profileName+".cpu.pprof"))
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	listening, httpLn := ln.Addr().String(), ln
	if router != nil {
		var rawLn net.Listener
		httpLn, rawLn = rawsocket.NewSharedListener(ln, 0)
		dir, err := os.MkdirTemp("", "wampbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		unixLn, err := net.Listen("unix", filepath.Join(dir, "router.sock"))
		if err != nil {
			return err
		}
		defer unixLn.Close()
		for _, l := range []net.Listener{rawLn, unixLn} {
			go rawsocket.Serve(l, nil, router.Serve)
		}
		listening += " " + unixLn.Addr().String()
	}
	go srv.Serve(httpLn)
	if _, err := fmt.Fprintf(out, "listening %s\n", listening); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var reply string
		switch cmd := sc.Text(); cmd {
		case "cpu":
			if t, err := cpuTime(); err != nil {
				reply = "error " + err.Error()
			} else {
				reply = fmt.Sprintf("cpu %d", t)
			}
		case "mem":
			heap, stacks, rss, err := memory()
			if err == nil && profileDir != "" {
				err = writeHeapProfile(filepath.Join(profileDir, profileName+".heap.pprof"))
			}
			if err != nil {
				reply = "error " + err.Error()
			} else {
				reply = fmt.Sprintf("mem %d %d %d", heap, stacks, rss)
			}
		case "quit":
			return nil
		default:
			reply = fmt.Sprintf("error unknown command %q", cmd)
		}
		if _, err := fmt.Fprintln(out, reply); err != nil {
			return err
		}
	}
	return nil
}

// echo is the bare WebSocket echo server that the router is compared with:
// it reads a message and writes it back, nothing else.
func echo(w http.ResponseWriter, r *http.Request) {
	c, err := ws.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := context.Background()
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, p); err != nil {
			return
		}
	}
}

// relay is the bare four-message floor of a routed call: it pairs two
// WebSocket connections by their "pair" query parameter and forwards every
// message of one to the other, with no WAMP in between. A message from the
// caller to the callee and back is four messages, as CALL, INVOCATION,
// YIELD and RESULT are.
type relay struct {
	mu      sync.Mutex
	waiting map[string]relayEnd // the first connection of each pair
}

// relayEnd is the first connection of a pair, and what its handler waits
// for: the end of the pair.
type relayEnd struct {
	conn *ws.Conn
	done chan struct{}
}

func newRelay() *relay { return &relay{waiting: map[string]relayEnd{}} }

func (rl *relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pair := r.URL.Query().Get("pair")
	c, err := ws.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	rl.mu.Lock()
	first, paired := rl.waiting[pair]
	if !paired {
		first = relayEnd{conn: c, done: make(chan struct{})}
		rl.waiting[pair] = first
	} else {
		delete(rl.waiting, pair)
	}
	rl.mu.Unlock()
	if !paired {
		<-first.done // the second connection's handler relays both ways
		return
	}
	defer close(first.done)
	go forward(first.conn, c)
	forward(c, first.conn)
}

// forward writes every message read from src to dst, until either ends.
func forward(src, dst *ws.Conn) {
	ctx := context.Background()
	for {
		typ, p, err := src.Read(ctx)
		if err != nil {
			dst.CloseNow()
			return
		}
		if err := dst.Write(ctx, typ, p); err != nil {
			src.CloseNow()
			return
		}
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// memory collects garbage, returns what it can to the OS, and reports the
// Go heap and stacks in use and the resident set size.
func memory() (heap, stacks, rss uint64, err error) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("reading RSS: %w", err)
	}
	fields := strings.Fields(string(statm))
	if len(fields) < 2 {
		return 0, 0, 0, fmt.Errorf("reading RSS: unexpected /proc/self/statm %q", statm)
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("reading RSS: %w", err)
	}
	return ms.HeapInuse, ms.StackInuse, pages * uint64(os.Getpagesize()), nil
}

// writeHeapProfile writes the heap profile as of the last GC to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
