package main

import (
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestCPUUse(t *testing.T) {
	at := time.Unix(1000, 0)
	a := cpuSample{at: at, busy: 100, idle: 300, router: 50, ok: true}
	b := cpuSample{at: at.Add(2 * time.Second), busy: 400, idle: 400, router: 200, ok: true}
	// 300 of 400 ticks busy; 150 ticks (1.5 s) of router time over 2 s.
	if got, want := cpuUse(a, b), "over these 2.0s the machine 75% busy, the router 0.75 cores"; got != want {
		t.Errorf("cpuUse = %q, want %q", got, want)
	}
	if got := cpuUse(cpuSample{}, b); got != "CPU use unknown" {
		t.Errorf("cpuUse of a failed sample = %q", got)
	}
}

// TestSampleCPU reads this process as the router: its own CPU time grows
// while it spins.
func TestSampleCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	a := sampleCPU(os.Getpid())
	if !a.ok || a.busy+a.idle <= 0 {
		t.Fatalf("sample %+v", a)
	}
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	b := sampleCPU(os.Getpid())
	if !b.ok || b.router <= a.router || b.busy <= a.busy {
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
