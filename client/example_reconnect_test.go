//go:build !js

package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/longpoll"
)

// A Session that prefers WebSocket, falls back to long-poll, and comes
// back when it loses the router, as the browser client sets it up. Here
// the WebSocket endpoint refuses the upgrade, so the session runs on
// long-poll.
func ExampleConfig_reconnect() {
	router, _ := server.New(server.Config{Realms: []server.RealmConfig{{Name: "realm1"}}})
	defer router.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no WebSocket here", http.StatusForbidden) })
	lp := longpoll.NewHandler(nil, func(p transport.Peer) { go router.Serve(p) })
	defer lp.Close()
	mux.Handle("/lp/", http.StripPrefix("/lp", lp))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	host := strings.TrimPrefix(hs.URL, "http://")

	joined := make(chan struct{}, 1)
	ctx := context.Background()
	s, err := Join(ctx, "ws://"+host+"/ws", "realm1", &Config{
		FallbackURLs: []string{"http://" + host + "/lp"},
		Reconnect:    &Reconnect{MaxRetries: 10}, // the defaults otherwise
		OnJoin:       func(*Session) { joined <- struct{}{} },
		OnLeave: func(err error, willRetry bool) {
			fmt.Println("left:", err, "will retry:", willRetry)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	<-joined
	fmt.Println("joined over", s.Transport().Transport)
	s.Leave(ctx)
	<-s.Done()
	// Output:
	// joined over longpoll
	// left: <nil> will retry: false
}
