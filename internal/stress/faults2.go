package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Case 9's sizes: the 101 invocations of stalledPayload bytes are more
// than the callee's kernel buffers take (its receive buffer is set to
// stalledRcvBuf), so the router's writes to it block; in all they stay
// under MaxQueuedBytes, so that the ping deadline, not the slow-consumer
// budget, is what ends the session.
const (
	stalledPayload = 9 << 10
	stalledRcvBuf  = 64 << 10
)

// callOutcome is how one call of a fault case ended, and when.
type callOutcome struct {
	at  time.Duration // since the fault
	uri wamp.URI      // the ERROR's URI; empty for a result or another error
	err error
}

// outcomes collects call outcomes from many goroutines.
type outcomes struct {
	mu  sync.Mutex
	all []callOutcome
}

func (o *outcomes) add(since time.Time, err error) {
	c := callOutcome{at: time.Since(since), err: err}
	if we, ok := errors.AsType[*wamp.Error](err); ok {
		c.uri = we.URI
	}
	o.mu.Lock()
	o.all = append(o.all, c)
	o.mu.Unlock()
}

// summary counts the ERRORs by URI, the other outcomes, and the first
// and last ERROR's time.
func (o *outcomes) summary() (errs int, uris string, other int, first, last time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	byURI := map[wamp.URI]int{}
	for _, c := range o.all {
		if c.uri == "" {
			other++
			continue
		}
		if errs == 0 || c.at < first {
			first = c.at
		}
		last = max(last, c.at)
		errs++
		byURI[c.uri]++
	}
	var parts []string
	for u, n := range byURI {
		parts = append(parts, fmt.Sprintf("%d %s", n, u))
	}
	slices.Sort(parts)
	return errs, strings.Join(parts, ", "), other, first, last
}

// joinCallers joins n caller sessions over WebSocket, JSON and MessagePack
// in turn; leave ends them.
func joinCallers(ctx context.Context, e *env, n int) (callers []*client.Session, leave func(), err error) {
	leave = func() {
		lctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for _, s := range callers {
			s.Leave(lctx)
		}
	}
	for i := range n {
		cfg := &client.Config{}
		if i%2 == 1 {
			cfg.Serializer = "msgpack"
		}
		s, err := client.Join(ctx, e.r.wsURL(), realm, cfg)
		if err != nil {
			leave()
			return nil, nil, err
		}
		callers = append(callers, s)
	}
	return callers, leave, nil
}

