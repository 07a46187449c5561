// Command wampd is the wampkit WAMP router and dev server.
//
// One HTTP port serves WAMP over WebSocket at /ws and long-poll under /lp/,
// the browser client (/wamp.js, /wamp.global.js, /wamp.wasm, /wasm_exec.js,
// /wamp.d.ts, built from the checkout in the working directory on first
// request), the demo pages (/, /demo/rpc, /demo/board), the health check
// at /healthz, Prometheus metrics at /metrics and, with --bridge-realm and
// --bridge-key, the HTTP bridge (POST /publish, POST /call, signed
// requests: see server.Bridge). The same port accepts WAMP raw sockets
// (rs://host:port) unless it serves HTTPS; --raw-addr and --unix add
// listeners of their own for them, --raw-tls serves --raw-addr over TLS
// (rss://host:port). Quick start, from the checkout:
//
//	wampd --realm realm1 --dev     # http://127.0.0.1:8080/
//	wampd --dist dist/             # write the browser client and exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wampkit/wampkit/demo"
	"github.com/wampkit/wampkit/internal/assets"
	"github.com/wampkit/wampkit/internal/gcfloor"
	"github.com/wampkit/wampkit/internal/metrics"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/wamp"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "wampd:", err)
		os.Exit(1)
	}
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// options are wampd's command line.
type options struct {
	addr       string
	realms     stringList
	configFile string
	origins    stringList
	logLevel   string
	version    bool
	drainTime  time.Duration
	dev        bool
	dist       string
	bridge     bridgeOptions
	raw        rawOptions
	admit      admissionOptions
	gcFloor    int // --gc-heap-floor, MiB
	// checkConfig is --check-config: check the file and exit.
	checkConfig string
	// hashTicket is --hash-ticket: hash a ticket from standard input.
	hashTicket bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("wampd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "`address` to listen on for HTTP and WebSocket")
	fs.Var(&o.realms, "realm", "a realm to serve (repeatable); realm1 when no realm is configured")
	fs.StringVar(&o.configFile, "config", "", "configuration `file` (JSON; see README.md), checked at start")
	fs.StringVar(&o.checkConfig, "check-config", "", "check the configuration `file`, report every mistake, and exit")
	fs.BoolVar(&o.hashTicket, "hash-ticket", false, "read a ticket on standard input, print its hash for the configuration's ticket_hash, and exit")
	fs.Var(&o.origins, "allow-origin", "a browser Origin host `pattern` to allow besides same-origin, such as *.example.com (repeatable)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log `level`: debug, info, warn, error")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.dev, "dev", false, "build the browser client at start and rebuild it when its sources change")
	fs.StringVar(&o.dist, "dist", "", "write the browser client's files into `dir` and exit")
	fs.DurationVar(&o.drainTime, "drain-time", 10*time.Second, "how long a graceful shutdown waits for sessions to leave")
	o.bridge.register(fs)
	o.raw.register(fs)
	o.admit.register(fs)
	fs.IntVar(&o.gcFloor, "gc-heap-floor", 64, "let the heap grow to this many `MiB` before the garbage collector runs, however small the live heap: a small heap is otherwise collected every few milliseconds under a burst of traffic (0: as GOGC alone says)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := o.admit.check(); err != nil {
		return nil, err
	}
	if o.gcFloor < 0 {
		return nil, fmt.Errorf("--gc-heap-floor: %d is negative", o.gcFloor)
	}
	return &o, nil
}

// version returns the module version and VCS revision of this build.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v + " " + bi.GoVersion
}

