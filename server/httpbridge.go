package server

import (
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/local"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// The HTTP bridge lets any backend that can send an HTTP request publish
// and call, as Crossbar.io's HTTP publisher and caller do:
//
//	POST /publish  {"topic": URI, "args": [...], "kwargs": {...}, "options": {...}}
//	  200 {"id": publication ID}
//	POST /call     {"procedure": URI, "args": [...], "kwargs": {...}, "options": {...}}
//	  200 {"args": [...], "kwargs": {...}}
//
// A WAMP error (no such procedure, the callee's error, a timeout ...) is a
// completed exchange, answered 200 {"error": URI, "args": [...],
// "kwargs": {...}}, as Crossbar.io does. A request the bridge refuses is
// answered with a 4xx or 5xx status and the same shape, whose first arg
// says why: 400 a malformed body (wamp.error.invalid_argument), 401 a bad
// signature, an unknown key, a stale timestamp or a replayed nonce
// (wamp.error.authentication_failed), 413 a body over the limit, 415 a
// Content-Type other than application/json, 503 the bridge's session is
// gone (the router is shutting down) or its nonce cache is full
// (wamp.error.unavailable). Values use the WAMP JSON convention: a string
// "\u0000" followed by base64 is binary.
//
// Every request is signed with a shared secret, in four headers:
//
//	X-WAMP-Key:       the key ID
//	X-WAMP-Timestamp: the time of signing, in Unix seconds or RFC 3339
//	X-WAMP-Nonce:     8 to 64 characters of [A-Za-z0-9._~-], new for each request
//	X-WAMP-Signature: base64 (standard or URL alphabet, padding optional) of
//	    HMAC-SHA256(secret, key "\n" timestamp "\n" nonce "\n" action "\n" body)
//
// where timestamp and nonce are the header values as sent, action is the
// last element of the request path ("publish" or "call", so that a
// signed publication cannot be replayed as a call) and body is the
// request body's bytes. A timestamp further than the window (5 minutes)
// from the router's clock is stale; a nonce is remembered, per key, until
// its timestamp leaves the window, so that a captured request cannot be
// sent again. [SignBridgeRequest] signs a request so.
//
// Design: the bridge is a WAMP session of the router itself, joined to
// its realm with the configured authid and authrole without a HELLO (the
// shared key is its authentication), over an in-process transport/local
// pair. It speaks plain PUBLISH and CALL, so that the broker, the dealer,
// URI checks, authorization, limits, meta events and metrics treat its
// requests exactly like any client's, with no second path into them; many
// HTTP requests share the one session, told apart by request ID. The
// server package cannot use the Go client (that would reverse the import
// direction), hence the small request multiplexer below.

// Bridge header names.
const (
	BridgeKeyHeader       = "X-WAMP-Key"
	BridgeTimestampHeader = "X-WAMP-Timestamp"
	BridgeNonceHeader     = "X-WAMP-Nonce"
	BridgeSignatureHeader = "X-WAMP-Signature"
)

// BridgeConfig configures the HTTP bridge. Zero fields select the
// documented defaults.
type BridgeConfig struct {
	// Realm is the realm the bridge publishes and calls in. Required.
	Realm wamp.URI
	// AuthRole is the role of the bridge's session, which authorization
	// applies to; a realm with roles must define it. Default
	// "http-bridge".
	AuthRole string
	// AuthID is the authid of the bridge's session, which subscribers and
	// callees see when the publisher or caller is disclosed. Default
	// "http-bridge".
	AuthID string
	// Keys maps each key ID to its secret. At least one is required; a
	// secret must be at least 16 bytes, since it is all that stands
	// between the network and the realm.
	Keys map[string]string
	// MaxBodySize bounds a request body, so that a client cannot make the
	// router buffer arbitrary input. Default: the router's MaxMessageSize.
	MaxBodySize int64
	// TimestampWindow is how far a request's timestamp may be from the
	// router's clock, either way. It bounds both the replay cache (a nonce
	// is kept this long after its timestamp) and the clock skew tolerated.
	// Default 5 minutes.
	TimestampWindow time.Duration
	// MaxNonces bounds the replay cache. When it is full, requests get 503
	// until nonces expire: remembering fewer would let a replay through.
	// Default 100000, ample for 300 requests a second in a 5 minute
	// window.
	MaxNonces int
	// CallTimeout is the timeout of a call whose options set none; the
	// dealer answers wamp.error.timeout when it expires. Default 60 s.
	CallTimeout time.Duration
}

func (c BridgeConfig) withDefaults(r *Router) BridgeConfig {
	if c.AuthRole == "" {
		c.AuthRole = "http-bridge"
	}
	if c.AuthID == "" {
		c.AuthID = "http-bridge"
	}
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = r.cfg.MaxMessageSize
	}
	if c.TimestampWindow <= 0 {
		c.TimestampWindow = 5 * time.Minute
	}
	if c.MaxNonces <= 0 {
		c.MaxNonces = 100000
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = time.Minute
	}
	return c
}

