package assets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ServerConfig configures a [Server]. The zero value builds the checkout
// around the working directory once, on the first request; without Dev the
// outcome of that build, good or bad, stands until the process restarts.
type ServerConfig struct {
	Config
	// Dev makes the server rebuild whenever a file under [Sources] (or
	// go.mod, go.sum) changes, polling modification times every Poll.
	// Requests get the last good build; failed builds are logged.
	Dev bool
	// Poll is the dev mode's polling interval; default 1s.
	Poll time.Duration
	// Wait bounds how long a request waits for the first build before it
	// gets 503; default 2 minutes (a cold wasm build takes tens of seconds).
	Wait time.Duration
	// Logger receives build results and errors; default slog.Default().
	Logger *slog.Logger
}

// Server is an http.Handler serving the files of the last good build at
// /NAME for each of [Names], with no-cache and an ETag so that a browser
// revalidates cheaply, and the precompressed gzip representation to clients
// that accept it.
type Server struct {
	cfg    ServerConfig
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  sync.Once
	ready  chan struct{} // closed when the first build has ended
	state  atomic.Pointer[state]
}

// state is what the server serves: the last good bundle and the error of
// the last build, if it failed.
type state struct {
	bundle *Bundle
	err    error
}

// NewServer returns a server that builds nothing until [Server.Start] or
// its first request.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 2 * time.Minute
	}
	s := &Server{cfg: cfg, log: cfg.Logger, ready: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.state.Store(&state{})
	return s
}

// Start begins the first build in the background (and, in dev mode, the
// watching) unless it has begun already. It returns at once.
func (s *Server) Start() {
	s.start.Do(func() { s.wg.Go(s.loop) })
}

// Close stops watching, cancels a build under way and waits for both.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Mount registers the server on mux at GET /NAME for each of [Names].
func (s *Server) Mount(mux *http.ServeMux) {
	for _, name := range Names {
		mux.Handle("GET /"+name, s)
	}
}

// Bundle waits for the first build, at most until ctx is done or the
// configured Wait has passed, and returns the last good bundle, or the
// build's error when none succeeded yet.
func (s *Server) Bundle(ctx context.Context) (*Bundle, error) {
	s.Start()
	t := time.NewTimer(s.cfg.Wait)
	defer t.Stop()
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-t.C:
		return nil, fmt.Errorf("assets: the browser client is still building after %v", s.cfg.Wait)
	}
	st := s.state.Load()
	if st.bundle == nil {
		return nil, st.err
	}
	return st.bundle, nil
}

// ServeHTTP serves one file of the bundle; unknown names get 404, and
// 503 with the reason while no build has succeeded.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if !slices.Contains(Names, name) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := s.Bundle(r.Context())
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		w.Header().Set("Retry-After", "5")
		http.Error(w, "browser client unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	f := b.Files[name]
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	data, etag := f.Data, f.ETag
	if f.Gzip != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			data, etag = f.Gzip, strings.TrimSuffix(f.ETag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// acceptsGzip reports whether Accept-Encoding values allow gzip: listed by
// name or as *, with a q-value above zero.
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "*" {
				continue
			}
			ok := qAboveZero(params)
			if coding == "gzip" {
				return ok
			}
			star = ok
		}
	}
	return star
}

// qAboveZero reads the q parameter of an Accept-Encoding item; a missing
// or malformed q counts as 1.
func qAboveZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err != nil || q > 0
	}
	return true
}

// loop builds once, then in dev mode rebuilds on every change of the
// sources until the server is closed.
func (s *Server) loop() {
	defer func() {
		select {
		case <-s.ready:
		default:
			close(s.ready)
		}
	}()
	root, err := findRoot(s.cfg.Root)
	if err != nil {
		s.log.Error("browser client unavailable", "err", err)
		s.state.Store(&state{err: err})
		return
	}
	cfg := s.cfg.Config
	cfg.Root = root
	last := fingerprint(root)
	s.build(cfg)
	close(s.ready)
	if !s.cfg.Dev || s.ctx.Err() != nil {
		return
	}
	s.log.Info("dev mode: rebuilding the browser client when its sources change", "root", root, "dirs", Sources)
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		if fp := fingerprint(root); fp != last {
			last = fp
			s.build(cfg)
		}
	}
}

// build runs one build and records its outcome.
func (s *Server) build(cfg Config) {
	s.log.Info("building the browser client", "root", cfg.Root)
	b, err := Build(s.ctx, cfg)
	prev := s.state.Load()
	if err != nil {
		s.state.Store(&state{bundle: prev.bundle, err: err})
		if s.ctx.Err() != nil {
			return
		}
		s.log.Error("browser client build failed; serving the last good build", "err", err, "have_build", prev.bundle != nil)
		return
	}
	w := b.Files["wamp.wasm"]
	s.log.Info("browser client built", "took", b.Duration.Round(time.Millisecond), "go", b.GoVersion,
		"wasm_bytes", len(w.Data), "wasm_gzip_bytes", len(w.Gzip), "wamp.js_bytes", len(b.Files["wamp.js"].Data))
	s.state.Store(&state{bundle: b})
}

// fingerprint summarizes the names, sizes and modification times of the
// files that go into a build, test files aside. A change of any of them
// changes the result (with overwhelming probability).
func fingerprint(root string) uint64 {
	h := fnv.New64a()
	add := func(path string, info fs.FileInfo) {
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", path, info.Size(), info.ModTime().UnixNano())
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if info, err := os.Stat(filepath.Join(root, f)); err == nil {
			add(f, info)
		}
	}
	for _, dir := range Sources {
		filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				fmt.Fprintf(h, "%s\x00error\n", path)
				return nil
			}
			if d.IsDir() {
				if n := d.Name(); n == "testdata" || n == "node_modules" || (n != "." && strings.HasPrefix(n, ".")) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(path, "_test.go") {
				return nil
			}
			if info, err := d.Info(); err == nil {
				add(path, info)
			}
			return nil
		})
	}
	return h.Sum64()
}
