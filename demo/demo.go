// Package demo serves the wampkit demo pages: an index, browser-to-browser
// RPC (/demo/rpc) and a realtime shared board (/demo/board). The pages are
// templ components (*.templ, with the generated *_templ.go committed beside
// them); their scripts, in static/, load the browser client from /wamp.js,
// which package internal/assets serves, and reach the router at /ws (or /lp
// with ?transport=longpoll) on the same origin.
package demo

import (
	"embed"
	"net/http"

	"github.com/a-h/templ"
)

//go:generate go tool templ generate

//go:embed static
var static embed.FS

// Config configures the demo pages.
type Config struct {
	// Realm is the realm the pages join; default realm1.
	Realm string
}

// Mount registers the demo on mux: GET / (the index, exactly), GET
// /demo/rpc, GET /demo/board and GET /demo/static/ (the pages' scripts and
// style sheet).
func Mount(mux *http.ServeMux, cfg Config) {
	if cfg.Realm == "" {
		cfg.Realm = "realm1"
	}
	mux.Handle("GET /{$}", page(indexPage(cfg.Realm)))
	mux.Handle("GET /demo/rpc", page(rpcPage(cfg.Realm)))
	mux.Handle("GET /demo/board", page(boardPage(cfg.Realm)))
	// /demo/static/NAME is the embedded file static/NAME.
	mux.Handle("GET /demo/static/", noCache(http.StripPrefix("/demo", http.FileServerFS(static))))
}

// page serves a component as a complete HTML page.
func page(c templ.Component) http.Handler {
	return noCache(templ.Handler(c))
}

// noCache makes browsers revalidate, so that a restarted dev server's
// pages are seen at once.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
