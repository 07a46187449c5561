package browsertests

import (
	"os"
	"strings"
	"testing"
)

// readmeJS returns the browser client example of the README, the first
// ```js block, made runnable inside an async function: its static import
// becomes a dynamic one.
func readmeJS(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "```js\n")
	if !ok {
		t.Fatal("README.md has no ```js block")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md: unterminated ```js block")
	}
	const static = "import { connect, Result, WampError } from '/wamp.js';"
	if !strings.Contains(block, static) {
		t.Fatalf("README.md's example no longer starts with %q", static)
	}
	return strings.Replace(block, static, "const { connect, Result, WampError } = await import('/wamp.js');", 1)
}

// TestReadmeExample runs the README's browser example in a page, as
// written, and checks the values its comments promise.
func TestReadmeExample(t *testing.T) {
	e := newEnv(t, envConfig{})
	tb := openTabs(t, "readme")[0]
	tb.open(e.url("/test/harness.html"))
	tb.expect(readmeJS(t)+`
		await new Promise((r) => setTimeout(r, 200)); // the event to ourselves
		return {
			sum: sum.args[0],
			hi: [hi.args[0], typeof hi.kwargs.caller],
			parts, last: last.args[0],
			got: got.map((a) => [a[0], Array.from(a[1])]),
			open: session.isOpen,
		};`,
		`{"sum": 5, "hi": ["hello Ada", "number"], "parts": [1, 2], "last": 3, "got": [["hi", [1, 2]]], "open": false}`)
}
