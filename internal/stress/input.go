package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// attack runs f(i) for i in [0, n) on at most width goroutines, the i-th
// starting no earlier than i/rate seconds after the first, and returns the
// rate achieved, per second.
//
// An attacker on a machine of its own keeps its pace. The harness shares
// the router's cores at SCHED_IDLE, so it runs only when they are idle:
// workers that each began their next connection as soon as their last one
// ended made the intensity of a case whatever the harness's starvation
// allowed, and fell into step after every busy stretch of the router,
// arriving as bursts of width connections at once. On a schedule a case's
// rate is its own, stated in its figure, and its connections come spread
// out (case 1 at ~1,600 connections/s, its 50 workers as fast as they
// went: the control group's p99 5.9-17.9 ms in 10 runs; on the schedule at
// the same rate: 4.4-10.4 ms in 3; at 800/s: 1.2-2.7 ms in 6).
func attack(n, width int, rate float64, f func(i int)) float64 {
	start := time.Now()
	parallel(n, width, func(i int) {
		time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		f(i)
	})
	return float64(n) / time.Since(start).Seconds()
}

// The rates of the floods: what their workers reached on this project's
// 2-core VM when each started its next connection as soon as its last one
// ended, as the suite did before attack.
const (
	rateRandomBytes = 1600  // case 1, connections per second
	rateOversize    = 700   // case 2, connections per second
	rateIdle        = 2500  // case 6, connections per second
	rateOrigin      = 10000 // case 16, requests per second
)

// parallel runs f(i) for i in [0, n) on at most width goroutines.
func parallel(n, width int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(width, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// durations collects durations from many goroutines.
type durations struct {
	mu sync.Mutex
	d  []time.Duration
}

func (ds *durations) add(d time.Duration) { ds.mu.Lock(); ds.d = append(ds.d, d); ds.mu.Unlock() }

func (ds *durations) max() time.Duration {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if len(ds.d) == 0 {
		return 0
	}
	return slices.Max(ds.d)
}

// waitClosed reads until the router closes the connection and returns how
// long it took, or a failure after limit.
func waitClosed(c *rawWS, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		if _, _, err := c.c.Read(ctx); err != nil {
			if ctx.Err() != nil {
				return 0, fmt.Errorf("still open after %v", limit)
			}
			return time.Since(start), nil
		}
	}
}

// lpClosed polls a long-poll transport until the router ends it (an
// ABORT, or a status that is not 200 or 204) and returns how long that
// took.
func lpClosed(hc *http.Client, base, id string, cd codec.Codec, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		st, body, err := lpPost(hc, base, id, "receive", nil, "")
		if err != nil {
			return 0, err
		}
		if st != http.StatusOK && st != http.StatusNoContent {
			return time.Since(start), nil
		}
		if st == http.StatusOK {
			if m, err := cd.Decode(body); err == nil && m.Type() == wamp.TypeAbort {
				return time.Since(start), nil
			}
		}
	}
	return 0, fmt.Errorf("still open after %v", limit)
}

// lpJoin sends HELLO over a long-poll transport and reads WELCOME.
func lpJoin(hc *http.Client, base, id string, cd codec.Codec) error {
	hello, _ := codec.Marshal(cd, &wamp.Hello{Realm: realm, Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}, "callee": wamp.Dict{}}}})
	if st, _, err := lpPost(hc, base, id, "send", hello, ""); err != nil || st != http.StatusNoContent {
		return fmt.Errorf("HELLO: status %d, %v", st, err)
	}
	for range 5 {
		st, body, err := lpPost(hc, base, id, "receive", nil, "")
		if err != nil {
			return err
		}
		if st == http.StatusOK {
			if m, err := cd.Decode(body); err != nil || m.Type() != wamp.TypeWelcome {
				return fmt.Errorf("expected WELCOME, got %q", body)
			}
			return nil
		}
	}
	return errors.New("no WELCOME")
}

