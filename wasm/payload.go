package main

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// This file holds what crosses the bridge, away from syscall/js so that it
// is tested natively. Every payload is one JSON text in the codec's JSON
// form (binary as "\u0000" + base64), so that one string crosses per call
// each way.

// request is a decoded request payload: the JSON array
// [args, kwargs, options] that the shim sends with call and publish, where
// each element may be null.
type request struct {
	args    wamp.List
	kwargs  wamp.Dict
	options wamp.Dict
}

// decodeRequest decodes a request payload.
func decodeRequest(data []byte) (request, error) {
	l, err := decodeList(data, "request", 3)
	if err != nil {
		return request{}, err
	}
	var r request
	if r.args, err = listAt(l, 0, "args"); err != nil {
		return request{}, err
	}
	if r.kwargs, err = dictAt(l, 1, "kwargs"); err != nil {
		return request{}, err
	}
	if r.options, err = dictAt(l, 2, "options"); err != nil {
		return request{}, err
	}
	return r, nil
}

// decodeOptions decodes the options object of register and subscribe;
// "null" is no options.
func decodeOptions(data []byte) (wamp.Dict, error) {
	v, err := codec.DecodeJSONValue(data)
	if err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case wamp.Dict:
		return v, nil
	}
	return nil, fmt.Errorf("options: want an object, got %s", jsonKind(v))
}

// optionsOf turns an options dict into client options.
func optionsOf(d wamp.Dict) []client.Option {
	opts := make([]client.Option, 0, len(d))
	for k, v := range d {
		opts = append(opts, client.WithOption(k, v))
	}
	return opts
}

// callRequest is a decoded call payload: the JSON array
// [args, kwargs, options, local], where local is null or the object
// {progress, cancelMode} of what the shim handles itself: progress tells
// that the page passed onProgress, cancelMode is options.cancelMode.
type callRequest struct {
	request
	timeout    time.Duration // options.timeout, removed from options
	progress   bool
	cancelMode string
}

// decodeCall decodes and checks a call payload.
func decodeCall(data []byte) (callRequest, error) {
	l, err := decodeList(data, "call", 4)
	if err != nil {
		return callRequest{}, err
	}
	var c callRequest
	if c.args, err = listAt(l, 0, "args"); err != nil {
		return callRequest{}, err
	}
	if c.kwargs, err = dictAt(l, 1, "kwargs"); err != nil {
		return callRequest{}, err
	}
	if c.options, err = dictAt(l, 2, "options"); err != nil {
		return callRequest{}, err
	}
	if c.timeout, err = callTimeout(c.options); err != nil {
		return callRequest{}, err
	}
	if c.timeout > 0 {
		c.options = maps.Clone(c.options)
		delete(c.options, "timeout")
	}
	local, err := dictAt(l, 3, "local")
	if err != nil {
		return callRequest{}, err
	}
	c.progress, _ = wamp.AsBool(local["progress"])
	switch m := local["cancelMode"].(type) {
	case nil:
	case string:
		switch m {
		case client.CancelSkip, client.CancelKill, client.CancelKillNoWait:
			c.cancelMode = m
		default:
			return callRequest{}, fmt.Errorf("options.cancelMode %q: want skip, kill or killnowait", m)
		}
	default:
		return callRequest{}, fmt.Errorf("options.cancelMode: want a string, got %s", jsonKind(m))
	}
	return c, nil
}

// clientOptions returns the client options of the call; onProgress
// receives the progressive results when the page asked for them.
func (c *callRequest) clientOptions(onProgress func(*client.Result)) []client.Option {
	opts := optionsOf(c.options)
	if c.timeout > 0 {
		opts = append(opts, client.WithTimeout(c.timeout))
	}
	if c.progress {
		opts = append(opts, client.Progress(onProgress))
	}
	if c.cancelMode != "" {
		opts = append(opts, client.CancelMode(c.cancelMode))
	}
	return opts
}

