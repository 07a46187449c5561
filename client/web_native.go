//go:build !js

package client

import (
	"crypto/tls"
	"net/http"
	"time"

	"github.com/wampkit/wampkit/transport/longpoll"
	"github.com/wampkit/wampkit/transport/websocket"
)

// TLSConfig is the type of Config.TLSConfig: crypto/tls's Config.
type TLSConfig = tls.Config

// webClient is the HTTP client of a Session's WebSocket and long-poll
// transports when Config.TLSConfig is set. There is one per Session, so
// that long-poll reuses its connections across requests and reconnections,
// and so that the Session's end closes them.
type webClient struct {
	hc *http.Client
}

// newWebClient returns the HTTP client for tc, nil when tc is nil: the
// transports then use their own default client.
func newWebClient(tc *tls.Config) *webClient {
	if tc == nil {
		return nil
	}
	// net/http's DefaultTransport settings; a long-poll session keeps two
	// idle connections to its host, as the default allows.
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSClientConfig:       tc.Clone(),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &webClient{hc: &http.Client{Transport: t}}
}

// setWebSocket makes o use the client, if any.
func (w *webClient) setWebSocket(o *websocket.DialOptions) {
	if w != nil {
		o.HTTPClient = w.hc
	}
}

// setLongPoll makes o use the client, if any.
func (w *webClient) setLongPoll(o *longpoll.DialOptions) {
	if w != nil {
		o.HTTPClient = w.hc
	}
}

// close closes the client's idle connections; the Session has ended.
func (w *webClient) close() {
	if w != nil {
		w.hc.CloseIdleConnections()
	}
}
