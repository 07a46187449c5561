package server

import "syscall"

// yieldThread lets the threads waiting for this thread's CPU run first.
//
// A thread of this process that the kernel wakes, to poll the network or
// run newly ready goroutines, is queued on the CPU it last ran on; Linux
// moves it to another CPU only within a cache domain, and some virtual
// machines expose none. Behind a reader that never blocks, it then waits
// for the kernel's next tick (4 ms at HZ=250), and so do the sessions whose
// messages it was woken for. sched_yield(2) returns at once when no other
// thread wants this CPU.
func yieldThread() {
	// Raw: the call does not block, and the runtime's own yields to the
	// kernel are made the same way.
	syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
}
