// Package leakcheck fails a test binary whose goroutines outlive its
// tests: a session, reader, writer or timer that was never cleaned up.
package leakcheck

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"
)

// Main runs the tests, then waits up to 5 s for the goroutine count to
// return to what it was before them. If it does not, it prints the
// goroutines left and exits with status 1. Call it from TestMain. A fuzzing
// run (-test.fuzz) is not checked: the fuzzing engine keeps goroutines of
// its own.
func Main(m *testing.M) {
	flag.Parse()
	before := runtime.NumGoroutine()
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(code)
	}
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutines outlived the tests:\n", n-before)
			pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			code = 1
		}
	}
	os.Exit(code)
}
