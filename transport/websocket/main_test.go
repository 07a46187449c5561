//go:build !js

package websocket_test

import (
	"testing"

	"github.com/wampkit/wampkit/internal/leakcheck"
)

// TestMain fails the run when goroutines outlive the tests: a peer that
// leaked a reader, a writer or a close handshake.
func TestMain(m *testing.M) { leakcheck.Main(m) }
