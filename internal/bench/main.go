// Command bench measures the wampkit router against a bare WebSocket echo
// server and prints one table, each figure next to its ceiling or target
// with PASS or FAIL. It is what `make bench` runs after the codec
// micro-benchmarks:
//
//	go run ./internal/bench [-short] [-serializer json|msgpack|cbor] [-sessions N] [-check] [-profile DIR]
//
// The router and the echo server each run in a child process (this binary
// re-executed with a hidden role argument), so that each one's CPU time
// and memory are its own. The clients run in this process. The phases:
//
//   - RPC: sequential round trips (p50, p99) and calls/s with concurrent
//     callers, beside the same for an echo; a routed call is four
//     messages, an echo two. The same calls run over raw sockets too, TCP
//     (on the HTTP port) and Unix. The servers are measured alternately,
//     in rounds, so that all see the same machine however busy it is.
//   - CPU per message: the router's CPU time per routed message against
//     the echo server's, under the same load.
//   - Fan-out: events published to many subscriber sessions.
//   - Memory: the router's Go memory and RSS per idle joined session.
//   - Connections: the CPU time a WebSocket connection that upgrades and
//     leaves without a message costs the router and the echo server, at
//     a steady 1,000 a second (see connections.go).
//   - Browser: the size of wamp.wasm as wampd serves it (raw and gzipped);
//     then, in headless Chromium against a router in this process, the
//     time from page load to a joined session, and sequential calls from
//     the wasm client beside Autobahn|JS's in the same page, over
//     WebSocket and over long-poll (see browser.go). Without Chromium or
//     browsertests/node_modules, those rows say why they were skipped.
//
// With -check the exit status is 1 when a target fails. With -profile each
// child writes a CPU profile to DIR/<role>-<phase>.cpu.pprof, and at each
// memory reading a heap profile to DIR/<role>-<phase>.heap.pprof; read
// them with `go tool pprof -top FILE`. The browser phase then serves a
// wamp.wasm with its symbols and, after the measured calls, profiles one
// more round of them in the page, for each client and transport:
// DIR/browser-calls-CLIENT-TRANSPORT.cpuprofile, which Chrome DevTools'
// Performance panel loads.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wampkit/wampkit/wamp/codec"
)

// config sizes a run.
type config struct {
	serializer string

	warmup      int           // round trips before measuring
	seqCalls    int           // sequential round trips measured, per server
	concurrency int           // concurrent callers (and echo clients)
	duration    time.Duration // time under concurrent load, per server
	rounds      int           // alternations between the servers, and between the callers in the page

	subscribers int // fan-out subscriber sessions
	events      int // events published in the fan-out phase

	sessions int // idle sessions of the memory phase

	connections int // connections that upgrade and leave, per server

	pageLoads    int // page loads per client and transport, for the join time
	browserCalls int // sequential calls measured per caller and transport in the page
	// browserWarm is how many calls each WebSocket caller in the page
	// makes before the measured ones: meanwhile V8 compiles the hot
	// functions of wamp.wasm with its optimizing tier, on threads that
	// take this machine's CPU from the router and the callee.
	browserWarm int

	check      bool   // exit 1 when a target fails
	profileDir string // where children write CPU profiles; empty for none

	progress io.Writer // progress notes; the table goes elsewhere
}

// fullConfig is the default run, about half a minute on two cores, and
// as much again for the browser phase (more when wamp.wasm builds cold).
func fullConfig() config {
	return config{
		serializer:  "json",
		warmup:      500,
		seqCalls:    5000,
		concurrency: 32,
		duration:    3 * time.Second,
		rounds:      5,
		subscribers: 1000,
		events:      200,
		sessions:    5000,
		connections: 3000,

		pageLoads:    10,
		browserCalls: 1000,
		browserWarm:  2000,

		progress: io.Discard,
	}
}

// shortConfig is the quick run of -short.
func shortConfig() config {
	c := fullConfig()
	c.warmup = 200
	c.seqCalls = 1000
	c.duration = time.Second
	c.rounds = 3
	c.subscribers = 300
	c.events = 50
	c.sessions = 1000
	c.connections = 600
	c.pageLoads = 5
	c.browserCalls = 300
	c.browserWarm = 1500
	return c
}

