//go:build !js

package longpoll

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/internal/clientcert"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Defaults of [Config].
const (
	DefaultPollTimeout    = 10 * time.Second
	DefaultSessionTimeout = 30 * time.Second
	DefaultReadLimit      = 1 << 20
	DefaultMaxQueuedBytes = 4 << 20
	DefaultMaxTransports  = 10000
)

// openLimit bounds the body of POST {base}/open, a short JSON document.
const openLimit = 16 << 10

// Config configures a [Handler]. The zero value is ready to use.
type Config struct {
	// PollTimeout is how long a receive request waits for a message before
	// it is answered with an empty 204 and the client polls again.
	// Default 10 s: below Autobahn|JS's 12 s request timeout (which it
	// treats as a failure), and below the idle timeouts of common proxies.
	// An http.Server's WriteTimeout must be longer, or zero.
	PollTimeout time.Duration

	// SessionTimeout closes a transport whose client neither polled nor
	// sent for this long: a browser tab that went away never says so, and
	// its session would otherwise hold router state forever. Default 30 s,
	// as Crossbar.io. A transport that the server side closed keeps
	// answering for as long, so that its client can fetch what was queued
	// (an ABORT or GOODBYE) and get 204 from close.
	SessionTimeout time.Duration

	// ReadLimit bounds the body of one send request, in bytes, which is one
	// message, or one batch when batched; larger bodies get 413 and close
	// the transport. It stops a client from making the server buffer
	// unbounded input. Default 1 MiB; the router may change it per peer
	// through transport.ReadLimiter (small before WELCOME, larger after).
	ReadLimit int64

	// MaxQueuedBytes bounds the encoded messages waiting for the client's
	// next receive. A client that stops reading while the router keeps
	// sending would otherwise grow memory without bound; past the limit the
	// transport is closed. It must exceed the largest message the router
	// sends. Default 4 MiB.
	MaxQueuedBytes int

	// MaxTransports bounds the open transports, including closed ones that
	// still answer; /open answers 503 past it. Default 10000.
	MaxTransports int

	// OriginPatterns lists the host patterns of the browser origins allowed
	// besides the request's own host, with the semantics of coder/websocket's
	// AcceptOptions.OriginPatterns: each is matched case insensitively with
	// path.Match against the Origin's host, or against "scheme://host" when
	// it contains "://". Requests without an Origin header (non-browser
	// clients) are allowed. A foreign origin gets 403.
	OriginPatterns []string

	// Cookie, when set, is called with the request of POST {base}/open
	// before its response is written: it may add a Set-Cookie header to
	// h, and what it returns becomes the transport's Info().CookieID. A
	// router issues its tracking cookie for cookie authentication this
	// way.
	Cookie func(r *http.Request, h http.Header) string
}

// Handler serves the long-poll transport. Its paths are relative to the
// base URL, so mount it under a prefix with http.StripPrefix, for every
// method (browsers send OPTIONS preflights):
//
//	mux.Handle("/lp/", http.StripPrefix("/lp", h))
type Handler struct {
	cfg    Config
	accept func(transport.Peer)
	mux    *http.ServeMux

	// Handler.mu and conn.mu are never held together.
	mu    sync.Mutex
	conns map[string]*conn
	// buried holds the ids that their clients closed lately, with when: a
	// receive or close that crossed the close on the wire gets an empty
	// 204 rather than a 404, which a browser would log as an error.
	buried  map[string]time.Time
	closed  bool
	janitor bool // the janitor goroutine runs
	stop    chan struct{}
	wg      sync.WaitGroup
}

// NewHandler returns a Handler that calls accept with each transport that a
// client opens. accept runs on the HTTP request's goroutine before the
// client gets its transport id: it must return quickly (start the session
// and return). cfg may be nil.
func NewHandler(cfg *Config, accept func(transport.Peer)) *Handler {
	h := &Handler{accept: accept, conns: make(map[string]*conn), stop: make(chan struct{})}
	if cfg != nil {
		h.cfg = *cfg
	}
	c := &h.cfg
	if c.PollTimeout <= 0 {
		c.PollTimeout = DefaultPollTimeout
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = DefaultReadLimit
	}
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if c.MaxTransports <= 0 {
		c.MaxTransports = DefaultMaxTransports
	}
	c.OriginPatterns = append([]string(nil), c.OriginPatterns...)

	h.mux = http.NewServeMux()
	h.mux.HandleFunc("POST /open", h.open)
	h.mux.HandleFunc("POST /{id}/send", h.send)
	h.mux.HandleFunc("POST /{id}/receive", h.receive)
	h.mux.HandleFunc("POST /{id}/close", h.close)
	return h
}

// ServeHTTP checks the Origin, answers CORS preflights and routes the
// request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	origin := r.Header.Get("Origin")
	if origin != "" {
		if err := checkOrigin(r, h.cfg.OriginPatterns); err != nil {
			http.Error(w, "longpoll: "+err.Error(), http.StatusForbidden)
			return
		}
		hdr.Set("Access-Control-Allow-Origin", origin)
		hdr.Set("Access-Control-Allow-Credentials", "true")
		hdr.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions {
		hdr.Set("Access-Control-Allow-Methods", "POST")
		hdr.Set("Access-Control-Allow-Headers", "content-type")
		hdr.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Close closes every transport and stops the janitor; /open answers 503
// afterwards. Closed transports keep answering, so that clients can fetch
// what the router queued before (a GOODBYE). It always returns nil.
func (h *Handler) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.wg.Wait()
		return nil
	}
	h.closed = true
	close(h.stop)
	conns := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.shutdown()
	}
	h.wg.Wait()
	return nil
}

