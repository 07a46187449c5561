//go:build !js

package client

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

// TestRouterLimitKeptBySender: a wampkit router announces its message
// limit in WELCOME, and the client keeps to it over WebSocket and
// long-poll: a CALL above it fails alone with transport.ErrMessageTooBig
// and the session goes on (the router would have closed the connection
// for it), and a callee's YIELD above it reaches the caller as
// wamp.error.payload_size_exceeded.
func TestRouterLimitKeptBySender(t *testing.T) {
	const limit = 8 << 10
	r, err := server.New(server.Config{
		Realms:         []server.RealmConfig{{Name: "realm1"}},
		MaxMessageSize: limit,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(r.Handler(server.HTTPConfig{}))
	t.Cleanup(func() { r.Close(); hs.Close() })
	wsURL := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	big := strings.Repeat("x", limit)

	for name, url := range map[string]string{"websocket": wsURL, "longpoll": hs.URL + "/lp"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), wait)
			defer cancel()
			s, err := Join(ctx, url, "realm1", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Leave(ctx)
			if got, _ := wamp.AsInt(s.Details()[wamp.MaxMessageSizeKey]); got != limit {
				t.Fatalf("WELCOME.Details[%q] = %v, want %d", wamp.MaxMessageSizeKey, s.Details()[wamp.MaxMessageSizeKey], limit)
			}
			if _, err := s.Register(ctx, "com.test.echo", func(_ context.Context, inv *Invocation) (*Result, error) {
				return &Result{Args: inv.Args}, nil
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Register(ctx, "com.test.big", func(context.Context, *Invocation) (*Result, error) {
				return &Result{Args: wamp.List{big}}, nil
			}); err != nil {
				t.Fatal(err)
			}

			_, err = s.Call(ctx, "com.test.echo", wamp.List{big}, nil)
			var tooBig *transport.SendTooBigError
			if !errors.As(err, &tooBig) || tooBig.Limit != limit || tooBig.Size <= limit || tooBig.Message.Type() != wamp.TypeCall {
				t.Fatalf("CALL above the limit: %v, want a *transport.SendTooBigError for the CALL", err)
			}
			res, err := s.Call(ctx, "com.test.echo", wamp.List{"small"}, nil)
			if err != nil || len(res.Args) != 1 || res.Args[0] != "small" {
				t.Fatalf("the next call: %v, %v; the session should go on", res, err)
			}
			_, err = s.Call(ctx, "com.test.big", nil, nil)
			if we, ok := errors.AsType[*wamp.Error](err); !ok || we.URI != wamp.ErrPayloadSizeExceeded {
				t.Fatalf("a YIELD above the limit: the caller got %v, want %s", err, wamp.ErrPayloadSizeExceeded)
			}
			if _, err := s.Call(ctx, "com.test.echo", wamp.List{"still"}, nil); err != nil {
				t.Fatalf("after the refused YIELD: %v", err)
			}
		})
	}
}
