package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/wamp/codec"
)

// connectionRate is the pace of the connection phase, in connections per
// second: steady, as a flood of junk connections is (stress cases 1 and 6
// run at 1,600 and 2,500 a second), and below what the harness and either
// server manage on two cores, so that both servers see the same pace.
const connectionRate = 1000

// connectionFigures are the figures of the connection phase: the CPU time
// a WebSocket connection that upgrades and leaves without a message costs
// the router, and the bare echo server.
type connectionFigures struct {
	router, echo time.Duration
	err          error
}

// connectionPhase opens cfg.connections such connections to the router and
// as many to the echo server, in alternating rounds, and divides each
// server's CPU time over its rounds by its connections. Each connection
// offers the WAMP subprotocol, is upgraded, and is closed by the client
// with the close handshake: what a peer that connects and says nothing
// costs, from accept to close, before any WAMP.
func connectionPhase(ctx context.Context, cfg *config) connectionFigures {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	router, err := startChild(ctx, cfg, roleRouter, "connections")
	if err != nil {
		return connectionFigures{err: err}
	}
	defer router.stop()
	echo, err := startChild(ctx, cfg, roleEcho, "connections")
	if err != nil {
		return connectionFigures{err: err}
	}
	defer echo.stop()

	c, _ := codec.ByName(cfg.serializer)
	protocols := []string{codec.Subprotocol(c, false)}
	perRound := max(cfg.connections/cfg.rounds, 1)
	var spent [2]time.Duration
	for range cfg.rounds {
		for i, srv := range []*child{router, echo} {
			before, err := srv.cpu(ctx)
			if err != nil {
				return connectionFigures{err: err}
			}
			if err := connectAndLeave(ctx, srv.url("ws"), protocols, perRound); err != nil {
				return connectionFigures{err: err}
			}
			after, err := srv.cpu(ctx)
			if err != nil {
				return connectionFigures{err: err}
			}
			spent[i] += after - before
		}
	}
	n := time.Duration(perRound * cfg.rounds)
	return connectionFigures{router: spent[0] / n, echo: spent[1] / n}
}

// connectAndLeave opens n connections to url at connectionRate, each
// closed with the close handshake as soon as it is upgraded.
func connectAndLeave(ctx context.Context, url string, protocols []string, n int) error {
	start := time.Now()
	return parallel(ctx, n, connectWidth, func(ctx context.Context, i int) error {
		at := start.Add(time.Duration(i) * time.Second / connectionRate)
		select {
		case <-time.After(time.Until(at)):
		case <-ctx.Done():
			return ctx.Err()
		}
		conn, _, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: protocols})
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if err := conn.Close(ws.StatusNormalClosure, ""); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("closing connection %d: %w", i, err)
		}
		return nil
	})
}