// Len reports the transports the handler holds, open or closed but still
// answering.
func (h *Handler) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func (h *Handler) open(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, openLimit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "longpoll: open request over "+strconv.Itoa(openLimit)+" bytes", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "longpoll: reading open request: "+err.Error(), http.StatusBadRequest)
		}
		return
	}
	var req openRequest
	if err := json.Unmarshal(data, &req); err != nil {
		http.Error(w, `longpoll: open request is not {"protocols": [...]}: `+err.Error(), http.StatusBadRequest)
		return
	}
	if len(req.Protocols) == 0 {
		http.Error(w, `longpoll: open request has no "protocols"`, http.StatusBadRequest)
		return
	}
	var (
		cd       codec.Codec
		batched  bool
		protocol string
	)
	for _, p := range req.Protocols {
		if c, b, ok := codec.BySubprotocol(p); ok {
			cd, batched, protocol = c, b, p
			break
		}
	}
	if cd == nil {
		http.Error(w, "longpoll: no common protocol; the server speaks "+strings.Join(defaultProtocols(), ", "), http.StatusBadRequest)
		return
	}

	c := newConn(h, cd, batched, r.RemoteAddr)
	clientcert.Fill(&c.info, r.TLS)
	if h.cfg.Cookie != nil {
		c.info.CookieID = h.cfg.Cookie(r, w.Header())
	}
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		http.Error(w, "longpoll: server shutting down", http.StatusServiceUnavailable)
		return
	case len(h.conns) >= h.cfg.MaxTransports:
		h.mu.Unlock()
		http.Error(w, "longpoll: too many transports", http.StatusServiceUnavailable)
		return
	}
	c.id = rand.Text()
	h.conns[c.id] = c
	if !h.janitor {
		h.janitor = true
		h.wg.Go(h.reap)
	}
	h.mu.Unlock()

	h.accept(c)
	body, _ := json.Marshal(openResponse{Transport: c.id, Protocol: protocol})
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// lookup finds the transport named in the path, or answers 404.
func (h *Handler) lookup(w http.ResponseWriter, r *http.Request) *conn {
	h.mu.Lock()
	c := h.conns[r.PathValue("id")]
	h.mu.Unlock()
	if c == nil {
		http.Error(w, "longpoll: no such transport", http.StatusNotFound)
	}
	return c
}

// forget removes c from the table, if it is still there.
func (h *Handler) forget(c *conn) {
	h.mu.Lock()
	if h.conns[c.id] == c {
		delete(h.conns, c.id)
	}
	h.mu.Unlock()
}

func (h *Handler) send(w http.ResponseWriter, r *http.Request) {
	if c := h.lookup(w, r); c != nil {
		c.serveSend(w, r)
	}
}

func (h *Handler) receive(w http.ResponseWriter, r *http.Request) {
	if h.buriedID(w, r) {
		return
	}
	if c := h.lookup(w, r); c != nil {
		c.serveReceive(w, r)
	}
}

func (h *Handler) close(w http.ResponseWriter, r *http.Request) {
	if h.buriedID(w, r) {
		return
	}
	c := h.lookup(w, r)
	if c == nil {
		return
	}
	c.closeByClient()
	h.forget(c)
	h.bury(c.id)
	w.WriteHeader(http.StatusNoContent)
}

// maxBuried bounds the ids remembered after a client's close.
const maxBuried = 1024

// bury remembers an id its client closed, for SessionTimeout.
func (h *Handler) bury(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if len(h.buried) >= maxBuried {
		for k, at := range h.buried {
			if now.Sub(at) > h.cfg.SessionTimeout || len(h.buried) >= maxBuried {
				delete(h.buried, k)
			}
		}
	}
	if h.buried == nil {
		h.buried = make(map[string]time.Time)
	}
	h.buried[id] = now
}

// buriedID answers 204 for a transport its client closed lately, and
// reports whether it did.
func (h *Handler) buriedID(w http.ResponseWriter, r *http.Request) bool {
	h.mu.Lock()
	at, ok := h.buried[r.PathValue("id")]
	h.mu.Unlock()
	if !ok || time.Since(at) > h.cfg.SessionTimeout {
		return false
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// reap is the janitor: every quarter of SessionTimeout it closes the transports
// whose client went silent and forgets closed ones that answered long
// enough. It exits when no transport is left (open starts it again) or
// when the handler closes, so an idle handler runs no goroutine.
func (h *Handler) reap() {
	tick := time.NewTicker(max(h.cfg.SessionTimeout/4, time.Millisecond))
	defer tick.Stop()
	var conns []*conn
	for {
		select {
		case <-h.stop:
			return
		case <-tick.C:
		}
		h.mu.Lock()
		if len(h.conns) == 0 {
			h.janitor = false
			h.mu.Unlock()
			return
		}
		conns = conns[:0]
		for _, c := range h.conns {
			conns = append(conns, c)
		}
		h.mu.Unlock()
		now := time.Now()
		for _, c := range conns {
			if c.expire(now, h.cfg.SessionTimeout) {
				h.forget(c)
			}
		}
		clear(conns)
	}
}

// statusError answers with code and a reason as text.
func statusError(w http.ResponseWriter, code int, format string, a ...any) {
	http.Error(w, fmt.Sprintf("longpoll: "+format, a...), code)
}
