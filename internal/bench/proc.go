package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Timeouts of the conversation with a child.
const (
	childStartTimeout = 15 * time.Second // until it prints its address
	childReplyTimeout = 15 * time.Second // one command (mem runs a GC)
	childStopTimeout  = 5 * time.Second  // after quit, before it is killed
)

// child is a router or echo server running in its own process: this
// binary, re-executed with a role argument.
type child struct {
	name  string
	cmd   *exec.Cmd
	addr  string // host:port it listens on
	unix  string // the router's raw socket path
	stdin io.WriteCloser
	lines chan string   // its stdout, line by line; closed at its end
	done  chan struct{} // closed once it has exited and been waited for

	mu       sync.Mutex // one command at a time
	stopOnce sync.Once
}

// children are the running children, so that an interrupt or a panic
// stops them all.
var children = struct {
	sync.Mutex
	set map[*child]struct{}
}{set: map[*child]struct{}{}}

// startChild starts a child in role for phase and waits for its address.
func startChild(ctx context.Context, cfg *config, role, phase string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this executable to start the %s: %w", role, err)
	}
	cmd := exec.Command(exe, role, phase)
	cmd.Stderr = os.Stderr
	cmd.Env = os.Environ()
	if cfg.profileDir != "" {
		cmd.Env = append(cmd.Env, profileEnv+"="+cfg.profileDir)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s: %w", role, err)
	}
	c := &child{
		name:  strings.TrimPrefix(role, "serve-"),
		cmd:   cmd,
		stdin: stdin,
		lines: make(chan string, 4),
		done:  make(chan struct{}),
	}
	children.Lock()
	children.set[c] = struct{}{}
	children.Unlock()
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		// Wait only once stdout is read to its end, as exec requires.
		cmd.Wait()
		close(c.done)
	}()

	line, err := c.readLine(ctx, childStartTimeout)
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("starting the %s: %w", c.name, err)
	}
	addrs, ok := strings.CutPrefix(line, "listening ")
	if !ok {
		c.stop()
		return nil, fmt.Errorf("starting the %s: unexpected first line %q", c.name, line)
	}
	c.addr, c.unix, _ = strings.Cut(addrs, " ")
	return c, nil
}

// url is the router's URL for a transport: "ws" (WebSocket), "rs" (raw
// socket on the same port) or "unix" (raw socket on a Unix socket).
func (c *child) url(transport string) string {
	switch transport {
	case "rs":
		return "rs://" + c.addr
	case "unix":
		return "unix://" + c.unix
	}
	return "ws://" + c.addr + "/ws"
}

func (c *child) readLine(ctx context.Context, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-c.lines:
		if !ok {
			<-c.done
			return "", fmt.Errorf("the %s exited: %v", c.name, c.cmd.ProcessState)
		}
		return line, nil
	case <-t.C:
		return "", fmt.Errorf("the %s did not answer within %v", c.name, timeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// request sends one command and returns the fields of the answer after
// the echoed command name.
func (c *child) request(ctx context.Context, cmd string, nfields int) ([]uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.name, cmd, err)
	}
	line, err := c.readLine(ctx, childReplyTimeout)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.name, cmd, err)
	}
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return nil, fmt.Errorf("%s %s: %s", c.name, cmd, msg)
	}
	fields := strings.Fields(line)
	if len(fields) != nfields+1 || fields[0] != cmd {
		return nil, fmt.Errorf("%s %s: unexpected answer %q", c.name, cmd, line)
	}
	out := make([]uint64, nfields)
	for i, f := range fields[1:] {
		if out[i], err = strconv.ParseUint(f, 10, 64); err != nil {
			return nil, fmt.Errorf("%s %s: unexpected answer %q", c.name, cmd, line)
		}
	}
	return out, nil
}

// cpu returns the child's CPU time so far, user and system.
func (c *child) cpu(ctx context.Context) (time.Duration, error) {
	v, err := c.request(ctx, "cpu", 1)
	if err != nil {
		return 0, err
	}
	return time.Duration(v[0]), nil
}

// memUse is a child's memory in bytes, after a garbage collection.
type memUse struct {
	heap, stacks uint64 // Go heap and goroutine stacks in use
	rss          uint64 // resident set size
}

// mem reads the child's memory.
func (c *child) mem(ctx context.Context) (memUse, error) {
	v, err := c.request(ctx, "mem", 3)
	if err != nil {
		return memUse{}, err
	}
	return memUse{heap: v[0], stacks: v[1], rss: v[2]}, nil
}

// stop asks the child to quit (it writes its profile then), and kills it
// when it does not within childStopTimeout.
func (c *child) stop() {
	c.stopOnce.Do(func() {
		io.WriteString(c.stdin, "quit\n")
		c.stdin.Close()
		t := time.NewTimer(childStopTimeout)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			c.cmd.Process.Kill()
			<-c.done
		}
		children.Lock()
		delete(children.set, c)
		children.Unlock()
	})
}

// stopChildren stops every child still running.
func stopChildren() {
	children.Lock()
	list := make([]*child, 0, len(children.set))
	for c := range children.set {
		list = append(list, c)
	}
	children.Unlock()
	var wg sync.WaitGroup
	for _, c := range list {
		wg.Go(c.stop)
	}
	wg.Wait()
}

// killChildren kills every child at once, for an exit that cannot wait.
func killChildren() {
	children.Lock()
	defer children.Unlock()
	for c := range children.set {
		if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			fmt.Fprintf(os.Stderr, "bench: killing the %s: %v\n", c.name, err)
		}
	}
}
