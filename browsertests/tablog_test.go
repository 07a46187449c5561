package browsertests

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBrowserErrorsFail: an error that the browser logs itself, here the
// 404 of an image the page loads, is a problem of the tab that fails the
// test, unless the test allows it; console errors stay problems whatever
// is allowed.
func TestBrowserErrorsFail(t *testing.T) {
	e := newEnv(t, envConfig{})
	tb := openTabs(t, "A")[0]
	tb.open(e.url("/test/harness.html"))
	if p := tb.problems(); len(p) != 0 {
		t.Fatalf("problems before the broken image: %q", p)
	}
	tb.expect(`return await new Promise((resolve) => {
			const img = new Image();
			img.onload = () => resolve('loaded');
			img.onerror = () => resolve('failed');
			img.src = '/test/missing.png';
			document.body.append(img);
		});`, `"failed"`)
	// The browser log entry comes on its own, after the image's error event.
	if p := awaitProblems(tb); len(p) != 1 || !strings.Contains(p[0], "404") || !strings.Contains(p[0], "/test/missing.png") {
		t.Fatalf("problems after the broken image: %q, want one 404 of /test/missing.png", p)
	}

	// Allowed, the same entry fails nothing: this test passes.
	tb.allowBrowserErrors(`status of 404 .*/test/missing\.png`)
	if p := tb.problems(); len(p) != 0 {
		t.Errorf("problems with the 404 allowed: %q", p)
	}

	// A console error is not a browser error: no pattern allows it.
	tb.allowBrowserErrors(`.`)
	tb.run(`console.error('boom from the page');`)
	if p := awaitProblems(tb); !slices.Equal(p, []string{"console.error: boom from the page"}) {
		t.Errorf("problems after console.error: %q", p)
	}
	// Taken back, so that the test ends clean.
	tb.mu.Lock()
	tb.errs = nil
	tb.mu.Unlock()
}

// awaitProblems polls the tab's problems until there is one, or for
// stepTimeout, and returns them.
func awaitProblems(tb *tab) []string {
	var p []string
	for deadline := time.Now().Add(stepTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if p = tb.problems(); len(p) > 0 {
			break
		}
	}
	return p
}