// Case 9: a callee that stops reading, without closing, with 100 calls
// pending and one more that has a timeout.
func caseStalledCallee(e *env) []row {
	const pending, perCaller = 100, 10
	const callTimeout = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	logFrom := len(e.r.log.String())
	callee, err := dialWS(ctx, e.r.wsURL(), "json")
	if err != nil {
		return []row{errRow("callee", err)}
	}
	defer callee.close()
	if tc, ok := callee.tcp.(*net.TCPConn); ok {
		tc.SetReadBuffer(stalledRcvBuf)
	}
	if _, err := callee.join(ctx); err != nil {
		return []row{errRow("callee", err)}
	}
	if err := callee.send(ctx, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "stress.stalled"}); err != nil {
		return []row{errRow("register", err)}
	}
	if m, err := callee.recv(3 * time.Second); err != nil || m.Type() != wamp.TypeRegistered {
		return []row{errRow("register", fmt.Errorf("%v", err))}
	}
	// From here on the callee neither reads nor writes: its last write
	// was the REGISTER, its last read the REGISTERED.
	stoppedAt := time.Now()
	callers, leave, err := joinCallers(ctx, e, pending/perCaller+1)
	if err != nil {
		return []row{errRow("caller", err)}
	}
	defer leave()
	payload := strings.Repeat("s", stalledPayload)
	var calls, timed outcomes
	var wg sync.WaitGroup
	for i := range pending {
		s := callers[i/perCaller]
		wg.Go(func() {
			_, err := s.Call(ctx, "stress.stalled", wamp.List{i, payload}, nil)
			calls.add(stoppedAt, err)
		})
	}
	wg.Go(func() {
		_, err := callers[len(callers)-1].Call(ctx, "stress.stalled", wamp.List{-1, payload}, nil, client.WithTimeout(callTimeout))
		timed.add(stoppedAt, err)
	})
	// Before the ping deadline, once the calls are out: the callee's
	// socket holds what it did not read, and the router's socket to it
	// what the full receive window would not take.
	time.Sleep(time.Until(stoppedAt.Add(limits.pingTimeout - time.Second)))
	local, _ := netip.ParseAddrPort(callee.tcp.LocalAddr().String())
	remote, _ := netip.ParseAddrPort(callee.tcp.RemoteAddr().String())
	calleeSide, ok1 := readTCPSocket(local, remote)
	routerSide, ok2 := readTCPSocket(remote, local)
	unread, unsent := calleeSide.rx, routerSide.tx
	wg.Wait()
	// The router has closed the callee's session; within closeTimeout
	// (1s) it must close the socket too, which leaves its side of the
	// connection ESTABLISHED no more. That is judged on the router's
	// socket, not by reading to the end on the callee's: what the router
	// had written still sits unsent in its kernel, and how soon the kernel
	// retries a peer whose window was shut for seconds is up to its
	// backoff, which can pass any deadline a reader sets.
	ended := false
	for range 50 {
		s, ok := readTCPSocket(remote, local)
		if ended = !ok || !s.established(); ended {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	invocations := 0
	for {
		m, err := callee.recv(time.Second)
		if err != nil {
			break
		}
		if m.Type() == wamp.TypeInvocation {
			invocations++
		}
	}
	errs, uris, other, first, last := calls.summary()
	terrs, turis, tother, tat, _ := timed.summary()
	deadline := limits.pingInterval + limits.pingTimeout
	closedBy := "ping deadline"
	if tail := e.r.log.String()[logFrom:]; strings.Contains(tail, "slow consumer") {
		closedBy = "slow-consumer budget"
	}
	sockets := fmt.Sprintf("%d KiB unread in its socket, %d KiB unsent in the router's", unread>>10, unsent>>10)
	if !ok1 || !ok2 {
		sockets = "socket queues not found in /proc/net/tcp"
	}
	return []row{
		check(fmt.Sprintf("%d invocations of %d KiB to a callee that stopped reading: %s %v after it stopped",
			pending+1, stalledPayload>>10, sockets, limits.pingTimeout-time.Second),
			"its receive buffer full: the router's writes wait", ok1 && ok2 && unread > 0 && unsent > 0),
		check(fmt.Sprintf("session closed %v after it stopped reading, by the %s; the router closed its socket within 5s: %v (%d invocations read after)",
			first.Round(10*time.Millisecond), closedBy, ended, invocations),
			fmt.Sprintf("closed by the ping deadline: %v to %v (+1s) after", limits.pingTimeout, deadline),
			errs > 0 && closedBy == "ping deadline" && first >= limits.pingTimeout && first <= deadline+time.Second && ended),
		check(fmt.Sprintf("%d pending calls: %d ERRORs (%s), %d other outcomes, last %v after the closure", pending, errs, uris, other, (last-first).Round(time.Millisecond)),
			"every caller gets an ERROR", errs == pending && other == 0),
		check(fmt.Sprintf("call with timeout %v: %s at %v, %v before the closure", callTimeout, turis, tat.Round(10*time.Millisecond), (first-tat).Round(10*time.Millisecond)),
			"wamp.error.timeout before the closure", terrs == 1 && tother == 0 && turis == "1 "+string(wamp.ErrTimeout) && tat < first),
	}
}

// Case 11: a long-poll callee that vanishes, registered and with calls
// pending.
func caseLongPollVanish(e *env) []row {
	const pending = 10
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cd, _ := codec.ByName("json")
	base := e.r.lpURL()
	id, st, err := lpOpen(e.hc, base, codec.Subprotocol(cd, false), "")
	if err != nil || st != http.StatusOK {
		return []row{errRow("long-poll open", fmt.Errorf("status %d, %v", st, err))}
	}
	if err := lpJoin(e.hc, base, id, cd); err != nil {
		return []row{errRow("long-poll join", err)}
	}
	reg, _ := codec.Marshal(cd, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "stress.vanish"})
	if st, _, err := lpPost(e.hc, base, id, "send", reg, ""); err != nil || st != http.StatusNoContent {
		return []row{errRow("REGISTER", fmt.Errorf("status %d, %v", st, err))}
	}
	// lpNext polls until a message of type want arrives.
	lpNext := func(want wamp.MessageType) error {
		for range 5 {
			st, body, err := lpPost(e.hc, base, id, "receive", nil, "")
			if err != nil {
				return err
			}
			if st != http.StatusOK {
				continue
			}
			m, err := cd.Decode(body)
			if err != nil {
				return err
			}
			if m.Type() == want {
				return nil
			}
		}
		return fmt.Errorf("no message of type %d", want)
	}
	if err := lpNext(wamp.TypeRegistered); err != nil {
		return []row{errRow("REGISTERED", err)}
	}
	callers, leave, err := joinCallers(ctx, e, 2)
	if err != nil {
		return []row{errRow("caller", err)}
	}
	defer leave()
	var vanishedAt time.Time
	var vanished sync.WaitGroup // done once vanishedAt is set
	vanished.Add(1)
	var calls outcomes
	var wg sync.WaitGroup
	for i := range pending {
		wg.Go(func() {
			_, err := callers[i%len(callers)].Call(ctx, "stress.vanish", wamp.List{i}, nil)
			vanished.Wait()
			calls.add(vanishedAt, err)
		})
	}
	// One INVOCATION taken shows the calls reached the callee; after it
	// the client sends no request at all.
	err = lpNext(wamp.TypeInvocation)
	vanishedAt = time.Now()
	vanished.Done()
	if err != nil {
		wg.Wait()
		return []row{errRow("INVOCATION", err)}
	}
	wg.Wait()
	// Its registration must be gone: a new call finds no callee.
	var gone time.Duration
	var lastErr error
	for time.Since(vanishedAt) < limits.lpSession+5*time.Second {
		_, err := callers[0].Call(ctx, "stress.vanish", wamp.List{"after"}, nil)
		if errors.Is(err, &wamp.Error{URI: wamp.ErrNoSuchProcedure}) {
			gone = time.Since(vanishedAt)
			break
		}
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	st, _, err = lpPost(e.hc, base, id, "receive", nil, "")
	errs, uris, other, first, last := calls.summary()
	limit := limits.lpSession + time.Second
	fig := fmt.Sprintf("%d pending calls: %d ERRORs (%s), %d other outcomes, %v to %v after the client's last request",
		pending, errs, uris, other, first.Round(10*time.Millisecond), last.Round(10*time.Millisecond))
	goneFig := fmt.Sprintf("registration removed: no_such_procedure %v after; the transport id then answers %d", gone.Round(10*time.Millisecond), st)
	if gone == 0 {
		goneFig = fmt.Sprintf("registration still there %v after: %v", limits.lpSession+5*time.Second, lastErr)
	}
	if err != nil {
		goneFig += "; " + err.Error()
	}
	return []row{
		check(fig, fmt.Sprintf("all answered within SessionTimeout + 1s (%v)", limit), errs == pending && other == 0 && last <= limit),
		check(goneFig, fmt.Sprintf("removed within %v, transport 404", limit), gone > 0 && gone <= limit && st == http.StatusNotFound),
	}
}

// tcpSocket is what /proc/net/tcp says of one socket.
type tcpSocket struct {
	tx, rx int    // bytes not sent yet, bytes not read
	state  string // the kernel's state, in hex: "01" is ESTABLISHED
}

// established reports whether the socket is open both ways.
func (s tcpSocket) established() bool { return s.state == "01" }

// readTCPSocket reads /proc/net/tcp for the IPv4 socket from local to
// remote; ok is false when there is none (or no /proc).
func readTCPSocket(local, remote netip.AddrPort) (s tcpSocket, ok bool) {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return s, false
	}
	for l := range strings.Lines(string(b)) {
		f := strings.Fields(l)
		if len(f) < 5 || f[1] != procAddr(local) || f[2] != procAddr(remote) {
			continue
		}
		txs, rxs, _ := strings.Cut(f[4], ":")
		t, err1 := strconv.ParseInt(txs, 16, 64)
		r, err2 := strconv.ParseInt(rxs, 16, 64)
		return tcpSocket{tx: int(t), rx: int(r), state: f[3]}, err1 == nil && err2 == nil
	}
	return s, false
}

// procAddr writes an IPv4 address and port as /proc/net/tcp does: the
// address as a little-endian word, the port big-endian, both in hex.
func procAddr(ap netip.AddrPort) string {
	a := ap.Addr().Unmap().As4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], ap.Port())
}
