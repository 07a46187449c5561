package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	ws "github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// rawWS is a WebSocket connection to the router that this suite drives
// frame by frame: well-formed messages, hostile ones, or none at all.
type rawWS struct {
	c   *ws.Conn
	cd  codec.Codec
	tcp net.Conn // the TCP connection under it, to reset it
}

// dialWS upgrades a connection with the subprotocol of serializer ser.
func dialWS(ctx context.Context, url, ser string) (*rawWS, error) {
	cd, ok := codec.ByName(ser)
	if !ok {
		return nil, fmt.Errorf("no codec %q", ser)
	}
	r := &rawWS{cd: cd}
	d := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		r.tcp = c
		return c, err
	}}}
	c, _, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{codec.Subprotocol(cd, false)}, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(64 << 20)
	r.c = c
	return r, nil
}

// send encodes and sends m.
func (r *rawWS) send(ctx context.Context, m wamp.Message) error {
	b, err := codec.Marshal(r.cd, m)
	if err != nil {
		return err
	}
	return r.c.Write(ctx, r.frameType(), b)
}

// sendList encodes an arbitrary list, valid WAMP or not, and sends it.
func (r *rawWS) sendList(ctx context.Context, l []any) error {
	b, err := encodeAny(r.cd.Name(), l)
	if err != nil {
		return err
	}
	return r.c.Write(ctx, r.frameType(), b)
}

func (r *rawWS) frameType() ws.MessageType {
	if r.cd.Binary() {
		return ws.MessageBinary
	}
	return ws.MessageText
}

// recv reads and decodes the next message within d.
func (r *rawWS) recv(d time.Duration) (wamp.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, b, err := r.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	return r.cd.Decode(b)
}

// join sends HELLO and waits for WELCOME.
func (r *rawWS) join(ctx context.Context) (wamp.ID, error) { return joinRealm(ctx, r) }

// joinRealm sends HELLO for realm with every client role on c and waits
// for WELCOME.
func joinRealm(ctx context.Context, c interface {
	send(ctx context.Context, m wamp.Message) error
	recv(d time.Duration) (wamp.Message, error)
}) (wamp.ID, error) {
	hello := &wamp.Hello{Realm: realm, Details: wamp.Dict{"roles": wamp.Dict{
		"caller": wamp.Dict{}, "callee": wamp.Dict{}, "publisher": wamp.Dict{}, "subscriber": wamp.Dict{}}}}
	if err := c.send(ctx, hello); err != nil {
		return 0, err
	}
	m, err := c.recv(5 * time.Second)
	if err != nil {
		return 0, err
	}
	w, ok := m.(*wamp.Welcome)
	if !ok {
		return 0, fmt.Errorf("expected WELCOME, got %v", wamp.ToList(m))
	}
	return w.Session, nil
}

// resetTCP drops the connection with a TCP reset, as a killed process
// whose socket had data unread would.
func (r *rawWS) resetTCP() error {
	if tc, ok := r.tcp.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	return r.tcp.Close()
}

func (r *rawWS) close() { r.c.CloseNow() }

// encodeAny serializes a list the way the named serializer would, without
// any WAMP validation.
func encodeAny(ser string, l []any) ([]byte, error) {
	if ser == "msgpack" {
		return msgpack.Marshal(l)
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD, a valid
	// character: strings that are not valid UTF-8 go in raw, through
	// placeholders, so that the router sees the bytes a hostile peer sends.
	var raw []string
	l = slices.Clone(l)
	for i, v := range l {
		if s, ok := v.(string); ok && !utf8.ValidString(s) {
			l[i] = fmt.Sprintf("\x00raw%d", len(raw))
			raw = append(raw, s)
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return nil, err
	}
	out := bytes.TrimSpace(b.Bytes())
	for i, s := range raw {
		out = bytes.Replace(out, []byte(fmt.Sprintf(`"\u0000raw%d"`, i)), []byte(`"`+s+`"`), 1)
	}
	return out, nil
}

// closeReason describes how a read ended: the WebSocket close status and
// reason, or the error.
func closeReason(err error) string {
	if ce, ok := errors.AsType[ws.CloseError](err); ok {
		return fmt.Sprintf("%d %s", int(ce.Code), ce.Reason)
	}
	if err == nil {
		return "open"
	}
	return err.Error()
}

// lpOpen opens a long-poll transport with one subprotocol and returns its
// id.
func lpOpen(hc *http.Client, base, proto, origin string) (string, int, error) {
	req, err := http.NewRequest("POST", base+"/open", strings.NewReader(`{"protocols":["`+proto+`"]}`))
	if err != nil {
		return "", 0, err
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", resp.StatusCode, nil
	}
	var o struct {
		Transport string `json:"transport"`
	}
	if err := json.Unmarshal(body, &o); err != nil {
		return "", resp.StatusCode, err
	}
	return o.Transport, resp.StatusCode, nil
}

// lpPost posts body to base/id/op and returns the status and the body.
func lpPost(hc *http.Client, base, id, op string, body []byte, origin string) (int, []byte, error) {
	req, err := http.NewRequest("POST", base+"/"+id+"/"+op, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
