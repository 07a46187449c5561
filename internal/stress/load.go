package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Case 14's size: the sessions it holds at once, in the full and the short
// version.
const (
	maxSessions   = 20000
	shortSessions = 1000
	// fdMargin is what the router child asks for beyond maxSessions: its
	// listener, logs and the other sessions' connections.
	fdMargin = 500
	// fdSlack is what case 14 leaves free in each process for what opens
	// meanwhile (the control group's long-poll requests, /proc reads).
	fdSlack = 64
	// sourceAddrs is the number of loopback addresses case 14 connects
	// from: the kernel's search for a free ephemeral port slows down as
	// one address's range fills up, and 20,000 connections from one
	// address made connect the most of this process's CPU time.
	sourceAddrs = 16
	// maxIdlePerSession is the router's memory budget per idle session
	// that issue 2 sets.
	maxIdlePerSession = 24 // KiB
)

// Case 14: ramp to 20,000 WebSocket sessions (or as many as the open-file
// limits of both processes allow, which the figure then says), all
// joined; the router's memory per idle session and the join rate.
//
// Each session is a bare coder/websocket connection that sent HELLO and
// read WELCOME, then only answers the router's pings (CloseRead): this
// process holds 20,000 of them, so they must cost little more than their
// connection.
func caseSessions(e *env) []row {
	want := e.n(maxSessions, shortSessions)
	// The idle keep-alive connections of earlier cases hold descriptors in
	// both processes.
	e.hc.CloseIdleConnections()
	before, err := e.r.stats()
	if err != nil {
		return []row{errRow("stats", err)}
	}
	n, budget, err := sessionBudget(want, e.r.cmd.Process.Pid, before.fds)
	if err != nil {
		return []row{errRow("open-file limit", err)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	var hellos [2][]byte
	var codecs [2]codec.Codec
	for i, ser := range []string{"json", "msgpack"} {
		codecs[i], _ = codec.ByName(ser)
		if hellos[i], err = codec.Marshal(codecs[i], &wamp.Hello{Realm: realm, Details: wamp.Dict{"roles": wamp.Dict{
			"caller": wamp.Dict{}, "callee": wamp.Dict{}, "publisher": wamp.Dict{}, "subscriber": wamp.Dict{}}}}); err != nil {
			return []row{errRow("HELLO", err)}
		}
	}
	clients := loopbackClients(sourceAddrs)
	conns := make([]*ws.Conn, n)
	closeAll := func() {
		for i, c := range conns {
			if c != nil {
				c.CloseNow()
				conns[i] = nil
			}
		}
	}
	defer closeAll()
	var failed atomic.Int64
	var firstErr atomic.Value
	own := goMemory()
	start := time.Now()
	parallel(n, 64, func(i int) {
		c, err := joinIdle(ctx, e.r.wsURL(), clients[i%sourceAddrs], codecs[i%2], hellos[i%2])
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err)
			return
		}
		conns[i] = c
	})
	took := time.Since(start)
	ownPeak := goMemory()
	peak, err := e.r.stats()
	if err != nil {
		return []row{errRow("stats", err)}
	}
	welcomed := n - int(failed.Load())
	closeAll()
	closeStart := time.Now()
	after, err := e.r.sessionsBackTo(before.sessions, 60*time.Second)
	back := time.Since(closeStart)

	fig := fmt.Sprintf("%d of %d sessions welcomed (WebSocket, JSON and MessagePack); the router counted %d more at the peak, %d in all", welcomed, n, peak.sessions-before.sessions, peak.sessions)
	if v := firstErr.Load(); v != nil {
		fig += fmt.Sprintf("; %d failed, first: %v", failed.Load(), v)
	}
	limit := fmt.Sprintf("all %d", want)
	if n < want {
		fig += "; " + budget
		limit += ", or all the open-file limits allow"
	}
	perSession := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(max(welcomed, 1)) / 1024 }
	goKiB := perSession(before.mem(), peak.mem())
	closed := fmt.Sprintf("all closed: the router back to %d sessions in %v; fds %d -> %d -> %d, goroutines %d -> %d -> %d, live heap %s -> %s -> %s",
		after.sessions, back.Round(10*time.Millisecond), before.fds, peak.fds, after.fds, before.goroutines, peak.goroutines, after.goroutines,
		mib(int64(before.live)), mib(int64(peak.live)), mib(int64(after.live)))
	closed += " (the Go runtime keeps a record of each goroutine it ever ran at once)"
	if err != nil {
		closed = "closing: " + err.Error()
	}
	return []row{
		check(fig, limit, welcomed == n && peak.sessions-before.sessions == n),
		check(fmt.Sprintf("join rate %.0f sessions/s (%d in %v, 64 at a time, the router pinging every %v); the client side: %.1f KiB heap+stacks per session",
			float64(welcomed)/took.Seconds(), welcomed, took.Round(time.Millisecond), limits.pingInterval, perSession(own, ownPeak)), "info", welcomed > 0),
		check(fmt.Sprintf("router memory per idle session: %.1f KiB heap+stacks (heap %.1f, stacks %.1f), %.1f KiB RSS",
			goKiB, perSession(before.heap, peak.heap), perSession(before.stacks, peak.stacks), perSession(before.rss, peak.rss)),
			fmt.Sprintf("<= %d KiB heap+stacks", maxIdlePerSession), welcomed > 0 && goKiB <= maxIdlePerSession),
		check(closed, fmt.Sprintf("back to the baseline (%d sessions)", before.sessions), err == nil),
	}
}