// Bridge is the HTTP bridge's handler: POST /publish and POST /call.
type Bridge struct {
	router *Router
	rlm    *realm
	cfg    BridgeConfig
	mux    *http.ServeMux
	now    func() time.Time

	nonces nonceCache

	mu   sync.Mutex
	conn *bridgeConn // the current session; replaced when it ends
}

// NewBridge returns the HTTP bridge for cfg, or an error if cfg is invalid,
// its realm does not exist, or the realm has roles and AuthRole is not
// one of them. Its session joins the realm on the first
// request, and again after the router closed it.
func (r *Router) NewBridge(cfg BridgeConfig) (*Bridge, error) {
	rlm := r.realm(cfg.Realm)
	if rlm == nil {
		return nil, fmt.Errorf("server: bridge: no realm %q on this router", cfg.Realm)
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("server: bridge: no key configured")
	}
	for id, secret := range cfg.Keys {
		if id == "" {
			return nil, errors.New("server: bridge: empty key ID")
		}
		if len(secret) < 16 {
			return nil, fmt.Errorf("server: bridge: the secret of key %q is shorter than 16 bytes", id)
		}
	}
	b := &Bridge{router: r, rlm: rlm, cfg: cfg.withDefaults(r), now: time.Now}
	// As for a principal whose role the realm does not list (which cannot
	// join), rather than a bridge whose every request is refused.
	if !rlm.authz.hasRole(b.cfg.AuthRole) {
		return nil, fmt.Errorf("server: bridge: realm %q has no role %q", cfg.Realm, b.cfg.AuthRole)
	}
	b.nonces.limit = b.cfg.MaxNonces
	b.mux = http.NewServeMux()
	b.mux.HandleFunc("POST /publish", b.publish)
	b.mux.HandleFunc("POST /call", b.call)
	return b, nil
}

// ServeHTTP serves POST /publish and POST /call.
func (b *Bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mux.ServeHTTP(w, r)
}

// BridgeSignature returns the X-WAMP-Signature of a request: base64 of
// HMAC-SHA256(secret, keyID "\n" timestamp "\n" nonce "\n" action "\n"
// body).
func BridgeSignature(secret, keyID, timestamp, nonce, action string, body []byte) string {
	return base64.StdEncoding.EncodeToString(bridgeMAC(secret, keyID, timestamp, nonce, action, body))
}

func bridgeMAC(secret, keyID, timestamp, nonce, action string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	for _, s := range []string{keyID, timestamp, nonce, action} {
		io.WriteString(m, s)
		m.Write([]byte{'\n'})
	}
	m.Write(body)
	return m.Sum(nil)
}

// SignBridgeRequest sets the four signature headers of req, whose body is
// body, with the current time and a random nonce. The action signed is the
// last element of req.URL.Path.
func SignBridgeRequest(req *http.Request, keyID, secret string, body []byte) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := rand.Text()
	req.Header.Set(BridgeKeyHeader, keyID)
	req.Header.Set(BridgeTimestampHeader, ts)
	req.Header.Set(BridgeNonceHeader, nonce)
	req.Header.Set(BridgeSignatureHeader, BridgeSignature(secret, keyID, ts, nonce, path.Base(req.URL.Path), body))
}

