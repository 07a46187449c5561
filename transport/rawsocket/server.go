//go:build !js

package rawsocket

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/internal/clientcert"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Defaults of [Config].
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWriteBufferLimit = 16 << 20
	// DefaultMinClientLimit is the smallest limit a client may announce
	// when Config.MinClientLimit is zero. A router's WELCOME, which lists
	// its roles and features, is about 900 bytes, and a CHALLENGE or an
	// ERROR with a message comes close: a client that accepts only 512
	// bytes (the protocol's minimum) would be dropped at the first of
	// them, with no reply it could read. 4 KiB leaves room for those and
	// for small results and events, and every usual client announces
	// far more (Autobahn 16 MiB, wampkit 1 MiB).
	DefaultMinClientLimit = 4 << 10
)

// serverReadBuffer is the read buffer of an accepted connection: small,
// since a router holds many idle connections and a larger read bypasses
// the buffer.
const serverReadBuffer = 1 << 10

// Config configures a [Server]. The zero value (or nil) is ready.
type Config struct {
	// Codecs lists the serializers that the server speaks; nil means
	// codec.All (JSON, MessagePack, CBOR). A client that asks for another
	// is refused with SerializerUnsupported.
	Codecs []codec.Codec
	// ReadLimit is the largest message, in bytes, that the server accepts.
	// The handshake announces it as a power of two from 512 bytes to
	// 16 MiB, rounded down. A bound is needed because a frame is read
	// whole into memory. Zero means DefaultReadLimit, a negative value the
	// protocol's maximum. A router lowers it until WELCOME with
	// SetReadLimit, and can raise it back up to this value after.
	ReadLimit int64
	// MinClientLimit refuses, with LengthUnacceptable, a client that
	// announces it accepts messages of fewer bytes than this: a router
	// that must deliver results or events of that size could not. Zero
	// means DefaultMinClientLimit (4 KiB); a negative value accepts every
	// client (the protocol's minimum is 512 bytes).
	MinClientLimit int
	// MaxConnections bounds the connections of the server, in handshake
	// or open, so that a flood of clients cannot exhaust file descriptors
	// or memory. One above it is refused with ConnectionLimitReached.
	// Zero means no bound.
	MaxConnections int
	// HandshakeTimeout bounds the wait for a client's handshake: a client
	// that connects and stays silent would otherwise hold a connection and
	// a goroutine for good. Zero means DefaultHandshakeTimeout (10 s).
	HandshakeTimeout time.Duration
	// WriteBufferLimit bounds the bytes written to a client that its
	// connection has not taken yet. Writes never block, so that a router
	// can write from its routing goroutine: what the socket cannot take at
	// once waits in a buffer written in the background, and a client that
	// does not read would grow it without end. Past the limit the
	// connection is dropped and sends fail with an error wrapping
	// transport.ErrSlowConsumer. Zero means DefaultWriteBufferLimit
	// (16 MiB).
	WriteBufferLimit int
	// Logger receives a line for each handshake that fails or is refused.
	// Nil discards them.
	Logger *slog.Logger
}

// Server accepts raw socket connections. It is safe for concurrent use;
// one Server may serve several listeners, its MaxConnections shared by
// all.
type Server struct {
	cfg     Config
	codecs  [16]codec.Codec // by serializer ID
	exp     byte            // the LENGTH field of our handshake reply
	maxRead int64
	conns   atomic.Int64 // connections in handshake or open
}

// NewServer checks cfg and returns a Server. cfg may be nil.
func NewServer(cfg *Config) (*Server, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.WriteBufferLimit <= 0 {
		c.WriteBufferLimit = DefaultWriteBufferLimit
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MinClientLimit == 0 {
		c.MinClientLimit = DefaultMinClientLimit
	}
	if c.MinClientLimit > 1<<24 {
		return nil, fmt.Errorf("rawsocket: MinClientLimit %d is above the protocol's maximum of %d bytes", c.MinClientLimit, 1<<24)
	}
	exp, err := lengthExponent(c.ReadLimit)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: c, exp: exp, maxRead: int64(lengthLimit(exp))}
	codecs := c.Codecs
	if len(codecs) == 0 {
		codecs = codec.All
	}
	for _, cd := range codecs {
		id := serializerID(cd)
		if id == 0 {
			return nil, fmt.Errorf("rawsocket: serializer %q has no raw socket ID", cd.Name())
		}
		s.codecs[id] = cd
	}
	return s, nil
}

