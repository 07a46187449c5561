package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/internal/assets"
	"github.com/wampkit/wampkit/server"
)

// The page of the browser phase: testdata/bench.html and its script.
//
//go:embed testdata/bench.html testdata/bench.js
var pageFiles embed.FS

// Bounds of the browser phase. The first includes a cold build of
// wamp.wasm, which takes tens of seconds; the second bounds one step in
// the page (a page load and its join, a round of calls).
const (
	browserTimeout = 4 * time.Minute
	browserStep    = 60 * time.Second
)

// browserTransports are the transports measured, in the order of the rows.
var browserTransports = []string{"websocket", "longpoll"}

// browserFigures are the figures of the browser phase.
type browserFigures struct {
	wasmRaw, wasmGzip float64 // the size of wamp.wasm in MB (10⁶ bytes)
	sizeErr           error   // why the size is missing

	// One per browserTransports.
	lines []browserLine

	skip       string  // why the page did not run (no Chromium, no Autobahn|JS)
	err        error   // why the page figures are missing
	peer       string  // "Autobahn|JS VERSION"
	browser    string  // the browser's product and version
	resolution float64 // the smallest step of performance.now() in the page, in µs
}

// browserLine is what was measured over one transport.
type browserLine struct {
	joinWasm, joinPeer time.Duration // median page load to joined session
	wasm, peer         callStats
}

// callStats are the round trips of one caller, as the page computed them.
type callStats struct {
	Client    string  `json:"client"`
	Transport string  `json:"transport"`
	N         int     `json:"n"`
	P50       float64 `json:"p50"`     // ms
	P99       float64 `json:"p99"`     // ms
	GoP50     float64 `json:"goP50"`   // ms: median time in Go (wamp.wasm) per call
	WarmP50   float64 `json:"warmP50"` // ms: median of the warm-up calls (WebSocket only)
}

// browserPhase builds the browser client as wampd serves it, reads the size
// of wamp.wasm, then serves it beside an in-process router and the bench
// page to headless Chromium: page loads until a joined session, and calls
// from the wasm client and from Autobahn|JS in the same page to a callee
// of this process. Without Chromium or Autobahn|JS, the page figures are
// skipped with the reason.
func browserPhase(ctx context.Context, cfg *config) browserFigures {
	ctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	var f browserFigures
	root, err := moduleRoot()
	if err != nil {
		f.sizeErr, f.err = err, err
		return f
	}
	quiet := slog.New(slog.DiscardHandler)
	assetSrv := assets.NewServer(assets.ServerConfig{Config: assets.Config{Root: root}, Logger: quiet, Wait: browserTimeout})
	defer assetSrv.Close()
	b, err := assetSrv.Bundle(ctx)
	if err != nil {
		err = fmt.Errorf("building the browser client: %w", err)
		f.sizeErr, f.err = err, err
		return f
	}
	w := b.Files["wamp.wasm"]
	f.wasmRaw, f.wasmGzip = float64(len(w.Data))/1e6, float64(len(w.Gzip))/1e6
	if w.Gzip == nil {
		f.sizeErr = errors.New("the build did not compress wamp.wasm")
	}
	fmt.Fprintf(cfg.progress, "bench: browser client built in %.1fs with %s: wamp.wasm %d bytes, %d gzipped\n",
		b.Duration.Seconds(), b.GoVersion, len(w.Data), len(w.Gzip))

	chromium, err := chromiumPath()
	if err != nil {
		f.skip = err.Error()
		return f
	}
	autobahnJS := filepath.Join(root, "browsertests", "node_modules", "autobahn-browser", "autobahn.min.js")
	version, err := autobahnVersion(autobahnJS)
	if err != nil {
		f.skip = err.Error()
		return f
	}
	f.peer = "Autobahn|JS " + version

	pageSrv := assetSrv
	if cfg.profileDir != "" {
		// The page gets a wamp.wasm whose profile names Go functions; the
		// sizes above stay those of the build that wampd serves.
		pageSrv = assets.NewServer(assets.ServerConfig{Config: assets.Config{Root: root, Symbols: true}, Logger: quiet, Wait: browserTimeout})
		defer pageSrv.Close()
	}
	site, err := startSite(ctx, cfg, pageSrv, autobahnJS)
	if err != nil {
		f.err = err
		return f
	}
	defer site.close()
	f.err = site.measure(ctx, cfg, chromium, &f)
	return f
}