// goMemory is this process's Go memory in use, heap and stacks, after a
// GC.
func goMemory() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// sessionBudget raises this process's open-file limit for want more
// connections and returns how many both processes can hold: want, or
// fewer when a limit is too low (a hard limit only a privileged process
// may raise), with a note that says which. routerPid's process has
// routerFDs open.
func sessionBudget(want, routerPid, routerFDs int) (int, string, error) {
	own, err := raiseOpenFiles(uint64(want) + fdMargin)
	if err != nil {
		return 0, "", err
	}
	ownFDs, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, "", err
	}
	routers, err := openFilesLimit(routerPid)
	if err != nil {
		return 0, "", fmt.Errorf("the router's: %w", err)
	}
	ownRoom, routerRoom := int(own)-len(ownFDs)-fdSlack, int(routers)-routerFDs-fdSlack
	n := min(want, ownRoom, routerRoom)
	if n <= 0 {
		return 0, "", fmt.Errorf("no room for sessions: this process may open %d files and has %d open, the router %d and %d", own, len(ownFDs), routers, routerFDs)
	}
	note := fmt.Sprintf("open-file limits: this process %d (%d open), the router %d (%d open)", own, len(ownFDs), routers, routerFDs)
	return n, note, nil
}

// loopbackClients returns n HTTP clients, each connecting from a loopback
// address of its own: 127.0.2.1, 127.0.2.2 ...
func loopbackClients(n int) []*http.Client {
	clients := make([]*http.Client, n)
	for k := range clients {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 2, byte(1+k))}}
		clients[k] = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	return clients
}

// dialRaw upgrades a connection through hc with the subprotocol of
// serializer ser.
func dialRaw(ctx context.Context, url string, hc *http.Client, ser string) (*rawWS, error) {
	cd, ok := codec.ByName(ser)
	if !ok {
		return nil, fmt.Errorf("no codec %q", ser)
	}
	c, _, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{codec.Subprotocol(cd, false)}, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	return &rawWS{c: c, cd: cd}, nil
}

// joinIdle opens a WebSocket session through hc that sends hello, reads WELCOME and
// then only answers pings.
func joinIdle(ctx context.Context, url string, hc *http.Client, cd codec.Codec, hello []byte) (*ws.Conn, error) {
	c, _, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{codec.Subprotocol(cd, false)}, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	frame := ws.MessageText
	if cd.Binary() {
		frame = ws.MessageBinary
	}
	if err := c.Write(ctx, frame, hello); err != nil {
		c.CloseNow()
		return nil, err
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		c.CloseNow()
		return nil, err
	}
	if m, err := cd.Decode(b); err != nil || m.Type() != wamp.TypeWelcome {
		c.CloseNow()
		return nil, fmt.Errorf("expected WELCOME, got %q (%v)", b, err)
	}
	c.CloseRead(context.Background())
	return c, nil
}

