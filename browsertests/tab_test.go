package browsertests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one step of a test in a tab: a navigation, an
// evaluation, a wait.
const stepTimeout = 20 * time.Second

// tab is one browser tab (a page target) of a test. It records the page's
// console, uncaught exceptions and browser log; console.error calls,
// uncaught exceptions and errors that the browser logs itself (a failed
// load, a 404, a CSP violation) fail the test, except the browser errors
// that the test allows (see allowBrowserErrors). On failure the whole
// record is dumped.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu          sync.Mutex
	console     []string         // everything, in order
	errs        []string         // console.error and uncaught exceptions
	browserErrs []string         // browser log entries of level error
	allowed     []*regexp.Regexp // browser errors that do not fail the test
}

// openTabs opens one tab per name, in a browser context (a fresh profile:
// cache, storage, cookies) of the test's own, in the shared browser. The
// tabs close when the test ends.
func openTabs(t *testing.T, names ...string) []*tab {
	t.Helper()
	bctx := browser(t)
	tabs := make([]*tab, len(names))
	var browserContextID cdp.BrowserContextID
	for i, name := range names {
		opt := chromedp.WithNewBrowserContext()
		if i > 0 {
			opt = chromedp.WithExistingBrowserContext(browserContextID)
		}
		tabs[i] = startTab(t, name, bctx, opt)
		if i == 0 {
			browserContextID = chromedp.FromContext(tabs[i].ctx).BrowserContextID
		}
	}
	return tabs
}

// startTab opens a tab named name in the browser of bctx (with opts, such
// as its browser context) that records what the page logs; the test fails
// at its end on an error the tab saw (see check).
func startTab(t *testing.T, name string, bctx context.Context, opts ...chromedp.ContextOption) *tab {
	t.Helper()
	tb := &tab{t: t, name: name}
	ctx, cancel := chromedp.NewContext(bctx, append(opts, chromedp.WithListener(tb.listen))...)
	tb.ctx = ctx
	// The first run creates the target; its life is ctx's.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("tab %s: %v", name, err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		cancel()
		t.Fatalf("tab %s: Log.enable: %v", name, err)
	}
	t.Cleanup(func() {
		tb.check()
		cancel()
	})
	return tb
}

// listen runs in the tab's event loop: it only records.
func (tb *tab) listen(ev any) {
	var line string
	failing := false
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		line = fmt.Sprintf("console.%s: %s", ev.Type, remoteText(ev.Args))
		failing = ev.Type == runtime.ConsoleAPICalledTypeError
	case *runtime.EventExceptionThrown:
		line = "uncaught exception: " + (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error()
		failing = true
	case *cdplog.EventEntryAdded:
		line = fmt.Sprintf("browser log %s/%s: %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text)
		if ev.Entry.URL != "" {
			line += " (" + ev.Entry.URL + ")"
		}
		if ev.Entry.Level == cdplog.EntryLevelError {
			tb.mu.Lock()
			tb.browserErrs = append(tb.browserErrs, line)
			tb.mu.Unlock()
		}
	default:
		return
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.console = append(tb.console, line)
	if failing {
		tb.errs = append(tb.errs, line)
	}
}

// lpUnknownTransport matches the 404 that the browser logs when a
// long-poll receive reaches a router that does not know its transport: one
// restarted since the transport opened.
const lpUnknownTransport = `Failed to load resource: the server responded with a status of 404 \(Not Found\) \(http://[^)]+/lp/[^/)]+/receive\)`

// allowBrowserErrors lets the browser log errors that match any of the
// regular expressions without failing the test: the errors a test causes
// on purpose, such as the failed WebSocket handshake of a fallback test.
// Console errors and uncaught exceptions are never allowed.
func (tb *tab) allowBrowserErrors(patterns ...string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range patterns {
		tb.allowed = append(tb.allowed, regexp.MustCompile(p))
	}
}

// problems returns what fails the test so far: console errors, uncaught
// exceptions and the browser errors that no allowed pattern matches.
func (tb *tab) problems() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	out := slices.Clone(tb.errs)
	for _, e := range tb.browserErrs {
		if !slices.ContainsFunc(tb.allowed, func(re *regexp.Regexp) bool { return re.MatchString(e) }) {
			out = append(out, e)
		}
	}
	return out
}

// check fails the test on the tab's problems and dumps the console when
// the test failed. It runs before the tab closes.
func (tb *tab) check() {
	for _, p := range tb.problems() {
		tb.t.Errorf("tab %s: %s", tb.name, p)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.t.Failed() {
		tb.t.Logf("tab %s console:\n%s", tb.name, indent(strings.Join(tb.console, "\n")))
	}
}

// remoteText renders console arguments as the DevTools console would,
// roughly: strings as they are, other values as JSON or their description.
func remoteText(args []*runtime.RemoteObject) string {
	parts := make([]string, len(args))
	for i, a := range args {
		switch {
		case a.Type == runtime.RemoteObjectTypeString && len(a.Value) > 0:
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts[i] = s
				continue
			}
			parts[i] = string(a.Value)
		case len(a.Value) > 0:
			parts[i] = string(a.Value)
		case a.UnserializableValue != "":
			parts[i] = string(a.UnserializableValue)
		case a.Description != "":
			parts[i] = a.Description
		default:
			parts[i] = string(a.Type)
		}
	}
	return strings.Join(parts, " ")
}

// step returns a context bounded by stepTimeout for one action.
func (tb *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, stepTimeout)
}

