//go:build !unix && !js

package nbconn

import "syscall"

// writeNonBlocking writes nothing where a non-blocking write(2) is not at
// hand: the flusher goroutine writes everything instead.
func writeNonBlocking(fd uintptr, p []byte) (int, error) {
	return 0, syscall.EAGAIN
}

// rawReads tells that readNonBlocking makes raw system calls: not here.
const rawReads = false

func readNonBlocking(fd uintptr, p []byte) (int, error) { return 0, syscall.EAGAIN }
