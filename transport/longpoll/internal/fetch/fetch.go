//go:build js

// Package fetch posts bytes with the browser's fetch through syscall/js,
// for the long-poll client in js/wasm, where net/http's client would
// double the binary.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/wampkit/wampkit/transport"
)

// Post sends body (nil for none) with method POST and the given Content-Type,
// cookies included (credentials "include", as Autobahn|JS's withCredentials),
// and returns the status and the response body. A body over limit bytes is
// an error wrapping transport.ErrMessageTooBig. Canceling ctx aborts the
// request.
func Post(ctx context.Context, url, contentType string, body []byte, limit int64) (int, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	ctrl := js.Global().Get("AbortController").New()
	init := map[string]any{
		"method":      "POST",
		"headers":     map[string]any{"Content-Type": contentType},
		"credentials": "include",
		"cache":       "no-store",
		"signal":      ctrl.Get("signal"),
	}
	if body != nil {
		arr := js.Global().Get("Uint8Array").New(len(body))
		js.CopyBytesToJS(arr, body)
		init["body"] = arr
	}
	resp, err := await(ctx, ctrl, js.Global().Call("fetch", url, init))
	if err != nil {
		return 0, nil, err
	}
	status := resp.Get("status").Int()
	buf, err := await(ctx, ctrl, resp.Call("arrayBuffer"))
	if err != nil {
		return 0, nil, err
	}
	arr := js.Global().Get("Uint8Array").New(buf)
	n := arr.Get("length").Int()
	if int64(n) > limit {
		return 0, nil, fmt.Errorf("response over %d bytes: %w", limit, transport.ErrMessageTooBig)
	}
	data := make([]byte, n)
	js.CopyBytesToGo(data, arr)
	return status, data, nil
}

// await waits for promise p, or for ctx, in which case it aborts the
// request through ctrl and waits for the promise to settle, so that its
// callbacks can be released.
func await(ctx context.Context, ctrl, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	defer ok.Release()
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: errors.New("fetch: " + message(args[0]))}
		return nil
	})
	defer fail.Release()
	p.Call("then", ok, fail)
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		ctrl.Call("abort")
		<-ch
		return js.Value{}, ctx.Err()
	}
}

// message describes a rejection reason, usually an Error or DOMException.
func message(v js.Value) string {
	if v.Type() == js.TypeObject {
		if m := v.Get("message"); m.Type() == js.TypeString {
			return m.String()
		}
	}
	return v.String()
}
