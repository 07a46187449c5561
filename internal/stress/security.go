package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

const foreignOrigin = "http://evil.example"

// Case 16: WebSocket upgrades and long-poll requests from a foreign Origin.
func caseOrigin(e *env) []row {
	n := e.n(200, 40)
	var refused, total atomic.Int64
	// A real transport, for send and receive with a foreign Origin.
	id, _, err := lpOpen(e.hc, e.r.lpURL(), "wamp.2.json", "")
	if err != nil || id == "" {
		return []row{errRow("long-poll open", fmt.Errorf("%v", err))}
	}
	defer lpPost(e.hc, e.r.lpURL(), id, "close", nil, "")
	achieved := attack(n, 16, rateOrigin, func(i int) {
		total.Add(1)
		var status int
		switch i % 4 {
		case 0:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, resp, err := ws.Dial(ctx, e.r.wsURL(), &ws.DialOptions{Subprotocols: []string{"wamp.2.json"}, HTTPHeader: http.Header{"Origin": {foreignOrigin}}})
			cancel()
			if resp != nil {
				status = resp.StatusCode
			}
			if err == nil {
				status = 101
			}
		case 1:
			_, status, _ = lpOpen(e.hc, e.r.lpURL(), "wamp.2.json", foreignOrigin)
		case 2:
			status, _, _ = lpPost(e.hc, e.r.lpURL(), id, "send", []byte(`[1,"realm1",{"roles":{"caller":{}}}]`), foreignOrigin)
		case 3:
			status, _, _ = lpPost(e.hc, e.r.lpURL(), id, "receive", nil, foreignOrigin)
		}
		if status == http.StatusForbidden {
			refused.Add(1)
		}
	})
	return []row{check(fmt.Sprintf("%d foreign-Origin requests (WebSocket upgrade, long-poll open, send, receive; %.0f/s): %d refused with 403", total.Load(), achieved, refused.Load()),
		"100% 403", refused.Load() == total.Load())}
}

// Case 17: random long-poll transport ids, against a router that has real
// transports open.
func caseGuessing(e *env) []row {
	n := e.n(1000000, 20000)
	var real []string
	for range 100 {
		if id, _, err := lpOpen(e.hc, e.r.lpURL(), "wamp.2.json", ""); err == nil && id != "" {
			real = append(real, id)
		}
	}
	defer func() {
		for _, id := range real {
			lpPost(e.hc, e.r.lpURL(), id, "close", nil, "")
		}
	}()
	if len(real) == 0 {
		return []row{errRow("long-poll open", errors.New("no transport opened"))}
	}
	// The probe must see a hit where there is one.
	sanity, _, _ := lpPost(e.hc, e.r.lpURL(), real[0], "close", nil, "")
	real = real[1:]
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	var hits, errs atomic.Int64
	var firstErr sync.Once
	var errText string
	start := time.Now()
	parallel(n, 16, func(int) {
		st, _, err := lpPost(hc, e.r.lpURL(), rand.Text(), "close", nil, "")
		switch {
		case err != nil:
			errs.Add(1)
			firstErr.Do(func() { errText = err.Error() })
		case st != http.StatusNotFound:
			hits.Add(1)
		}
	})
	rate := float64(n) / time.Since(start).Seconds()
	return []row{check(fmt.Sprintf("%d random ids (%.0f/s) against %d open transports: %d hits, %d errors %s (a real id answers %d)", n, rate, len(real), hits.Load(), errs.Load(), errText, sanity),
		"0 hits", hits.Load() == 0 && errs.Load() == 0 && sanity == http.StatusNoContent)}
}

// Case 12: SIGTERM with many sessions and pending calls.
func caseSigterm(e *env) []row {
	n, pending := e.n(1000, 200), 200
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	sessions := make([]*client.Session, n)
	var joinErrs atomic.Int64
	parallel(n, 32, func(i int) {
		url, cfg := e.r.wsURL(), &client.Config{}
		if i%10 == 9 {
			url = e.r.lpURL()
		}
		if i%2 == 1 {
			cfg.Serializer = "msgpack"
		}
		s, err := client.Join(ctx, url, realm, cfg)
		if err != nil {
			joinErrs.Add(1)
			return
		}
		sessions[i] = s
	})
	if joinErrs.Load() > 0 {
		return []row{errRow("join", fmt.Errorf("%d sessions failed to join", joinErrs.Load()))}
	}
	invoked := make(chan struct{}, pending)
	if _, err := sessions[0].Register(ctx, "stress.hang", func(ctx context.Context, _ *client.Invocation) (*client.Result, error) {
		invoked <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}); err != nil {
		return []row{errRow("register", err)}
	}
	var finals, others atomic.Int64
	var other sync.Once
	var otherText string
	var wg sync.WaitGroup
	for i := range pending {
		s := sessions[1+i%(n-1)]
		wg.Go(func() {
			_, err := s.Call(ctx, "stress.hang", nil, nil)
			if _, ok := errors.AsType[*wamp.Error](err); ok {
				finals.Add(1)
				return
			}
			others.Add(1)
			other.Do(func() { otherText = fmt.Sprint(err) })
		})
	}
	for range pending {
		select {
		case <-invoked:
		case <-ctx.Done():
			return []row{errRow("calls", errors.New("invocations did not arrive"))}
		}
	}
	took, line, err := e.r.terminate(limits.drain + 5*time.Second)
	if err != nil {
		return []row{errRow("SIGTERM", err)}
	}
	wg.Wait()
	var goodbyes atomic.Int64
	parallel(n, 64, func(i int) {
		s := sessions[i]
		select {
		case <-s.Done():
		case <-time.After(3 * time.Second):
			return
		}
		if ce, ok := errors.AsType[*client.CloseError](s.Err()); ok && ce.Reason == wamp.ErrSystemShutdown {
			goodbyes.Add(1)
		}
	})
	return []row{
		check(fmt.Sprintf("%d pending calls: %d final ERRORs, %d other outcomes %s", pending, finals.Load(), others.Load(), otherText), "every caller gets a final message", finals.Load() == int64(pending)),
		check(fmt.Sprintf("%d sessions: %d closed with wamp.close.system_shutdown", n, goodbyes.Load()), "all", goodbyes.Load() == int64(n)),
		// Sessions that have not left when the drain time is over are
		// closed then: the router exits at the drain time, plus the moment
		// closing them takes on a busy machine.
		check(fmt.Sprintf("SIGTERM to exit %v (router: %s)", took.Round(time.Millisecond), line), fmt.Sprintf("<= drain time %v (+1s to close what is left)", limits.drain), took <= limits.drain+time.Second),
	}
}
