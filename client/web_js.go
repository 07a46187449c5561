//go:build js

package client

import (
	"github.com/wampkit/wampkit/transport/longpoll"
	"github.com/wampkit/wampkit/transport/websocket"
)

// TLSConfig is the type of Config.TLSConfig. In the browser the browser
// does TLS, so the field is ignored; this empty type keeps crypto/tls, and
// the network stack it pulls in, out of the wasm binary.
type TLSConfig struct{}

// webClient has nothing to hold in the browser: its fetch and WebSocket
// are the browser's.
type webClient struct{}

func newWebClient(*TLSConfig) *webClient               { return nil }
func (*webClient) setWebSocket(*websocket.DialOptions) {}
func (*webClient) setLongPoll(*longpoll.DialOptions)   {}
func (*webClient) close()                              {}