// bridgeError is a refused request: an HTTP status, an error URI and a
// reason.
type bridgeError struct {
	status int
	uri    wamp.URI
	reason string
}

func refuse(status int, uri wamp.URI, format string, a ...any) *bridgeError {
	return &bridgeError{status: status, uri: uri, reason: fmt.Sprintf(format, a...)}
}

func unauthorized(format string, a ...any) *bridgeError {
	return refuse(http.StatusUnauthorized, wamp.ErrAuthenticationFailed, format, a...)
}

// request is the body of a bridge request.
type bridgeRequest struct {
	uri     wamp.URI
	args    wamp.List
	kwargs  wamp.Dict
	options wamp.Dict
}

// read authenticates r and decodes its body; uriKey is "topic" or
// "procedure".
func (b *Bridge) read(w http.ResponseWriter, r *http.Request, uriKey string) (*bridgeRequest, *bridgeError) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		// Charset names are case-insensitive (RFC 2978).
		charset, named := params["charset"]
		if err != nil || mt != "application/json" || named && !strings.EqualFold(charset, "utf-8") {
			return nil, refuse(http.StatusUnsupportedMediaType, wamp.ErrInvalidArgument, "Content-Type must be application/json (UTF-8), not %q", ct)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, b.cfg.MaxBodySize))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, refuse(http.StatusRequestEntityTooLarge, wamp.ErrPayloadSizeExceeded, "the body is over the limit of %d bytes", b.cfg.MaxBodySize)
		}
		return nil, refuse(http.StatusBadRequest, wamp.ErrInvalidArgument, "cannot read the body: %v", err)
	}
	if e := b.authenticate(r, body); e != nil {
		return nil, e
	}
	v, err := codec.DecodeJSONValue(body)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, wamp.ErrInvalidArgument, "the body is not valid JSON: %v", err)
	}
	d, ok := v.(wamp.Dict)
	if !ok {
		return nil, refuse(http.StatusBadRequest, wamp.ErrInvalidArgument, "the body must be a JSON object")
	}
	req := &bridgeRequest{}
	for k, v := range d {
		switch k {
		case uriKey:
			s, ok := v.(string)
			if !ok || s == "" {
				return nil, refuse(http.StatusBadRequest, wamp.ErrInvalidArgument, "%q must be a non-empty string", uriKey)
			}
			req.uri = wamp.URI(s)
		case "args":
			if req.args, ok = v.(wamp.List); !ok && v != nil {
				return nil, refuse(http.StatusBadRequest, wamp.ErrInvalidArgument, `"args" must be an array`)
			}
		case "kwargs":
			if req.kwargs, ok = v.(wamp.Dict); !ok && v != nil {
				return nil, refuse(http.StatusBadRequest, wamp.ErrInvalidArgument, `"kwargs" must be an object`)
			}
		case "options":
			if req.options, ok = v.(wamp.Dict); !ok && v != nil {
				return nil, refuse(http.StatusBadRequest, wamp.ErrInvalidArgument, `"options" must be an object`)
			}
		default:
			return nil, refuse(http.StatusBadRequest, wamp.ErrInvalidArgument, "unknown field %q (want %s, args, kwargs, options)", k, uriKey)
		}
	}
	if req.uri == "" {
		return nil, refuse(http.StatusBadRequest, wamp.ErrInvalidArgument, "%q is missing", uriKey)
	}
	if req.options == nil {
		req.options = wamp.Dict{}
	}
	return req, nil
}