// moduleRoot returns the wampkit checkout at or above the working
// directory: `make bench` runs at the root, the test in internal/bench.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if mod, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
			bytes.Contains(mod, []byte("module github.com/wampkit/wampkit\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no wampkit checkout at or above %s: run the bench from the checkout", wd)
		}
	}
}

// chromiumPath finds the browser: $CHROMIUM, else chromium on PATH, else
// /usr/bin/chromium.
func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium is not installed (`make setup-chromium`, or set CHROMIUM to the browser's path)")
}

// autobahnVersion checks that browsertests/node_modules holds Autobahn|JS's
// browser build and returns its version.
func autobahnVersion(minJS string) (string, error) {
	const missing = "browsertests/node_modules lacks autobahn-browser (`make setup-npm`)"
	if _, err := os.Stat(minJS); err != nil {
		return "", errors.New(missing)
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(minJS), "package.json"))
	if err != nil {
		return "", errors.New(missing)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil || pkg.Version == "" {
		return "", fmt.Errorf("%s/package.json names no version: %v", filepath.Dir(minJS), err)
	}
	return pkg.Version, nil
}

// site is the HTTP server of the browser phase: the router at /ws and /lp/,
// the browser client as wampd serves it, and /bench/ (the page and
// Autobahn|JS). A native Go session registered the echo procedure.
type site struct {
	addr   string
	router *server.Router
	srv    *http.Server
	callee *client.Session
}

func startSite(ctx context.Context, cfg *config, assetSrv *assets.Server, autobahnJS string) (*site, error) {
	logger := slog.New(slog.NewTextHandler(cfg.progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	router, err := server.New(server.Config{Realms: []server.RealmConfig{{Name: realm}}, Logger: logger})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", router.Handler(server.HTTPConfig{}))
	assetSrv.Mount(mux)
	mux.Handle("GET /bench/{file}", pageHandler(autobahnJS))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		router.Close()
		return nil, err
	}
	s := &site{
		addr:   ln.Addr().String(),
		router: router,
		srv:    &http.Server{Handler: mux, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)},
	}
	go s.srv.Serve(ln)
	s.callee, err = client.Join(ctx, "ws://"+s.addr+"/ws", realm, &client.Config{Serializer: "json"})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("joining the callee: %w", err)
	}
	echoArgs := func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: inv.Args}, nil
	}
	if _, err := s.callee.Register(ctx, procedure, echoArgs); err != nil {
		s.close()
		return nil, fmt.Errorf("registering %s: %w", procedure, err)
	}
	return s, nil
}

// pageHandler serves /bench/{file}: the embedded page and autobahn.min.js.
// The page is cross-origin isolated (COOP and COEP), which gives
// performance.now() a resolution of a few µs instead of 100 µs: a call
// takes a few hundred.
func pageHandler(autobahnJS string) http.Handler {
	page, _ := fs.Sub(pageFiles, "testdata") // a fixed, embedded path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Embedder-Policy", "require-corp")
		switch name := r.PathValue("file"); name {
		case "autobahn.min.js":
			http.ServeFile(w, r, autobahnJS)
		case "bench.html", "bench.js":
			http.ServeFileFS(w, r, page, name)
		default:
			http.NotFound(w, r)
		}
	})
}

func (s *site) close() {
	if s.callee != nil {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		s.callee.Leave(ctx)
		cancel()
	}
	s.router.Close()
	s.srv.Close()
}

