package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// schedPolicy reads a task's scheduling policy from its stat file (the
// 41st field).
func schedPolicy(t *testing.T, statPath string) int {
	t.Helper()
	b, err := os.ReadFile(statPath)
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which is in parentheses: the
	// policy is the 39th of them.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 39 {
		t.Fatalf("%s: %d fields", statPath, len(f))
	}
	p, err := strconv.Atoi(f[38])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIdleHarness runs in a process of its own (it changes the policy of
// the whole process): every thread but the spawner's ends at SCHED_IDLE,
// and a child started through startProcess runs with the normal policy.
func TestIdleHarness(t *testing.T) {
	if os.Getenv("STRESS_IDLE_HARNESS") == "" {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestIdleHarness$", "-test.v")
		cmd.Env = append(os.Environ(), "STRESS_IDLE_HARNESS=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestIdleHarness") {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	if err := idleHarness(); err != nil {
		t.Fatalf("idleHarness: %v", err)
	}
	if !harnessIdle {
		t.Fatal("harnessIdle not set")
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	normal := 0
	for _, task := range tasks {
		switch p := schedPolicy(t, "/proc/self/task/"+task.Name()+"/stat"); p {
		case schedIdle:
		case 0:
			normal++
		default:
			t.Errorf("thread %s has policy %d", task.Name(), p)
		}
	}
	if normal != 1 {
		t.Errorf("%d threads of %d with the normal policy, want 1 (the spawner's)", normal, len(tasks))
	}
	child := exec.Command("sleep", "10")
	if err := startProcess(child); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	if p := schedPolicy(t, "/proc/"+strconv.Itoa(child.Process.Pid)+"/stat"); p != 0 {
		t.Errorf("child started with policy %d, want 0 (SCHED_OTHER)", p)
	}
	// A child started from any other thread would be at SCHED_IDLE.
	other := exec.Command("sleep", "10")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	if p := schedPolicy(t, "/proc/"+strconv.Itoa(other.Process.Pid)+"/stat"); p != schedIdle {
		t.Errorf("child started directly has policy %d, want %d (SCHED_IDLE)", p, schedIdle)
	}
}
