package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/local"
	"github.com/wampkit/wampkit/wamp"
)

// remotePeer presents an in-process peer as a plain (not TLS) WebSocket
// connection from a documentation address: neither TLS nor loopback.
type remotePeer struct{ transport.Peer }

func (remotePeer) Info() transport.Info {
	return transport.Info{Transport: "websocket", Serializer: "json", RemoteAddr: "203.0.113.7:50000"}
}

// TestTicketAllowInsecureConfig reads auth.ticket.allow_insecure and checks
// that it lets a ticket through on a plain connection from the network.
func TestTicketAllowInsecureConfig(t *testing.T) {
	file := func(option string) string {
		return `{"realms": [{"name": "app",
  "roles": [{"name": "user", "permissions": [{"uri": "com.app.", "match": "prefix", "allow": {"call": true}}]}],
  "auth": {"ticket": {"principals": {"joe": {"role": "user", "ticket": "t"}}` + option + `}}}]}`
	}
	join := func(option string) error {
		t.Helper()
		fc, err := parseConfig([]byte(file(option)))
		if err != nil {
			t.Fatalf("%s: %v", option, err)
		}
		cfg := fc.Router
		cfg.Logger = slog.New(slog.DiscardHandler)
		r, err := server.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		c, s := local.Pair()
		go r.Serve(remotePeer{s})
		sess, err := client.JoinPeer(t.Context(), c, "app", &client.Config{AuthID: "joe", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("t")})
		if err == nil {
			sess.Leave(t.Context())
		} else {
			c.Close()
		}
		return err
	}
	if err := join(`, "allow_insecure": true`); err != nil {
		t.Fatalf("allow_insecure true: %v", err)
	}
	for _, option := range []string{``, `, "allow_insecure": false`} {
		err := join(option)
		if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrAuthenticationFailed || !strings.Contains(e.Error(), "neither TLS nor loopback") {
			t.Fatalf("%q: %v, want the ticket refused in clear", option, err)
		}
	}
	_, err := parseConfig([]byte(file(`, "allow_insecure": "yes"`)))
	if err == nil || !strings.Contains(err.Error(), "realms[0].auth.ticket.allow_insecure: must be true or false, not a string") {
		t.Fatalf("a string allow_insecure: %v", err)
	}
}