// measure runs Chromium with one tab: cfg.pageLoads loads of the page per
// client and transport, each until a joined session, then one page where
// both clients call over every transport, in cfg.rounds rounds. It fills
// f's browser, lines and resolution.
func (s *site) measure(ctx context.Context, cfg *config, chromium string, f *browserFigures) error {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	con := &consoleLog{progress: cfg.progress}
	tab, tcancel := chromedp.NewContext(actx, chromedp.WithListener(con.listen))
	defer tcancel()
	if err := chromedp.Do(tab); err != nil {
		return fmt.Errorf("starting %s: %w", chromium, err)
	}
	if v, err := chromedp.CallBrowser(tab, browser.GetVersion, cdp.Empty{}); err == nil {
		f.browser = v.Product
	}
	lines := make([]browserLine, len(browserTransports))
	fmt.Fprintf(cfg.progress, "bench: browser: %d page loads per client and transport...\n", cfg.pageLoads)
	if err := s.joins(tab, cfg, lines); err != nil {
		return con.explain(err)
	}
	fmt.Fprintf(cfg.progress, "bench: browser: %d calls per client and transport...\n", cfg.browserCalls)
	resolution, err := s.calls(tab, cfg, lines)
	if err != nil {
		return con.explain(err)
	}
	f.lines, f.resolution = lines, resolution
	return nil
}

// joins loads the page cfg.pageLoads times per client and transport, the
// HTTP cache off, so that every load downloads and compiles its client,
// and takes the median time from navigation start to the joined session.
// The loads alternate between the clients and the transports.
func (s *site) joins(tab context.Context, cfg *config, lines []browserLine) error {
	if _, err := chromedp.Call(tab, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		return fmt.Errorf("disabling the cache: %w", err)
	}
	times := make(map[string][]time.Duration)
	for range cfg.pageLoads {
		for _, transport := range browserTransports {
			for _, c := range []string{"wasm", "autobahn"} {
				d, err := s.join(tab, c, transport)
				if err != nil {
					return fmt.Errorf("%s joining over %s: %w", c, transport, err)
				}
				times[c+" "+transport] = append(times[c+" "+transport], d)
			}
		}
	}
	for i, transport := range browserTransports {
		lines[i].joinWasm = median(times["wasm "+transport])
		lines[i].joinPeer = median(times["autobahn "+transport])
	}
	// The calls page runs without DevTools' network tracking, which costs
	// every request and WebSocket frame.
	if _, err := chromedp.Call(tab, network.Disable, cdp.Empty{}); err != nil {
		return fmt.Errorf("disabling network tracking: %w", err)
	}
	return nil
}

// join loads the page once with one client over one transport and returns
// the time from navigation start to the joined session.
func (s *site) join(tab context.Context, clientName, transport string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(tab, browserStep)
	defer cancel()
	url := fmt.Sprintf("http://%s/bench/bench.html?client=%s&transport=%s", s.addr, clientName, transport)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return 0, err
	}
	var res struct {
		MS    float64 `json:"ms"`
		Error string  `json:"error"`
	}
	out, err := chromedp.Run(ctx, chromedp.Poll[[]byte](`window.benchJoin`, chromedp.WithPollingInterval(5*time.Millisecond)))
	if err != nil {
		return 0, fmt.Errorf("waiting for the session: %w", err)
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("the page said %s: %w", out, err)
	}
	if res.Error != "" {
		return 0, errors.New(res.Error)
	}
	if err := evaluate(tab, `benchLeave()`, nil); err != nil {
		return 0, err
	}
	return time.Duration(res.MS * float64(time.Millisecond)), nil
}

