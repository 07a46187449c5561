package longpoll

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Client defaults, shared by the native and the js/wasm Dial.
const (
	// DefaultRequestTimeout bounds each request, a receive included: it
	// must exceed the server's poll timeout (10 s for wampkit; Autobahn|JS
	// allows 12 s).
	DefaultRequestTimeout = 15 * time.Second
	// DefaultClientReadLimit bounds one response body: one message, or a
	// batch of all the server had queued (wampkit queues at most 4 MiB).
	DefaultClientReadLimit = 16 << 20
)

const (
	// maxBatch is the most a batched send request carries (a larger
	// message goes alone): far below any server's read limit.
	maxBatch = 64 << 10
	// maxPending is how many encoded bytes Send queues before it waits for
	// the sender to catch up.
	maxPending = 1 << 20
	// requestGrace is how long Close lets the requests still out end by
	// themselves before it cancels them.
	requestGrace = time.Second
)

// postFunc sends one POST and returns the status and at most limit bytes
// of the response, or an error wrapping transport.ErrMessageTooBig. The
// native build uses net/http, the js build the browser's fetch.
type postFunc func(ctx context.Context, url, contentType string, body []byte, limit int64) (status int, resp []byte, err error)

// clientConfig is what both Dials pass to dial.
type clientConfig struct {
	protocols []string
	timeout   time.Duration
	readLimit int64
	post      postFunc
}

// client is the client end of a long-poll transport: one goroutine posts
// what Send queued, another keeps one receive outstanding. It implements
// transport.Peer and transport.SendLimiter.
type client struct {
	url       string // base URL and transport id
	codec     codec.Codec
	batched   bool
	ctype     string
	info      transport.Info
	post      postFunc
	timeout   time.Duration
	readLimit int64
	// sendLimit is the router's largest message (SetSendLimit), 0 for
	// none.
	sendLimit atomic.Int64

	ctx    context.Context // canceled when the client is finished
	cancel context.CancelFunc
	wg     sync.WaitGroup

	outReady     chan struct{} // wakes the sender
	outSpace     chan struct{} // wakes a Send waiting for room
	inReady      chan struct{} // wakes Recv
	inFree       chan struct{} // tells the receiver Recv emptied the inbox
	done         chan struct{} // closed when closed becomes true
	senderDone   chan struct{}
	receiverDone chan struct{}

	mu          sync.Mutex
	out         [][]byte
	outBytes    int
	in          []inbound
	closed      bool  // by Close or by a failure
	closeCalled bool  // Close has run or runs
	cause       error // why it failed; nil after a plain Close
	// ended tells that the router's GOODBYE or ABORT came: the router
	// closes the transport after it, so the receiver polls no more and
	// Recv reports errEnded once it has returned what came before.
	ended bool
}

// errEnded is what Recv returns after the router's GOODBYE or ABORT.
var errEnded = fmt.Errorf("longpoll: the router ended the session: %w", transport.ErrClosed)

