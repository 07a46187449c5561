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
	roundTripFigures
	fanout  fanoutFigures
	mem     memoryFigures
	conns   connectionFigures
	browser browserFigures
}

// goal is how a row's figure is judged.
type goal int

const (
	info         goal = iota // shown, not judged
	atMostRatio              // figure / ceiling <= limit
	atLeastRatio             // figure / ceiling >= limit
	atMost                   // figure <= limit
)

// row is one line of the table: a wampkit figure, the figure it is
// compared with (if any: the bare echo's, a ceiling, or Autobahn|JS's, a
// peer), and its target.
type row struct {
	name    string
	value   float64 // wampkit's figure
	ceiling float64 // the ceiling's or the peer's figure; 0 when the row has none
	unit    string  // "µs", "ms", "/s", "KiB" or "MB"
	goal    goal
	limit   float64
	err     error  // why the figure is missing
	skip    string // why the row was not measured (a tool missing); not a failure
}

func (r row) ratio() float64 {
	if r.ceiling == 0 {
		return math.NaN()
	}
	return r.value / r.ceiling
}

// passed reports whether the row meets its target; a row without one
// passes unless it failed to be measured, and so does a skipped row.
func (r row) passed() bool {
	if r.err != nil {
		return false
	}
	if r.skip != "" {
		return true
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
	case r.err == nil && r.skip != "":
		return "SKIP"
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
	return append([]row{
		// A routed call is four messages, an echo two: 2.5× leaves room
		// for the routing itself on top of twice the echo.
		{name: "RPC round trip p50, sequential", value: micros(rpc.p50), ceiling: micros(echo.p50),
			unit: "µs", goal: atMostRatio, limit: 2.5, err: both},
		// What four messages cost with no WAMP at all (see relay): the
		// floor of the p50 row, shown to tell the machine's share of it.
		{name: "bare relay round trip p50 (no WAMP)", value: micros(res.relay.p50), ceiling: micros(echo.p50),
			unit: "µs", goal: info, err: errors.Join(res.relay.err, echo.err)},
		// The same calls with Session.Call, whose answer wakes the
		// caller's goroutine (see chainedCalls): the Go client's share.
		{name: "RPC round trip p50, Session.Call", value: micros(res.rpcWithCall.p50), ceiling: micros(echo.p50),
			unit: "µs", goal: info, err: errors.Join(res.rpcWithCall.err, echo.err)},
		{name: "RPC round trip p99, sequential", value: micros(rpc.p99), ceiling: micros(echo.p99),
			unit: "µs", goal: atMostRatio, limit: 2.5, err: both},
		{name: "RPC calls/s, concurrent callers", value: rpc.rate, ceiling: echo.rate,
			unit: "/s", goal: atLeastRatio, limit: 1 / 2.5, err: both},
		{name: "router CPU per routed message", value: micros(rpc.cpuPerMsg), ceiling: micros(echo.cpuPerMsg),
			unit: "µs", goal: atMostRatio, limit: 1.3, err: both},
		// The same calls over raw sockets, against the same WebSocket echo:
		// no WebSocket framing, so at least as fast.
		{name: "RPC round trip p50, raw socket TCP", value: micros(res.rawTCP.p50), ceiling: micros(echo.p50),
			unit: "µs", goal: atMostRatio, limit: 2.5, err: errors.Join(res.rawTCP.err, echo.err)},
		{name: "RPC calls/s, raw socket TCP", value: res.rawTCP.rate, ceiling: echo.rate,
			unit: "/s", goal: atLeastRatio, limit: 1 / 2.5, err: errors.Join(res.rawTCP.err, echo.err)},
		{name: "RPC round trip p50, raw socket Unix", value: micros(res.rawUnix.p50), ceiling: micros(echo.p50),
			unit: "µs", goal: atMostRatio, limit: 2.5, err: errors.Join(res.rawUnix.err, echo.err)},
		{name: "RPC calls/s, raw socket Unix", value: res.rawUnix.rate, ceiling: echo.rate,
			unit: "/s", goal: atLeastRatio, limit: 1 / 2.5, err: errors.Join(res.rawUnix.err, echo.err)},
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
		// A peer that connects and leaves without a message (a flood of
		// junk connections) costs about what it costs a bare WebSocket
		// server; the router also peeks at the first octet (raw sockets
		// share the port) and starts a session.
		{name: "router CPU per connection that leaves without a message", value: micros(res.conns.router), ceiling: micros(res.conns.echo),
			unit: "µs", goal: atMostRatio, limit: 1.5, err: res.conns.err},
	}, res.browser.rows()...)
}

// printReport prints the machine, the table and the notes, the phases'
// own notes (more) after the general ones.
func printReport(w io.Writer, cfg *config, rows []row, more []string, took time.Duration) {
	fmt.Fprintf(w, "wampkit bench (%s): %d sequential calls, %d concurrent for %v, %d subscribers × %d events, %d idle sessions, %d connections, %d page loads, %d calls in the browser; %.1fs\n",
		cfg.serializer, cfg.seqCalls, cfg.concurrency, cfg.duration, cfg.subscribers, cfg.events, cfg.sessions, cfg.connections, cfg.pageLoads, cfg.browserCalls, took.Seconds())
	fmt.Fprintf(w, "machine: %s, %d cores, %s/%s, %s%s\n\n", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadAverage())

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\twampkit\tceiling/peer\tratio\ttarget\tresult\t")
	for _, r := range rows {
		value, ceiling, ratio := "error", "-", "-"
		if r.err == nil && r.skip != "" {
			value = "skipped"
		} else if r.err == nil {
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
	fmt.Fprintln(w, "Ratio = wampkit / ceiling (the bare echo) or peer (Autobahn|JS). A routed call is four")
	fmt.Fprintln(w, "messages (CALL, INVOCATION, YIELD, RESULT), an echo two; CPU per message is the server")
	fmt.Fprintln(w, "process's user+system time over the messages it read and wrote. The bare relay is the echo")
	fmt.Fprintln(w, "server forwarding each message of one connection to another whose client sends it back:")
	fmt.Fprintln(w, "four messages and two processes, as a routed call, with nothing else. The sequential calls")
	fmt.Fprintln(w, "start each from the answer callback of the one before (Session.CallFunc), on the goroutine")
	fmt.Fprintln(w, "that reads the session, as the echo's client writes and reads on one goroutine; with")
	fmt.Fprintln(w, "Session.Call the answer also wakes the caller's goroutine (its own row). The raw socket rows are the")
	fmt.Fprintln(w, "same calls over raw sockets (TCP on the HTTP port, and a Unix socket), against the same")
	fmt.Fprintln(w, "WebSocket echo. Fan-out deliveries/s is compared with the echo server's messages/s; it is")
	fmt.Fprintln(w, "bounded by this process, which decodes every event, so it is not judged.")
	for _, line := range more {
		fmt.Fprintln(w, line)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if r.err != nil && !seen[r.err.Error()] {
			seen[r.err.Error()] = true
			fmt.Fprintf(w, "error: %s: %s\n", r.name, strings.ReplaceAll(r.err.Error(), "\n", "; "))
		}
		if r.err == nil && r.skip != "" && !seen[r.skip] {
			seen[r.skip] = true
			fmt.Fprintf(w, "skipped: %s and the rows below it: %s\n", r.name, r.skip)
		}
	}
}

// formatValue prints a figure in its unit, with digits that matter.
func formatValue(v float64, unit string) string {
	switch unit {
	case "/s":
		return thousands(int64(math.Round(v))) + " /s"
	case "µs":
		if v >= 1000 {
			return strconv.FormatFloat(v, 'f', 0, 64) + " µs"
		}
		if v < 10 {
			return strconv.FormatFloat(v, 'f', 2, 64) + " µs"
		}
		return strconv.FormatFloat(v, 'f', 1, 64) + " µs"
	case "MB":
		return strconv.FormatFloat(v, 'f', 2, 64) + " MB"
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
