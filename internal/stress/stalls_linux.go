package main

import (
	"fmt"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// schedFIFO is Linux's SCHED_FIFO policy: a thread under it runs as soon
// as it wakes, before every thread of the normal policy.
const schedFIFO = 1

// probeCPU runs one probe thread, on CPU cpu under SCHED_FIFO, and sends
// to ready whether it could be set up; then it sleeps a millisecond at a
// time for good and hands late each wakeup that came lateMin late or
// more: when it woke, and how late.
func probeCPU(cpu int, ready chan<- error, late func(woke time.Time, by time.Duration)) {
	runtime.LockOSThread() // never unlocked: the thread is the probe's
	var mask [16]uint64
	if cpu >= len(mask)*64 {
		ready <- fmt.Errorf("CPU %d: more CPUs than the probe handles", cpu)
		return
	}
	mask[cpu/64] = 1 << (cpu % 64)
	if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask))); errno != 0 {
		ready <- fmt.Errorf("pinning a thread to CPU %d: %w", cpu, errno)
		return
	}
	param := struct{ priority int32 }{1}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, schedFIFO, uintptr(unsafe.Pointer(&param))); errno != 0 {
		ready <- fmt.Errorf("SCHED_FIFO: %w", errno)
		return
	}
	ready <- nil
	nap := syscall.NsecToTimespec(int64(time.Millisecond))
	for {
		start := time.Now()
		// A system call the runtime knows of: it keeps the thread's P
		// while other Ps are idle, and takes it back at once after.
		syscall.Nanosleep(&nap, nil)
		woke := time.Now()
		if by := woke.Sub(start) - time.Millisecond; by >= lateMin {
			late(woke, by)
		}
	}
}
