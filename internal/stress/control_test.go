package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestMergeJudgesEveryLatency: the p99 of a case is taken over the calls
// of all its windows, not the highest p99 of each, which for a window of a
// few dozen calls is its slowest call.
func TestMergeJudgesEveryLatency(t *testing.T) {
	same := func(n int, d time.Duration) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = d
		}
		return s
	}
	short := window{calls: 60, samples: append(same(59, time.Millisecond), 9*time.Millisecond)}
	long := window{calls: 541, errs: 1, samples: same(540, 2*time.Millisecond)}
	aside := window{calls: 50} // its latencies left out
	if got := short.p99(); got != 9*time.Millisecond {
		t.Fatalf("p99 of 60 calls = %v, want their slowest, 9ms", got)
	}
	m := merge(short, aside, long)
	if m.calls != 651 || m.errs != 1 || len(m.samples) != 600 {
		t.Fatalf("merged %d calls, %d errors, %d latencies; want 651, 1, 600", m.calls, m.errs, len(m.samples))
	}
	// 600 latencies: the p99 is the sixth slowest, one of the 2ms calls.
	if got := m.p99(); got != 2*time.Millisecond {
		t.Errorf("merged p99 = %v, want 2ms", got)
	}
	if got := (window{}).p99(); got != 0 {
		t.Errorf("p99 of no calls = %v", got)
	}
}

// scriptedControl is a control whose child answers each take with the next
// of p99s (a window of 100 calls whose slowest two took it) and each
// collect with "collected". It returns the control and the commands asked
// of it so far, joined by spaces.
func scriptedControl(t *testing.T, p99s ...time.Duration) (*control, func() string) {
	var reports []windowReport
	for _, p99 := range p99s {
		rep := windowReport{Calls: 100}
		for i := range 100 {
			d := 100 * time.Microsecond
			if i >= 98 {
				d = p99
			}
			rep.Answered = append(rep.Answered, [2]int64{int64(i) * int64(time.Millisecond), int64(d)})
		}
		reports = append(reports, rep)
	}
	return scriptedGroup(t, reports...)
}

// scriptedGroup is a control whose child answers each take with the next
// of reports (then with windows of 100 calls of 100µs) and each collect
// with "collected". It returns the control and the commands asked of it
// so far, joined by spaces.
func scriptedGroup(t *testing.T, reports ...windowReport) (*control, func() string) {
	in, out := io.Pipe()
	c := &control{latencyJudged: true, stdin: out, lines: make(chan string, 1)}
	var mu sync.Mutex
	var asked []string
	go func() {
		sc := bufio.NewScanner(in)
		takes := 0
		for sc.Scan() {
			mu.Lock()
			asked = append(asked, sc.Text())
			mu.Unlock()
			if sc.Text() == "collect" {
				c.lines <- "collected"
				continue
			}
			rep := windowReport{Calls: 100}
			for i := range 100 {
				rep.Answered = append(rep.Answered, [2]int64{int64(i) * int64(time.Millisecond), int64(100 * time.Microsecond)})
			}
			if takes < len(reports) {
				rep = reports[takes]
			}
			takes++
			b, _ := json.Marshal(rep)
			c.lines <- string(b)
		}
	}()
	t.Cleanup(func() { out.Close() })
	return c, func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(asked, " ")
	}
}

// TestBaselineTakesTheQuieterWindow: the group collects its garbage before
// a baseline; a baseline whose p99 would raise the limit above its floor
// is measured again, up to three windows, and the lowest kept.
func TestBaselineTakesTheQuieterWindow(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		windows []time.Duration // the first answers the take that clears the group
		want    time.Duration
		asked   string
	}{
		{"quiet at once", []time.Duration{0, 800 * time.Microsecond}, 800 * time.Microsecond, "collect take take"},
		{"a burst, then quiet", []time.Duration{0, 17 * ms, 900 * time.Microsecond}, 900 * time.Microsecond, "collect take take take"},
		{"a burst, then 1.2ms, then quieter", []time.Duration{0, 17 * ms, 1200 * time.Microsecond, 800 * time.Microsecond}, 800 * time.Microsecond, "collect take take take take"},
		{"the second worse, the third quiet", []time.Duration{0, 3 * ms, 5 * ms, 900 * time.Microsecond}, 900 * time.Microsecond, "collect take take take take"},
		{"three bursts", []time.Duration{0, 3 * ms, 5 * ms, 4 * ms, 700 * time.Microsecond}, 3 * ms, "collect take take take take"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, asked := scriptedControl(t, tc.windows...)
			base := c.baseline(time.Millisecond)
			if got := base.p99(); got != tc.want {
				t.Errorf("baseline p99 %v, want %v", got, tc.want)
			}
			if got := asked(); got != tc.asked {
				t.Errorf("asked the group %q, want %q", got, tc.asked)
			}
		})
	}
}

