// Package transport defines how WAMP messages cross a wire. A [Peer] is one
// end of a connection: send a message, receive messages, close. Each
// subpackage implements one transport, both its ends.
package transport

import (
	"context"
	"errors"
	"fmt"

	"github.com/wampkit/wampkit/wamp"
)

// ErrClosed is returned by Send and Recv once the peer is closed, by either
// side.
var ErrClosed = errors.New("transport: closed")

// ErrSlowConsumer is wrapped by the error of a send to a peer that did not
// read fast enough: its write buffer is over its limit and the connection
// is closed.
var ErrSlowConsumer = errors.New("transport: slow consumer")

// ErrMessageTooBig is returned (wrapped) by Recv when the other side sent a
// message above the read limit. The transport closes the connection. A send
// refused for its size wraps it too, in a *SendTooBigError.
var ErrMessageTooBig = errors.New("transport: message too big")

// SendTooBigError is the error of a Send or SendBatch that did not send a
// message because the other side accepts none that big (a raw socket peer
// announces its limit in the handshake). The connection stays usable. In a
// SendBatch, the messages before it were sent and those after it were not.
// It wraps ErrMessageTooBig.
type SendTooBigError struct {
	// Message is the message refused, as it was passed to the send.
	Message wamp.Message
	// Size is its encoded size and Limit the other side's, in bytes.
	Size, Limit int
}

func (e *SendTooBigError) Error() string {
	return fmt.Sprintf("%v of %d bytes is above the %d bytes the other side accepts: %v",
		e.Message.Type(), e.Size, e.Limit, ErrMessageTooBig)
}

// Unwrap returns ErrMessageTooBig.
func (e *SendTooBigError) Unwrap() error { return ErrMessageTooBig }

// Peer is one end of a WAMP connection.
//
// Recv is called by one goroutine at a time and Send by one goroutine at a
// time, which may be another. Close may be called at any time, from any
// goroutine, any number of times; it unblocks Send and Recv.
type Peer interface {
	// Send writes one message. m may be a *codec.Prepared, whose cached
	// encoding is used.
	Send(m wamp.Message) error
	// Recv blocks until a message arrives. Malformed input is reported as
	// an error wrapping wamp.ErrInvalidMessage; the connection stays open
	// so that the caller can send ABORT.
	Recv() (wamp.Message, error)
	// Close closes the connection.
	Close() error
	// Info describes the connection.
	Info() Info
}

// Info describes a connection for logs, metrics and authentication.
type Info struct {
	// Transport is "websocket", "longpoll", "rawsocket" or "local".
	Transport string
	// Serializer is "json", "msgpack", "cbor" or "" for local peers.
	Serializer string
	// Batched tells whether messages travel in batches.
	Batched bool
	// RemoteAddr is the address of the other end, when there is one, as
	// "host:port"; a router reads from it whether the peer is on loopback.
	RemoteAddr string
	// TLS tells whether the connection came over TLS, as the accepting side
	// saw it. A router refuses ticket authentication on a connection that is
	// neither TLS nor loopback unless configured otherwise.
	TLS bool
	// TLSClientSubject is the common name of the subject of the client's
	// TLS certificate, set only when the accepting side verified that
	// certificate against the CAs it trusts; "" otherwise. A router's tls
	// authentication takes the authid from it.
	TLSClientSubject string
	// TLSClientFingerprint is the SHA-256 digest of that verified
	// certificate (its DER encoding) in 64 lowercase hex digits, "" when
	// no certificate was verified. It names one certificate exactly.
	TLSClientFingerprint string
	// CookieID is the value of the HTTP cookie that the accepting side
	// tracks the browser with, for cookie authentication: the one the
	// request carried, or the one just set on the response that opened
	// the transport. "" when nothing is tracked.
	CookieID string
}

// Pinger is implemented by peers whose transport can check that the other
// side is still alive, such as WebSocket pings.
type Pinger interface {
	// Ping sends a ping and waits for the answer or ctx.
	Ping(ctx context.Context) error
}

// Creditor is implemented by accepted peers, whose connection a listener
// may have let in on credit (see transport/admission). A router calls
// Joined once a session has joined a realm on the peer, which gives the
// credit back, and Misbehaved when it ends that session for breaking the
// protocol, which takes the credit again.
type Creditor interface {
	Joined()
	Misbehaved()
}

// BatchSender is implemented by peers that can write several queued
// messages for less than the cost of writing them one by one. A router's
// writer hands it everything that queued up while it was writing.
type BatchSender interface {
	// SendBatch writes ms in order, like Send for each.
	SendBatch(ms []wamp.Message) error
}

// NonBlockingSender is implemented by peers whose Send and SendBatch may
// say that they never wait for the network: what the connection cannot take
// at once is buffered, within a bound, and written in the background. A
// router writes to such a peer from the routing goroutine itself, with no
// hand-off to a writer goroutine.
type NonBlockingSender interface {
	SendsWithoutBlocking() bool
}

// Dropper is implemented by peers whose Close runs a closing handshake
// (WebSocket close frames) and that can also end the connection at once.
// A router drops a connection that let its HELLO deadline pass: waiting for
// such a peer's side of a handshake would cost a goroutine and a timer for
// each of a flood of silent connections.
type Dropper interface {
	// Drop ends the connection now, without a handshake. It unblocks Send
	// and Recv; Close after it returns at once.
	Drop()
}

// ReadLimiter is implemented by peers that bound the size of a received
// message. A router sets a small limit until WELCOME and raises it after.
type ReadLimiter interface {
	SetReadLimit(n int64)
}

// SendLimiter is implemented by peers that can be told the largest
// message the other side accepts, such as the limit that a wampkit router
// announces in WELCOME (Details "_max_message_size"). Send then refuses a
// bigger message with a *SendTooBigError and the connection stays usable,
// where the other side would have closed it.
type SendLimiter interface {
	// SetSendLimit sets the bound in bytes; n <= 0 removes it.
	SetSendLimit(n int64)
}

// Pusher is implemented by peers that can hand each received message to a
// function as it arrives, in place of Recv: in a browser, where messages
// arrive through calls from JavaScript, this spares waking a goroutine
// that waits in Recv.
type Pusher interface {
	// Push has deliver receive every message from now on, in order, and
	// then, once, the error that ends the connection, as Recv would return
	// them; deliver returns false to receive nothing more. deliver runs on
	// whatever goroutine the transport receives on, and must not wait for
	// anything. Push is called at most once, instead of Recv.
	Push(deliver func(wamp.Message, error) bool)
}
