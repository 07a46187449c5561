// Package longpoll is WAMP's HTTP long-poll transport, both ends: a server
// [Handler] that turns HTTP POSTs into [transport.Peer]s for the router, and
// a client [Dial] (over net/http natively, over the browser's fetch in
// js/wasm). It speaks what Autobahn|JS and Crossbar.io speak:
//
//	POST {base}/open          {"protocols": [...]} -> 200 {"transport": id, "protocol": p}
//	POST {base}/{id}/send     one message, or a batch when batched -> 204
//	POST {base}/{id}/receive  -> 200 one message (or a batch), or 204 after the poll timeout
//	POST {base}/{id}/close    -> 204
//
// Autobahn|JS treats every status but 200 and 204 as a failure, so send and
// close answer 204, not the 202 that the specification's text names.
package longpoll

import (
	"errors"
	"fmt"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// openRequest is the body of POST {base}/open.
type openRequest struct {
	Protocols []string `json:"protocols"`
}

// openResponse is the answer to POST {base}/open.
type openResponse struct {
	Transport string `json:"transport"`
	Protocol  string `json:"protocol"`
}

// contentType is the media type of the bodies of send and receive.
func contentType(c codec.Codec) string {
	switch c.Name() {
	case "msgpack":
		return "application/x-msgpack"
	case "cbor":
		return "application/cbor"
	}
	return "application/json"
}

// defaultProtocols is what a client offers when it is not told: every
// serializer batched first (one HTTP request carries many messages), then
// unbatched, each in the order of codec.All.
func defaultProtocols() []string {
	var ps []string
	for _, batched := range []bool{true, false} {
		for _, c := range codec.All {
			ps = append(ps, codec.Subprotocol(c, batched))
		}
	}
	return ps
}

// info describes a long-poll connection.
func info(c codec.Codec, batched bool, remote string) transport.Info {
	return transport.Info{Transport: "longpoll", Serializer: c.Name(), Batched: batched, RemoteAddr: remote}
}

// inbound is one message that crossed, or why it could not be read.
type inbound struct {
	m   wamp.Message
	err error
}

// decodeBody reads the messages of a send or receive body: one message, or
// a batch. A malformed message ends the list with an error wrapping
// wamp.ErrInvalidMessage, which is also returned.
func decodeBody(c codec.Codec, batched bool, body []byte) ([]inbound, error) {
	frames := [][]byte{body}
	if batched {
		var err error
		frames, err = codec.SplitBatch(c, body)
		if err == nil && len(frames) == 0 {
			err = errors.New("empty batch")
		}
		if err != nil {
			err = invalid("batch", err)
			return []inbound{{err: err}}, err
		}
	}
	items := make([]inbound, 0, len(frames))
	for _, f := range frames {
		m, err := c.Decode(f)
		if err != nil {
			err = invalid("message", err)
			return append(items, inbound{err: err}), err
		}
		items = append(items, inbound{m: m})
	}
	return items, nil
}

// invalid makes sure a decoding error wraps wamp.ErrInvalidMessage.
func invalid(what string, err error) error {
	if errors.Is(err, wamp.ErrInvalidMessage) {
		return fmt.Errorf("longpoll: %s: %w", what, err)
	}
	return fmt.Errorf("longpoll: %s: %w: %w", what, wamp.ErrInvalidMessage, err)
}