// run is wampd's main. When ready is not nil, it receives the listening
// address once the server accepts connections (tests use it).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintln(stdout, "wampd", version())
		return nil
	}
	if o.checkConfig != "" {
		return checkConfig(o.checkConfig, stdout)
	}
	if o.hashTicket {
		return hashTicket(os.Stdin, stdout)
	}
	if o.dist != "" {
		start := time.Now()
		if err := assets.Dist(o.dist); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wampd: browser client written to %s in %v\n", o.dist, time.Since(start).Round(time.Millisecond))
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := server.Config{Logger: log}
	hc := server.HTTPConfig{}
	var fc *configFile
	if o.configFile != "" {
		if fc, err = loadConfigFile(o.configFile); err != nil {
			return err
		}
		for _, w := range fc.Warnings {
			log.Warn("configuration: "+w, "file", o.configFile)
		}
		cfg, hc = fc.apply(cfg, hc)
		if fc.Listen != "" && !flagGiven(args, "addr") {
			o.addr = fc.Listen
		}
		if fc.RawSocketListen != "" && !flagGiven(args, "raw-addr") {
			o.raw.addr = fc.RawSocketListen
		}
		if fc.RawSocketTLS && !flagGiven(args, "raw-tls") {
			o.raw.tls = true
		}
		if fc.RawSocketUnix != "" && !flagGiven(args, "unix") {
			o.raw.unix = fc.RawSocketUnix
		}
		if fc.RawSocketMaxConnections != 0 && !flagGiven(args, "raw-max-connections") {
			o.raw.maxConns = fc.RawSocketMaxConnections
		}
		if fc.RawSocketMinClientLength != 0 && !flagGiven(args, "raw-min-client-length") {
			o.raw.minClient = fc.RawSocketMinClientLength
		}
	}
	for _, name := range o.realms {
		cfg.Realms = append(cfg.Realms, server.RealmConfig{Name: wamp.URI(name)})
	}
	if len(cfg.Realms) == 0 {
		cfg.Realms = []server.RealmConfig{{Name: "realm1"}}
	}
	hc.OriginPatterns = append(hc.OriginPatterns, o.origins...)

	var fileBridge *server.BridgeConfig
	if fc != nil {
		fileBridge = fc.Bridge
	}
	bridgeCfg, err := o.bridge.config(fileBridge, flagGiven(args, "bridge-role"))
	if err != nil {
		return err
	}
	gcfloor.Set(uint64(o.gcFloor) << 20)
	router, err := server.New(cfg)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mountTransports(mux, router, hc, fc)
	mux.Handle("GET /metrics", metrics.Handler(router))
	if bridgeCfg != nil {
		bridge, err := router.NewBridge(*bridgeCfg)
		if err != nil {
			router.Close()
			return err
		}
		mux.Handle("/publish", bridge)
		mux.Handle("/call", bridge)
	}
	// The browser client is built from the checkout in the working
	// directory: with --dev at start, in the background, so that the router
	// serves at once while the first page load waits for the build;
	// otherwise on its first request, so that a router nobody browses
	// never builds it.
	browser := assets.NewServer(assets.ServerConfig{Dev: o.dev, Logger: log})
	defer browser.Close()
	if o.dev {
		browser.Start()
	}
	browser.Mount(mux)
	demo.Mount(mux, demo.Config{Realm: string(cfg.Realms[0].Name)})
	// draining is set once shutdown begins: /healthz then answers 503, so
	// that a load balancer stops sending clients here during the drain.
	var draining atomic.Bool
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if draining.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "shutting down\n")
			return
		}
		io.WriteString(w, "ok\n")
	})

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	ln = o.admit.listener(ln)
	o.raw.admit = o.admit
	tlsCfg := serverTLS(fc)
	httpLn, raws, err := startRawSockets(o.raw, ln, tlsCfg, router, cfg, log)
	if err != nil {
		ln.Close()
		router.Close()
		return err
	}
	defer raws.close()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- serveHTTP(srv, httpLn, tlsCfg) }()

	names := make([]string, len(cfg.Realms))
	for i, r := range cfg.Realms {
		names[i] = string(r.Name)
	}
	log.Info("wampd listening", "addr", ln.Addr().String(), "realms", names, "ws", wsURL(ln.Addr().String(), fc))
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-errc:
		router.Close()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "drain_time", o.drainTime)
	draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), o.drainTime)
	defer cancel()
	// Say GOODBYE to every session, then stop accepting: during the drain
	// the ports still answer, /healthz with 503 and a new session with
	// ABORT wamp.close.system_shutdown, rather than refusing connections
	// without a reason. http.Server.Shutdown does not wait for hijacked
	// WebSocket connections, the router does.
	srv.SetKeepAlivesEnabled(false)
	rerr := router.Shutdown(sctx)
	ln.Close()
	raws.close()
	herr := srv.Shutdown(sctx)
	if rerr != nil {
		return rerr
	}
	if herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		return herr
	}
	log.Info("stopped")
	return nil
}

// flagGiven reports whether the command line set the named flag.
func flagGiven(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}
