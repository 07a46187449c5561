// Package npmdeps makes sure that a test directory's node_modules holds
// the exact versions its package.json pins, running `npm ci` when it does
// not: `make test` installs them first, and `go test` on a fresh clone
// installs them itself.
package npmdeps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// timeout bounds `npm ci` on a fresh clone.
const timeout = 5 * time.Minute

// Ensure runs `npm ci` in dir unless node_modules already holds the
// versions package.json pins. A machine without npm gets an error: tests
// must fail, not pass silently.
func Ensure(dir string) error {
	stale, err := Stale(dir)
	if err != nil || stale == "" {
		return err
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("%s: %s, and npm is not installed to run `npm ci` (Debian: apt-get install npm)", dir, stale)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %s; `npm ci` failed: %w\n%s", dir, stale, err, out.String())
	}
	if stale, err := Stale(dir); err != nil || stale != "" {
		return fmt.Errorf("%s: after `npm ci`: %s %v", dir, stale, err)
	}
	return nil
}

// Stale tells why dir's node_modules does not hold the versions that its
// package.json pins (dependencies and devDependencies), or returns "" when
// it does.
func Stale(dir string) (string, error) {
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return "", fmt.Errorf("%s: package.json: %w", dir, err)
	}
	for _, pins := range []map[string]string{pkg.Dependencies, pkg.DevDependencies} {
		for name, want := range pins {
			var installed struct {
				Version string `json:"version"`
			}
			data, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
			if err != nil {
				return fmt.Sprintf("node_modules lacks %s", name), nil
			}
			if err := json.Unmarshal(data, &installed); err != nil || installed.Version != want {
				return fmt.Sprintf("node_modules has %s %q, package.json pins %q", name, installed.Version, want), nil
			}
		}
	}
	return "", nil
}