func TestLateness(t *testing.T) {
	var over []time.Duration
	for i := range 200 {
		over = append(over, time.Duration(i)*10*time.Microsecond) // 0 to 1.99 ms
	}
	over = append(over, 5*time.Millisecond, 2100*time.Microsecond, 2*time.Millisecond)
	w := lateness(over)
	if w.n != 203 || w.late != 2 || w.max != 5*time.Millisecond || w.p99 != 2*time.Millisecond {
		t.Fatalf("lateness = %+v, want n 203, 2 over 2 ms, max 5ms, p99 2ms", w)
	}
	want := "this machine, idle, wakes a thread that sleeps 1 ms late by p99 2ms, max 5ms; by more than 2ms 2 times in 203"
	if got := w.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if w := lateness(nil); w.n != 0 || w.late != 0 {
		t.Errorf("lateness(nil) = %+v", w)
	}
}

// TestVerdictJudgesLatencyWhereAsked: every control row fails on an error;
// only a case that asks "others unaffected", in the full version, fails
// on a p99 above 2x the baseline.
func TestVerdictJudgesLatencyWhereAsked(t *testing.T) {
	ms := time.Millisecond
	base := window{calls: 100, samples: []time.Duration{ms}} // p99 1ms: limit 2ms
	for _, tc := range []struct {
		name   string
		o      others
		short  bool
		p99    time.Duration
		errors bool
		want   bool
	}{
		{"asked, within", unaffected, false, 1900 * time.Microsecond, false, true},
		{"asked, above", unaffected, false, 5 * ms, false, false},
		{"asked, above, short version", unaffected, true, 5 * ms, false, true},
		{"not asked, above", errorsJudged, false, 5 * ms, false, true},
		{"not asked, an error", errorsJudged, false, ms, true, false},
		{"asked, short version, an error", unaffected, true, ms, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := scriptedControl(t, tc.p99)
			c.latencyJudged = !tc.short
			if tc.errors {
				c.kept = []window{{calls: 1, errs: 1, err: errors.New("echo failed")}}
			}
			r := c.verdict("case", tc.o, base, func() string { return "cpu" })
			if r.pass != tc.want {
				t.Errorf("pass = %v, want %v: %s | %s", r.pass, tc.want, r.figure, r.limit)
			}
			if !strings.Contains(r.figure, "p99 "+tc.p99.String()) || !strings.Contains(r.limit, "2ms") {
				t.Errorf("row does not show the p99 %v and the limit 2ms: %s | %s", tc.p99, r.figure, r.limit)
			}
		})
	}
}

// TestJudgedTimeLeavesAsideOut: the time a case spends reading the router
// aside does not count toward the second of calls that its p99 needs, and
// the next case starts from nothing.
func TestJudgedTimeLeavesAsideOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, asked := scriptedControl(t)
		from := time.Now()
		time.Sleep(300 * time.Millisecond)
		c.aside(func() { time.Sleep(500 * time.Millisecond) })
		time.Sleep(200 * time.Millisecond)
		// 1.1s since from, of which the read and the calls it held up
		// (controlInterval) were aside.
		if got, want := c.judgedFor(from), 1100*time.Millisecond-500*time.Millisecond-controlInterval; got != want {
			t.Errorf("judged for %v, want %v", got, want)
		}
		c.verdict("case", unaffected, window{calls: 100, samples: []time.Duration{time.Millisecond}}, func() string { return "cpu" })
		next := time.Now()
		time.Sleep(100 * time.Millisecond)
		if got := c.judgedFor(next); got != 100*time.Millisecond {
			t.Errorf("next case judged for %v, want 100ms", got)
		}
		if got := asked(); got != "take take take" {
			t.Errorf("asked the group %q, want two takes aside and one for the verdict", got)
		}
	})
}
