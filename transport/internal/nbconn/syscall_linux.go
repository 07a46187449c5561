//go:build linux && !race

package nbconn

import (
	"syscall"
	"unsafe"
)

// rawReads tells that readNonBlocking makes raw system calls.
const rawReads = true

// readNonBlocking makes one read(2) on fd, which is non-blocking, as a raw
// system call (see writeNonBlocking).
func readNonBlocking(fd uintptr, p []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// writeNonBlocking makes one write(2) on fd, which is non-blocking. It is a
// raw system call, unknown to Go's scheduler: one that cannot block needs
// no other thread to take over the goroutine's P meanwhile, and telling the
// scheduler would wake its monitor thread whenever it sleeps, which on an
// idle router is once per message.
func writeNonBlocking(fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
