package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/rawsocket"
)

// rawOptions are the raw socket flags.
type rawOptions struct {
	addr      string // --raw-addr
	tls       bool   // --raw-tls
	unix      string // --unix
	shared    bool   // --raw-shared
	maxConns  int    // --raw-max-connections
	minClient int    // --raw-min-client-length
	// admit paces the --raw-addr listener as the HTTP port is paced.
	admit admissionOptions
}

func (o *rawOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "raw-addr", "", "also serve WAMP raw sockets (rs://) on this TCP `address`")
	fs.BoolVar(&o.tls, "raw-tls", false, "serve the --raw-addr listener over TLS (rss://) with the certificate of the configuration file's tls section, verifying client certificates as HTTPS does")
	fs.StringVar(&o.unix, "unix", "", "also serve WAMP raw sockets on a Unix socket at this `path` (unix:///path)")
	fs.BoolVar(&o.shared, "raw-shared", true, "serve WAMP raw sockets on the HTTP port too (not when it serves HTTPS: use --raw-addr with --raw-tls)")
	fs.IntVar(&o.maxConns, "raw-max-connections", 0, "refuse raw socket connections past this `number`, on all raw socket listeners together, with the protocol's connection-limit reply (0: no limit)")
	fs.IntVar(&o.minClient, "raw-min-client-length", 0, "refuse a raw socket client whose largest message is shorter than this many `bytes` (its handshake's length), with the protocol's length-unacceptable reply (0: rawsocket.DefaultMinClientLimit, 4096, the least that holds the router's WELCOME)")
}

// rawSockets serves raw socket connections to the router.
type rawSockets struct {
	srv     *rawsocket.Server
	lns     []net.Listener // the listeners of their own
	serving sync.WaitGroup
	once    sync.Once
}

// startRawSockets starts the raw socket listeners that o asks for. tlsCfg
// is the configuration of HTTPS, nil when ln serves plain HTTP; the TCP
// listener of its own uses it with --raw-tls. It returns the listener that
// HTTP should serve: the HTTP share of ln when raw sockets share the HTTP
// port, otherwise ln itself.
//
// An HTTPS port carries no raw sockets: telling them apart from HTTPS
// means reading the first octet after the TLS handshake, and net/http
// must have the *tls.Conn itself, unread, to see the client certificate
// and to speak HTTP/2.
func startRawSockets(o rawOptions, ln net.Listener, tlsCfg *tls.Config, router *server.Router, cfg server.Config, log *slog.Logger) (net.Listener, *rawSockets, error) {
	if o.tls {
		switch {
		case tlsCfg == nil:
			return nil, nil, errors.New("--raw-tls: needs the configuration file's tls section (cert_file and key_file): the router's certificate")
		case o.addr == "":
			return nil, nil, errors.New("--raw-tls (transports.rawsocket.tls): no TCP listener to serve over TLS; give --raw-addr or transports.rawsocket.listen")
		}
	}
	if o.maxConns < 0 {
		return nil, nil, fmt.Errorf("--raw-max-connections: %d is negative", o.maxConns)
	}
	if o.minClient < 0 || o.minClient > rawsocket.MaxMessageSize {
		return nil, nil, fmt.Errorf("--raw-min-client-length: %d is not from 0 to %d", o.minClient, rawsocket.MaxMessageSize)
	}
	srv, err := rawsocket.NewServer(&rawsocket.Config{
		ReadLimit:        cfg.MaxMessageSize,
		WriteBufferLimit: cfg.MaxQueuedBytes,
		MaxConnections:   o.maxConns,
		MinClientLimit:   o.minClient,
		Logger:           log,
	})
	if err != nil {
		return nil, nil, err
	}
	rs := &rawSockets{srv: srv}
	if o.addr != "" {
		l, err := net.Listen("tcp", o.addr)
		if err != nil {
			return nil, nil, fmt.Errorf("--raw-addr: %w", err)
		}
		l = o.admit.listener(l)
		scheme := "rs://"
		if o.tls {
			l, scheme = &tlsListener{Listener: l, cfg: tlsCfg}, "rss://"
		}
		rs.lns = append(rs.lns, l)
		log.Info("raw sockets listening", "url", scheme+l.Addr().String())
	}
	if o.unix != "" {
		l, err := listenUnix(o.unix)
		if err != nil {
			rs.close()
			return nil, nil, fmt.Errorf("--unix: %w", err)
		}
		rs.lns = append(rs.lns, l)
		log.Info("raw sockets listening", "url", "unix://"+o.unix)
	}
	for _, l := range rs.lns {
		rs.serving.Go(func() { rs.serve(l, router, log) })
	}
	switch {
	case !o.shared:
		return ln, rs, nil
	case tlsCfg != nil:
		log.Info("raw sockets do not share the HTTPS port; serve them with --raw-addr and --raw-tls")
		return ln, rs, nil
	}
	httpLn, rawLn := rawsocket.NewSharedListener(ln, 0)
	rs.serving.Go(func() { rs.serve(rawLn, router, log) })
	return httpLn, rs, nil
}

func (rs *rawSockets) serve(l net.Listener, router *server.Router, log *slog.Logger) {
	if err := rs.srv.Serve(l, router.Serve); err != nil {
		log.Error("raw socket listener failed", "addr", l.Addr().String(), "error", err)
	}
}

// close stops accepting on the raw socket listeners of their own (the
// shared one stops with the HTTP listener) and waits for every listener's
// loop to end. The sessions are the router's to end.
func (rs *rawSockets) close() {
	rs.once.Do(func() {
		for _, l := range rs.lns {
			l.Close()
		}
	})
	rs.serving.Wait()
}

// tlsListener serves TLS on its connections, as tls.NewListener does,
// and drops at once a connection whose first octet is the raw socket
// magic: a plain rs:// client, whose four-octet handshake the TLS layer
// would wait on for a fifth until the handshake timeout.
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tls.Server(&tlsOnly{Conn: c}, l.cfg), nil
}

// tlsOnly fails the first read that begins with the raw socket magic
// octet, 0x7F, which no TLS record begins with (a ClientHello's record
// begins with 0x16).
type tlsOnly struct {
	net.Conn
	checked bool // the first octet was read; only the TLS layer reads
}

func (c *tlsOnly) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.checked && n > 0 {
		c.checked = true
		if p[0] == 0x7F {
			return 0, errors.New("a plain raw socket client (rs://) on a TLS listener (rss://)")
		}
	}
	return n, err
}

// listenUnix listens on a Unix socket at path, replacing a socket file that
// a process which is gone left behind. A path that another process serves,
// or that is not a socket, is an error.
func listenUnix(path string) (net.Listener, error) {
	l, err := net.Listen("unix", path)
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
		return l, err
	}
	if fi, serr := os.Stat(path); serr != nil || fi.Mode()&os.ModeSocket == 0 {
		return nil, fmt.Errorf("%s exists and is not a socket", path)
	}
	if c, derr := net.Dial("unix", path); derr == nil {
		c.Close()
		return nil, fmt.Errorf("another process serves %s", path)
	}
	if err := os.Remove(path); err != nil {
		return nil, err
	}
	return net.Listen("unix", path)
}
