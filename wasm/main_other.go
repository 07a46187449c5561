//go:build !js

package main

import (
	"fmt"
	"os"
)

// main explains how to build: this command only runs in a browser.
func main() {
	fmt.Fprintln(os.Stderr, "wamp.wasm runs in a browser: build it with GOOS=js GOARCH=wasm go build -o wamp.wasm ./wasm")
	os.Exit(2)
}
