package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/transport/longpoll"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Control group: the "others" of every case. 50 sessions call an echo
// procedure at a steady rate. Every case with a control row passes it when
// they see 0 errors; a case that asks "others unaffected" (1, 6 and 10)
// also needs their p99 within 2x of their baseline, measured just before
// the case.
const (
	controlSessions = 50
	controlInterval = 100 * time.Millisecond // per session: 500 calls/s in all
	controlProc     = "stress.control.echo"
	// controlFloor is the smallest p99 limit: below it, 2x of a
	// sub-millisecond baseline is scheduler noise on 2 cores, not harm.
	controlFloor = 2 * time.Millisecond
)

// group is the control group itself; it runs in a child process of its
// own (serveControl), so that a case's load in this process does not slow
// the group's calls through a Go scheduler they would share: the group
// stands for other clients, which run elsewhere.
type group struct {
	callee   *client.Session
	sessions []*client.Session
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu       sync.Mutex
	answered [][2]int64 // each call answered: its start (Unix ns) and latency (ns)
	errs     int
	lastErr  error
}

// window is what the control group saw between two takes.
type window struct {
	calls   int
	errs    int
	samples []time.Duration // the latencies judged, sorted
	err     error
	// Host stalls (see stalls.go): left is how many calls answered were
	// left out of samples, in flight while the host held a CPU; stalls is
	// how many stalls the probe saw, the longest lasting longest, and late
	// how many of its wakeups came late by less.
	left    int
	stalls  int
	longest time.Duration
	late    int
}

// p99 is the 99th percentile of the window's latencies: with 500 calls,
// the fifth slowest.
func (w window) p99() time.Duration {
	if len(w.samples) == 0 {
		return 0
	}
	return w.samples[(len(w.samples)*99)/100]
}

// startGroup joins the callee and the 50 callers: WebSocket JSON and
// MessagePack, and long-poll JSON.
func startGroup(wsURL, lpURL string) (*group, error) {
	ctx := context.Background()
	c := &group{}
	callee, err := client.Join(ctx, wsURL, realm, nil)
	if err != nil {
		return nil, fmt.Errorf("control callee: %w", err)
	}
	c.callee = callee
	if _, err := callee.Register(ctx, controlProc, func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: inv.Args}, nil
	}); err != nil {
		c.stop()
		return nil, fmt.Errorf("control callee: %w", err)
	}
	for i := range controlSessions {
		var s *client.Session
		var err error
		switch {
		case i%5 == 4:
			s, err = joinLongPoll(ctx, lpURL)
		case i%2 == 1:
			s, err = client.Join(ctx, wsURL, realm, &client.Config{Serializer: "msgpack"})
		default:
			s, err = client.Join(ctx, wsURL, realm, nil)
		}
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("control caller %d: %w", i, err)
		}
		c.sessions = append(c.sessions, s)
	}
	runCtx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	for i, s := range c.sessions {
		c.wg.Go(func() { c.run(runCtx, s, i) })
	}
	return c, nil
}

// joinLongPoll joins a long-poll session whose requests go over two
// connections of its own, opened once: one for its pending receive, one
// for its sends. With a shared pool, the pool would grow whenever the
// router slowed down and keep the extra connections idle, which the cases
// that count the router's connections would take for a leak.
func joinLongPoll(ctx context.Context, lpURL string) (*client.Session, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost = 2
	t.MaxIdleConnsPerHost = 2
	cd, _ := codec.ByName("json")
	p, err := longpoll.Dial(ctx, lpURL, &longpoll.DialOptions{
		HTTPClient: &http.Client{Transport: t},
		Protocols:  []string{codec.Subprotocol(cd, true)},
	})
	if err != nil {
		return nil, err
	}
	s, err := client.JoinPeer(ctx, p, realm, nil)
	if err != nil {
		p.Close()
		return nil, err
	}
	return s, nil
}

func (c *group) run(ctx context.Context, s *client.Session, i int) {
	// Spread the sessions over the interval: each ticker starts at its
	// own offset, so that a call leaves every 2 ms rather than 50 at once
	// every 100 ms.
	select {
	case <-time.After(time.Duration(i) * controlInterval / controlSessions):
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(controlInterval)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		res, err := s.Call(cctx, controlProc, wamp.List{int64(n)}, nil)
		d := time.Since(start)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil && (len(res.Args) != 1 || fmt.Sprint(res.Args[0]) != fmt.Sprint(n)) {
			err = fmt.Errorf("echo of %d returned %v", n, res.Args)
		}
		c.mu.Lock()
		if err != nil {
			c.errs++
			c.lastErr = err
		} else {
			c.answered = append(c.answered, [2]int64{start.UnixNano(), int64(d)})
		}
		c.mu.Unlock()
	}
}

