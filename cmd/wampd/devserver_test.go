package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wasmMagic begins every WebAssembly module.
var wasmMagic = []byte("\x00asm")

// TestDevServer starts wampd as `make run` does, without a configuration
// file, and fetches what it serves besides WAMP: the browser client
// (built from this checkout on the first request), the demo pages and the
// health check. Then `wampd --dist DIR` writes the files `make dist`
// promises. Both builds run in this one test: the second reuses the Go
// build cache.
func TestDevServer(t *testing.T) {
	addr, _ := startWampd(t, "--realm", "realm1")
	get := func(path string, gz bool) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if gz {
			// Set by hand, the transport leaves the body compressed.
			req.Header.Set("Accept-Encoding", "gzip")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
		}
		return res, body
	}

	res, body := get("/wamp.wasm", true)
	if ct, ce := res.Header.Get("Content-Type"), res.Header.Get("Content-Encoding"); ct != "application/wasm" || ce != "gzip" {
		t.Fatalf("/wamp.wasm: Content-Type %q, Content-Encoding %q", ct, ce)
	}
	wasm := gunzip(t, "/wamp.wasm", body)
	if !bytes.HasPrefix(wasm, wasmMagic) || len(wasm) < 1<<20 {
		t.Fatalf("/wamp.wasm gunzipped: %d bytes starting % x, want a module (\\0asm)", len(wasm), wasm[:min(8, len(wasm))])
	}
	res, plain := get("/wamp.wasm", false)
	if res.Header.Get("Content-Encoding") != "" || !bytes.Equal(plain, wasm) {
		t.Fatalf("/wamp.wasm without gzip: Content-Encoding %q, %d bytes, want the same %d bytes", res.Header.Get("Content-Encoding"), len(plain), len(wasm))
	}

	res, body = get("/wamp.js", false)
	if ct := res.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" || !bytes.Contains(body, []byte("export")) || !bytes.Contains(body, []byte("wamp.wasm")) {
		t.Fatalf("/wamp.js: Content-Type %q, %d bytes: not the ES module that loads wamp.wasm", ct, len(body))
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	execJS, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	if res, body = get("/wasm_exec.js", false); !bytes.Equal(body, execJS) || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("/wasm_exec.js: %d bytes (%s), want the toolchain's %d", len(body), res.Header.Get("Content-Type"), len(execJS))
	}
	for path, heading := range map[string]string{"/demo/rpc": "<h1>Browser-to-browser RPC</h1>", "/demo/board": "<h1>Shared board</h1>", "/": "<h1>wampkit demos</h1>"} {
		res, body := get(path, false)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !bytes.Contains(body, []byte(heading)) || !bytes.Contains(body, []byte("realm1")) {
			t.Errorf("%s: Content-Type %q, page without %q or its realm:\n%s", path, ct, heading, body)
		}
	}
	if _, body := get("/healthz", false); string(body) != "ok\n" {
		t.Fatalf("/healthz: %q", body)
	}

	dir := filepath.Join(t.TempDir(), "dist")
	var out bytes.Buffer
	if err := run(t.Context(), []string{"--dist", dir}, &out, io.Discard, nil); err != nil {
		t.Fatalf("--dist: %v", err)
	}
	if !strings.HasPrefix(out.String(), "wampd: browser client written to "+dir) {
		t.Errorf("--dist printed %q", out.String())
	}
	// README: wamp.js, wamp.global.js, wamp.wasm, wasm_exec.js, wamp.d.ts,
	// gzip copies.
	read := func(name string) []byte {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(data) == 0 {
			t.Fatalf("--dist wrote no %s: %v", name, err)
		}
		return data
	}
	for _, name := range []string{"wamp.js", "wamp.global.js", "wamp.wasm", "wasm_exec.js", "wamp.d.ts"} {
		data := read(name)
		if gz, err := os.ReadFile(filepath.Join(dir, name+".gz")); err == nil && !bytes.Equal(gunzip(t, name+".gz", gz), data) {
			t.Errorf("%s.gz is not %s compressed", name, name)
		}
	}
	if distWasm := read("wamp.wasm"); !bytes.HasPrefix(distWasm, wasmMagic) || !bytes.Equal(gunzip(t, "wamp.wasm.gz", read("wamp.wasm.gz")), distWasm) {
		t.Fatal("--dist: wamp.wasm is not a module, or wamp.wasm.gz not its gzip copy")
	}
	if !bytes.Equal(read("wasm_exec.js"), execJS) {
		t.Fatal("--dist: wasm_exec.js is not the toolchain's")
	}
	if d := read("wamp.d.ts"); !bytes.Contains(d, []byte("export")) {
		t.Fatal("--dist: wamp.d.ts declares nothing")
	}
	read("wamp.js.gz")
	read("wamp.global.js.gz")
}

// gunzip decompresses a gzip stream, failing the test if it is not one.
func gunzip(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: not gzip: %v", name, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: a broken gzip stream: %v", name, err)
	}
	return out
}

// TestDevFlagRebuilds: with --dev, wampd builds the browser client at
// start and serves a new build, without a restart, once a source of it
// changes. It runs in a copy of the module, whose js/wamp.js it edits.
func TestDevFlagRebuilds(t *testing.T) {
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	copyModule(t, src, root)
	t.Chdir(filepath.Join(root, "cmd", "wampd"))
	addr, _ := startWampd(t, "--realm", "realm1", "--dev")
	wampJS := func() []byte {
		t.Helper()
		res, err := http.Get("http://" + addr + "/wamp.js")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /wamp.js: %d %v", res.StatusCode, err)
		}
		return body
	}
	const marker = "rebuilt-by-the-dev-flag"
	if first := wampJS(); bytes.Contains(first, []byte(marker)) || !bytes.Contains(first, []byte("wamp.wasm")) {
		t.Fatalf("the first build: %d bytes, not the client (or already changed)", len(first))
	}
	entry := filepath.Join(root, "js", "wamp.js")
	text, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	text = append(text, "\nexport const devMarker = '"+marker+"';\n"...)
	if err := os.WriteFile(entry, text, 0o644); err != nil {
		t.Fatal(err)
	}
	// Some file systems keep coarse modification times.
	future := time.Now().Add(5 * time.Second)
	if err := os.Chtimes(entry, future, future); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); !bytes.Contains(wampJS(), []byte(marker)); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("/wamp.js does not have the change a minute after it was made")
		}
	}
}

// copyModule copies the module at src to dst: its sources, without the
// repository, npm packages, test data and build output.
func copyModule(t *testing.T, src, dst string) {
	t.Helper()
	skipDirs := map[string]bool{".git": true, "node_modules": true, "testdata": true, "test-artifacts": true, "bin": true, "dist": true}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(rel, ".test") || rel == "wampd" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copying the module: %v", err)
	}
}