// authenticate checks the signature headers of a request with body.
func (b *Bridge) authenticate(r *http.Request, body []byte) *bridgeError {
	keyID := r.Header.Get(BridgeKeyHeader)
	ts := r.Header.Get(BridgeTimestampHeader)
	nonce := r.Header.Get(BridgeNonceHeader)
	sig := r.Header.Get(BridgeSignatureHeader)
	for _, h := range [][2]string{{BridgeKeyHeader, keyID}, {BridgeTimestampHeader, ts}, {BridgeNonceHeader, nonce}, {BridgeSignatureHeader, sig}} {
		if h[1] == "" {
			return unauthorized("missing %s header", h[0])
		}
	}
	secret, ok := b.cfg.Keys[keyID]
	if !ok {
		return unauthorized("unknown key %q", keyID)
	}
	at, err := parseBridgeTime(ts)
	if err != nil {
		return unauthorized("invalid %s %q: want Unix seconds or RFC 3339", BridgeTimestampHeader, ts)
	}
	now := b.now()
	if skew := now.Sub(at).Abs(); skew > b.cfg.TimestampWindow {
		return unauthorized("stale timestamp: %v away from the router's clock, over the window of %v", skew.Round(time.Second), b.cfg.TimestampWindow)
	}
	if !validNonce(nonce) {
		return unauthorized("invalid %s: want 8 to 64 characters of A-Z a-z 0-9 . _ ~ -", BridgeNonceHeader)
	}
	got, err := decodeBase64(sig)
	if err != nil || !hmac.Equal(got, bridgeMAC(secret, keyID, ts, nonce, path.Base(r.URL.Path), body)) {
		return unauthorized("bad signature")
	}
	switch b.nonces.add(keyID+"\n"+nonce, at.Add(b.cfg.TimestampWindow), now) {
	case nonceReplayed:
		return unauthorized("replayed nonce")
	case nonceCacheFull:
		return refuse(http.StatusServiceUnavailable, wamp.ErrUnavailable, "too many recent requests to remember their nonces; retry later")
	}
	return nil
}

func parseBridgeTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<40 {
			return time.Time{}, errors.New("out of range")
		}
		return time.Unix(n, 0), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func validNonce(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '~', c == '-':
		default:
			return false
		}
	}
	return true
}

// decodeBase64 accepts both alphabets, with or without padding.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func (b *Bridge) publish(w http.ResponseWriter, r *http.Request) {
	req, e := b.read(w, r, "topic")
	if e != nil {
		writeBridgeError(w, e)
		return
	}
	req.options["acknowledge"] = true
	ans, e := b.request(r.Context(), func(id wamp.ID) wamp.Message {
		return &wamp.Publish{Request: id, Options: req.options, Topic: req.uri, Args: req.args, Kwargs: req.kwargs}
	})
	if e != nil {
		writeBridgeError(w, e)
		return
	}
	switch m := ans.(type) {
	case *wamp.Published:
		writeBridgeJSON(w, http.StatusOK, wamp.Dict{"id": int64(m.Publication)})
	case *wamp.ErrorMessage:
		writeWAMPError(w, m)
	}
}

func (b *Bridge) call(w http.ResponseWriter, r *http.Request) {
	req, e := b.read(w, r, "procedure")
	if e != nil {
		writeBridgeError(w, e)
		return
	}
	for _, k := range []string{"progress", "receive_progress"} {
		if _, ok := req.options[k]; ok {
			writeBridgeError(w, refuse(http.StatusBadRequest, wamp.ErrOptionNotAllowed, "option %s is not available over HTTP", k))
			return
		}
	}
	if _, ok := req.options["timeout"]; !ok {
		req.options["timeout"] = b.cfg.CallTimeout.Milliseconds()
	}
	ans, e := b.request(r.Context(), func(id wamp.ID) wamp.Message {
		return &wamp.Call{Request: id, Options: req.options, Procedure: req.uri, Args: req.args, Kwargs: req.kwargs}
	})
	if e != nil {
		writeBridgeError(w, e)
		return
	}
	switch m := ans.(type) {
	case *wamp.Result:
		writeBridgeJSON(w, http.StatusOK, wamp.Dict{"args": orEmptyList(m.Args), "kwargs": orEmptyDict(m.Kwargs)})
	case *wamp.ErrorMessage:
		writeWAMPError(w, m)
	}
}

