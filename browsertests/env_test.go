package browsertests

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wampkit/wampkit/demo"
	"github.com/wampkit/wampkit/internal/syncbuf"
	"github.com/wampkit/wampkit/server"
)

// realm is the realm of every test router.
const realm = "realm1"

// envConfig changes what a test's site serves.
type envConfig struct {
	// WebSocket, when set, wraps the router's WebSocket handler at GET /ws:
	// this is how a test blocks WebSocket, as a proxy or a firewall would.
	WebSocket func(ws http.Handler) http.Handler
	// Router, when set, configures the router instead of the default
	// (realm1, open to anyone): a test of authentication brings its
	// realms. The env sets the Logger.
	Router *server.Config
	// TLS, when set, makes the site serve HTTPS with it: url and wsURL
	// then give https:// and wss:// URLs.
	TLS *tls.Config
}

// env is one test's site on 127.0.0.1: a router with realm1 serving /ws and
// /lp/, the browser client from the shared asset build, the demo pages and
// the test pages under /test/. It can be restarted on the same address.
type env struct {
	t    *testing.T
	cfg  envConfig
	addr string // host:port, fixed for the env's life
	log  *syncbuf.Buffer

	// Requests seen, across restarts.
	wsRequests atomic.Int64 // GET /ws, upgraded or not
	lpOpens    atomic.Int64 // POST /lp/open

	mu     sync.Mutex
	router *server.Router
	srv    *http.Server
}

// logBuildOnce logs the asset build's figures in the first test.
var logBuildOnce sync.Once

// newEnv starts a site for t on a free port; it stops when t ends.
func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	b, err := assetBundle()
	if err != nil {
		t.Fatal(err)
	}
	logBuildOnce.Do(func() {
		w := b.Files["wamp.wasm"]
		t.Logf("browser client built in %v: wamp.wasm %d bytes, %d gzipped", b.Duration.Round(time.Millisecond), len(w.Data), len(w.Gzip))
	})
	e := &env{t: t, cfg: cfg, log: &syncbuf.Buffer{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.serve(ln)
	t.Cleanup(func() {
		e.stop(false)
		if t.Failed() {
			t.Logf("router log:\n%s", indent(e.log.String()))
		}
	})
	return e
}

// url returns the site's URL for path, e.g. e.url("/demo/rpc").
func (e *env) url(path string) string {
	if e.cfg.TLS != nil {
		return "https://" + e.addr + path
	}
	return "http://" + e.addr + path
}

// serve starts a new router and HTTP server on ln.
func (e *env) serve(ln net.Listener) {
	logger := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := server.Config{Realms: []server.RealmConfig{{Name: realm}}}
	if e.cfg.Router != nil {
		cfg = *e.cfg.Router
	}
	cfg.Logger = logger
	router, err := server.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	hc := server.HTTPConfig{}
	mux := http.NewServeMux()
	// As cmd/wampd mounts it: the router's endpoints, the browser client,
	// the demo pages.
	mux.Handle("/", router.Handler(hc))
	if e.cfg.WebSocket != nil {
		mux.Handle("GET /ws", e.cfg.WebSocket(router.WebSocketHandler(hc)))
	}
	assetServer.Mount(mux)
	demo.Mount(mux, demo.Config{Realm: realm})
	mux.Handle("GET /test/", http.StripPrefix("/test/", testFiles))

	srv := &http.Server{Handler: e.count(mux), ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	if e.cfg.TLS != nil {
		ln = tls.NewListener(ln, e.cfg.TLS)
	}
	go srv.Serve(ln)
	e.mu.Lock()
	e.router, e.srv = router, srv
	e.mu.Unlock()
	logger.Info("test site up", "addr", e.addr)
}

// count records the WAMP transport requests that a test asserts on.
func (e *env) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ws":
			e.wsRequests.Add(1)
		case r.Method == http.MethodPost && r.URL.Path == "/lp/open":
			e.lpOpens.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// stop shuts the router down (GOODBYE wamp.close.system_shutdown to every
// session) and closes the HTTP server. graceful false closes at once.
func (e *env) stop(graceful bool) {
	e.mu.Lock()
	router, srv := e.router, e.srv
	e.router, e.srv = nil, nil
	e.mu.Unlock()
	if router == nil {
		return
	}
	if graceful {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := router.Shutdown(ctx); err != nil {
			e.t.Errorf("router shutdown: %v", err)
		}
		cancel()
	} else {
		router.Close()
	}
	srv.Close()
}

// restart stops the router gracefully, keeps the address closed for down,
// and starts a new router with empty state on the same address.
func (e *env) restart(down time.Duration) {
	e.t.Helper()
	e.stop(true)
	time.Sleep(down)
	var ln net.Listener
	var err error
	// The port was just released; the kernel gives it back at once
	// (Go listens with SO_REUSEADDR), but allow a moment all the same.
	for range 50 {
		if ln, err = net.Listen("tcp", e.addr); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		e.t.Fatalf("listen again on %s: %v", e.addr, err)
	}
	e.serve(ln)
}

// wsURL is the router's WebSocket URL, for a native Go peer.
func (e *env) wsURL() string {
	if e.cfg.TLS != nil {
		return "wss://" + e.addr + "/ws"
	}
	return "ws://" + e.addr + "/ws"
}

// indent prefixes every line of s for a readable failure dump.
func indent(s string) string {
	if s == "" {
		return "\t(empty)"
	}
	return "\t" + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n\t")
}