// take returns what was seen since the last take and starts a new window.
func (c *group) take() windowReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	rep := windowReport{Calls: len(c.answered) + c.errs, Errors: c.errs, Answered: c.answered}
	if c.lastErr != nil {
		rep.LastError = c.lastErr.Error()
	}
	c.answered, c.errs, c.lastErr = nil, 0, nil
	return rep
}

// baselineTries is how many windows baseline measures at most.
const baselineTries = 3

// baseline measures the control group alone for d, again while the
// window's p99 would make the limit more lenient than its floor (up to
// baselineTries windows), and keeps the window with the lowest p99. On
// this kind of machine a quiet second now and then holds a burst of slow
// calls (baselines of 5, 14 and 17 ms were seen where 1-2 ms is usual),
// which would make the case's limit say nothing. The short version, which
// judges no latency, measures once.
func (c *control) baseline(d time.Duration) window {
	if err := c.collect(); err != nil {
		return window{errs: 1, err: err}
	}
	// Calls held up by the collection finish right after it.
	time.Sleep(controlInterval)
	c.take()
	c.kept, c.asideFor = nil, 0
	time.Sleep(d)
	best := c.take()
	for range baselineTries - 1 {
		if !c.latencyJudged || 2*best.p99() <= controlFloor {
			break
		}
		time.Sleep(d)
		if w := c.take(); w.p99() < best.p99() {
			best = w
		}
	}
	return best
}

// aside runs read, a reading of the router that forces its garbage
// collections (see router.stats), outside the latency the case is judged
// by: the control group's latency meanwhile is the harness's doing, which
// wampd never does. The calls and errors of that stretch still count.
func (c *control) aside(read func()) {
	c.asideMu.Lock()
	defer c.asideMu.Unlock()
	from := time.Now()
	c.kept = append(c.kept, c.take())
	read()
	// Calls held up by the collections finish right after them.
	time.Sleep(controlInterval)
	w := c.take()
	w.samples, w.left = nil, 0
	c.kept = append(c.kept, w)
	c.asideFor += time.Since(from)
}

// judgedFor is how long the case begun at from has been judged by the
// control group's latency: the time since, less what aside left out.
func (c *control) judgedFor(from time.Time) time.Duration {
	c.asideMu.Lock()
	defer c.asideMu.Unlock()
	return time.Since(from) - c.asideFor
}

// merge adds up windows: their calls, errors and latencies.
func merge(ws ...window) window {
	var m window
	for _, w := range ws {
		m.calls += w.calls
		m.errs += w.errs
		m.samples = append(m.samples, w.samples...)
		if m.err == nil {
			m.err = w.err
		}
		m.left += w.left
		m.stalls += w.stalls
		m.longest = max(m.longest, w.longest)
		m.late += w.late
	}
	slices.Sort(m.samples)
	return m
}

// verdict is the control group's row of a case; cpu says how busy the
// machine and the router were over the group's window.
func (c *control) verdict(caseName string, o others, base window, cpu func() string) row {
	// A case over in less than a few call intervals would leave the group
	// no time to call at all: wait for a few rounds.
	time.Sleep(3 * controlInterval)
	use := cpu()
	w := merge(append(c.kept, c.take())...)
	c.kept, c.asideFor = nil, 0
	limit := max(2*base.p99(), controlFloor).Round(10 * time.Microsecond)
	fig := fmt.Sprintf("%d calls, %d errors, p99 %v (base %v)", w.calls, w.errs, w.p99().Round(10*time.Microsecond), base.p99().Round(10*time.Microsecond))
	if c.probe != nil {
		fig += fmt.Sprintf(", leaving out %d calls (base %d) in flight during %d host stalls, the longest %v (%d more wakeups %v-%v late)",
			w.left, base.left, w.stalls, w.longest.Round(100*time.Microsecond), w.late, lateMin, stallMin)
	}
	if w.err != nil {
		fig += "; " + w.err.Error()
	}
	fig += "; " + use
	served := w.errs == 0 && w.calls > 0
	switch {
	case o != unaffected:
		return row{caseName, "others: " + fig, fmt.Sprintf("0 errors (p99 shown: this case does not ask others unaffected; 2x base is %v)", limit), served}
	case !c.latencyJudged:
		return row{caseName, "others: " + fig, fmt.Sprintf("0 errors (p99 judged in the full run, <= %v)", limit), served}
	}
	return row{caseName, "others: " + fig, fmt.Sprintf("0 errors, p99 <= %v", limit), served && w.p99() <= limit}
}

func (c *group) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range c.sessions {
		s.Leave(ctx)
	}
	if c.callee != nil {
		c.callee.Leave(ctx)
	}
}

// roleControl is the hidden first argument that makes this binary the
// control group's child; the router's WebSocket and long-poll URLs follow.
const roleControl = "serve-stress-control"

// controlMemoryLimit bounds the control group's heap: it collects its
// garbage when told to (the line "collect"), between the cases' windows,
// and only past this limit on its own.
const controlMemoryLimit = 1 << 30

