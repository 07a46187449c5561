package main

import (
	"fmt"
	"runtime"
	"slices"
	"time"
)

// wakeNoise is how late a machine wakes a thread that sleeps a
// millisecond while nothing else runs: the floor under every latency the
// suite reads. On a virtual machine whose idle cores halt and whose host
// has other guests, a few of these wakeups come milliseconds late, and an
// echo call of the control group wakes four to six threads.
type wakeNoise struct {
	n        int           // wakeups measured
	p99, max time.Duration // lateness
	late     int           // wakeups more than lateBy late
}

// lateBy is the lateness that wakeNoise counts: the control group's p99
// limit is twice a baseline of about a millisecond.
const lateBy = 2 * time.Millisecond

// measureWakeNoise sleeps a millisecond n times on a thread of its own and
// returns how late the wakeups came.
func measureWakeNoise(n int) wakeNoise {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	over := make([]time.Duration, n)
	for i := range over {
		start := time.Now()
		time.Sleep(time.Millisecond)
		over[i] = time.Since(start) - time.Millisecond
	}
	return lateness(over)
}

// lateness summarizes how late wakeups came.
func lateness(over []time.Duration) wakeNoise {
	w := wakeNoise{n: len(over)}
	if len(over) == 0 {
		return w
	}
	sorted := slices.Sorted(slices.Values(over))
	w.p99, w.max = sorted[len(sorted)*99/100], sorted[len(sorted)-1]
	for _, d := range sorted {
		if d > lateBy {
			w.late++
		}
	}
	return w
}

func (w wakeNoise) String() string {
	return fmt.Sprintf("this machine, idle, wakes a thread that sleeps 1 ms late by p99 %v, max %v; by more than %v %d times in %d",
		w.p99.Round(time.Microsecond), w.max.Round(10*time.Microsecond), lateBy, w.late, w.n)
}
