package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// Host stalls. On a virtual machine the host now and then takes a CPU
// away from the guest for milliseconds; in busy stretches of the host,
// dozens of times a second. A call of the control group in flight then
// is slow whatever the router does, and a window that holds a few of
// these stalls fails its p99 (baselines of 8 ms were seen beside 1 ms
// ones). The stall probe, a child process, keeps on every CPU a thread
// under SCHED_FIFO that sleeps a millisecond at a time: no thread of the
// router, the control group or the harness can make it wait, so a wakeup
// that comes late means that its CPU did not run at all. Every judged
// window leaves out the calls in flight during such a stall, the baseline
// as the case, and says how many.

// stallMin is the lateness of a probe's wakeup that counts as a stall.
// Wakeups late by lateMin or more, but less than stallMin, are only
// counted: a host that takes the CPU in short slices slows everything
// without a stall, and a row that fails then should say so.
const (
	stallMin = time.Millisecond
	lateMin  = 250 * time.Microsecond
)

// probeReport is what the probe saw between two takes.
type probeReport struct {
	Stalls []span `json:"stalls"`
	Late   int    `json:"late"` // wakeups late by lateMin or more, not stalls
}

// span is a stretch of wall-clock time, in Unix nanoseconds.
type span struct{ From, To int64 }

func (s span) overlaps(from, to int64) bool { return s.From <= to && from <= s.To }

// roleStalls is the hidden first argument that makes this binary the
// stall probe's child.
const roleStalls = "serve-stress-stalls"

// serveStalls runs the stall probe: a thread per CPU (see probeCPU). It
// prints "ready", or "unavailable: REASON" and exits, then answers each
// line "take" on stdin with a line of JSON, a probeReport of what it saw
// since the last one: the stalls, each the certain part of a stall, from
// the moment the probe should have woken to the moment it did, and how
// many wakeups came late by less.
func serveStalls() int {
	// Probe threads sleep in system calls that keep their Ps; the line
	// reader needs one more. The collector, which would stop the probes,
	// stays off: the process allocates little.
	n := runtime.NumCPU()
	runtime.GOMAXPROCS(n + 1)
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(256 << 20)
	var mu sync.Mutex
	var seen probeReport
	ready := make(chan error, n)
	for cpu := range n {
		go probeCPU(cpu, ready, func(woke time.Time, late time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if late < stallMin {
				seen.Late++
				return
			}
			seen.Stalls = append(seen.Stalls, span{woke.Add(-late).UnixNano(), woke.UnixNano()})
		})
	}
	for range n {
		if err := <-ready; err != nil {
			fmt.Println("unavailable:", err)
			return 0
		}
	}
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for sc.Scan() {
		if sc.Text() != "take" {
			continue
		}
		mu.Lock()
		took := seen
		seen = probeReport{}
		mu.Unlock()
		if err := enc.Encode(took); err != nil {
			return 1
		}
	}
	return 0
}

// stallProbe is the harness's end of the stall probe's child. It keeps
// the stalls of the last stallMemory: a call answered in a window may have
// started in an earlier one.
type stallProbe struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
	kept  []span
}

// stallMemory is how long the harness keeps a stall: longer than a call
// of the control group may take (its timeout).
const stallMemory = 10 * time.Second

// startStallProbe starts the stall probe. It fails where the probe cannot
// run (not Linux, or SCHED_FIFO refused).
func startStallProbe() (*stallProbe, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return runStallProbe(exec.Command(exe, roleStalls))
}

// runStallProbe starts cmd, which runs serveStalls, and waits until it is
// ready.
func runStallProbe(cmd *exec.Cmd) (*stallProbe, error) {
	p := &stallProbe{cmd: cmd}
	stdin, stdout, err := startChild(cmd)
	if err != nil {
		return nil, err
	}
	p.stdin = stdin
	p.lines = bufio.NewScanner(stdout)
	p.lines.Buffer(nil, 4<<20)
	if !p.lines.Scan() || p.lines.Text() != "ready" {
		line := p.lines.Text()
		p.stop()
		if line == "" {
			return nil, errors.New("the stall probe exited")
		}
		return nil, errors.New(strings.TrimPrefix(line, "unavailable: "))
	}
	return p, nil
}

// take returns what the probe saw since the last take, and keeps the
// stalls for stalled.
func (p *stallProbe) take() (probeReport, error) {
	var fresh probeReport
	if _, err := io.WriteString(p.stdin, "take\n"); err != nil {
		return fresh, fmt.Errorf("asking the stall probe: %w", err)
	}
	if !p.lines.Scan() {
		return fresh, errors.New("the stall probe exited")
	}
	if err := json.Unmarshal(p.lines.Bytes(), &fresh); err != nil {
		return fresh, fmt.Errorf("the stall probe said %.100q: %w", p.lines.Text(), err)
	}
	old := time.Now().Add(-stallMemory).UnixNano()
	p.kept = slices.DeleteFunc(p.kept, func(s span) bool { return s.To < old })
	p.kept = append(p.kept, fresh.Stalls...)
	return fresh, nil
}

// stalled reports whether a stall the probe saw in the last stallMemory
// overlaps the stretch from..to (Unix nanoseconds).
func (p *stallProbe) stalled(from, to int64) bool {
	return slices.ContainsFunc(p.kept, func(s span) bool { return s.overlaps(from, to) })
}

// stop ends the probe: it exits when its stdin closes.
func (p *stallProbe) stop() { endChild(p.cmd, p.stdin, 5*time.Second) }