// Case 1: connections sending random bytes, as WebSocket text and binary
// frames and long-poll bodies, before and after WELCOME.
func caseRandomBytes(e *env) []row {
	n := e.n(1000, 200)
	var closed durations
	var fails atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		fails.Add(1)
		firstErr.CompareAndSwap(nil, err)
	}
	achieved := attack(n, 50, rateRandomBytes, func(i int) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		junk := make([]byte, 1+mrand.IntN(2048))
		rand.Read(junk)
		ser := []string{"json", "msgpack"}[i%2]
		joined := i%4 >= 2
		if i%5 == 4 { // long-poll body
			cd, _ := codec.ByName(ser)
			id, st, err := lpOpen(e.hc, e.r.lpURL(), codec.Subprotocol(cd, false), "")
			if err != nil || id == "" {
				fail(fmt.Errorf("long-poll open: %d %v", st, err))
				return
			}
			if joined {
				if err := lpJoin(e.hc, e.r.lpURL(), id, cd); err != nil {
					fail(err)
					return
				}
			}
			start := time.Now()
			st, _, err = lpPost(e.hc, e.r.lpURL(), id, "send", junk, "")
			if err != nil {
				fail(err)
				return
			}
			if st < 400 {
				if _, err := lpClosed(e.hc, e.r.lpURL(), id, cd, 3*time.Second); err != nil {
					fail(fmt.Errorf("long-poll after junk (send %d): %w", st, err))
					return
				}
			}
			closed.add(time.Since(start))
			return
		}
		c, err := dialWS(ctx, e.r.wsURL(), ser)
		if err != nil {
			fail(err)
			return
		}
		defer c.close()
		if joined {
			if _, err := c.join(ctx); err != nil {
				fail(err)
				return
			}
		}
		typ := ws.MessageText
		if i%3 == 0 {
			typ = ws.MessageBinary
		}
		if err := c.c.Write(ctx, typ, junk); err != nil {
			fail(err)
			return
		}
		d, err := waitClosed(c, 3*time.Second)
		if err != nil {
			fail(err)
			return
		}
		closed.add(d)
	})
	fig := fmt.Sprintf("%d connections (%.0f/s), %d not closed, slowest close %v", n, achieved, fails.Load(), closed.max().Round(time.Millisecond))
	if v := firstErr.Load(); v != nil {
		fig += "; first: " + v.(error).Error()
	}
	return []row{check(fig, "all closed within 1s", fails.Load() == 0 && closed.max() <= time.Second)}
}

// Case 2: over-size messages, before and after WELCOME, over WebSocket
// (close 1009) and long-poll (413).
func caseOversize(e *env) []row {
	n := e.n(200, 40)
	before, err := e.r.stats()
	if err != nil {
		return []row{errRow("stats", err)}
	}
	var bad atomic.Int64
	var firstErr atomic.Value
	var closed durations
	fail := func(err error) { bad.Add(1); firstErr.CompareAndSwap(nil, err) }
	achieved := attack(n, 20, rateOversize, func(i int) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		joined := i%2 == 1
		size := limits.maxHello + 1
		if joined {
			size = limits.maxMessage + 1
		}
		ser := []string{"json", "msgpack"}[i/2%2]
		cd, _ := codec.ByName(ser)
		// A well-formed CALL (or HELLO) whose payload makes it too big.
		var m wamp.Message = &wamp.Hello{Realm: realm, Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}, "pad": strings.Repeat("x", int(size))}}
		if joined {
			m = &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "stress.big", Args: wamp.List{strings.Repeat("x", int(size))}}
		}
		if i%4 >= 2 { // long-poll
			id, st, err := lpOpen(e.hc, e.r.lpURL(), codec.Subprotocol(cd, false), "")
			if err != nil || id == "" {
				fail(fmt.Errorf("long-poll open: %d %v", st, err))
				return
			}
			if joined {
				if err := lpJoin(e.hc, e.r.lpURL(), id, cd); err != nil {
					fail(err)
					return
				}
			}
			body, _ := codec.Marshal(cd, m)
			start := time.Now()
			st, _, err = lpPost(e.hc, e.r.lpURL(), id, "send", body, "")
			if err != nil || st != http.StatusRequestEntityTooLarge {
				fail(fmt.Errorf("long-poll over-size (joined %v): status %d, %v", joined, st, err))
				return
			}
			if _, err := lpClosed(e.hc, e.r.lpURL(), id, cd, 3*time.Second); err != nil {
				fail(fmt.Errorf("long-poll after 413: %w", err))
				return
			}
			closed.add(time.Since(start))
			return
		}
		c, err := dialWS(ctx, e.r.wsURL(), ser)
		if err != nil {
			fail(err)
			return
		}
		defer c.close()
		if joined {
			if _, err := c.join(ctx); err != nil {
				fail(err)
				return
			}
		}
		start := time.Now()
		c.send(ctx, m) // the router may close before the write ends
		var rerr error
		for rerr == nil {
			rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
			_, _, rerr = c.c.Read(rctx)
			rcancel()
		}
		if ws.CloseStatus(rerr) != ws.StatusMessageTooBig {
			fail(fmt.Errorf("WebSocket over-size (joined %v): %s", joined, closeReason(rerr)))
			return
		}
		closed.add(time.Since(start))
	})
	time.Sleep(200 * time.Millisecond)
	after, err := e.r.stats()
	if err != nil {
		return []row{errRow("stats", err)}
	}
	growth := int64(after.mem()) - int64(before.mem())
	fig := fmt.Sprintf("%d over-size messages (half before WELCOME; %.0f/s), %d not refused, slowest close %v", n, achieved, bad.Load(), closed.max().Round(time.Millisecond))
	if v := firstErr.Load(); v != nil {
		fig += "; first: " + v.(error).Error()
	}
	return []row{
		check(fig, "all: WebSocket 1009, long-poll 413, closed at once (1s)", bad.Load() == 0 && closed.max() <= time.Second),
		check("router heap+stacks growth "+mib(growth), "< 3 MiB", growth < 3<<20),
	}
}