// open navigates to url, waits for the load event and, on a page that
// loads testdata/harness.js, for the harness.
func (tb *tab) open(url string) {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		tb.t.Fatalf("tab %s: open %s: %v", tb.name, url, err)
	}
	tb.waitFor(`window.harnessReady === true || !document.querySelector('script[src="/test/harness.js"]')`)
}

// run runs body, the body of an async function, in the page, and returns
// what it returns as JSON, passed through show() on a test page (see
// testdata/harness.js).
// A throw or a rejection fails the test.
func (tb *tab) run(body string) []byte {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	expr := "(async () => {\n" + body + "\n})().then((v) => typeof show === 'function' ? show(v) : v)"
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("tab %s: %v\nin:\n%s", tb.name, err, indent(body))
	}
	return out
}

// expect runs body like run and compares its result with want, a JSON
// text; object keys may come in any order.
func (tb *tab) expect(body, want string) {
	tb.t.Helper()
	got := tb.run(body)
	if diff := jsonDiff(got, want); diff != "" {
		tb.t.Errorf("tab %s: %s\nin:\n%s", tb.name, diff, indent(body))
	}
}

// waitFor waits until the JavaScript expression cond is true.
func (tb *tab) waitFor(cond string) {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		tb.t.Fatalf("tab %s: waiting for %s: %v", tb.name, cond, err)
	}
}

// do runs chromedp actions (clicks, keys) in the tab.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("tab %s: %v", tb.name, err)
	}
}

// text returns the text content of the first element matching the CSS
// selector sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("tab %s: text of %s: %v", tb.name, sel, err)
	}
	return strings.TrimSpace(s)
}

// screenshot saves a full-page PNG as a test artifact (kept with
// `go test -artifacts`) and logs its path.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("tab %s: screenshot: %v", tb.name, err)
	}
	path := filepath.Join(tb.t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot of tab %s: %s", tb.name, path)
}

// jsonDiff compares two JSON texts by value and describes the difference,
// or returns "".
func jsonDiff(got []byte, want string) string {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Sprintf("result is not JSON (%v): %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return fmt.Sprintf("bad expectation %s: %v", want, err)
	}
	if reflect.DeepEqual(g, w) {
		return ""
	}
	return fmt.Sprintf("got  %s\nwant %s", canonical(g), canonical(w))
}

// canonical is v as compact JSON with sorted keys.
func canonical(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // v came from json.Unmarshal: it encodes
	return strings.TrimSpace(buf.String())
}

// js quotes s as a JavaScript string literal.
func js(s string) string { return strconv.Quote(s) }