func dial(ctx context.Context, baseURL string, cfg clientConfig) (*client, error) {
	if cfg.protocols == nil {
		cfg.protocols = defaultProtocols()
	}
	if cfg.timeout <= 0 {
		cfg.timeout = DefaultRequestTimeout
	}
	if cfg.readLimit <= 0 {
		cfg.readLimit = DefaultClientReadLimit
	}
	base := strings.TrimSuffix(baseURL, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("longpoll: base URL %q is not http(s)", baseURL)
	}

	body, err := openBody(cfg.protocols)
	if err != nil {
		return nil, fmt.Errorf("longpoll: open: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, cfg.timeout)
	status, resp, err := cfg.post(octx, base+"/open", "application/json", body, 64<<10)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("longpoll: open: %w", err)
	}
	if status != 200 {
		return nil, fmt.Errorf("longpoll: open: HTTP %d: %s", status, reason(resp))
	}
	or, err := parseOpenResponse(resp)
	if err != nil {
		return nil, fmt.Errorf("longpoll: open: malformed answer: %w", err)
	}
	if or.Transport == "" {
		return nil, errors.New("longpoll: open: no transport id in answer")
	}
	cd, batched, ok := codec.BySubprotocol(or.Protocol)
	if !ok || !slices.Contains(cfg.protocols, or.Protocol) {
		return nil, fmt.Errorf("longpoll: open: server chose protocol %q, not offered", or.Protocol)
	}

	c := &client{
		url:          base + "/" + url.PathEscape(or.Transport),
		codec:        cd,
		batched:      batched,
		ctype:        contentType(cd),
		info:         info(cd, batched, u.Host),
		post:         cfg.post,
		timeout:      cfg.timeout,
		readLimit:    cfg.readLimit,
		outReady:     make(chan struct{}, 1),
		outSpace:     make(chan struct{}, 1),
		inReady:      make(chan struct{}, 1),
		inFree:       make(chan struct{}, 1),
		done:         make(chan struct{}),
		senderDone:   make(chan struct{}),
		receiverDone: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Go(c.sendLoop)
	c.wg.Go(c.receiveLoop)
	return c, nil
}

// openBody is the JSON body of POST {base}/open. It and parseOpenResponse
// use the codec's JSON, not encoding/json, which would add a quarter of a
// megabyte to the js/wasm client for two tiny objects.
func openBody(protocols []string) ([]byte, error) {
	l := make(wamp.List, len(protocols))
	for i, p := range protocols {
		l[i] = p
	}
	return codec.AppendJSONValue(nil, wamp.Dict{"protocols": l})
}

// parseOpenResponse reads the answer to POST {base}/open. Members other
// than "transport" and "protocol" are ignored.
func parseOpenResponse(data []byte) (openResponse, error) {
	v, err := codec.DecodeJSONValue(data)
	if err != nil {
		return openResponse{}, err
	}
	d, ok := v.(wamp.Dict)
	if !ok {
		return openResponse{}, errors.New("not a JSON object")
	}
	var or openResponse
	for _, f := range []struct {
		name string
		dst  *string
	}{{"transport", &or.Transport}, {"protocol", &or.Protocol}} {
		switch s := d[f.name].(type) {
		case string:
			*f.dst = s
		case nil:
		default:
			return openResponse{}, fmt.Errorf("%q is not a string", f.name)
		}
	}
	return or, nil
}

// reason is the start of an error body, for error messages.
func reason(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// signal wakes whoever waits on ch, without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// request posts body to the transport's op URL within the request timeout.
func (c *client) request(op string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	status, resp, err := c.post(ctx, c.url+"/"+op, c.ctype, body, c.readLimit)
	if err != nil {
		return 0, nil, fmt.Errorf("longpoll: %s: %w", op, err)
	}
	return status, resp, nil
}

var _ transport.SendLimiter = (*client)(nil)

// Send queues m for the sender; it waits while much is queued already.
func (c *client) Send(m wamp.Message) error {
	data, err := codec.Marshal(c.codec, m)
	if err != nil {
		return fmt.Errorf("longpoll: encoding %v: %w", codec.Unwrap(m).Type(), err)
	}
	if limit := c.sendLimit.Load(); limit > 0 {
		size := len(data)
		if c.batched {
			size += codec.BatchFraming(c.codec)
		}
		if int64(size) > limit {
			return fmt.Errorf("longpoll: send: %w", &transport.SendTooBigError{Message: m, Size: size, Limit: int(limit)})
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.outBytes >= maxPending && !c.closed {
		c.mu.Unlock()
		select {
		case <-c.outSpace:
		case <-c.done:
		}
		c.mu.Lock()
	}
	if c.closed {
		return c.errLocked()
	}
	c.out = append(c.out, data)
	c.outBytes += len(data)
	signal(c.outReady)
	return nil
}

// SetSendLimit makes Send refuse a message whose request body would be
// above n bytes, with a *transport.SendTooBigError; n <= 0 removes the
// bound. Batches then stay under it too.
func (c *client) SetSendLimit(n int64) { c.sendLimit.Store(n) }

// Recv returns the next received message.
func (c *client) Recv() (wamp.Message, error) {
	for {
		c.mu.Lock()
		if len(c.in) > 0 {
			it := c.in[0]
			c.in[0] = inbound{}
			c.in = c.in[1:]
			if len(c.in) == 0 {
				c.in = nil
				signal(c.inFree)
			}
			c.mu.Unlock()
			return it.m, it.err
		}
		if c.closed {
			err := c.errLocked()
			c.mu.Unlock()
			return nil, err
		}
		if c.ended {
			c.mu.Unlock()
			return nil, errEnded
		}
		c.mu.Unlock()
		select {
		case <-c.inReady:
		case <-c.done:
		}
	}
}

// Close posts what Send queued, tells the server, and stops both loops.
func (c *client) Close() error {
	c.mu.Lock()
	if c.closeCalled {
		c.mu.Unlock()
		c.wg.Wait()
		return nil
	}
	c.closeCalled = true
	if !c.closed {
		c.closed = true
		close(c.done)
	}
	failed := c.cause != nil
	c.mu.Unlock()

	var err error
	if !failed {
		<-c.senderDone // it posts what Send queued first
		c.mu.Lock()
		failed = c.cause != nil
		c.mu.Unlock()
	}
	if !failed {
		status, resp, perr := c.request("close", nil)
		switch {
		case perr != nil:
			err = perr
		case status != 204 && status != 404:
			err = fmt.Errorf("longpoll: close: HTTP %d: %s", status, reason(resp))
		}
	}
	// The requests still out end by themselves for a moment: the server
	// ends the pending receive as it closes the transport. Canceling a
	// request whose answer is on its way is not safe: net/http may already
	// have handed its connection to another request, of this or another
	// transport sharing the http.Client, and canceling closes that
	// connection under it ("context canceled").
	grace := time.NewTimer(requestGrace)
wait:
	for _, done := range []chan struct{}{c.senderDone, c.receiverDone} {
		select {
		case <-done:
		case <-grace.C:
			break wait
		}
	}
	grace.Stop()
	c.cancel()
	c.wg.Wait()
	return err
}

// Info describes the transport.
func (c *client) Info() transport.Info { return c.info }

// errLocked is what Send and Recv return once closed.
func (c *client) errLocked() error {
	if c.cause != nil {
		return c.cause
	}
	return transport.ErrClosed
}

// fail closes the client because of err. Send and Recv report err from
// now on; Close ends what is still out.
func (c *client) fail(err error) {
	c.mu.Lock()
	if c.cause == nil {
		c.cause = fmt.Errorf("%w: %w", transport.ErrClosed, err)
	}
	if !c.closed {
		c.closed = true
		close(c.done)
	}
	c.mu.Unlock()
	// The other loop's request, if one is out, is not canceled: see Close.
}

// sendLoop posts queued messages, one per request or batched. After Close
// it posts what is left, then exits; after a failure it exits at once.
func (c *client) sendLoop() {
	defer close(c.senderDone)
	for {
		c.mu.Lock()
		for len(c.out) == 0 && !c.closed {
			c.mu.Unlock()
			select {
			case <-c.outReady:
			case <-c.done:
			}
			c.mu.Lock()
		}
		if len(c.out) == 0 || c.cause != nil {
			c.mu.Unlock()
			return
		}
		body := c.takeLocked()
		c.mu.Unlock()
		signal(c.outSpace)

		status, resp, err := c.request("send", body)
		if err == nil && status != 204 {
			err = fmt.Errorf("longpoll: send: HTTP %d: %s", status, reason(resp))
			if status == 413 {
				err = fmt.Errorf("%w: %w", transport.ErrMessageTooBig, err)
			}
		}
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// takeLocked removes what the next send request carries.
func (c *client) takeLocked() []byte {
	n := 1
	body := c.out[0]
	if c.batched {
		bound := int64(maxBatch)
		if limit := c.sendLimit.Load(); limit > 0 {
			bound = min(bound, limit)
		}
		body = codec.AppendBatch(nil, c.codec, c.out[0])
		for n < len(c.out) && int64(len(body)+len(c.out[n])+codec.BatchFraming(c.codec)) <= bound {
			body = codec.AppendBatch(body, c.codec, c.out[n])
			n++
		}
	}
	for _, data := range c.out[:n] {
		c.outBytes -= len(data)
	}
	clear(c.out[:n])
	c.out = c.out[n:]
	if len(c.out) == 0 {
		c.out = nil
	}
	return body
}

// endsSession tells whether the last of items is a GOODBYE or ABORT, after
// which the router sends nothing more.
func endsSession(items []inbound) bool {
	if len(items) == 0 || items[len(items)-1].m == nil {
		return false
	}
	t := items[len(items)-1].m.Type()
	return t == wamp.TypeGoodbye || t == wamp.TypeAbort
}

// receiveLoop keeps one receive outstanding and, after each answer with
// messages, waits until Recv took them all, so that a client that does not
// read stops polling instead of buffering without bound.
func (c *client) receiveLoop() {
	defer close(c.receiverDone)
	for {
		status, body, err := c.request("receive", nil)
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed {
			// Closing, as Autobahn|JS: poll no more, and let the close
			// request finish.
			return
		}
		if err == nil && status != 200 && status != 204 {
			err = fmt.Errorf("longpoll: receive: HTTP %d: %s", status, reason(body))
		}
		if err != nil {
			c.fail(err)
			return
		}
		if status == 204 || len(body) == 0 {
			continue
		}
		items, _ := decodeBody(c.codec, c.batched, body)
		ended := endsSession(items)
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		c.in = items
		c.ended = ended
		c.mu.Unlock()
		signal(c.inReady)
		if ended {
			// Another receive would only find the transport closed: a 404,
			// which a browser logs as an error.
			return
		}
		select {
		case <-c.inFree:
		case <-c.done:
			return
		}
	}
}
