//go:build !js

package main

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forbiddenInWasm are packages that must never be linked into wamp.wasm:
// net/http and crypto/tls would about double its size (the browser has
// fetch and WebSocket, and does TLS itself), and the build tools and the
// browser tests' driver have no business in the client. A path matches
// itself and every package under it.
var forbiddenInWasm = []string{
	"net/http",
	"crypto/tls",
	"github.com/evanw/esbuild",
	"github.com/a-h/templ",
	"github.com/chromedp",
}

// TestWasmDependencies lists the packages of the browser build of this
// command (GOOS=js GOARCH=wasm, with and without the nocbor tag that
// internal/assets builds with by default) and fails on any forbidden one.
func TestWasmDependencies(t *testing.T) {
	for _, tags := range []string{"nocbor", ""} {
		t.Run("tags="+tags, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-tags="+tags, ".")
			cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				stderr := ""
				if ee, ok := errors.AsType[*exec.ExitError](err); ok {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("go list -deps: %v\n%s", err, stderr)
			}
			deps := strings.Fields(string(out))
			// The list is the browser build's: its JS entry points and
			// the client are in it.
			for _, want := range []string{"syscall/js", "github.com/wampkit/wampkit/client", "github.com/wampkit/wampkit/transport/websocket/internal/wsjs"} {
				if !slices.Contains(deps, want) {
					t.Fatalf("%s is not among the %d dependencies: not the js/wasm build?", want, len(deps))
				}
			}
			if cbor := slices.ContainsFunc(deps, func(d string) bool { return strings.HasPrefix(d, "github.com/fxamacker/cbor") }); cbor != (tags == "") {
				t.Errorf("CBOR linked: %v, want %v", cbor, tags == "")
			}
			for _, d := range deps {
				for _, f := range forbiddenInWasm {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("wamp.wasm depends on %s", d)
					}
				}
			}
		})
	}
}
