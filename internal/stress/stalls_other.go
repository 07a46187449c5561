//go:build !linux

package main

import (
	"errors"
	"time"
)

// probeCPU is Linux only (see stalls_linux.go).
func probeCPU(cpu int, ready chan<- error, late func(woke time.Time, by time.Duration)) {
	ready <- errors.New("the stall probe is Linux's")
}