// sessionsBackTo waits until the router has at most n sessions, and
// returns its stats then.
func (r *router) sessionsBackTo(n int, limit time.Duration) (stats, error) {
	deadline := time.Now().Add(limit)
	for {
		s, err := r.stats()
		if err != nil || s.sessions <= n {
			return s, err
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("the router still has %d sessions, %d more than before, after %v", s.sessions, s.sessions-n, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// raiseOpenFiles raises this process's open-file limit towards want: the
// soft limit up to the hard one, and the hard one too where the process
// may (as root). It returns the soft limit in force.
func raiseOpenFiles(want uint64) (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("reading the open-file limit: %w", err)
	}
	if rl.Cur >= want {
		return rl.Cur, nil
	}
	if rl.Max < want {
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}) == nil {
			return want, nil
		}
	}
	rl.Cur = min(want, rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("raising the open-file limit to %d: %w", rl.Cur, err)
	}
	return rl.Cur, nil
}

// openFilesLimit reads the soft open-file limit of process pid from
// /proc.
func openFilesLimit(pid int) (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Max open files"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				break
			}
			return strconv.ParseUint(fields[0], 10, 64)
		}
	}
	return 0, errors.New("no \"Max open files\" in /proc/PID/limits")
}

// Case 15: 100,000 connect-call-disconnect cycles; the router's
// goroutines, file descriptors and memory back to their baseline.
//
// The baseline is taken after a warm-up of a few thousand cycles, half of
// them over long-poll, which fills what the router keeps at a bounded size
// whatever the load (the runtime's goroutine records, the long-poll
// handler's 1,024 recently closed ids): a leak grows with the cycles that
// follow. Memory is judged
// by the live heap after a GC; the heap and stack spans in use, which
// fragmentation keeps above it, and RSS are shown.
func caseChurn(e *env) []row {
	n, warm := e.n(100000, 2000), e.n(2400, 200)
	const width = 32
	// The long-poll cycles' HTTP connections are kept alive between
	// requests: they are closed before the router is measured.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: width}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	// The WebSocket cycles connect from several loopback addresses, as
	// case 14's sessions do.
	var wsDials []dialer
	for _, c := range loopbackClients(sourceAddrs) {
		wsDials = append(wsDials, func(ctx context.Context, ser string) (msgConn, error) {
			c, err := dialRaw(ctx, e.r.wsURL(), c, ser)
			if err != nil {
				return nil, err
			}
			return c, nil
		})
	}
	lpDial := lpDialer(e, hc)
	var errs atomic.Int64
	var firstErr atomic.Value
	// cycles runs n cycles from number from on, 1 in lpEvery over
	// long-poll.
	cycles := func(n, from, lpEvery int) {
		parallel(n, width, func(i int) {
			i += from
			dial := wsDials[i%sourceAddrs]
			if i%lpEvery == lpEvery-1 {
				dial = lpDial
			}
			if err := churnCycle(dial, []string{"json", "msgpack"}[i/lpEvery%2], i); err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Errorf("cycle %d: %w", i, err))
			}
		})
		hc.CloseIdleConnections()
	}
	idle, err := e.r.stats()
	if err != nil {
		return []row{errRow("stats", err)}
	}
	cycles(warm, 0, 2)
	// The baseline: once the warm-up's sessions are gone, and their
	// connections' goroutines have ended.
	if _, err := e.r.sessionsBackTo(idle.sessions, 10*time.Second); err != nil {
		return []row{errRow("warm-up", err)}
	}
	time.Sleep(500 * time.Millisecond)
	before, err := e.r.idleBaseline()
	if err != nil {
		return []row{errRow("stats", err)}
	}
	start := time.Now()
	cycles(n, warm, 10)
	took := time.Since(start)
	fig := fmt.Sprintf("%d cycles (join, call %s, leave; 1 in 10 over long-poll, JSON and MessagePack; %d at a time) in %v, %.0f/s, after %d to warm up (half over long-poll): %d errors",
		n, controlProc, width, took.Round(time.Millisecond), float64(n)/took.Seconds(), warm, errs.Load())
	if v := firstErr.Load(); v != nil {
		fig += fmt.Sprintf(", first: %v", v)
	}
	rows := []row{check(fig, "0 errors", errs.Load() == 0)}
	after, settled, err := e.r.settle(func(s stats) bool { return backToBaseline(before, s) }, 500*time.Millisecond, 10*time.Second)
	if err != nil {
		return append(rows, errRow("stats", err))
	}
	return append(rows, check(fmt.Sprintf("router after (GC, settled %v): goroutines %d -> %d, fds %d -> %d, live heap %s -> %s; heap+stacks in use %s -> %s, RSS %s -> %s",
		settled.Round(10*time.Millisecond), before.goroutines, after.goroutines, before.fds, after.fds, mib(int64(before.live)), mib(int64(after.live)),
		mib(int64(before.mem())), mib(int64(after.mem())), mib(int64(before.rss)), mib(int64(after.rss))),
		"goroutines, fds, live heap <= +10%", backToBaseline(before, after)))
}

