package main

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestCPUUse(t *testing.T) {
	at := time.Unix(1000, 0)
	base := cpuSample{at: at.Add(-time.Second), busy: 50, idle: 250, router: 40, control: 80, ok: true}
	a := cpuSample{at: at, busy: 100, idle: 300, router: 50, control: 100, ok: true}
	b := cpuSample{at: at.Add(2 * time.Second), busy: 400, idle: 400, router: 200, control: 160, ok: true}
	// 300 of 400 ticks busy; 150 ticks (1.5 s) of router time and 60 of
	// the control group's over 2 s; 20 of the group's over the second of
	// its baseline.
	if got, want := cpuUse(base, a, b), "over these 2.0s the machine 75% busy, the router 0.75 cores, the control group 0.30 (baseline 0.20)"; got != want {
		t.Errorf("cpuUse = %q, want %q", got, want)
	}
	if got := cpuUse(base, cpuSample{}, b); got != "CPU use unknown" {
		t.Errorf("cpuUse of a failed sample = %q", got)
	}
}

func TestWaitUse(t *testing.T) {
	at := time.Unix(1000, 0)
	a := waits{at: at, router: 0, control: 0, ok: true}
	b := waits{at: at.Add(time.Second), router: 50 * time.Millisecond, control: 100 * time.Millisecond, ok: true}
	c := waits{at: at.Add(3 * time.Second), router: 450 * time.Millisecond, control: 200 * time.Millisecond, ok: true}
	// Over the 2 s of the case: 400 ms and 100 ms; over the 1 s before: 50 and 100.
	want := "runnable but waiting for a CPU, ms per s (baseline): the router's threads 200 (50), the control group's 50 (100)"
	if got := waitUse(a, b, c); got != want {
		t.Errorf("waitUse = %q, want %q", got, want)
	}
	if got := waitUse(a, waits{}, c); got != "waits for a CPU unknown" {
		t.Errorf("waitUse with a failed sample = %q", got)
	}
}

// TestTasksRunDelay adds up the second field of each thread's schedstat.
func TestTasksRunDelay(t *testing.T) {
	dir := t.TempDir()
	for tid, stat := range map[string]string{"11": "900 200 3\n", "12": "5000 7 1\n"} {
		if err := os.MkdirAll(filepath.Join(dir, tid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, tid, "schedstat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if d, ok := tasksRunDelay(dir); !ok || d != 207 {
		t.Errorf("tasksRunDelay = %v, %v; want 207ns", d, ok)
	}
	os.WriteFile(filepath.Join(dir, "12", "schedstat"), []byte("5000\n"), 0o644)
	if _, ok := tasksRunDelay(dir); ok {
		t.Error("a schedstat of one field was taken")
	}
}

// TestRunDelay reads this process's threads: twice as many spinning as
// there are CPUs, for 100 ms, wait about as long as they run.
func TestRunDelay(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	n := 2 * runtime.NumCPU()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	a, ok := runDelay(os.Getpid())
	if !ok {
		t.Fatal("no schedstat for this process")
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
			}
		})
	}
	wg.Wait()
	b, ok := runDelay(os.Getpid())
	// n/2 threads at a time waited for most of 100 ms: far more than 20.
	if !ok || b-a < 20*time.Millisecond {
		t.Errorf("run delay %v -> %v (ok %v) after %d threads spun 100 ms on %d CPUs", a, b, ok, n, runtime.NumCPU())
	}
}

// TestSampleCPU reads this process as the router and the control group:
// its own CPU time grows while it spins.
func TestSampleCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	a := sampleCPU(os.Getpid(), os.Getpid())
	if !a.ok || a.busy+a.idle <= 0 {
		t.Fatalf("sample %+v", a)
	}
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	b := sampleCPU(os.Getpid(), os.Getpid())
	if !b.ok || b.router <= a.router || b.control <= a.control || b.busy <= a.busy {
		t.Errorf("after 100 ms of spinning: %+v -> %+v", a, b)
	}
}

// TestWaitQuiet takes this process as the router: busy while goroutines
// spin (four, so that it stays over a quarter of a core on a loaded
// machine), quiet once they stop.
func TestWaitQuiet(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	// One window of a fifth of a second, not several: on a loaded machine
	// any one of them could fall under a quarter of a core.
	quietWhileSpinning := waitQuiet(os.Getpid(), time.Nanosecond)
	close(stop)
	wg.Wait()
	if quietWhileSpinning {
		t.Error("waitQuiet reported quiet while goroutines spun")
	}
	if !waitQuiet(os.Getpid(), 5*time.Second) {
		t.Error("waitQuiet did not report quiet once the spinning stopped")
	}
}