// request sends the message build makes on the bridge's session and
// waits for its answer: PUBLISHED, RESULT or ERROR. When ctx ends first
// (the HTTP client went away), a call is canceled.
func (b *Bridge) request(ctx context.Context, build func(wamp.ID) wamp.Message) (wamp.Message, *bridgeError) {
	c, err := b.session()
	if err != nil {
		return nil, refuse(http.StatusServiceUnavailable, wamp.ErrUnavailable, "%v", err)
	}
	id, ch, ok := c.expect()
	if !ok {
		return nil, refuse(http.StatusServiceUnavailable, wamp.ErrUnavailable, "the bridge's session ended")
	}
	m := build(id)
	if err := c.send(m); err != nil {
		c.forget(id)
		return nil, refuse(http.StatusServiceUnavailable, wamp.ErrUnavailable, "the bridge's session ended")
	}
	select {
	case ans := <-ch:
		return ans, nil
	case <-c.done:
		select {
		case ans := <-ch: // it came just before the end
			return ans, nil
		default:
		}
		return nil, refuse(http.StatusServiceUnavailable, wamp.ErrUnavailable, "the bridge's session ended before the answer")
	case <-ctx.Done():
		c.forget(id)
		if _, ok := m.(*wamp.Call); ok {
			c.send(&wamp.Cancel{Request: id, Options: wamp.Dict{"mode": "killnowait"}})
		}
		return nil, refuse(http.StatusServiceUnavailable, wamp.ErrCanceled, "the request ended before the answer: %v", context.Cause(ctx))
	}
}

// session returns the bridge's session, joining a new one if there is
// none or the last one ended.
func (b *Bridge) session() (*bridgeConn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil && !b.conn.isDone() {
		return b.conn, nil
	}
	c, s := local.Pair()
	if err := b.router.serveInternal(bridgePeer{s}, b.rlm, b.cfg.AuthID, b.cfg.AuthRole); err != nil {
		c.Close()
		return nil, err
	}
	b.conn = newBridgeConn(c)
	return b.conn, nil
}

// serveInternal runs a session of the router itself on peer: it joins rlm
// at once with the given identity, without HELLO, and reads on its own
// goroutine, tracked like any session so that Shutdown says GOODBYE to it.
func (r *Router) serveInternal(peer transport.Peer, rlm *realm, authid, authrole string) error {
	s := newSession(r, peer)
	if !r.track(s) {
		return errors.New("the router is shutting down")
	}
	s.realm = rlm
	s.roles = wamp.Dict{
		"caller":    wamp.Dict{"features": wamp.Dict{"call_canceling": true, "call_timeout": true}},
		"publisher": wamp.Dict{"features": wamp.Dict{}},
	}
	s.id = wamp.GlobalID()
	s.authid = authid
	s.authrole = authrole
	s.authmethod = "http-bridge"
	s.authprovider = "static"
	rlm.join(s, &wamp.Welcome{Session: s.id, Details: wamp.Dict{
		"realm":        string(rlm.name),
		"authid":       s.authid,
		"authrole":     s.authrole,
		"authmethod":   s.authmethod,
		"authprovider": s.authprovider,
		"roles":        routerRoles(),
	}})
	go func() {
		defer r.wg.Done()
		defer r.untrack(s)
		defer s.finish()
		defer rlm.leave(s)
		s.readLoop()
	}()
	return nil
}

// bridgePeer is the router's end of the bridge's session: a local peer
// that the meta API and metrics show as transport "http-bridge".
type bridgePeer struct{ transport.Peer }

func (bridgePeer) Info() transport.Info { return transport.Info{Transport: "http-bridge"} }

// bridgeConn is the bridge's end of its session: it sends requests and
// hands each answer to the request that waits for it.
type bridgeConn struct {
	peer transport.Peer
	done chan struct{} // closed when the session ended
	ids  wamp.SequentialID

	sendMu sync.Mutex // Peer.Send is called by one goroutine at a time

	mu      sync.Mutex
	waiting map[wamp.ID]chan wamp.Message
	ended   bool
}

func newBridgeConn(peer transport.Peer) *bridgeConn {
	c := &bridgeConn{peer: peer, done: make(chan struct{}), waiting: make(map[wamp.ID]chan wamp.Message)}
	go c.readLoop()
	return c
}