// calls opens the page once, joins a wasm and an Autobahn|JS session over
// every transport in it, and measures cfg.browserCalls sequential calls
// from each, in cfg.rounds rounds that rotate the order of the callers so
// that all see the same load. It returns the resolution of the page's
// clock in µs.
func (s *site) calls(tab context.Context, cfg *config, lines []browserLine) (float64, error) {
	ctx, cancel := context.WithTimeout(tab, browserStep)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+s.addr+"/bench/bench.html")); err != nil {
		return 0, err
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`typeof benchOpen === 'function'`, chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
		return 0, fmt.Errorf("waiting for the page: %w", err)
	}
	transports, _ := json.Marshal(browserTransports)
	var opened struct {
		Callers    int     `json:"callers"`
		Resolution float64 `json:"resolution"` // ms
	}
	if err := evaluate(tab, fmt.Sprintf(`benchOpen(%s)`, transports), &opened); err != nil {
		return 0, err
	}
	defer evaluate(tab, `benchLeave()`, nil)
	if err := evaluate(tab, fmt.Sprintf(`benchWarm(%d, 'websocket')`, cfg.browserWarm), nil); err != nil {
		return 0, fmt.Errorf("warm-up: %w", err)
	}
	warm := max(cfg.browserCalls/10, 5)
	if err := evaluate(tab, fmt.Sprintf(`benchRound(%d, 0, false)`, warm), nil); err != nil {
		return 0, fmt.Errorf("warm-up: %w", err)
	}
	perRound := (cfg.browserCalls + cfg.rounds - 1) / cfg.rounds
	for r := range cfg.rounds {
		if err := evaluate(tab, fmt.Sprintf(`benchRound(%d, %d, true)`, perRound, r%opened.Callers), nil); err != nil {
			return 0, err
		}
	}
	var stats []callStats
	if err := evaluate(tab, `benchStats()`, &stats); err != nil {
		return 0, err
	}
	if cfg.profileDir != "" {
		for i, st := range stats {
			file := filepath.Join(cfg.profileDir, fmt.Sprintf("browser-calls-%s-%s.cpuprofile", st.Client, st.Transport))
			if err := profileCalls(tab, i, perRound, file); err != nil {
				return 0, fmt.Errorf("profiling the calls of %s over %s: %w", st.Client, st.Transport, err)
			}
		}
	}
	for i, transport := range browserTransports {
		for _, st := range stats {
			if st.Transport != transport {
				continue
			}
			switch st.Client {
			case "wasm":
				lines[i].wasm = st
			case "autobahn":
				lines[i].peer = st
			}
		}
		if lines[i].wasm.N == 0 || lines[i].peer.N == 0 {
			return 0, fmt.Errorf("no calls measured over %s: %+v", transport, stats)
		}
	}
	return opened.Resolution * 1000, nil
}

// profileCalls makes n more calls from the page's caller i, not recorded,
// under the page's CPU profiler (20 µs sampling) and writes the profile to
// file, in the format that Chrome DevTools' Performance panel loads.
func profileCalls(tab context.Context, caller, n int, file string) error {
	ctx, cancel := context.WithTimeout(tab, browserStep)
	defer cancel()
	if _, err := chromedp.Call(ctx, profiler.Enable, cdp.Empty{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 20}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, profiler.Start, cdp.Empty{}); err != nil {
		return err
	}
	if err := evaluate(tab, fmt.Sprintf(`benchCalls(%d, %d)`, caller, n), nil); err != nil {
		return err
	}
	res, err := chromedp.Call(ctx, profiler.Stop, cdp.Empty{})
	if err != nil {
		return err
	}
	data, err := json.Marshal(res.Profile)
	if err != nil {
		return err
	}
	return os.WriteFile(file, data, 0o644)
}

// evaluate awaits the promise of the page expression expr, for at most
// browserStep, and decodes its value into v, unless v is nil.
func evaluate(tab context.Context, expr string, v any) error {
	ctx, cancel := context.WithTimeout(tab, browserStep)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte]("Promise.resolve("+expr+").then((v) => v ?? null)", chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("%s: %w", expr, err)
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("%s returned %s: %w", expr, out, err)
	}
	return nil
}

// median returns the middle duration (the lower of the two middle ones).
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// consoleLog passes the page's console errors and uncaught exceptions to
// the progress output and keeps the last few to explain a failure.
type consoleLog struct {
	progress io.Writer
	mu       sync.Mutex
	last     []string
}

// listen runs in the tab's event loop: it only records.
func (c *consoleLog) listen(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		parts := make([]string, len(ev.Args))
		for i, a := range ev.Args {
			parts[i] = string(a.Value)
			if a.Description != "" {
				parts[i] = a.Description
			}
		}
		line = "console.error: " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		line = "uncaught exception: " + (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error()
	default:
		return
	}
	fmt.Fprintf(c.progress, "bench: page %s\n", line)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = append(c.last, line)
	if len(c.last) > 3 {
		c.last = c.last[1:]
	}
}