// Serve accepts connections on ln, runs the handshake of each on a
// goroutine of its own and hands each accepted peer to accept, on that
// same goroutine, which accept may keep for as long as it serves the peer
// (router.Serve fits). It returns nil once ln is closed, after closing the
// connections still in their handshake, or the listener's error.
func (s *Server) Serve(ln net.Listener, accept func(transport.Peer)) error {
	if accept == nil {
		return errors.New("rawsocket: Serve needs a function to accept peers")
	}
	var (
		mu        sync.Mutex
		inHand    = make(map[net.Conn]struct{})
		stopped   bool
		handshake sync.WaitGroup
	)
	defer func() {
		mu.Lock()
		stopped = true
		for c := range inHand {
			c.Close()
		}
		mu.Unlock()
		handshake.Wait()
	}()
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				// Out of file descriptors, for example: wait for some to
				// be freed instead of spinning.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.cfg.Logger.Warn("raw socket accept failed; retrying", "error", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("rawsocket: accept: %w", err)
		}
		delay = 0
		mu.Lock()
		inHand[conn] = struct{}{}
		mu.Unlock()
		handshake.Add(1)
		go func() {
			p, err := s.Accept(conn)
			mu.Lock()
			delete(inHand, conn)
			if err == nil && stopped {
				p.Close()
				err = errors.New("rawsocket: the server stopped during the handshake")
			}
			mu.Unlock()
			handshake.Done()
			if err == nil {
				accept(p)
			}
		}()
	}
}

// Serve accepts raw socket connections on ln with the configuration cfg
// (nil for the defaults) and hands each peer to accept; see
// [Server.Serve].
func Serve(ln net.Listener, cfg *Config, accept func(transport.Peer)) error {
	s, err := NewServer(cfg)
	if err != nil {
		return err
	}
	return s.Serve(ln, accept)
}

// Accept runs the router's side of the handshake on conn, which a
// listener of the caller's accepted, and returns the peer. It waits for
// the client's handshake for at most Config.HandshakeTimeout. A client
// that the server refuses gets the error reply; Accept closes conn and
// returns an error (a *HandshakeError for a refusal).
//
// The returned peer also implements transport.BatchSender,
// transport.Pinger, transport.ReadLimiter and
// transport.NonBlockingSender. It owns conn and starts no goroutine of its
// own until a write has to wait for the network.
func (s *Server) Accept(conn net.Conn) (transport.Peer, error) {
	n := s.conns.Add(1)
	release := sync.OnceFunc(func() { s.conns.Add(-1) })
	full := s.cfg.MaxConnections > 0 && n > int64(s.cfg.MaxConnections)
	p, err := s.handshake(conn, full, release)
	if err != nil {
		release()
		conn.Close()
		if _, refused := errors.AsType[*HandshakeError](err); refused {
			s.cfg.Logger.Info("raw socket handshake refused", "remote", remoteAddr(conn), "error", err)
		} else {
			s.cfg.Logger.Debug("raw socket handshake failed", "remote", remoteAddr(conn), "error", err)
		}
		return nil, err
	}
	return p, nil
}

func (s *Server) handshake(conn net.Conn, full bool, release func()) (*peer, error) {
	if err := conn.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout)); err != nil {
		return nil, fmt.Errorf("rawsocket: handshake: %w", err)
	}
	r := bufio.NewReaderSize(reader(conn), serverReadBuffer)
	var req [headerSize]byte
	if _, err := io.ReadFull(r, req[:]); err != nil {
		return nil, fmt.Errorf("rawsocket: handshake: reading the client's request: %w", err)
	}
	if req[0] != magic {
		return nil, fmt.Errorf("rawsocket: handshake: first octet 0x%02x is not the raw socket magic 0x7f", req[0])
	}
	id, exp := req[1]&0x0F, req[1]>>4
	var refusal RefusalCode
	switch {
	case req[2] != 0 || req[3] != 0:
		refusal = ReservedBitsUsed
	case s.codecs[id] == nil:
		refusal = SerializerUnsupported
	case lengthLimit(exp) < s.cfg.MinClientLimit && lengthLimit(exp) != MaxMessageSize:
		refusal = LengthUnacceptable
	case full:
		refusal = ConnectionLimitReached
	}
	if refusal != 0 {
		// A refused connection no longer counts, already when the client
		// reads why (best effort: unless it is gone).
		release()
		conn.Write([]byte{magic, byte(refusal) << 4, 0, 0})
		return nil, &HandshakeError{Code: refusal}
	}
	if _, err := conn.Write([]byte{magic, s.exp<<4 | id, 0, 0}); err != nil {
		return nil, fmt.Errorf("rawsocket: handshake: writing the reply: %w", err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("rawsocket: handshake: %w", err)
	}
	p := newPeer(peerConfig{
		conn:       conn,
		r:          r,
		codec:      s.codecs[id],
		sendLimit:  lengthLimit(exp),
		maxRead:    s.maxRead,
		writeLimit: s.cfg.WriteBufferLimit,
		release:    release,
	})
	if tc, ok := conn.(*tls.Conn); ok {
		// The handshake read completed the TLS handshake.
		cs := tc.ConnectionState()
		clientcert.Fill(&p.info, &cs)
	}
	return p, nil
}
