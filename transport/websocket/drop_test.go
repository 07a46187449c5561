//go:build !js

package websocket_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	cws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/websocket"
)

// trackedConn is an accepted connection that the test can tell, through a
// weak pointer, has been collected.
type trackedConn struct{ net.Conn }

type trackingListener struct {
	net.Listener
	accepted chan weak.Pointer[trackedConn]
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{c}
	l.accepted <- weak.Make(tc)
	return tc, nil
}

// TestDroppedConnectionIsCollected: a peer dropped without a close
// handshake (a router drops a connection silent past its HELLO deadline)
// leaves nothing behind. coder/websocket's Conn keeps a finalizer until it
// is closed, and a Conn in a cycle with a finalizer is never collected: a
// drop that closed only the connection under it kept each one for good.
func TestDroppedConnectionIsCollected(t *testing.T) {
	peers := make(chan transport.Peer, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, err := websocket.Accept(w, r, nil); err == nil {
			peers <- p
		}
	}))
	ln := &trackingListener{Listener: srv.Listener, accepted: make(chan weak.Pointer[trackedConn], 1)}
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	client, _, err := cws.Dial(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), &cws.DialOptions{Subprotocols: []string{"wamp.2.json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseNow()
	accepted := <-ln.accepted
	p := <-peers
	p.(transport.Dropper).Drop()
	if _, err := p.Recv(); err == nil {
		t.Fatal("Recv after Drop returned a message")
	}
	p = nil
	for range 20 {
		runtime.GC()
		if accepted.Value() == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the dropped connection is still reachable after 20 collections")
}
