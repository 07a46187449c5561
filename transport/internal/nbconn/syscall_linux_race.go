//go:build linux && race

package nbconn

import "syscall"

// Under the race detector the system calls go through package syscall,
// whose annotations tell the detector that a write happens before the read
// that gets its bytes: without them, goroutines that synchronize through
// a socket would look racy.

// rawReads tells that Reader is used (with these annotated calls).
const rawReads = true

func readNonBlocking(fd uintptr, p []byte) (int, error) {
	n, err := syscall.Read(int(fd), p)
	return max(n, 0), err
}

func writeNonBlocking(fd uintptr, p []byte) (int, error) {
	n, err := syscall.Write(int(fd), p)
	return max(n, 0), err
}
