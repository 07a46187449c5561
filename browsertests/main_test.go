package browsertests

import (
	"context"
	"errors"
	"fmt"
	"github.com/wampkit/wampkit/internal/npmdeps"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wampkit/wampkit/internal/assets"
)

// assetServer builds the browser client (wamp.wasm, wamp.js, ...) from this
// checkout once for the whole run, the same way cmd/wampd does, and every
// test's site serves it.
var assetServer = assets.NewServer(assets.ServerConfig{Logger: slog.New(slog.DiscardHandler)})

// assetBundle waits for the build; a broken build fails every test with
// the compiler's or esbuild's message.
var assetBundle = sync.OnceValues(func() (*assets.Bundle, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := assetServer.Bundle(ctx)
	if err != nil {
		return nil, fmt.Errorf("building the browser client: %w", err)
	}
	return b, nil
})

// The one browser of the run, started by the first test that needs it.
var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

// browser returns the context of the shared headless Chromium. Each test
// opens its own tabs in it, in a browser context of its own (see newTabs).
func browser(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() { browserCtx, browserCancel, browserErr = startBrowser() })
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

// startBrowser starts headless Chromium with a temporary profile (the
// allocator makes one and removes it), or as extra options say.
func startBrowser(extra ...chromedp.ExecAllocatorOption) (context.Context, context.CancelFunc, error) {
	path, err := chromiumPath()
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
	)
	opts = append(opts, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		return nil, nil, fmt.Errorf("starting %s: %w", path, err)
	}
	return bctx, func() { bcancel(); acancel() }, nil
}

// chromiumPath finds the browser: $CHROMIUM, else chromium on PATH (the
// Debian package that `make test` installs), else /usr/bin/chromium.
func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("browsertests: chromium is not installed: these tests run headless Chromium; " +
		"run `make setup-chromium` (Debian: apt-get install chromium) or set CHROMIUM to the browser's path")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	assetServer.Close()
	os.Exit(code)
}

// testFiles serves the test pages (testdata/NAME) and Autobahn|JS's browser
// build (autobahn.min.js from node_modules) under /test/.
var testFiles = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path
	var file string
	switch {
	case name == "autobahn.min.js":
		file = filepath.Join("node_modules", "autobahn-browser", "autobahn.min.js")
	case name != "" && !strings.ContainsAny(name, `/\`) && !strings.HasPrefix(name, "."):
		file = filepath.Join("testdata", name)
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.ServeFile(w, r, file)
})

// requireAutobahn installs the pinned autobahn-browser with `npm ci` when
// node_modules lacks it (`make test` does it before), once per run. A
// machine without npm fails the test: it must not pass silently.
func requireAutobahn(t *testing.T) {
	t.Helper()
	if err := npmReady(); err != nil {
		t.Fatal(err)
	}
}

var npmReady = sync.OnceValue(func() error { return npmdeps.Ensure(".") })