// callTimeout reads the "timeout" option of a call, in milliseconds, as
// Autobahn|JS spells it; the client sends it on and the router enforces
// it (client.WithTimeout). Zero means no timeout.
func callTimeout(options wamp.Dict) (time.Duration, error) {
	v, ok := options["timeout"]
	if !ok || v == nil {
		return 0, nil
	}
	ms, ok := wamp.AsInt(v)
	if !ok || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, fmt.Errorf("options.timeout: want a number of milliseconds, got %v", v)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// decodeProgress decodes what a procedure passes to details.progress:
// [args, kwargs].
func decodeProgress(data []byte) (wamp.List, wamp.Dict, error) {
	l, err := decodeList(data, "progress", 2)
	if err != nil {
		return nil, nil, err
	}
	args, err := listAt(l, 0, "args")
	if err != nil {
		return nil, nil, err
	}
	kwargs, err := dictAt(l, 1, "kwargs")
	if err != nil {
		return nil, nil, err
	}
	return args, kwargs, nil
}

// streamPart is a part of the arguments of a call that the page streams
// (callStream): the JSON array [args, kwargs, final] that send and close
// pass, final true for close.
type streamPart struct {
	req    int // the request the page awaits: the part's send, or the call for the last part
	args   wamp.List
	kwargs wamp.Dict
	final  bool
}

// decodeStreamPart decodes a part of a streamed call's arguments.
func decodeStreamPart(data []byte) (streamPart, error) {
	l, err := decodeList(data, "part", 3)
	if err != nil {
		return streamPart{}, err
	}
	var p streamPart
	if p.args, err = listAt(l, 0, "args"); err != nil {
		return streamPart{}, err
	}
	if p.kwargs, err = dictAt(l, 1, "kwargs"); err != nil {
		return streamPart{}, err
	}
	var ok bool
	if p.final, ok = l[2].(bool); !ok {
		return streamPart{}, fmt.Errorf("part: final: want a boolean, got %s", jsonKind(l[2]))
	}
	return p, nil
}

// encodePart encodes a later part of a progressive call invocation as
// [args, kwargs, final], what details.next() resolves with.
func encodePart(p *client.Part) ([]byte, error) {
	return codec.AppendJSONValue(nil, wamp.List{p.Args, p.Kwargs, p.Final})
}

// encodeInterrupt encodes why an invocation's handler was stopped, for
// details.signal: [uri, mode, message]. uri is the INTERRUPT's reason
// (wamp.error.canceled or wamp.error.timeout), or wamp.error.canceled
// when the session ended.
func encodeInterrupt(cause error) []byte {
	uri, mode := wamp.ErrCanceled, ""
	if ie, ok := errors.AsType[*client.InterruptError](cause); ok {
		uri, mode = ie.Reason, ie.Mode
	}
	msg := "the session ended"
	if cause != nil {
		msg = cause.Error()
	}
	b, err := codec.AppendJSONValue(nil, wamp.List{string(uri), mode, msg})
	if err != nil {
		b, _ = codec.AppendJSONValue(nil, wamp.List{string(wamp.ErrCanceled), "", "interrupted"})
	}
	return b
}

// invocationDetails returns the details a procedure receives: the
// INVOCATION's, with "procedure" always set (the registered URI for an
// exact registration).
func invocationDetails(inv *client.Invocation) wamp.Dict {
	if _, ok := inv.Details["procedure"]; ok {
		return inv.Details
	}
	d := maps.Clone(inv.Details)
	if d == nil {
		d = wamp.Dict{}
	}
	d["procedure"] = string(inv.Procedure())
	return d
}

// eventDetails returns the details an event handler receives: the
// EVENT's, with "topic" always set.
func eventDetails(ev *client.Event) wamp.Dict {
	if _, ok := ev.Details["topic"]; ok {
		return ev.Details
	}
	d := maps.Clone(ev.Details)
	if d == nil {
		d = wamp.Dict{}
	}
	d["topic"] = string(ev.Topic())
	return d
}

// encodeTriple encodes [args, kwargs, details], the form in which a call's
// result, an invocation and an event reach JavaScript.
func encodeTriple(args wamp.List, kwargs wamp.Dict, details wamp.Dict) ([]byte, error) {
	return codec.AppendJSONValue(nil, wamp.List{args, kwargs, details})
}

// encodeError encodes a failed request as [uri, args, kwargs, message]:
// uri is empty when err is not a WAMP error, and the shim then rejects
// with a plain Error carrying message.
func encodeError(err error) []byte {
	if e, ok := errors.AsType[*wamp.Error](err); ok {
		if b, encErr := codec.AppendJSONValue(nil, wamp.List{string(e.URI), e.Args, e.Kwargs, err.Error()}); encErr == nil {
			return b
		}
		// The arguments came off the wire in another serializer and have
		// no JSON form (a NaN, say): keep the URI and the text.
		b, _ := codec.AppendJSONValue(nil, wamp.List{string(e.URI), nil, nil, err.Error()})
		return b
	}
	b, encErr := codec.AppendJSONValue(nil, wamp.List{"", nil, nil, err.Error()})
	if encErr != nil {
		// Only an error text that is not UTF-8 gets here.
		b, _ = codec.AppendJSONValue(nil, wamp.List{"", nil, nil, "wampkit: an error with an unprintable message"})
	}
	return b
}

// Outcome tags: the first element of what the shim answers to an
// invocation or a challenge.
const (
	outcomeOK    = 0
	outcomeError = 1
)

// decodeOutcome decodes the shim's answer to an invocation:
// [0, args, kwargs] for a YIELD, [1, uri, args, kwargs] for an ERROR. The
// error is a *wamp.Error for the second form and a plain error when data
// is malformed, which the client turns into wamp.error.runtime_error.
func decodeOutcome(data []byte) (*client.Result, error) {
	l, err := decodeList(data, "handler outcome", 0)
	if err != nil {
		return nil, err
	}
	tag, err := outcomeTag(l)
	if err != nil {
		return nil, err
	}
	if tag == outcomeOK {
		if len(l) != 3 {
			return nil, fmt.Errorf("handler outcome: want [0, args, kwargs], got %d elements", len(l))
		}
		args, err := listAt(l, 1, "args")
		if err != nil {
			return nil, err
		}
		kwargs, err := dictAt(l, 2, "kwargs")
		if err != nil {
			return nil, err
		}
		return &client.Result{Args: args, Kwargs: kwargs}, nil
	}
	if len(l) != 4 {
		return nil, fmt.Errorf("handler outcome: want [1, uri, args, kwargs], got %d elements", len(l))
	}
	uri, ok := l[1].(string)
	if !ok {
		return nil, fmt.Errorf("handler outcome: error URI: want a string, got %s", jsonKind(l[1]))
	}
	args, err := listAt(l, 2, "args")
	if err != nil {
		return nil, err
	}
	kwargs, err := dictAt(l, 3, "kwargs")
	if err != nil {
		return nil, err
	}
	return nil, &wamp.Error{URI: wamp.URI(uri), Args: args, Kwargs: kwargs}
}

// decodeChallengeAnswer decodes the shim's answer to a CHALLENGE:
// [0, signature, extra] or [1, message] when onchallenge failed.
func decodeChallengeAnswer(data []byte) (string, wamp.Dict, error) {
	l, err := decodeList(data, "challenge answer", 0)
	if err != nil {
		return "", nil, err
	}
	tag, err := outcomeTag(l)
	if err != nil {
		return "", nil, err
	}
	if tag == outcomeError {
		msg, _ := l[len(l)-1].(string)
		if len(l) != 2 || msg == "" {
			return "", nil, errors.New("onchallenge failed")
		}
		return "", nil, errors.New(msg)
	}
	if len(l) != 3 {
		return "", nil, fmt.Errorf("challenge answer: want [0, signature, extra], got %d elements", len(l))
	}
	sig, ok := l[1].(string)
	if !ok {
		return "", nil, fmt.Errorf("onchallenge must return a string signature, got %s", jsonKind(l[1]))
	}
	extra, err := dictAt(l, 2, "extra")
	if err != nil {
		return "", nil, err
	}
	return sig, extra, nil
}

// encodeChallenge encodes what onchallenge receives: [token, method, extra].
func encodeChallenge(token int, c *wamp.Challenge) ([]byte, error) {
	return codec.AppendJSONValue(nil, wamp.List{int64(token), c.AuthMethod, c.Extra})
}

// Transport names, as in connect's "transports" option and
// Session.transport.
const (
	transportWebSocket = "websocket"
	transportLongPoll  = "longpoll"
)

// connectConfig is what connect receives from the shim, which has already
// filled in the defaults that depend on the page (URLs).
type connectConfig struct {
	realm       string
	urls        []string // in order of preference: the first is dialed first
	serializer  string
	retry       bool
	authID      string
	authMethods []string
	authExtra   wamp.Dict
	challenge   bool // the page has an onchallenge hook
	creds       credentials
}

// decodeConnectConfig decodes and checks connect's configuration, the JSON
// object {realm, url, longpollUrl, transports, serializer, retry, authid,
// authmethods, authextra, challenge, ticket, secret, privateKey}.
func decodeConnectConfig(data []byte) (connectConfig, error) {
	v, err := codec.DecodeJSONValue(data)
	if err != nil {
		return connectConfig{}, fmt.Errorf("connect options: %w", err)
	}
	d, ok := v.(wamp.Dict)
	if !ok {
		return connectConfig{}, fmt.Errorf("connect options: want an object, got %s", jsonKind(v))
	}
	var c connectConfig
	str := func(key string, dst *string) {
		if err != nil {
			return
		}
		switch s := d[key].(type) {
		case nil:
		case string:
			*dst = s
		default:
			err = fmt.Errorf("connect options: %s: want a string, got %s", key, jsonKind(s))
		}
	}
	var wsURL, lpURL string
	str("realm", &c.realm)
	str("url", &wsURL)
	str("longpollUrl", &lpURL)
	str("serializer", &c.serializer)
	str("authid", &c.authID)
	if err != nil {
		return connectConfig{}, err
	}
	if c.realm == "" {
		return connectConfig{}, errors.New("connect options: realm is required")
	}
	switch c.serializer {
	case "":
		c.serializer = "json"
	case "json", "msgpack", "cbor":
		if _, ok := codec.ByName(c.serializer); !ok {
			return connectConfig{}, fmt.Errorf("connect options: serializer %q is not in this build of wamp.wasm (it has %s)", c.serializer, strings.Join(codec.Names(), ", "))
		}
	default:
		return connectConfig{}, fmt.Errorf("connect options: serializer %q: want json, msgpack or cbor", c.serializer)
	}
	c.retry = true
	if r, present := d["retry"]; present && r != nil {
		if c.retry, ok = wamp.AsBool(r); !ok {
			return connectConfig{}, fmt.Errorf("connect options: retry: want a boolean, got %s", jsonKind(r))
		}
	}
	if ch, present := d["challenge"]; present {
		c.challenge, _ = wamp.AsBool(ch)
	}
	transports := []string{transportWebSocket, transportLongPoll}
	if d["transports"] != nil {
		if transports, err = stringsAt(d, "transports"); err != nil {
			return connectConfig{}, err
		}
		if len(transports) == 0 {
			return connectConfig{}, errors.New("connect options: transports is empty")
		}
	}
	seen := map[string]bool{}
	for _, t := range transports {
		if seen[t] {
			return connectConfig{}, fmt.Errorf("connect options: transports: %q is listed twice", t)
		}
		seen[t] = true
		switch t {
		case transportWebSocket:
			if err := checkURL("url", wsURL, "ws", "wss"); err != nil {
				return connectConfig{}, err
			}
			c.urls = append(c.urls, wsURL)
		case transportLongPoll:
			if err := checkURL("longpollUrl", lpURL, "http", "https"); err != nil {
				return connectConfig{}, err
			}
			c.urls = append(c.urls, lpURL)
		default:
			return connectConfig{}, fmt.Errorf("connect options: transports: unknown transport %q (want websocket or longpoll)", t)
		}
	}
	if d["authmethods"] != nil {
		if c.authMethods, err = stringsAt(d, "authmethods"); err != nil {
			return connectConfig{}, err
		}
	}
	switch x := d["authextra"].(type) {
	case nil:
	case wamp.Dict:
		c.authExtra = x
	default:
		return connectConfig{}, fmt.Errorf("connect options: authextra: want an object, got %s", jsonKind(x))
	}
	if err := c.decodeCredentials(d); err != nil {
		return connectConfig{}, err
	}
	return c, nil
}

// checkURL checks that raw is an absolute URL with one of the schemes.
func checkURL(name, raw string, schemes ...string) error {
	if raw == "" {
		return fmt.Errorf("connect options: %s is required", name)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("connect options: %s: %w", name, err)
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("connect options: %s %q: want an absolute %s:// or %s:// URL", name, raw, schemes[0], schemes[1])
}

// stringsAt reads a list of strings from d[key].
func stringsAt(d wamp.Dict, key string) ([]string, error) {
	l, ok := d[key].(wamp.List)
	if !ok {
		return nil, fmt.Errorf("connect options: %s: want an array of strings, got %s", key, jsonKind(d[key]))
	}
	out := make([]string, len(l))
	for i, e := range l {
		if out[i], ok = e.(string); !ok {
			return nil, fmt.Errorf("connect options: %s[%d]: want a string, got %s", key, i, jsonKind(e))
		}
	}
	return out, nil
}

// decodeList decodes data as a JSON array; n > 0 requires that length.
func decodeList(data []byte, what string, n int) (wamp.List, error) {
	v, err := codec.DecodeJSONValue(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	l, ok := v.(wamp.List)
	if !ok {
		return nil, fmt.Errorf("%s: want an array, got %s", what, jsonKind(v))
	}
	if n > 0 && len(l) != n {
		return nil, fmt.Errorf("%s: want %d elements, got %d", what, n, len(l))
	}
	return l, nil
}

// outcomeTag reads the tag of an outcome array.
func outcomeTag(l wamp.List) (int64, error) {
	if len(l) > 0 {
		if tag, ok := wamp.AsInt(l[0]); ok && (tag == outcomeOK || tag == outcomeError) {
			return tag, nil
		}
	}
	return 0, errors.New("outcome: want an array that starts with 0 or 1")
}

// listAt reads the array (or null) at l[i].
func listAt(l wamp.List, i int, what string) (wamp.List, error) {
	switch v := l[i].(type) {
	case nil:
		return nil, nil
	case wamp.List:
		return v, nil
	default:
		return nil, fmt.Errorf("%s: want an array, got %s", what, jsonKind(v))
	}
}

// dictAt reads the object (or null) at l[i].
func dictAt(l wamp.List, i int, what string) (wamp.Dict, error) {
	switch v := l[i].(type) {
	case nil:
		return nil, nil
	case wamp.Dict:
		return v, nil
	default:
		return nil, fmt.Errorf("%s: want an object, got %s", what, jsonKind(v))
	}
}

// jsonKind names the JSON kind of a decoded value, for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []byte:
		return "binary"
	case wamp.List:
		return "an array"
	case wamp.Dict:
		return "an object"
	}
	return "a number"
}

// encodeOpen encodes the "open" notice that follows every join:
// [session ID, WELCOME details, transport name].
func encodeOpen(id wamp.ID, details wamp.Dict, transport string) ([]byte, error) {
	return codec.AppendJSONValue(nil, wamp.List{id, details, transport})
}

// Close reasons that are not WAMP URIs, as Autobahn|JS names them.
const (
	reasonClosed      = "closed"      // the page left
	reasonLost        = "lost"        // the transport failed after the join
	reasonUnreachable = "unreachable" // the join did not succeed
)

// encodeClose encodes the "close" notice, the object
// {reason, willRetry, message, error}. err is why the session ended or
// the join failed (nil after the page's own leave); joined tells which.
// reason is the URI of the router's GOODBYE or ABORT when there was one.
// error, present when err is a *wamp.Error (a join refused with ABORT),
// is [uri, args, kwargs], so that connect rejects with that WampError.
func encodeClose(err error, joined, willRetry bool) []byte {
	d := wamp.Dict{"willRetry": willRetry}
	if err == nil {
		d["reason"] = reasonClosed
	} else if ce, ok := errors.AsType[*client.CloseError](err); ok {
		d["reason"] = string(ce.Reason)
		if m, ok := ce.Details["message"].(string); ok {
			d["message"] = m
		}
	} else if we, ok := errors.AsType[*wamp.Error](err); ok {
		d["reason"] = string(we.URI)
		d["message"] = err.Error()
		d["error"] = wamp.List{string(we.URI), we.Args, we.Kwargs}
	} else {
		d["reason"] = reasonUnreachable
		if joined {
			d["reason"] = reasonLost
		}
		d["message"] = err.Error()
	}
	b, encErr := codec.AppendJSONValue(nil, d)
	if encErr != nil {
		// ABORT details from a binary serializer without a JSON form.
		delete(d, "error")
		d["message"] = "wampkit: " + encErr.Error()
		b, _ = codec.AppendJSONValue(nil, d)
	}
	return b
}