// validate rejects sizes the harness cannot run.
func (c *config) validate() error {
	if _, ok := codec.ByName(c.serializer); !ok {
		return fmt.Errorf("unknown serializer %q (want json, msgpack or cbor)", c.serializer)
	}
	for _, v := range []struct {
		name string
		n    int
	}{
		{"warm-up", c.warmup}, {"calls", c.seqCalls}, {"concurrency", c.concurrency}, {"rounds", c.rounds},
		{"subscribers", c.subscribers}, {"events", c.events}, {"sessions", c.sessions}, {"connections", c.connections},
		{"page loads", c.pageLoads}, {"browser calls", c.browserCalls}, {"browser warm-up calls", c.browserWarm},
	} {
		if v.n < 1 {
			return fmt.Errorf("%s must be at least 1, not %d", v.name, v.n)
		}
	}
	if c.duration <= 0 {
		return fmt.Errorf("duration must be positive, not %v", c.duration)
	}
	// This process holds every session's connection at once, and the
	// router one more each.
	limit, err := openFileLimit()
	if err != nil {
		return err
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"sessions", c.sessions}, {"subscribers", c.subscribers}} {
		if uint64(v.n)+fdMargin > limit {
			return fmt.Errorf("%d %s need more than the open-file limit of %d allows (%d at most)",
				v.n, v.name, limit, limit-fdMargin)
		}
	}
	return nil
}

// fdMargin is the number of file descriptors kept free for everything but
// the sessions' connections.
const fdMargin = 200

func openFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("reading the open-file limit: %w", err)
	}
	return rl.Cur, nil
}

func main() {
	if len(os.Args) > 1 && isRole(os.Args[1]) {
		os.Exit(serveChild(os.Args[1:]))
	}
	os.Exit(benchMain(os.Args[1:]))
}

// benchMain runs the harness with its command line and returns the exit
// status.
func benchMain(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	short := fs.Bool("short", false, "a quick run with fewer calls, subscribers and sessions")
	serializer := fs.String("serializer", "json", "`name` of the serializer: json, msgpack or cbor")
	sessions := fs.Int("sessions", 0, "`number` of idle sessions in the memory phase (default 5000, 1000 with -short)")
	check := fs.Bool("check", false, "exit with status 1 when a target fails")
	profileDir := fs.String("profile", "", "write CPU profiles of the child processes (router, echo) and of the calls in the browser, and heap profiles at memory readings, to `dir`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg := fullConfig()
	if *short {
		cfg = shortConfig()
	}
	cfg.serializer = *serializer
	if *sessions != 0 {
		cfg.sessions = *sessions
	}
	cfg.check = *check
	cfg.progress = os.Stderr
	if *profileDir != "" {
		if err := os.MkdirAll(*profileDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 2
		}
		cfg.profileDir = *profileDir
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer stopChildren() // also while a panic unwinds
	interrupted := make(chan os.Signal, 2)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-interrupted
		fmt.Fprintln(os.Stderr, "bench: interrupted; stopping")
		cancel()
		// A second signal, or a run that does not wind down, ends it hard.
		select {
		case <-interrupted:
		case <-time.After(5 * time.Second):
		}
		killChildren()
		os.Exit(130)
	}()

	rows, err := run(ctx, &cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if cfg.check && anyFailed(rows) {
		return 1
	}
	return 0
}

// run measures every phase and prints the machine and the table to w.
// A phase that fails shows as FAIL rows carrying its error; run returns an
// error only when the run was interrupted.
func run(ctx context.Context, cfg *config, w io.Writer) ([]row, error) {
	start := time.Now()
	var res results
	phases := []struct {
		name string
		run  func()
	}{
		{"round-trip", func() { res.roundTripFigures = roundTripPhase(ctx, cfg) }},
		{"fan-out", func() { res.fanout = fanoutPhase(ctx, cfg) }},
		{"memory", func() { res.mem = memoryPhase(ctx, cfg) }},
		{"connection", func() { res.conns = connectionPhase(ctx, cfg) }},
		{"browser", func() { res.browser = browserPhase(ctx, cfg) }},
	}
	for _, p := range phases {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("run interrupted: %w", err)
		}
		t := time.Now()
		fmt.Fprintf(cfg.progress, "bench: %s phase...\n", p.name)
		p.run()
		fmt.Fprintf(cfg.progress, "bench: %s phase done in %.1fs\n", p.name, time.Since(t).Seconds())
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("run interrupted: %w", err)
	}
	rows := res.rows()
	printReport(w, cfg, rows, res.browser.notes(), time.Since(start))
	return rows, nil
}
