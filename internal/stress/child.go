package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/wampkit/wampkit/internal/gcfloor"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/admission"
	"github.com/wampkit/wampkit/transport/longpoll"
	"github.com/wampkit/wampkit/transport/rawsocket"
)

// roleRouter is the hidden first argument that makes this binary the
// router child.
const roleRouter = "serve-stress-router"

// The realms the router child serves: realm for every case; realmB, open
// as realm is, for case 18 to check that two realms with the same URIs see
// nothing of each other; realmSecure, with ticket users, anonymous guests
// and roles, for case 18's identity checks.
const (
	realm       = "realm1"
	realmB      = "realm2"
	realmSecure = "stress.secure"
)

// The users of realmSecure: loader (role roleUser) joins case 18's
// sessions there, alice is the user whose ticket is guessed. Nobody is
// granted roleAdmin, which a HELLO may claim.
const (
	ticketLoader = "loader-ticket"
	ticketAlice  = "alice-ticket"
	roleUser     = "user"
	roleGuest    = "guest"
	roleAdmin    = "admin"
	// isoPrefix is what roleUser may do anything under; roleGuest may
	// only subscribe under isoPublic.
	isoPrefix = "stress.iso."
	isoPublic = isoPrefix + "public."
)

// secureRealm is realmSecure's configuration.
func secureRealm() server.RealmConfig {
	all := server.Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	return server.RealmConfig{
		Name: realmSecure,
		Auth: server.AuthConfig{
			Anonymous: &server.AnonymousAuth{Role: roleGuest},
			Ticket: &server.TicketAuth{Principals: map[string]server.TicketPrincipal{
				"loader": {Role: roleUser, Ticket: ticketLoader},
				"alice":  {Role: roleUser, Ticket: ticketAlice},
			}},
		},
		Roles: []server.RoleConfig{
			{Name: roleUser, Permissions: []server.Permission{{URI: isoPrefix, Match: "prefix", Allow: all}}},
			{Name: roleGuest, Permissions: []server.Permission{{URI: isoPublic, Match: "prefix", Allow: server.Actions{Subscribe: true}}}},
			{Name: roleAdmin, Permissions: []server.Permission{{URI: "", Match: "prefix", Allow: all,
				Disclose: server.Disclose{Caller: true, Publisher: true}}}},
		},
	}
}

// The stress router's limits: short, so that every case ends fast. They
// are printed in the table's header.
var limits = struct {
	maxMessage, maxHello int64
	helloTimeout         time.Duration
	maxQueued            int
	maxPending           int
	maxSubscriptions     int // and registrations
	pingInterval         time.Duration
	pingTimeout          time.Duration
	goodbyeTimeout       time.Duration
	lpSession, lpPoll    time.Duration
	drain                time.Duration
	admitRate            float64
	admitBurst           int
	gcFloor              uint64
}{
	maxMessage:       256 << 10,
	maxHello:         16 << 10,
	helloTimeout:     2 * time.Second,
	maxQueued:        1 << 20,
	maxPending:       100,
	maxSubscriptions: 1000,
	pingInterval:     5 * time.Second,
	pingTimeout:      5 * time.Second,
	goodbyeTimeout:   500 * time.Millisecond,
	lpSession:        4 * time.Second,
	lpPoll:           time.Second,
	drain:            3 * time.Second,
	// wampd's defaults.
	admitRate:  admission.DefaultRatePerCPU * float64(runtime.GOMAXPROCS(0)),
	admitBurst: admission.DefaultBurst,
	gcFloor:    64 << 20,
}

func limitsHeader() string {
	l := limits
	return fmt.Sprintf("router: MaxMessageSize %d KiB, MaxHelloSize %d KiB, HelloTimeout %v, MaxQueuedBytes %d KiB, MaxPendingCalls %d, MaxSubscriptions/MaxRegistrations %d, Ping %v/%v, GoodbyeTimeout %v, long-poll SessionTimeout %v PollTimeout %v, drain %v; admission (as wampd's): connections on which no session joins, or whose session breaks the protocol, let in at %.0f/s past a burst of %d; heap floor (as wampd's) %d MiB",
		l.maxMessage>>10, l.maxHello>>10, l.helloTimeout, l.maxQueued>>10, l.maxPending, l.maxSubscriptions, l.pingInterval, l.pingTimeout, l.goodbyeTimeout, l.lpSession, l.lpPoll, l.drain, l.admitRate, l.admitBurst, l.gcFloor>>20)
}