// explain adds the page's last errors to err.
func (c *consoleLog) explain(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.last) == 0 {
		return err
	}
	return fmt.Errorf("%w (page: %s)", err, strings.Join(c.last, "; "))
}

// rows are the browser phase's rows of the table. The wasm client's call
// round trip p50 may be at most 1.5× Autobahn|JS's: it sends the same
// messages, and pays on top only for crossing between JavaScript and Go.
// The page load rows compare downloading and compiling wamp.wasm with a
// small script: they are shown, not judged.
func (f *browserFigures) rows() []row {
	rows := []row{
		{name: "wamp.wasm size", value: f.wasmRaw, unit: "MB", goal: info, err: f.sizeErr},
		{name: "wamp.wasm size gzipped", value: f.wasmGzip, unit: "MB", goal: atMost, limit: 1.6, err: f.sizeErr},
	}
	names := map[string]string{"websocket": "WebSocket", "longpoll": "long-poll"}
	for i, transport := range browserTransports {
		var l browserLine
		if i < len(f.lines) {
			l = f.lines[i]
		}
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		us := func(ms float64) float64 { return ms * 1000 }
		rows = append(rows,
			row{name: "wasm page load to joined session, " + names[transport], value: ms(l.joinWasm), ceiling: ms(l.joinPeer),
				unit: "ms", goal: info},
			row{name: "wasm call round trip p50, " + names[transport], value: us(l.wasm.P50), ceiling: us(l.peer.P50),
				unit: "µs", goal: atMostRatio, limit: 1.5},
			row{name: "wasm call round trip p99, " + names[transport], value: us(l.wasm.P99), ceiling: us(l.peer.P99),
				unit: "µs", goal: info},
			row{name: "wasm call time in Go p50, " + names[transport], value: us(l.wasm.GoP50),
				unit: "µs", goal: info},
		)
		if transport == "websocket" {
			rows = append(rows, row{name: "wasm call round trip p50, WebSocket, warm-up", value: us(l.wasm.WarmP50), ceiling: us(l.peer.WarmP50),
				unit: "µs", goal: info})
		}
	}
	for i := 2; i < len(rows); i++ {
		rows[i].err, rows[i].skip = f.err, f.skip
	}
	return rows
}

// notes explain the browser rows under the table.
func (f *browserFigures) notes() []string {
	peer := f.peer
	if peer == "" {
		peer = "Autobahn|JS"
	}
	where := "headless Chromium"
	if f.browser != "" {
		where += " (" + f.browser + ")"
	}
	notes := []string{"wamp.wasm is the default browser build that wampd serves (no CBOR), gzipped as it serves it."}
	if len(f.lines) == 0 {
		return notes // the page did not run
	}
	notes = append(notes,
		fmt.Sprintf("Browser rows: %s against a router in this process; the peer is %s.", where, peer),
		"Page load to joined session: navigation start to connect() resolved, median of the page loads,",
		"the HTTP cache off (each load downloads and compiles its client). Calls: one page, a wasm and an",
		"Autobahn|JS session (both JSON) over each transport, calling the same Go callee in turns,",
		"after the warm-up: the WebSocket callers' first calls (their own row), while V8 compiles the hot",
		"functions of wamp.wasm with its optimizing tier on threads that take this machine's CPU.",
		"Time in Go: what a wasm call spends inside wamp.wasm, median per call: the calls from JavaScript",
		"into Go, timed around the Go instance's _resume and the entries it exports, with the browser functions Go calls meanwhile",
		"(WebSocket.send, fetch); the rest is the page's JavaScript, the browser and the network.",
	)
	if f.resolution > 0 {
		notes = append(notes, fmt.Sprintf("The page's clock (performance.now()) ticks in steps of %.0f µs.", f.resolution))
	}
	return notes
}
