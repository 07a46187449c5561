// Package browsertests holds the end-to-end tests of the browser client:
// headless Chromium, driven by chromedp, loads wamp.wasm through wamp.js in
// real pages served by an in-process router, and tabs call, publish and
// subscribe to each other over WebSocket and long-poll, beside Autobahn|JS's
// browser build, and through the demo pages.
//
// Run them with `go test ./browsertests/` (or `make test`, which installs
// Debian's chromium and this directory's npm packages first). Each test
// starts its own router on 127.0.0.1; the tests share one browser, each with
// its own tabs in a browser context of its own. A console.error, an
// uncaught exception or an error that the browser logs itself (a failed
// load, a 404) in a page fails the test, unless the test allows that
// browser error; a failing test logs the pages' consoles and the router's
// log. `go test -artifacts` keeps the demo
// screenshots. TestTypeDefinitions type-checks the client's TypeScript
// types (js/wamp.d.ts) with this directory's typescript package.
package browsertests