// serveControl runs the control group until its stdin closes. It prints
// "ready" once joined, and answers each line "take" with the window since
// the last one, a line of JSON (windowReport), and each line "collect"
// with "collected" once it has collected its garbage.
//
// The group stands for clients that run elsewhere: its own garbage
// collections, which stop its calls for a millisecond or more on this
// machine, are no effect of the router's and must not fall in a window
// that judges the router. So it collects only when told, before each
// baseline.
func serveControl(wsURL, lpURL string) int {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(controlMemoryLimit)
	g, err := startGroup(wsURL, lpURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stress control:", err)
		return 1
	}
	defer g.stop()
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for sc.Scan() {
		switch sc.Text() {
		case "collect":
			runtime.GC()
			fmt.Println("collected")
			continue
		case "take":
		default:
			continue
		}
		if err := enc.Encode(g.take()); err != nil {
			return 1
		}
	}
	return 0
}

// windowReport is a window as the control group's child reports it.
type windowReport struct {
	Calls     int        `json:"calls"`
	Errors    int        `json:"errors"`
	Answered  [][2]int64 `json:"answered"` // each call answered: its start (Unix ns) and latency (ns)
	LastError string     `json:"last_error,omitempty"`
}

// control is this process's end of the control group's child.
type control struct {
	// latencyJudged is false in the short version, which make test runs
	// beside every other test package on a shared machine: there a p99 of
	// tens or hundreds of milliseconds is other processes' doing, so the
	// short version judges errors only and shows the p99 for information.
	latencyJudged bool
	// probe is the stall probe whose stalls leave calls out of the
	// latencies judged; nil for none.
	probe *stallProbe
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	// kept are the windows of the case under way that aside closed; the
	// verdict adds them to the last one, and asideFor is how long they
	// lasted. asideMu serializes asides.
	asideMu  sync.Mutex
	kept     []window
	asideFor time.Duration
}

// startControl starts the control group's child against r and waits until
// it has joined.
func startControl(r *router, short bool) (*control, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &control{latencyJudged: !short, lines: make(chan string, 1)}
	c.cmd = exec.Command(exe, roleControl, r.wsURL(), r.lpURL())
	stdin, stdout, err := startChild(c.cmd)
	if err != nil {
		return nil, fmt.Errorf("starting the control group: %w", err)
	}
	c.stdin = stdin
	go func() {
		sc := bufio.NewScanner(stdout)
		// A window of a minute holds 30,000 latencies.
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	if line, err := c.readLine(); err != nil || line != "ready" {
		c.stop()
		return nil, fmt.Errorf("the control group did not start: %q %v", line, err)
	}
	return c, nil
}

func (c *control) readLine() (string, error) {
	select {
	case line, ok := <-c.lines:
		if !ok {
			return "", errors.New("the control group exited")
		}
		return line, nil
	case <-time.After(30 * time.Second):
		return "", errors.New("the control group did not answer within 30s")
	}
}

// collect has the group collect its garbage now, outside any window
// judged, and waits until it has.
func (c *control) collect() error {
	if _, err := io.WriteString(c.stdin, "collect\n"); err != nil {
		return fmt.Errorf("asking the control group: %w", err)
	}
	line, err := c.readLine()
	if err == nil && line != "collected" {
		err = fmt.Errorf("the control group said %.100q to collect", line)
	}
	return err
}

// take returns what the group saw since the last take.
func (c *control) take() window {
	if _, err := io.WriteString(c.stdin, "take\n"); err != nil {
		return window{errs: 1, err: fmt.Errorf("asking the control group: %w", err)}
	}
	line, err := c.readLine()
	if err != nil {
		return window{errs: 1, err: err}
	}
	var rep windowReport
	if err := json.Unmarshal([]byte(line), &rep); err != nil {
		return window{errs: 1, err: fmt.Errorf("the control group said %.100q: %w", line, err)}
	}
	w := window{calls: rep.Calls, errs: rep.Errors}
	if rep.LastError != "" {
		w.err = errors.New(rep.LastError)
	}
	// The stalls up to now: every call of the window has ended.
	var fresh probeReport
	probe := c.probe
	if probe != nil {
		if fresh, err = probe.take(); err != nil {
			// The window is judged whole, and says why.
			probe = nil
			w.err = errors.Join(w.err, err)
		}
	}
	for _, a := range rep.Answered {
		if probe != nil && probe.stalled(a[0], a[0]+a[1]) {
			w.left++
			continue
		}
		w.samples = append(w.samples, time.Duration(a[1]))
	}
	slices.Sort(w.samples)
	w.stalls, w.late = len(fresh.Stalls), fresh.Late
	for _, s := range fresh.Stalls {
		w.longest = max(w.longest, time.Duration(s.To-s.From))
	}
	return w
}

// stop ends the group: its sessions leave when its stdin closes.
func (c *control) stop() { endChild(c.cmd, c.stdin, 10*time.Second) }
