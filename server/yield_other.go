//go:build !linux

package server

// yieldThread does nothing here: see yield_linux.go.
func yieldThread() {}
