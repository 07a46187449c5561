package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// results are the figures of every phase.
type results struct {
	echo, rpc roundTrips
	fanout    fanoutFigures
	mem       memoryFigures
}

// goal is how a row's figure is judged.
type goal int

const (
	info         goal = iota // shown, not judged
	atMostRatio              // figure / ceiling <= limit
	atLeastRatio             // figure / ceiling >= limit
	atMost                   // figure <= limit
)

// row is one line of the table: a wampkit figure, the bare echo's figure
// it is compared with (if any), and its target.
type row struct {
	name    string
	value   float64 // wampkit's figure
	ceiling float64 // the bare echo's figure; 0 when the row has none
	unit    string  // "µs", "/s" or "KiB"
	goal    goal
	limit   float64
	err     error // why the figure is missing
}

func (r row) ratio() float64 {
	if r.ceiling == 0 {
		return math.NaN()
	}
	return r.value / r.ceiling
}

// passed reports whether the row meets its target; a row without one
// passes unless it failed to be measured.
func (r row) passed() bool {
	if r.err != nil {
		return false
	}
	switch r.goal {
	case atMostRatio:
		return r.ratio() <= r.limit
	case atLeastRatio:
		return r.ratio() >= r.limit
	case atMost:
		return r.value <= r.limit
	}
	return true
}

func (r row) verdict() string {
	switch {
	case r.goal == info && r.err == nil:
		return "info"
	case r.passed():
		return "PASS"
	}
	return "FAIL"
}

func (r row) targetText() string {
	switch r.goal {
	case atMostRatio:
		return fmt.Sprintf("≤ %.2f×", r.limit)
	case atLeastRatio:
		return fmt.Sprintf("≥ %.2f×", r.limit)
	case atMost:
		return "≤ " + formatValue(r.limit, r.unit)
	}
	return "-"
}

func anyFailed(rows []row) bool {
	for _, r := range rows {
		if !r.passed() {
			return true
		}
	}
	return false
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// rows turns the results into the table's rows.
func (res *results) rows() []row {
	echo, rpc := res.echo, res.rpc
	both := errors.Join(rpc.err, echo.err)
	fanErr := errors.Join(res.fanout.err, echo.err)
	return []row{
		// A routed call is four messages, an echo two: 2.5× leaves room
		// for the routing itself on top of twice the echo.
		{name: "RPC round trip p50, sequential", value: micros(rpc.p50), ceiling: micros(echo.p50),
			unit: "µs", goal: atMostRatio, limit: 2.5, err: both},
		{name: "RPC round trip p99, sequential", value: micros(rpc.p99), ceiling: micros(echo.p99),
			unit: "µs", goal: atMostRatio, limit: 2.5, err: both},
		{name: "RPC calls/s, concurrent callers", value: rpc.rate, ceiling: echo.rate,
			unit: "/s", goal: atLeastRatio, limit: 1 / 2.5, err: both},
		{name: "router CPU per routed message", value: micros(rpc.cpuPerMsg), ceiling: micros(echo.cpuPerMsg),
			unit: "µs", goal: atMostRatio, limit: 1.3, err: both},
		// A delivery is one message written; the echo server handles two
		// per echo.
		{name: "fan-out deliveries/s", value: res.fanout.rate, ceiling: 2 * echo.rate,
			unit: "/s", goal: info, err: fanErr},
		{name: "router CPU per delivered event", value: micros(res.fanout.cpuPerDelivery), ceiling: micros(echo.cpuPerMsg),
			unit: "µs", goal: atMostRatio, limit: 1.3, err: fanErr},
		{name: "router Go memory per idle session", value: res.mem.goKiB,
			unit: "KiB", goal: atMost, limit: 24, err: res.mem.err},
		{name: "router RSS per idle session", value: res.mem.rssKiB,
			unit: "KiB", goal: atMost, limit: 24, err: res.mem.err},
	}
}

// printReport prints the machine, the table and the notes.
func printReport(w io.Writer, cfg *config, rows []row, took time.Duration) {
	fmt.Fprintf(w, "wampkit bench (%s): %d sequential calls, %d concurrent for %v, %d subscribers × %d events, %d idle sessions; %.1fs\n",
		cfg.serializer, cfg.seqCalls, cfg.concurrency, cfg.duration, cfg.subscribers, cfg.events, cfg.sessions, took.Seconds())
	fmt.Fprintf(w, "machine: %s, %d cores, %s/%s, %s%s\n\n", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadAverage())

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\twampkit\tbare echo\tratio\ttarget\tresult\t")
	for _, r := range rows {
		value, ceiling, ratio := "error", "-", "-"
		if r.err == nil {
			value = formatValue(r.value, r.unit)
			if r.ceiling != 0 {
				ceiling = formatValue(r.ceiling, r.unit)
				ratio = fmt.Sprintf("%.2f×", r.ratio())
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.name, value, ceiling, ratio, r.targetText(), r.verdict())
	}
	tw.Flush()

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Ratio = wampkit / bare echo. A routed call is four messages (CALL, INVOCATION, YIELD, RESULT),")
	fmt.Fprintln(w, "an echo two; CPU per message is the server process's user+system time over the messages it")
	fmt.Fprintln(w, "read and wrote. Fan-out deliveries/s is compared with the echo server's messages/s; it is")
	fmt.Fprintln(w, "bounded by this process, which decodes every event, so it is not judged.")
	seen := map[string]bool{}
	for _, r := range rows {
		if r.err != nil && !seen[r.err.Error()] {
			seen[r.err.Error()] = true
			fmt.Fprintf(w, "error: %s: %s\n", r.name, strings.ReplaceAll(r.err.Error(), "\n", "; "))
		}
	}
}

// formatValue prints a figure in its unit, with digits that matter.
func formatValue(v float64, unit string) string {
	switch unit {
	case "/s":
		return thousands(int64(math.Round(v))) + " /s"
	case "µs":
		if v < 10 {
			return strconv.FormatFloat(v, 'f', 2, 64) + " µs"
		}
		return strconv.FormatFloat(v, 'f', 1, 64) + " µs"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
}

// thousands prints n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// cpuModel reads the processor's name from /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// loadAverage tells how busy the machine was over the last minute, for a
// reader to judge the figures: other work on the cores makes them noisy.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return ", load average " + f[0]
}
