//go:build unix && !js

package nbconn

import "syscall"

func writeNonBlocking(fd uintptr, p []byte) (int, error) {
	n, err := syscall.Write(int(fd), p)
	if n < 0 {
		n = 0
	}
	return n, err
}
