package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/wampkit/wampkit/internal/npmdeps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptTimeout bounds one scenario script. The scripts stop themselves
// earlier (WAMP_TIMEOUT_MS) with a message saying what they waited for.
const scriptTimeout = 30 * time.Second

// requireNode fails the test when Node.js 20 or newer is missing: these
// tests are the project's proof of Autobahn|JS interoperability, so a
// machine without Node must not pass them silently.
func requireNode(t *testing.T) {
	t.Helper()
	if err := nodeReady(); err != nil {
		t.Fatal(err)
	}
}

// nodeReady checks node and installs the npm dependencies once per run.
var nodeReady = sync.OnceValue(func() error {
	node, err := exec.LookPath("node")
	if err != nil {
		return errors.New("interop: node is not installed: these tests run Autobahn|JS in Node.js 20 or newer; " +
			"install Node.js and npm (Debian: apt-get install nodejs npm)")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return fmt.Errorf("interop: %s --version: %w", node, err)
	}
	version := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < 20 {
		return fmt.Errorf("interop: node %s is too old: these tests need Node.js 20 or newer", version)
	}
	return npmdeps.Ensure(".")
})

// script is a running scenario script.
type script struct {
	name   string
	cmd    *exec.Cmd
	stdout *lineBuffer
	stderr *lineBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // the exit error, set before done is closed

	logMark int // the router's log position when the script started
}

// startScript runs `node js/<name>` against realm rlm of the router at url
// with the serializer ser. It is killed when the test ends.
func startScript(t *testing.T, name, url, rlm, ser string) *script {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	cmd := exec.CommandContext(ctx, "node", filepath.Join("js", name))
	cmd.Env = append(os.Environ(),
		"WAMP_URL="+url,
		"WAMP_REALM="+rlm,
		"WAMP_SERIALIZER="+ser,
		"WAMP_TIMEOUT_MS="+strconv.Itoa(int((scriptTimeout-5*time.Second)/time.Millisecond)),
	)
	s := &script{name: name, cmd: cmd, stdout: newLineBuffer(), stderr: newLineBuffer(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node js/%s: %v", name, err)
	}
	go func() {
		s.err = cmd.Wait()
		cancel()
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// transcript is the script's output, for failure messages.
func (s *script) transcript() string {
	return fmt.Sprintf("--- node js/%s stdout ---\n%s--- stderr ---\n%s", s.name, s.stdout.String(), s.stderr.String())
}

// waitLine waits until the script prints line on stdout. It fails when the
// script exits or does not print it in time.
func (s *script) waitLine(line string, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		changed := s.stdout.changed()
		if s.stdout.has(line) {
			return nil
		}
		select {
		case <-changed:
		case <-s.done:
			if s.stdout.has(line) {
				return nil
			}
			return fmt.Errorf("node js/%s exited (%v) before printing %q", s.name, s.err, line)
		case <-timer.C:
			return fmt.Errorf("node js/%s did not print %q within %v", s.name, line, timeout)
		}
	}
}

// lineBuffer collects a process's output and lets a reader wait for lines.
type lineBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	notify chan struct{} // closed and replaced on every write
}

func newLineBuffer() *lineBuffer {
	return &lineBuffer{notify: make(chan struct{})}
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	close(b.notify)
	b.notify = make(chan struct{})
	return len(p), nil
}

// changed returns a channel that is closed at the next write.
func (b *lineBuffer) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.notify
}

func (b *lineBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n") // complete lines only
	}
	return nil
}

func (b *lineBuffer) has(line string) bool {
	for _, l := range b.lines() {
		if l == line {
			return true
		}
	}
	return false
}

// after returns the rest of the first line that starts with prefix.
func (b *lineBuffer) after(prefix string) (string, bool) {
	for _, l := range b.lines() {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return rest, true
		}
	}
	return "", false
}

func (b *lineBuffer) hasPrefix(prefix string) bool {
	for _, l := range b.lines() {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
