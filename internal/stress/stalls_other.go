//go:build !linux

package main

import "errors"

// probeCPU is Linux only (see stalls_linux.go).
func probeCPU(cpu int, ready chan<- error, stall func(span)) {
	ready <- errors.New("the stall probe is Linux's")
}
