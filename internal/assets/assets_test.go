package assets

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeModule writes a minimal checkout, with the wampkit module path, a
// tiny wasm main and a two-file JS shim, and returns its root.
func fakeModule(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"go.mod":       "module " + module + "\n\ngo 1.26\n",
		"wasm/main.go": "package main\n\nimport \"syscall/js\"\n\nfunc main() { js.Global().Set(\"fakeClient\", 42) }\n",
		"js/util.js":   "export function transportName(t) { return t === 'longpoll' ? 'longpoll' : 'websocket'; }\n",
		"js/wamp.js": "import './wasm_exec.js';\nimport { transportName } from './util.js';\n" +
			"export async function connect(options) {\n  const wasmURL = new URL('wamp.wasm', import.meta.url);\n" +
			"  return { transport: transportName(options.transport), wasmURL };\n}\n",
		"js/global.js": "import { connect } from './wamp.js';\nglobalThis.wampkit = { connect };\n",
		"js/wamp.d.ts": "export declare function connect(options: object): Promise<object>;\n",
	}
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func goroot(t *testing.T) string {
	t.Helper()
	goCmd, err := findGo("")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goCmd, "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestBuild(t *testing.T) {
	root := fakeModule(t)
	b, err := Build(t.Context(), Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built in %v with %s", b.Duration, b.GoVersion)
	for _, name := range Names {
		f := b.Files[name]
		if f == nil || len(f.Data) == 0 {
			t.Fatalf("%s missing or empty", name)
		}
	}
	if w := b.Files["wamp.wasm"]; !bytes.HasPrefix(w.Data, []byte("\x00asm")) || w.Gzip == nil || len(w.Gzip) >= len(w.Data) {
		t.Errorf("wamp.wasm: magic %q, %d bytes, gzip %d bytes", w.Data[:4], len(w.Data), len(w.Gzip))
	}
	want, err := os.ReadFile(filepath.Join(goroot(t), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Files["wasm_exec.js"].Data, want) {
		t.Error("wasm_exec.js differs from the toolchain's")
	}
	esm := string(b.Files["wamp.js"].Data)
	if !strings.Contains(esm, "export{") || !strings.Contains(esm, "globalThis.Go=") || !strings.Contains(esm, "longpoll") || strings.Contains(esm, "import ") ||
		!strings.HasSuffix(strings.TrimSpace(esm), "//# sourceMappingURL=wamp.js.map") {
		t.Errorf("wamp.js is not a bundled, minified module with a map:\n%s", esm)
	}
	global := string(b.Files["wamp.global.js"].Data)
	if !strings.HasPrefix(global, "(()=>{") || strings.Contains(global, "export{") || !strings.Contains(global, "globalThis.wampkit=") {
		t.Errorf("wamp.global.js is not a script defining globalThis.wampkit:\n%s", global)
	}
	var sm struct {
		Version int      `json:"version"`
		Sources []string `json:"sources"`
	}
	if err := json.Unmarshal(b.Files["wamp.js.map"].Data, &sm); err != nil || sm.Version != 3 || len(sm.Sources) != 3 {
		t.Errorf("wamp.js.map: %v %+v", err, sm)
	}
	if got := string(b.Files["wamp.d.ts"].Data); !strings.Contains(got, "declare function connect") {
		t.Errorf("wamp.d.ts = %q", got)
	}
}

// TestBuildCheckout builds this checkout's browser client.
func TestBuildCheckout(t *testing.T) {
	b, err := Build(t.Context(), Config{Root: "../.."})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names {
		f := b.Files[name]
		t.Logf("%-19s %8d bytes, gzip %8d", name, len(f.Data), len(f.Gzip))
	}
	t.Logf("built in %v with %s", b.Duration, b.GoVersion)
	if w := b.Files["wamp.wasm"].Data; !bytes.HasPrefix(w, []byte("\x00asm")) {
		t.Errorf("wamp.wasm starts with %q", w[:4])
	}
	esm := string(b.Files["wamp.js"].Data)
	if !strings.Contains(esm, "export{") || !strings.Contains(esm, "globalThis.Go=") {
		t.Error("wamp.js is not an ES module bundling wasm_exec.js")
	}
	if g := string(b.Files["wamp.global.js"].Data); !strings.HasPrefix(g, "(()=>{") || !strings.Contains(g, "globalThis.wampkit=") {
		t.Error("wamp.global.js is not a script defining globalThis.wampkit")
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name, file, text, want string
	}{
		{"js syntax", "js/wamp.js", "export const x = ;\n", "esbuild js/wamp.js"},
		{"missing import", "js/global.js", "import './nope.js';\n", "Could not resolve"},
		{"go compile", "wasm/main.go", "package main\n\nfunc main() { undefined() }\n", "undefined: undefined"},
		{"no d.ts", "js/wamp.d.ts", "", "wamp.d.ts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeModule(t)
			p := filepath.Join(root, tt.file)
			var err error
			if tt.text == "" {
				err = os.Remove(p)
			} else {
				err = os.WriteFile(p, []byte(tt.text), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = Build(t.Context(), Config{Root: root})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := Build(t.Context(), Config{Root: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("a root without go.mod: err = %v", err)
	}
	if _, err := Build(t.Context(), Config{Root: fakeModule(t), Go: filepath.Join(t.TempDir(), "no-go")}); err == nil {
		t.Error("a missing go command built")
	}
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// A bare transport: net/http would otherwise ask for gzip and decode it.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestServer(t *testing.T) {
	s := NewServer(ServerConfig{Config: Config{Root: fakeModule(t)}, Logger: quietLogger()})
	defer s.Close()
	mux := http.NewServeMux()
	s.Mount(mux)
	ts := httptest.NewServer(mux)
	defer ts.Close()

	b, err := s.Bundle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{
		"wamp.wasm":          "application/wasm",
		"wasm_exec.js":       "text/javascript; charset=utf-8",
		"wamp.js":            "text/javascript; charset=utf-8",
		"wamp.js.map":        "application/json; charset=utf-8",
		"wamp.global.js":     "text/javascript; charset=utf-8",
		"wamp.global.js.map": "application/json; charset=utf-8",
		"wamp.d.ts":          "application/typescript; charset=utf-8",
	}
	for _, name := range Names {
		resp, body := get(t, ts.URL+"/"+name)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != types[name] ||
			resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") != b.Files[name].ETag ||
			resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, b.Files[name].Data) {
			t.Errorf("GET /%s: %d %v, %d bytes", name, resp.StatusCode, resp.Header, len(body))
		}
		resp, _ = get(t, ts.URL+"/"+name, "If-None-Match", b.Files[name].ETag)
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET /%s If-None-Match: %d, want 304", name, resp.StatusCode)
		}
	}

	raw := b.Files["wamp.wasm"].Data
	for _, ae := range []string{"gzip", "gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.8", "*"} {
		resp, body := get(t, ts.URL+"/wamp.wasm", "Accept-Encoding", ae)
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" ||
			resp.Header.Get("Content-Type") != "application/wasm" || !strings.HasSuffix(resp.Header.Get("ETag"), `-gz"`) {
			t.Fatalf("Accept-Encoding %q: %v", ae, resp.Header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, raw) || len(body) >= len(raw) {
			t.Errorf("Accept-Encoding %q: %d gzip bytes decode to %d bytes, want the %d raw bytes", ae, len(body), len(plain), len(raw))
		}
	}
	for _, ae := range []string{"", "identity", "br", "gzip;q=0", "*;q=0", "gzip;q=0, *"} {
		resp, body := get(t, ts.URL+"/wamp.wasm", "Accept-Encoding", ae)
		if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Vary") != "Accept-Encoding" || !bytes.Equal(body, raw) {
			t.Errorf("Accept-Encoding %q: %v, %d bytes, want raw", ae, resp.Header, len(body))
		}
	}

	for _, path := range []string{"/nope.js", "/wamp.wasm.gz", "/js/wamp.js", "/"} {
		if resp, _ := get(t, ts.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/other.txt", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("ServeHTTP unknown name: %d, want 404", rec.Code)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("POST", "/wamp.js", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", rec.Code)
	}
}

func TestServerUnavailable(t *testing.T) {
	s := NewServer(ServerConfig{Config: Config{Root: t.TempDir()}, Logger: quietLogger()})
	defer s.Close()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/wamp.js", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "go.mod") {
		t.Errorf("no checkout: %d %q, want 503 naming go.mod", rec.Code, rec.Body.String())
	}
}

func TestServerWaitTimeout(t *testing.T) {
	root := fakeModule(t)
	s := NewServer(ServerConfig{Config: Config{Root: root}, Wait: time.Nanosecond, Logger: quietLogger()})
	defer s.Close()
	_, err := s.Bundle(t.Context())
	if err == nil || !strings.Contains(err.Error(), "still building") {
		t.Errorf("err = %v, want still building", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Bundle(ctx); err == nil {
		t.Error("a cancelled wait returned no error")
	}
}

func TestServerDev(t *testing.T) {
	root := fakeModule(t)
	s := NewServer(ServerConfig{Config: Config{Root: root}, Dev: true, Poll: 20 * time.Millisecond, Logger: quietLogger()})
	defer s.Close()
	s.Start()
	first, err := s.Bundle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, cond func(*state) bool) *state {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			if st := s.state.Load(); cond(st) {
				return st
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no %s within a minute", what)
		return nil
	}

	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		// Some file systems keep coarse modification times.
		future := time.Now().Add(time.Duration(len(text)) * time.Second)
		if err := os.Chtimes(p, future, future); err != nil {
			t.Fatal(err)
		}
	}
	write("js/util.js", "export function transportName(t) { return 'rebuilt-' + t; }\n")
	st := waitFor("rebuild", func(st *state) bool { return st.bundle != first })
	if !strings.Contains(string(st.bundle.Files["wamp.js"].Data), "rebuilt-") {
		t.Errorf("the rebuild does not have the change:\n%s", st.bundle.Files["wamp.js"].Data)
	}

	good := st.bundle
	write("js/util.js", "export function transportName(t) { return ; ; }}\n")
	st = waitFor("failed build", func(st *state) bool { return st.err != nil })
	if st.bundle != good {
		t.Error("a failed build replaced the last good build")
	}
	if b, err := s.Bundle(t.Context()); b != good || err != nil {
		t.Errorf("Bundle after a failed build = %p, %v; want the last good build", b, err)
	}

	// A test file is not a source of the build.
	write("wasm/main_test.go", "package main\n")
	time.Sleep(100 * time.Millisecond)
	if st2 := s.state.Load(); st2 != st {
		t.Error("a _test.go change started a build")
	}
}

func TestDist(t *testing.T) {
	root := fakeModule(t)
	t.Chdir(filepath.Join(root, "js"))
	out := filepath.Join(t.TempDir(), "dist")
	if err := Dist(out); err != nil {
		t.Fatal(err)
	}
	for _, name := range append(Names, "wamp.wasm.gz") {
		st, err := os.Stat(filepath.Join(out, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	zipped, err := os.ReadFile(filepath.Join(out, "wamp.wasm.gz"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(out, "wamp.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, raw) {
		t.Errorf("wamp.wasm.gz does not decode to wamp.wasm: %v", err)
	}

	t.Chdir(t.TempDir())
	if err := Dist(out); err == nil || !strings.Contains(err.Error(), "no "+module+" checkout") {
		t.Errorf("Dist outside a checkout: %v", err)
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := map[string]bool{
		"":                    false,
		"gzip":                true,
		"GZIP":                true,
		"deflate, gzip;q=0.5": true,
		"gzip;q=0":            false,
		"gzip; q=0.000":       false,
		"*":                   true,
		"*;q=0":               false,
		"gzip;q=0, *":         false,
		"br, *;q=0.1":         true,
		"x-gzip":              false,
		"gzip;q=bad":          true,
	}
	for ae, want := range tests {
		if got := acceptsGzip([]string{ae}); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", ae, got, want)
		}
	}
}
