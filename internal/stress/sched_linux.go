package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// schedIdle is Linux's SCHED_IDLE policy: a thread under it runs only
// when no thread of another policy wants the CPU.
const schedIdle = 5

// idleHarness puts this process, the harness that makes the cases' load,
// at SCHED_IDLE, so that its load takes only CPU time that the router and
// the control group leave: a case's load stands for clients on other
// machines, whose CPU time is not the router's. The child processes (the
// router, the control group) keep the normal policy: they are started
// from one thread kept out of it (see startProcess), as a thread's policy
// passes to what it forks. Without the change (another OS, or a refusal),
// the harness competes as before, and the header says so.
func idleHarness() error {
	ready := make(chan int)
	go spawn(ready)
	keep := <-ready
	// From now on children start from the spawner, also when a thread
	// below cannot be changed: some may have been already.
	spawning = true
	// A thread made meanwhile by a thread not yet changed keeps the
	// normal policy: go over the threads until none is left.
	for range 10 {
		changed := 0
		entries, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || tid == keep {
				continue
			}
			pol, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
			if errno != 0 || pol == schedIdle {
				continue // gone, or done
			}
			var param struct{ priority int32 }
			if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), schedIdle, uintptr(unsafe.Pointer(&param))); errno != 0 && errno != syscall.ESRCH {
				return fmt.Errorf("SCHED_IDLE for thread %d: %w", tid, errno)
			}
			changed++
		}
		if changed == 0 {
			harnessIdle = true
			return nil
		}
	}
	return fmt.Errorf("threads kept appearing with the normal policy")
}

// spawns carries the child processes to start to the spawning thread,
// which runs once spawning is set.
var (
	spawns   = make(chan spawnRequest)
	spawning bool
)

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// spawn runs on a thread of its own, which keeps the normal policy, and
// starts the child processes that are sent to it. It sends its thread's
// ID to ready first.
func spawn(ready chan<- int) {
	runtime.LockOSThread() // never unlocked: the thread is the spawner's
	ready <- syscall.Gettid()
	for req := range spawns {
		req.done <- req.cmd.Start()
	}
}

// startProcess starts cmd with the normal scheduling policy, from the
// spawning thread once idleHarness has run.
func startProcess(cmd *exec.Cmd) error {
	if !spawning {
		return cmd.Start()
	}
	done := make(chan error, 1)
	spawns <- spawnRequest{cmd, done}
	return <-done
}
