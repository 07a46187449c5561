package main

import (
	"bytes"
	"errors"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play the child processes, which the
// harness starts by re-executing its own binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && isRole(os.Args[1]) {
		os.Exit(serveChild(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestShortRun runs every phase with tiny numbers and checks that each row
// of the table got a real figure. The browser phase runs too: without
// Chromium or browsertests/node_modules it fails here, where the bench
// would skip its rows.
func TestShortRun(t *testing.T) {
	cfg := shortConfig()
	cfg.warmup = 10
	cfg.seqCalls = 40
	cfg.concurrency = 4
	cfg.duration = 200 * time.Millisecond
	cfg.rounds = 2
	cfg.subscribers = 20
	cfg.events = 5
	cfg.sessions = 100
	cfg.connections = 100
	cfg.pageLoads = 2
	cfg.browserCalls = 40
	cfg.browserWarm = 20
	cfg.progress = t.Output()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rows, err := run(t.Context(), &cfg, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 26 {
		t.Fatalf("got %d rows, want 26", len(rows))
	}
	for _, r := range rows {
		if r.err != nil {
			t.Errorf("%s: %v", r.name, r.err)
			continue
		}
		if r.skip != "" {
			t.Errorf("%s: skipped: %s", r.name, r.skip)
			continue
		}
		if !(r.value > 0) || math.IsInf(r.value, 0) {
			t.Errorf("%s: figure %v, want a positive number", r.name, r.value)
		}
		if r.goal != atMost && r.unit != "MB" && !strings.Contains(r.name, "time in Go") && !(r.ceiling > 0) {
			t.Errorf("%s: echo figure %v, want a positive number", r.name, r.ceiling)
		}
		if !strings.Contains(out.String(), r.name) {
			t.Errorf("the table has no row %q", r.name)
		}
	}
	// Four messages cost more than two, even with nothing in between.
	if relay := res(rows, "bare relay round trip p50 (no WAMP)"); relay != nil && !(relay.value > relay.ceiling) {
		t.Errorf("bare relay p50 %.1f µs, echo %.1f µs: the relay is not measured", relay.value, relay.ceiling)
	}
	// The time in Go is a part of the round trip.
	for _, transport := range []string{"WebSocket", "long-poll"} {
		inGo, rt := res(rows, "wasm call time in Go p50, "+transport), res(rows, "wasm call round trip p50, "+transport)
		if inGo != nil && rt != nil && !(inGo.value > 0 && inGo.value < rt.value) {
			t.Errorf("%s: time in Go %.1f µs, round trip %.1f µs", transport, inGo.value, rt.value)
		}
	}
	if b := res(rows, "wamp.wasm size"); b != nil && (b.value < 0.5 || b.value > 50) {
		t.Errorf("wamp.wasm is %.2f MB: not a Go wasm binary's size", b.value)
	}
	if raw, gz := res(rows, "wamp.wasm size"), res(rows, "wamp.wasm size gzipped"); raw != nil && gz != nil && !(gz.value < raw.value) {
		t.Errorf("wamp.wasm gzipped %.2f MB, raw %.2f MB", gz.value, raw.value)
	}
	for _, want := range []string{"machine: ", " cores, ", "go1.", "ceiling/peer"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	for _, want := range []string{`the peer is Autobahn\|JS \d+\.\d+`, `ticks in steps of \d+ µs`} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// res returns the row named name, or nil.
func res(rows []row, name string) *row {
	for i := range rows {
		if rows[i].name == name {
			return &rows[i]
		}
	}
	return nil
}

func TestPercentile(t *testing.T) {
	d := make([]time.Duration, 200)
	for i := range d {
		d[i] = time.Duration(i + 1)
	}
	for _, c := range []struct {
		p    int
		want time.Duration
	}{{50, 100}, {99, 198}, {100, 200}, {1, 2}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("percentile(1..200, %d) = %d, want %d", c.p, got, c.want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("percentile of one = %d, want 7", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of none = %d, want 0", got)
	}
}

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		r    row
		want string
	}{
		{row{value: 2.4, ceiling: 1, goal: atMostRatio, limit: 2.5}, "PASS"},
		{row{value: 2.6, ceiling: 1, goal: atMostRatio, limit: 2.5}, "FAIL"},
		{row{value: 50, ceiling: 100, goal: atLeastRatio, limit: 0.4}, "PASS"},
		{row{value: 30, ceiling: 100, goal: atLeastRatio, limit: 0.4}, "FAIL"},
		{row{value: 24, goal: atMost, limit: 24}, "PASS"},
		{row{value: 24.1, goal: atMost, limit: 24}, "FAIL"},
		{row{value: 5, ceiling: 1, goal: info}, "info"},
		{row{err: errors.New("broken"), goal: info}, "FAIL"},
		{row{value: 1, ceiling: 1, goal: atMostRatio, limit: 2.5, err: errors.New("broken")}, "FAIL"},
		{row{goal: atMostRatio, limit: 1.5, skip: "no chromium"}, "SKIP"},
		{row{goal: atMostRatio, limit: 1.5, skip: "no chromium", err: errors.New("broken")}, "FAIL"},
	} {
		if got := c.r.verdict(); got != c.want {
			t.Errorf("%+v: verdict %s, want %s", c.r, got, c.want)
		}
	}
	if !anyFailed([]row{{value: 1, goal: atMost, limit: 2}, {value: 3, goal: atMost, limit: 2}}) {
		t.Error("anyFailed missed a failed row")
	}
	if anyFailed([]row{{value: 1, goal: atMost, limit: 2}, {value: 9, ceiling: 1, goal: info}}) {
		t.Error("anyFailed saw a failure in passing rows")
	}
}

// TestBrowserRowsSkipped: without Chromium, the size rows keep their
// figures and the page rows say why they are missing, without failing.
func TestBrowserRowsSkipped(t *testing.T) {
	f := browserFigures{wasmRaw: 5.1, wasmGzip: 1.39, skip: "chromium is not installed"}
	rows := f.rows()
	if len(rows) != 11 {
		t.Fatalf("got %d rows, want 11", len(rows))
	}
	for i, r := range rows {
		if wantSkip := i >= 2; (r.skip != "") != wantSkip || r.err != nil {
			t.Errorf("%s: skip %q, err %v", r.name, r.skip, r.err)
		}
	}
	if rows[1].verdict() != "PASS" || anyFailed(rows) {
		t.Errorf("gzipped size %s, anyFailed %v", rows[1].verdict(), anyFailed(rows))
	}
	cfg := shortConfig()
	var out bytes.Buffer
	printReport(&out, &cfg, rows, f.notes(), time.Second)
	for _, want := range []string{
		`wamp.wasm size gzipped +1.39 MB +- +- +≤ 1.60 MB +PASS`,
		`wasm call round trip p50, WebSocket +skipped +- +- +≤ 1.50× +SKIP`,
		`skipped: wasm page load to joined session, WebSocket and the rows below it: chromium is not installed`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{1234567.4, "/s", "1,234,567 /s"},
		{999, "/s", "999 /s"},
		{8.123, "µs", "8.12 µs"},
		{123.45, "µs", "123.5 µs"},
		{12910.04, "µs", "12910 µs"},
		{1.394, "MB", "1.39 MB"},
		{266.61, "ms", "266.6 ms"},
		{23.96, "KiB", "24.0 KiB"},
	} {
		if got := formatValue(c.v, c.unit); got != c.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
	if got := thousands(-1000); got != "-1,000" {
		t.Errorf("thousands(-1000) = %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	limit, err := openFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(*config)
		want   string
	}{
		{"serializer", func(c *config) { c.serializer = "xml" }, `unknown serializer "xml"`},
		{"sessions", func(c *config) { c.sessions = 0 }, "sessions must be at least 1"},
		{"duration", func(c *config) { c.duration = 0 }, "duration must be positive"},
		{"open files", func(c *config) { c.sessions = int(min(limit, 1<<30)) }, "open-file limit"},
	} {
		cfg := fullConfig()
		c.change(&cfg)
		err := cfg.validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: validate() = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	for _, cfg := range []config{fullConfig(), shortConfig()} {
		if uint64(cfg.sessions)+fdMargin > limit {
			continue // this machine cannot run it; validate said so above
		}
		if err := cfg.validate(); err != nil {
			t.Errorf("the built-in config %+v is invalid: %v", cfg, err)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-serializer", "xml"},
		{"-sessions", "-3"},
		{"extra"},
		{"-nosuchflag"},
	} {
		if got := benchMain(args); got != 2 {
			t.Errorf("benchMain(%q) = %d, want 2", args, got)
		}
	}
}
