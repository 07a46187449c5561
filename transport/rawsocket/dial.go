//go:build !js

package rawsocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/internal/nbconn"
	"github.com/wampkit/wampkit/wamp/codec"
)

// clientReadBuffer is the read buffer of a dialed connection: a client
// holds few connections and reads the router's batches of messages.
const clientReadBuffer = 8 << 10

// DialOptions configures [Dial]. The zero value (or nil) is ready.
type DialOptions struct {
	// Codec is the serializer to ask for; nil means codec.JSON.
	Codec codec.Codec
	// ReadLimit is the largest message, in bytes, that the client accepts,
	// announced in the handshake as a power of two from 512 bytes to
	// 16 MiB, rounded down. Zero means DefaultReadLimit, a negative value
	// the protocol's maximum.
	ReadLimit int64
	// TLSConfig, when not nil, runs the connection over TLS. An empty
	// ServerName is taken from address.
	TLSConfig *tls.Config
}

// Dial connects to a raw socket router at address on network ("tcp",
// "tcp4", "tcp6" or "unix") and runs the handshake. ctx bounds both. A
// router that refuses the handshake makes Dial return a *HandshakeError.
//
// The returned peer also implements transport.BatchSender,
// transport.Pinger and transport.ReadLimiter. Its writes block while the
// network does not take them.
func Dial(ctx context.Context, network, address string, opts *DialOptions) (transport.Peer, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	if o.Codec == nil {
		o.Codec = codec.JSON
	}
	id := serializerID(o.Codec)
	if id == 0 {
		return nil, fmt.Errorf("rawsocket: serializer %q has no raw socket ID", o.Codec.Name())
	}
	exp, err := lengthExponent(o.ReadLimit)
	if err != nil {
		return nil, err
	}
	var conn net.Conn
	if o.TLSConfig != nil {
		d := &tls.Dialer{Config: o.TLSConfig}
		if conn, err = d.DialContext(ctx, network, address); err != nil {
			return nil, fmt.Errorf("rawsocket: dial over TLS: %w", err)
		}
	} else {
		var d net.Dialer
		if conn, err = d.DialContext(ctx, network, address); err != nil {
			return nil, fmt.Errorf("rawsocket: dial: %w", err)
		}
		conn = nbconn.Wrap(conn)
	}
	p, err := clientHandshake(ctx, conn, o.Codec, id, exp)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return p, nil
}

// clientHandshake sends the client's handshake and reads the router's
// reply within ctx.
func clientHandshake(ctx context.Context, conn net.Conn, c codec.Codec, id, exp byte) (*peer, error) {
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	p, err := exchangeHandshake(conn, c, id, exp)
	if !stop() || ctx.Err() != nil {
		return nil, fmt.Errorf("rawsocket: handshake: %w", ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("rawsocket: handshake: %w", err)
	}
	return p, nil
}

func exchangeHandshake(conn net.Conn, c codec.Codec, id, exp byte) (*peer, error) {
	if _, err := conn.Write([]byte{magic, exp<<4 | id, 0, 0}); err != nil {
		return nil, fmt.Errorf("rawsocket: handshake: %w", err)
	}
	r := bufio.NewReaderSize(conn, clientReadBuffer)
	var reply [headerSize]byte
	if _, err := io.ReadFull(r, reply[:]); err != nil {
		return nil, fmt.Errorf("rawsocket: handshake: reading the router's reply: %w", err)
	}
	switch {
	case reply[0] != magic:
		return nil, fmt.Errorf("rawsocket: handshake: the reply's first octet is 0x%02x, not the raw socket magic 0x7f: not a raw socket router", reply[0])
	case reply[1]&0x0F == 0:
		return nil, &HandshakeError{Code: RefusalCode(reply[1] >> 4)}
	case reply[1]&0x0F != id:
		return nil, fmt.Errorf("rawsocket: handshake: the router answered with serializer %d, not %d (%s)", reply[1]&0x0F, id, c.Name())
	case reply[2] != 0 || reply[3] != 0:
		return nil, fmt.Errorf("rawsocket: handshake: the router's reply sets reserved octets (0x%02x%02x)", reply[2], reply[3])
	}
	return newPeer(peerConfig{
		conn:      conn,
		r:         r,
		codec:     c,
		sendLimit: lengthLimit(reply[1] >> 4),
		maxRead:   int64(lengthLimit(exp)),
	}), nil
}
