// Command wasm is the browser half of wampkit: built with GOOS=js
// GOARCH=wasm it becomes wamp.wasm, which the JavaScript shim in js/
// loads. It runs the Go client (package client) in the page and exposes it
// to the shim as one object, globalThis.__wampkit_bridge, whose functions
// exchange one JSON string per call each way (binary values as the WAMP
// JSON convention, "\u0000" + base64) and answer through the shim's host
// function. The hot paths skip syscall/js: a call starts through the
// exported function wampkit_call and WebSocket messages arrive through
// wampkit_wsjs_message, their data written into Go's memory (see package
// internal/jsentry). js/wamp.d.ts documents the JavaScript API built on it.
//
// Build:
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o wamp.wasm ./wasm
package main
