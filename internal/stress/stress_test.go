package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestShort runs the short version of the suite, as make test does, and
// fails on any FAIL row. The router child is this test binary re-executed
// through `go run`'s equivalent: the package built once with go build.
func TestShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the stress suite takes about a minute")
	}
	bin := t.TempDir() + "/stress"
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("building the suite: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), bin, "-short").Output()
	t.Logf("\n%s", out)
	for l := range strings.Lines(string(out)) {
		if l := strings.TrimSpace(l); strings.HasSuffix(l, "FAIL") && !strings.Contains(l, " rows, ") {
			t.Errorf("%s", l)
		}
	}
	if err != nil {
		t.Fatalf("stress -short: %v", err)
	}
}
