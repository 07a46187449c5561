package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wampkit/wampkit/internal/syncbuf"
)

// router is the router child as the parent sees it: this binary
// re-executed with roleRouter, so that its memory, goroutines and file
// descriptors are its own and SIGTERM can be sent to it.
type router struct {
	cmd   *exec.Cmd
	addr  string // host:port
	stdin io.WriteCloser
	lines chan string    // its stdout, line by line; closed at its end
	done  chan struct{}  // closed once it has exited
	mu    sync.Mutex     // one command at a time
	log   syncbuf.Buffer // its stderr: the router's log
	// judged, when set, is the control group that judges the case under
	// way: stats reads the router aside from it (see control.aside).
	judged *control
}

// stats is what the router child reports of itself, plus /proc.
type stats struct {
	goroutines int
	heap       uint64 // heap in use after a GC (spans: live objects and their fragmentation)
	live       uint64 // bytes of live objects after a GC
	stacks     uint64
	totalAlloc uint64
	rss        uint64 // VmRSS
	fds        int
	sessions   int // established, all realms
}

func startRouter() (*router, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, roleRouter)
	r := &router{cmd: cmd, lines: make(chan string, 4), done: make(chan struct{})}
	cmd.Stderr = io.MultiWriter(os.Stderr, &r.log)
	stdin, stdout, err := startChild(cmd)
	if err != nil {
		return nil, fmt.Errorf("starting the router: %w", err)
	}
	r.stdin = stdin
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
		cmd.Wait()
		close(r.done)
	}()
	line, err := r.readLine(15 * time.Second)
	if err != nil {
		r.stop()
		return nil, err
	}
	addr, ok := strings.CutPrefix(line, "listening ")
	if !ok {
		r.stop()
		return nil, fmt.Errorf("router: unexpected first line %q", line)
	}
	r.addr = addr
	return r, nil
}

func (r *router) wsURL() string { return "ws://" + r.addr + "/ws" }
func (r *router) lpURL() string { return "http://" + r.addr + "/lp" }

func (r *router) readLine(timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-r.lines:
		if !ok {
			<-r.done
			return "", fmt.Errorf("the router exited: %v", r.cmd.ProcessState)
		}
		return line, nil
	case <-t.C:
		return "", fmt.Errorf("the router did not answer within %v", timeout)
	}
}

// alive reports whether the router process still runs.
func (r *router) alive() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// stats asks the child for its runtime figures and reads /proc for the
// rest, aside from the control group judging the case, if any.
func (r *router) stats() (s stats, err error) {
	r.aside(func() { s, err = r.readStats() })
	return s, err
}

// aside runs f outside the latency that the control group judging the
// case, if any, judges it by (see control.aside). Inside f, read the
// router with readStats: stats would wait for f.
func (r *router) aside(f func()) {
	if r.judged != nil {
		r.judged.aside(f)
		return
	}
	f()
}

// readStats asks the router for its figures: it collects its garbage
// twice first.
func (r *router) readStats() (stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s stats
	if _, err := io.WriteString(r.stdin, "stats\n"); err != nil {
		return s, fmt.Errorf("router stats: %w", err)
	}
	line, err := r.readLine(15 * time.Second)
	if err != nil {
		return s, err
	}
	if _, err := fmt.Sscanf(line, "stats %d %d %d %d %d %d", &s.goroutines, &s.heap, &s.stacks, &s.totalAlloc, &s.sessions, &s.live); err != nil {
		return s, fmt.Errorf("router stats: unexpected answer %q", line)
	}
	pid := r.cmd.Process.Pid
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for l := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			s.rss = kb << 10
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = len(fds)
	return s, nil
}

// mem is the Go memory in use: heap and stacks.
func (s stats) mem() uint64 { return s.heap + s.stacks }

// terminate sends SIGTERM and waits for the "shutdown" line and the exit;
// it returns the time from the signal to the exit and the router's own
// report of its shutdown.
func (r *router) terminate(timeout time.Duration) (time.Duration, string, error) {
	start := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, "", err
	}
	line, err := r.readLine(timeout)
	if err != nil {
		return 0, "", err
	}
	report := line
	if nanos, outcome, ok := strings.Cut(strings.TrimPrefix(line, "shutdown "), " "); ok {
		if n, err := strconv.ParseInt(nanos, 10, 64); err == nil {
			report = fmt.Sprintf("Shutdown took %v and returned %s", time.Duration(n).Round(time.Millisecond), outcome)
		}
	}
	select {
	case <-r.done:
	case <-time.After(timeout):
		return 0, report, fmt.Errorf("the router did not exit within %v", timeout)
	}
	return time.Since(start), report, nil
}

// stop asks the child to quit, and kills it after 5 s.
func (r *router) stop() {
	io.WriteString(r.stdin, "quit\n")
	r.stdin.Close()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// endChild closes the stdin of a child that exits when it closes, waits
// for it to exit, and kills it after grace.
func endChild(cmd *exec.Cmd, stdin io.Closer, grace time.Duration) {
	stdin.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-done
	}
}

// startChild starts cmd (see startProcess) with pipes to its stdin and
// from its stdout, and its stderr on ours unless set.
func startChild(cmd *exec.Cmd) (io.WriteCloser, io.ReadCloser, error) {
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := startProcess(cmd); err != nil {
		return nil, nil, err
	}
	return stdin, stdout, nil
}