func (c *bridgeConn) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// expect reserves a request ID and the channel its answer arrives on.
func (c *bridgeConn) expect() (wamp.ID, chan wamp.Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return 0, nil, false
	}
	id := c.ids.Next()
	ch := make(chan wamp.Message, 1)
	c.waiting[id] = ch
	return id, ch, true
}

func (c *bridgeConn) forget(id wamp.ID) {
	c.mu.Lock()
	delete(c.waiting, id)
	c.mu.Unlock()
}

func (c *bridgeConn) send(m wamp.Message) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.peer.Send(m)
}

func (c *bridgeConn) readLoop() {
	defer func() {
		c.mu.Lock()
		c.ended = true
		c.waiting = nil
		c.mu.Unlock()
		c.peer.Close()
		close(c.done)
	}()
	for {
		m, err := c.peer.Recv()
		if err != nil {
			return
		}
		var id wamp.ID
		switch m := m.(type) {
		case *wamp.Published:
			id = m.Request
		case *wamp.Result:
			if p, _ := m.Details["progress"].(bool); p {
				continue
			}
			id = m.Request
		case *wamp.ErrorMessage:
			id = m.Request
		case *wamp.Goodbye:
			c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
			return
		case *wamp.Abort:
			return
		default:
			continue // WELCOME, and nothing else is expected
		}
		c.mu.Lock()
		ch := c.waiting[id]
		delete(c.waiting, id)
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

func orEmptyList(l wamp.List) wamp.List {
	if l == nil {
		return wamp.List{}
	}
	return l
}

func orEmptyDict(d wamp.Dict) wamp.Dict {
	if d == nil {
		return wamp.Dict{}
	}
	return d
}

func writeWAMPError(w http.ResponseWriter, m *wamp.ErrorMessage) {
	writeBridgeJSON(w, http.StatusOK, wamp.Dict{"error": string(m.Error), "args": orEmptyList(m.Args), "kwargs": orEmptyDict(m.Kwargs)})
}

func writeBridgeError(w http.ResponseWriter, e *bridgeError) {
	writeBridgeJSON(w, e.status, wamp.Dict{"error": string(e.uri), "args": wamp.List{e.reason}, "kwargs": wamp.Dict{}})
}

func writeBridgeJSON(w http.ResponseWriter, status int, v wamp.Dict) {
	out, err := codec.AppendJSONValue(nil, v)
	if err != nil {
		status = http.StatusInternalServerError
		out, _ = codec.AppendJSONValue(nil, wamp.Dict{"error": string(wamp.ErrInvalidArgument), "args": wamp.List{"the answer cannot be encoded as JSON: " + err.Error()}, "kwargs": wamp.Dict{}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(out, '\n'))
}

// nonceCache remembers the nonces of accepted requests until their
// timestamps leave the window; beyond that the timestamp check refuses a
// replay by itself. It holds at most limit nonces.
type nonceCache struct {
	mu    sync.Mutex
	limit int
	seen  map[string]struct{}
	order nonceHeap // by expiry
}

type nonceResult int

const (
	nonceNew nonceResult = iota
	nonceReplayed
	nonceCacheFull
)

// add records key until expires, after dropping what expired by now.
func (c *nonceCache) add(key string, expires, now time.Time) nonceResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = make(map[string]struct{})
	}
	for len(c.order) > 0 && !c.order[0].expires.After(now) {
		delete(c.seen, heap.Pop(&c.order).(nonceEntry).key)
	}
	if _, ok := c.seen[key]; ok {
		return nonceReplayed
	}
	if len(c.seen) >= c.limit {
		return nonceCacheFull
	}
	c.seen[key] = struct{}{}
	heap.Push(&c.order, nonceEntry{key: key, expires: expires})
	return nonceNew
}

type nonceEntry struct {
	key     string
	expires time.Time
}

// nonceHeap is a min-heap of nonces by expiry (container/heap).
type nonceHeap []nonceEntry

func (h nonceHeap) Len() int           { return len(h) }
func (h nonceHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h nonceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nonceHeap) Push(x any)        { *h = append(*h, x.(nonceEntry)) }
func (h *nonceHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
