package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuSample is a reading of where this machine's CPU time went: its CPUs'
// busy and idle time (/proc/stat), the router process's own time and the
// control group's (/proc/PID/stat), in clock ticks, with the wall time of
// the reading.
type cpuSample struct {
	at              time.Time
	busy, idle      int64
	router, control int64
	ok              bool
}

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// sampleCPU reads the machine's CPU times, the router's and, unless
// controlPID is 0, the control group's.
func sampleCPU(routerPID, controlPID int) cpuSample {
	s := cpuSample{at: time.Now()}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return s
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 { // idle, iowait
			s.idle += n
		} else if i < 8 { // user nice system (idle iowait) irq softirq steal; guest time is in user already
			s.busy += n
		}
	}
	var ok bool
	if s.router, ok = processTicks(routerPID); !ok {
		return s
	}
	if controlPID != 0 {
		if s.control, ok = processTicks(controlPID); !ok {
			return s
		}
	}
	s.ok = true
	return s
}

// processTicks reads the CPU time a process has used, in clock ticks.
func processTicks(pid int) (int64, bool) {
	pstat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th of them.
	_, rest, _ := strings.Cut(string(pstat), ") ")
	pf := strings.Fields(rest)
	if len(pf) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(pf[11], 10, 64)
	st, err2 := strconv.ParseInt(pf[12], 10, 64)
	return ut + st, err1 == nil && err2 == nil
}

// cpuUse says how busy the machine was between samples b and c, and how
// many cores the router and the control group used; and the control
// group's cores between a and b, its baseline. The group does the same
// work all along: where it takes more CPU time in a case, this machine
// ran slower, or its calls cost it more.
func cpuUse(a, b, c cpuSample) string {
	if !a.ok || !b.ok || !c.ok {
		return "CPU use unknown"
	}
	total := (c.busy - b.busy) + (c.idle - b.idle)
	wall := c.at.Sub(b.at)
	if total <= 0 || wall <= 0 || !b.at.After(a.at) {
		return "CPU use unknown"
	}
	busy := 100 * float64(c.busy-b.busy) / float64(total)
	return fmt.Sprintf("over these %.1fs the machine %.0f%% busy, the router %.2f cores, the control group %.2f (baseline %.2f)",
		wall.Seconds(), busy, routerCores(b, c), cores(b, c, c.control-b.control), cores(a, b, b.control-a.control))
}

// quietCores is the router's CPU use, in cores, below which it is taken
// to serve the control group alone (which costs it about 0.15 cores).
const quietCores = 0.25

// waitQuiet waits until the router used less than quietCores over a fifth
// of a second, or limit has passed. It reports whether the router got
// quiet.
func waitQuiet(routerPID int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		a := sampleCPU(routerPID, 0)
		time.Sleep(200 * time.Millisecond)
		b := sampleCPU(routerPID, 0)
		if !a.ok || !b.ok {
			return false
		}
		if routerCores(a, b) < quietCores {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// routerCores is how many cores the router used between two samples.
func routerCores(a, b cpuSample) float64 { return cores(a, b, b.router-a.router) }

// cores is how many cores ticks of CPU time between two samples make.
func cores(a, b cpuSample, ticks int64) float64 {
	wall := b.at.Sub(a.at)
	if wall <= 0 {
		return 0
	}
	return float64(time.Duration(ticks)*clockTick) / float64(wall)
}

// waits is how long the router's threads and the control group's have
// waited, runnable, for a CPU, at a moment: time the kernel did not run
// them although they had work, whatever the machine's load.
type waits struct {
	at              time.Time
	router, control time.Duration
	ok              bool
}

// sampleWaits reads the waits of the router and control group processes.
func sampleWaits(routerPID, controlPID int) waits {
	r, ok1 := runDelay(routerPID)
	c, ok2 := runDelay(controlPID)
	return waits{at: time.Now(), router: r, control: c, ok: ok1 && ok2}
}

// waitUse says how long each process waited for a CPU per second between
// b and c, and between a and b (the baseline).
func waitUse(a, b, c waits) string {
	if !a.ok || !b.ok || !c.ok || !b.at.After(a.at) || !c.at.After(b.at) {
		return "waits for a CPU unknown"
	}
	rate := func(from, to time.Time, d time.Duration) string {
		return fmt.Sprintf("%.0f", d.Seconds()*1000/to.Sub(from).Seconds())
	}
	return fmt.Sprintf("runnable but waiting for a CPU, ms per s (baseline): the router's threads %s (%s), the control group's %s (%s)",
		rate(b.at, c.at, c.router-b.router), rate(a.at, b.at, b.router-a.router),
		rate(b.at, c.at, c.control-b.control), rate(a.at, b.at, b.control-a.control))
}

// runDelay sums the time the threads of process pid have spent runnable
// but not running: the second field of each thread's schedstat (Linux's
// scheduler statistics, in nanoseconds). A thread that ended takes its
// share with it; Go's threads rarely end.
func runDelay(pid int) (time.Duration, bool) {
	return tasksRunDelay(fmt.Sprintf("/proc/%d/task", pid))
}

// tasksRunDelay is runDelay over the threads' directories in dir.
func tasksRunDelay(dir string) (time.Duration, bool) {
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, false
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // ended meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return 0, false
		}
		ns, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, false
		}
		sum += time.Duration(ns)
	}
	return sum, true
}
