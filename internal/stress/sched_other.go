//go:build !linux

package main

import (
	"errors"
	"os/exec"
)

// idleHarness is Linux only (see sched_linux.go).
func idleHarness() error { return errors.New("SCHED_IDLE is Linux's") }

// startProcess starts cmd.
func startProcess(cmd *exec.Cmd) error { return cmd.Start() }
