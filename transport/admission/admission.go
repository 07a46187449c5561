// Package admission keeps a flood of new connections from starving the
// sessions a router already serves.
//
// Accepting a connection, reading its handshake and closing it cost a
// router far more than most messages do; a peer that opens connections and
// never joins a realm on them, or sends garbage on them, spends that on
// work nobody needs. A [Listener] gives every connection it accepts a token
// from a bucket refilled at a steady rate. A connection on which a session
// joins gives its token back ([Conn.Joined]), and takes one again if the
// router ends that session for breaking the protocol ([Conn.Misbehaved]);
// the others keep theirs. So clients that join keep no token once joined,
// while connections that prove nothing are accepted at the bucket's rate
// once its burst is spent: the rest wait in the kernel's accept queue,
// where they cost the router nothing, and the sessions keep their CPU.
// A joining client holds its token from its accept to its WELCOME, so
// joins that take long to complete are paced too: a storm of them gets in
// at about the rate plus the burst per handshake time (at 400/s and a
// burst of 8, with handshakes of 100 ms over a distant network, about 480
// joins a second).
package admission

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The defaults of wampd's --admit-rate and --admit-burst. A connection
// that proves nothing costs a router 0.5-1 ms of CPU on a small virtual
// machine, a tenth of that on bare metal: at 200 per second per CPU such
// connections take a tenth of the machine at most. The burst is what a
// page loads at once; clients that join hold a token only until they
// join, so past 8 handshakes at once the next one waits for one of them to
// end or for the rate. The burst is spent all at once, so it sets how hard
// the first connections of a flood hit the sessions: on a 2-CPU VM, stress
// case 1 doubled the other sessions' p99 with a burst of 256 or 64, in 3
// of 9 runs with 32 and in 1 of 9 with 8, which joined as fast (stress
// case 14).
const (
	DefaultRatePerCPU = 200
	DefaultBurst      = 8
)

// Listener accepts connections from an inner listener at most as fast as
// its budget allows. Accept is meant to be called by one goroutine at a
// time, as http.Server and the raw socket server do.
type Listener struct {
	net.Listener
	rate  float64 // tokens per second
	burst float64

	mu     sync.Mutex
	tokens float64 // below zero: a debt that Misbehaved ran up
	last   time.Time

	given     chan struct{} // a token was given back: a waiting Accept looks again
	closed    chan struct{}
	closeOnce sync.Once
	waited    atomic.Int64 // connections that waited for a token
}

// NewListener returns a Listener that accepts from l: burst connections
// at once, then rate per second, each connection on which a session joins
// giving its place back. rate must be positive and burst at least 1.
func NewListener(l net.Listener, rate float64, burst int) *Listener {
	return &Listener{
		Listener: l,
		rate:     rate,
		burst:    float64(max(burst, 1)),
		tokens:   float64(max(burst, 1)),
		last:     time.Now(),
		given:    make(chan struct{}, 1),
		closed:   make(chan struct{}),
	}
}

// Accept accepts a connection and hands it out once the budget has a
// token for it. While it waits, the connection is held unread and the next
// ones wait in the kernel's accept queue. The connection it returns is a
// *Conn.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if !l.take() {
		c.Close()
		return nil, net.ErrClosed
	}
	return &Conn{Conn: c, l: l}, nil
}

// Close closes the inner listener and ends an Accept that waits for a
// token.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// Waited returns how many accepted connections had to wait for a token so
// far, the one waiting now included.
func (l *Listener) Waited() int64 { return l.waited.Load() }

// take waits for a token and spends it: at once while the bucket holds
// one, else until the rate or a connection that joins puts one back. It
// returns false if the listener was closed first.
func (l *Listener) take() bool {
	for first := true; ; first = false {
		l.mu.Lock()
		l.refill()
		if l.tokens >= 1 {
			l.tokens--
			l.mu.Unlock()
			return true
		}
		wait := time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
		l.mu.Unlock()
		if first {
			l.waited.Add(1)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-l.given:
			t.Stop()
		case <-l.closed:
			t.Stop()
			return false
		}
	}
}

// give puts a token back, up to the burst.
func (l *Listener) give() {
	l.mu.Lock()
	l.refill()
	l.tokens = min(l.tokens+1, l.burst)
	l.mu.Unlock()
	select {
	case l.given <- struct{}{}:
	default:
	}
}

// charge takes a token without waiting: a debt, if the bucket is empty,
// that the next accepts wait for.
func (l *Listener) charge() {
	l.mu.Lock()
	l.refill()
	l.tokens--
	l.mu.Unlock()
}

func (l *Listener) refill() {
	now := time.Now()
	l.tokens = min(l.tokens+now.Sub(l.last).Seconds()*l.rate, l.burst)
	l.last = now
}

// Conn is a connection that a Listener accepted. Its methods Joined and
// Misbehaved may be called on a nil *Conn and then do nothing.
type Conn struct {
	net.Conn
	l *Listener
	// state: 0 accepted, 1 joined (token given back), 2 charged again.
	state atomic.Int32
}

// Joined gives the connection's token back to its listener, the first
// time: a session joined a realm on it.
func (c *Conn) Joined() {
	if c != nil && c.state.CompareAndSwap(0, 1) {
		c.l.give()
	}
}

// Misbehaved takes the token that Joined gave back, once: the router
// ended a session on the connection for breaking the protocol. Before
// Joined it does nothing, the connection still holding its token.
func (c *Conn) Misbehaved() {
	if c != nil && c.state.CompareAndSwap(1, 2) {
		c.l.charge()
	}
}

// NetConn returns the connection that the listener's inner listener
// accepted.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// SyscallConn returns the inner connection's raw connection, so that code
// that makes raw system calls on an accepted connection still can.
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("admission: the connection has no raw connection")
	}
	return sc.SyscallConn()
}

// CloseWrite shuts down the writing side of the inner connection, where
// it can (TCP, Unix): a lingering close sends its FIN this way.
func (c *Conn) CloseWrite() error {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok {
		return errors.New("admission: the connection cannot close its writing side alone")
	}
	return cw.CloseWrite()
}

// Of returns the *Conn that c is or wraps, looking through connections
// that wrap another and say so with a NetConn method (as *tls.Conn does),
// or nil when no Listener accepted c.
func Of(c net.Conn) *Conn {
	for c != nil {
		switch t := c.(type) {
		case *Conn:
			return t
		case interface{ NetConn() net.Conn }:
			c = t.NetConn()
		default:
			return nil
		}
	}
	return nil
}
