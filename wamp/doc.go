// Package wamp is the vocabulary of the Web Application Messaging Protocol
// (WAMP v2): message types and their wire codes, IDs, URIs, the error URIs the
// specification names and the typed [Error] that carries an application error
// from a callee to a caller.
//
// The package is pure: no I/O, no net/http. It builds for js/wasm and is
// shared by the router, the Go client and the browser client.
//
// Values inside messages (arguments, keyword arguments, options and details)
// use a small closed set of Go types, which every codec produces when it
// decodes and accepts when it encodes:
//
//	nil, bool, int64, uint64 (only above math.MaxInt64), float64, string,
//	[]byte, List ([]any) and Dict (map[string]any).
package wamp