// churnCycle joins, calls the control group's echo procedure once and
// leaves.
func churnCycle(dial dialer, ser string, i int) error {
	// Generous bounds: a loaded 2-core machine (make test runs packages
	// side by side) can stall one of 32 concurrent long-poll cycles for
	// seconds; what this case judges is errors, not latency.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dial(ctx, ser)
	if err != nil {
		return err
	}
	defer c.close()
	if _, err := c.join(ctx); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if err := c.send(ctx, &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: controlProc, Args: wamp.List{int64(i)}}); err != nil {
		return err
	}
	m, err := c.recv(15 * time.Second)
	if err != nil {
		return fmt.Errorf("call: %s", closeReason(err))
	}
	if r, ok := m.(*wamp.Result); !ok || len(r.Args) != 1 || asInt(r.Args[0]) != int64(i) {
		return fmt.Errorf("call answered %v", wamp.ToList(m))
	}
	if err := c.send(ctx, &wamp.Goodbye{Details: wamp.Dict{}, Reason: "wamp.close.normal"}); err != nil {
		return err
	}
	if m, err = c.recv(15 * time.Second); err != nil {
		return fmt.Errorf("leave: %s", closeReason(err))
	}
	if m.Type() != wamp.TypeGoodbye {
		return fmt.Errorf("GOODBYE answered %v", wamp.ToList(m))
	}
	return nil
}

// backToBaseline tells whether the router's goroutines, fds and live heap
// are within 10% of what they were.
func backToBaseline(before, after stats) bool {
	within := func(b, a float64) bool { return a <= b*1.1 }
	return within(float64(before.goroutines), float64(after.goroutines)) &&
		within(float64(before.fds), float64(after.fds)) &&
		within(float64(before.live), float64(after.live))
}

// idleBaseline reads the router's stats five times, 100 ms apart, and
// keeps the highest goroutines, fds and live heap: the control group's
// long-poll sessions, between their polls, make those move a little even
// when nothing else runs.
func (r *router) idleBaseline() (stats, error) {
	top, err := r.stats()
	for range 4 {
		if err != nil {
			return top, err
		}
		time.Sleep(100 * time.Millisecond)
		var s stats
		if s, err = r.stats(); err == nil {
			top.goroutines = max(top.goroutines, s.goroutines)
			top.fds = max(top.fds, s.fds)
			top.live = max(top.live, s.live)
		}
	}
	return top, err
}

// settle reads the router's stats every interval until back says they
// are back or limit has passed, and returns the last reading and the time
// it took.
func (r *router) settle(back func(stats) bool, interval, limit time.Duration) (stats, time.Duration, error) {
	start := time.Now()
	for {
		s, err := r.stats()
		if err != nil || back(s) || time.Since(start) >= limit {
			return s, time.Since(start), err
		}
		time.Sleep(interval)
	}
}
