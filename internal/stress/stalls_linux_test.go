package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStallProbeSeesAStoppedProcess runs the probe for real, checks its
// threads' policy, and stops it
// (SIGSTOP) for 50ms: every one of its threads, one per CPU, must report a
// stall of about that long, within the stop.
func TestStallProbeSeesAStoppedProcess(t *testing.T) {
	if os.Getenv("STRESS_STALL_PROBE") != "" {
		os.Exit(serveStalls())
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestStallProbeSeesAStoppedProcess$")
	cmd.Env = append(os.Environ(), "STRESS_STALL_PROBE=1")
	p, err := runStallProbe(cmd)
	if err != nil {
		if strings.Contains(err.Error(), syscall.EPERM.Error()) {
			t.Skipf("SCHED_FIFO needs CAP_SYS_NICE here: %v", err)
		}
		t.Fatal(err)
	}
	defer p.stop()
	// One thread per CPU under SCHED_FIFO, which nothing of the normal
	// policy can keep waiting.
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task")
	if err != nil {
		t.Fatal(err)
	}
	fifo := 0
	for _, task := range tasks {
		if schedPolicy(t, "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/task/"+task.Name()+"/stat") == schedFIFO {
			fifo++
		}
	}
	if fifo != runtime.NumCPU() {
		t.Errorf("%d threads under SCHED_FIFO, want one per CPU, %d", fifo, runtime.NumCPU())
	}
	if _, err := p.take(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	resumed := time.Now() // the probe runs no sooner
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	fresh, err := p.take()
	if err != nil {
		t.Fatal(err)
	}
	long := 0
	for _, s := range fresh.Stalls {
		if time.Duration(s.To-s.From) >= 40*time.Millisecond {
			long++
			if s.From < stopped.Add(-time.Millisecond).UnixNano() || s.To < resumed.UnixNano() {
				t.Errorf("stall %v-%v is not within the stop, %v-%v", s.From, s.To, stopped.UnixNano(), resumed.UnixNano())
			}
		}
	}
	if long != runtime.NumCPU() {
		t.Errorf("%d stalls of 40ms or more in %v; want one per CPU, %d", long, fresh, runtime.NumCPU())
	}
	if !p.stalled(stopped.Add(10*time.Millisecond).UnixNano(), stopped.Add(11*time.Millisecond).UnixNano()) {
		t.Error("a call in flight during the stop is not reported stalled")
	}
}
