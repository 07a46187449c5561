package server

import (
	"net/http"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/longpoll"
	"github.com/wampkit/wampkit/transport/websocket"
)

// HTTPConfig configures the router's HTTP endpoints.
type HTTPConfig struct {
	// OriginPatterns lists the browser Origins allowed besides the
	// router's own (same-origin is always allowed), as host patterns such
	// as "example.com" or "*.example.com". A request from any other Origin
	// is refused with 403: this stops a foreign page from using a
	// visitor's browser to reach the router. It applies to WebSocket and
	// long-poll alike.
	OriginPatterns []string

	// LongPoll configures the long-poll transport; its OriginPatterns are
	// taken from the field above.
	LongPoll longpoll.Config
}

// Handler returns the HTTP handler that accepts WAMP transports: WebSocket
// at /ws and HTTP long-poll under /lp/ (/lp/open, /lp/{id}/send, ...).
func (r *Router) Handler(hc HTTPConfig) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ws", r.WebSocketHandler(hc))
	// Every method: CORS preflights are OPTIONS.
	mux.Handle("/lp/", http.StripPrefix("/lp", r.LongPollHandler(hc)))
	return mux
}

// WebSocketHandler returns the handler that upgrades a request to a WAMP
// WebSocket connection and serves a session on it. The session runs on its
// own goroutine and the handler returns, which lets net/http release the
// request, its buffers and the handler's stack: an idle session costs a
// third of what it would if the handler stayed.
func (r *Router) WebSocketHandler(hc HTTPConfig) http.Handler {
	opts := &websocket.AcceptOptions{
		OriginPatterns:   hc.OriginPatterns,
		ReadLimit:        r.cfg.MaxHelloSize,
		WriteBufferLimit: r.cfg.MaxQueuedBytes,
		Cookie:           r.cookies.track,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		peer, err := websocket.Accept(w, req, opts)
		if err != nil {
			r.cfg.Logger.Debug("websocket upgrade refused", "remote", req.RemoteAddr, "err", err)
			return
		}
		go r.serve(peer, req.TLS != nil)
	})
}

// LongPollHandler returns the long-poll transport's handler, to be mounted
// with its base path stripped. The router closes it when it shuts down.
func (r *Router) LongPollHandler(hc HTTPConfig) http.Handler {
	cfg := hc.LongPoll
	cfg.OriginPatterns = hc.OriginPatterns
	cfg.Cookie = r.cookies.track
	if cfg.ReadLimit == 0 {
		cfg.ReadLimit = r.cfg.MaxHelloSize
	}
	h := longpoll.NewHandler(&cfg, func(p transport.Peer) { go r.Serve(p) })
	r.mu.Lock()
	r.closers = append(r.closers, h.Close)
	r.mu.Unlock()
	r.stats.mu.Lock()
	r.stats.longPolls = append(r.stats.longPolls, h)
	r.stats.mu.Unlock()
	return h
}
