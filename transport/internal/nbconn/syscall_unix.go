//go:build unix && !js && !linux

package nbconn

import "syscall"

func writeNonBlocking(fd uintptr, p []byte) (int, error) {
	n, err := syscall.Write(int(fd), p)
	if n < 0 {
		n = 0
	}
	return n, err
}

// rawReads tells that readNonBlocking makes raw system calls: not here.
const rawReads = false

func readNonBlocking(fd uintptr, p []byte) (int, error) { return 0, syscall.EAGAIN }
