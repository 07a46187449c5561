package main

import (
	"bufio"
	"encoding/json"
	"io"
	"slices"
	"testing"
	"time"
)

// scriptedProbe is a stall probe whose child answers each take with the
// next of takes (then with nothing seen).
func scriptedProbe(t *testing.T, takes ...probeReport) *stallProbe {
	in, out := io.Pipe()
	answers, answer := io.Pipe()
	go func() {
		sc := bufio.NewScanner(in)
		for i := 0; sc.Scan(); i++ {
			var b []byte
			if i < len(takes) {
				b, _ = json.Marshal(takes[i])
			} else {
				b = []byte("{}")
			}
			answer.Write(append(b, '\n'))
		}
	}()
	t.Cleanup(func() { out.Close(); answer.Close() })
	return &stallProbe{stdin: out, lines: bufio.NewScanner(answers)}
}

// TestStalledCallsAreLeftOut: a call in flight during a stall the probe
// saw, in this window or an earlier one, is left out of the latencies
// judged; the window counts it, and the stalls and late wakeups seen since
// the last take.
func TestStalledCallsAreLeftOut(t *testing.T) {
	ms := int64(time.Millisecond)
	now := time.Now().UnixNano()
	call := func(start, took int64) [2]int64 { return [2]int64{now + start, took} }
	c, _ := scriptedGroup(t,
		windowReport{Calls: 1, Answered: [][2]int64{call(0, ms)}},
		windowReport{Calls: 6, Errors: 1, Answered: [][2]int64{
			call(10*ms, 2*ms),  // spans the earlier window's stall: left out
			call(20*ms, ms),    // ends as a stall starts: left out
			call(30*ms, 5*ms),  // holds a stall: left out
			call(40*ms, ms),    // ends before the next stall
			call(45*ms, 3*ms),  // starts after it
			call(100*ms, 7*ms), // none: a slow call the router made
		}},
	)
	c.probe = scriptedProbe(t,
		probeReport{Stalls: []span{{now + 11*ms, now + 15*ms}}},
		probeReport{Stalls: []span{{now + 21*ms, now + 22*ms}, {now + 32*ms, now + 33*ms}, {now + 42*ms, now + 44*ms}}, Late: 7},
	)
	first := c.take()
	if first.left != 0 || len(first.samples) != 1 || first.stalls != 1 || first.longest != 4*time.Millisecond {
		t.Fatalf("first window: left %d, %d latencies, %d stalls, longest %v; want 0, 1, 1, 4ms", first.left, len(first.samples), first.stalls, first.longest)
	}
	w := c.take()
	want := []time.Duration{time.Millisecond, 3 * time.Millisecond, 7 * time.Millisecond}
	if w.calls != 6 || w.errs != 1 || w.left != 3 || !slices.Equal(w.samples, want) {
		t.Errorf("window: %d calls, %d errors, left %d, latencies %v; want 6, 1, 3, %v", w.calls, w.errs, w.left, w.samples, want)
	}
	if w.stalls != 3 || w.longest != 2*time.Millisecond || w.late != 7 {
		t.Errorf("window: %d stalls, longest %v, %d late wakeups; want 3, 2ms, 7", w.stalls, w.longest, w.late)
	}
	if m := merge(first, w); m.left != 3 || m.stalls != 4 || m.longest != 4*time.Millisecond || m.late != 7 {
		t.Errorf("merged: left %d, %d stalls, longest %v, %d late; want 3, 4, 4ms, 7", m.left, m.stalls, m.longest, m.late)
	}
}

// TestStallsAreForgotten: the harness keeps a stall for stallMemory, no
// longer.
func TestStallsAreForgotten(t *testing.T) {
	now := time.Now()
	old := now.Add(-stallMemory - time.Second).UnixNano()
	recent := now.Add(-time.Second).UnixNano()
	p := scriptedProbe(t, probeReport{Stalls: []span{{old, old + 1}, {recent, recent + 1}}})
	for range 2 {
		if _, err := p.take(); err != nil {
			t.Fatal(err)
		}
	}
	if p.stalled(old, old+1) || !p.stalled(recent, recent+1) {
		t.Errorf("kept %v: want the recent stall only", p.kept)
	}
}