// serveRouter runs the router child: it listens on 127.0.0.1:0 as wampd
// does (WebSocket, long-poll and raw sockets on one port), prints
// "listening ADDR", then answers commands read on stdin, one line each:
//
//	stats -> "stats GOROUTINES HEAP_INUSE STACK_INUSE TOTAL_ALLOC SESSIONS HEAP_ALLOC" (after a GC)
//	quit  -> exits (so does the end of stdin)
//
// SIGTERM shuts the router down as wampd does (GOODBYE to every session,
// pending calls failed) within limits.drain, prints "shutdown NANOS ERR"
// and exits.
func serveRouter() int {
	// Case 14 holds maxSessions connections to it at once.
	if _, err := raiseOpenFiles(maxSessions + fdMargin); err != nil {
		fmt.Fprintf(os.Stderr, "stress router: %v\n", err)
	}
	if err := runRouter(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "stress router: %v\n", err)
		return 1
	}
	return 0
}

func runRouter(in io.Reader, out io.Writer) error {
	// Warnings and up: the reasons the router gives for what it does to a
	// session (a slow consumer disconnected) are part of the figures.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gcfloor.Set(limits.gcFloor)
	r, err := server.New(server.Config{
		Realms:           []server.RealmConfig{{Name: realm}, {Name: realmB}, secureRealm()},
		MaxMessageSize:   limits.maxMessage,
		MaxHelloSize:     limits.maxHello,
		HelloTimeout:     limits.helloTimeout,
		MaxQueuedBytes:   limits.maxQueued,
		MaxPendingCalls:  limits.maxPending,
		MaxSubscriptions: limits.maxSubscriptions,
		MaxRegistrations: limits.maxSubscriptions,
		PingInterval:     limits.pingInterval,
		PingTimeout:      limits.pingTimeout,
		GoodbyeTimeout:   limits.goodbyeTimeout,
		Logger:           logger,
	})
	if err != nil {
		return err
	}
	h := r.Handler(server.HTTPConfig{LongPoll: longpoll.Config{
		SessionTimeout: limits.lpSession,
		PollTimeout:    limits.lpPoll,
		MaxTransports:  50000,
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// As wampd serves by default: HTTP (WebSocket and long-poll) and raw
	// sockets on one port, told apart by each connection's first octet,
	// behind wampd's admission.
	raw, err := rawsocket.NewServer(&rawsocket.Config{ReadLimit: limits.maxMessage, WriteBufferLimit: limits.maxQueued})
	if err != nil {
		return err
	}
	httpLn, rawLn := rawsocket.NewSharedListener(admission.NewListener(ln, limits.admitRate, limits.admitBurst), 0)
	go raw.Serve(rawLn, r.Serve)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(httpLn)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if _, err := fmt.Fprintf(out, "listening %s\n", ln.Addr()); err != nil {
		return err
	}
	cmds := make(chan string)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			cmds <- sc.Text()
		}
		close(cmds)
	}()
	for {
		select {
		case <-term:
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), limits.drain)
			rerr := r.Shutdown(ctx)
			srv.Shutdown(ctx)
			cancel()
			fmt.Fprintf(out, "shutdown %d %v\n", time.Since(start).Nanoseconds(), rerr)
			return nil
		case cmd, ok := <-cmds:
			if !ok || cmd == "quit" {
				r.Close()
				return nil
			}
			reply := fmt.Sprintf("error unknown command %q", cmd)
			if cmd == "stats" {
				// Twice: the first GC moves what sync.Pools hold to their
				// victim caches, the second frees it.
				runtime.GC()
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				sessions := 0
				for _, n := range r.Stats().Sessions {
					sessions += n
				}
				reply = fmt.Sprintf("stats %d %d %d %d %d %d", runtime.NumGoroutine(), ms.HeapInuse, ms.StackInuse, ms.TotalAlloc, sessions, ms.HeapAlloc)
			}
			if _, err := fmt.Fprintln(out, reply); err != nil {
				return err
			}
		}
	}
}