// Case 3: decoding bombs: a MessagePack header that announces 2^32
// elements or bytes, and 100,000-deep nesting in JSON and MessagePack.
// Each decoder is timed and its allocation counted here, then each bomb
// goes to the router, which must close the connection and keep serving.
func caseBombs(e *env) []row {
	deep := 100000
	bombs := []struct {
		name, ser string
		data      []byte
	}{
		{"msgpack array32 of 2^32-1", "msgpack", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"msgpack map32 of 2^32-1", "msgpack", append([]byte{0x93, 0x30, 0x01, 0xdf, 0xff, 0xff, 0xff, 0xff}, 0x01)},
		{"msgpack str32 of 2^32-1", "msgpack", []byte{0x94, 0x30, 0x01, 0x80, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}},
		{"msgpack bin32 of 2^32-1", "msgpack", []byte{0x95, 0x30, 0x01, 0x80, 0xa1, 'a', 0xc6, 0xff, 0xff, 0xff, 0xff}},
		{"msgpack 100,000-deep arrays", "msgpack", append([]byte{0x95, 0x30, 0x01, 0x80, 0xa1, 'a'}, bytes.Repeat([]byte{0x91}, deep)...)},
		{"json 100,000-deep arrays", "json", []byte(`[48,1,{},"a",` + strings.Repeat("[", deep) + strings.Repeat("]", deep) + `]`)},
		{"json 100,000-deep objects", "json", []byte(`[48,1,{},"a",[],` + strings.Repeat(`{"a":`, deep) + "1" + strings.Repeat("}", deep) + `]`)},
	}
	var rows []row
	for _, b := range bombs {
		cd, _ := codec.ByName(b.ser)
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		_, err := cd.Decode(b.data)
		took := time.Since(start)
		runtime.ReadMemStats(&ms1)
		alloc := ms1.TotalAlloc - ms0.TotalAlloc
		rows = append(rows, check(fmt.Sprintf("%s: decode error %v, %v, %d KiB allocated", b.name, err != nil, took.Round(time.Microsecond), alloc>>10),
			"error, < 10ms, < 1 MiB", err != nil && took < 10*time.Millisecond && alloc < 1<<20))
	}
	// Over the wire: after WELCOME, so that MaxMessageSize (not the HELLO
	// limit) applies; the deep ones exceed neither.
	var wireBad []string
	for _, b := range bombs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := dialWS(ctx, e.r.wsURL(), b.ser)
		if err == nil {
			_, err = c.join(ctx)
		}
		if err == nil {
			c.c.Write(ctx, c.frameType(), b.data)
			var m wamp.Message
			m, err = c.recv(3 * time.Second)
			if err == nil && m.Type() != wamp.TypeAbort {
				err = fmt.Errorf("answered %v", wamp.ToList(m))
			} else if err != nil && ws.CloseStatus(err) != -1 {
				err = nil // closed with a status: refused
			} else if err == nil {
				err = nil
			}
			c.close()
		}
		cancel()
		if err != nil {
			wireBad = append(wireBad, b.name+": "+err.Error())
		}
	}
	rows = append(rows, check(fmt.Sprintf("%d bombs sent to the router, %d not refused %v", len(bombs), len(wireBad), wireBad),
		"all ABORTed or closed, router alive", len(wireBad) == 0 && e.r.alive()))
	return rows
}
