package demo

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"
)

// TestGeneratedUpToDate regenerates the templ components into a copy and
// compares: a .templ edited without `go tool templ generate` fails here.
func TestGeneratedUpToDate(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	sources, err := filepath.Glob("*.templ")
	if err != nil || len(sources) == 0 {
		t.Fatalf("no .templ files: %v", err)
	}
	tmp := t.TempDir()
	for _, src := range sources {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, src), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(goCmd, "tool", "templ", "generate", "-path", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("templ generate: %v\n%s", err, out)
	}
	for _, src := range sources {
		gen := strings.TrimSuffix(src, ".templ") + "_templ.go"
		want, err := os.ReadFile(filepath.Join(tmp, gen))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(gen)
		if err != nil {
			t.Fatalf("%v: run go tool templ generate -path demo", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go tool templ generate -path demo", gen)
		}
	}
}

func serve(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	Mount(mux, Config{Realm: "test.realm"})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// documentedIDs reads the element IDs that a .templ file's top comment
// promises the browser tests.
func documentedIDs(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range regexp.MustCompile(`(?m)^//\s+#([a-z-]+)\s`).FindAllStringSubmatch(string(src), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestPages(t *testing.T) {
	ts := serve(t)
	layoutIDs := documentedIDs(t, "layout.templ")
	if len(layoutIDs) != 2 {
		t.Fatalf("layout.templ documents %v", layoutIDs)
	}
	pages := []struct {
		path, templ, script string
		minIDs              int
	}{
		{"/", "index.templ", "", 0},
		{"/demo/rpc", "rpc.templ", "/demo/static/rpc.js", 11},
		{"/demo/board", "board.templ", "/demo/static/board.js", 9},
	}
	for _, p := range pages {
		resp, body := get(t, ts.URL+p.path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("GET %s: %d %v", p.path, resp.StatusCode, resp.Header)
		}
		if !strings.HasPrefix(body, "<!doctype html>") || !strings.Contains(body, `data-realm="test.realm"`) ||
			!strings.Contains(body, `href="/demo/static/style.css"`) {
			t.Errorf("GET %s: not a full page for the realm:\n%s", p.path, body)
		}
		ids := documentedIDs(t, p.templ)
		if len(ids) < p.minIDs {
			t.Errorf("%s documents %d IDs, want at least %d: %v", p.templ, len(ids), p.minIDs, ids)
		}
		for _, id := range ids {
			if n := strings.Count(body, ` id="`+id+`"`); n != 1 {
				t.Errorf("GET %s: id %q appears %d times, want once", p.path, id, n)
			}
		}
		if p.script != "" && !strings.Contains(body, `<script type="module" src="`+p.script+`"></script>`) {
			t.Errorf("GET %s: no module script %s", p.path, p.script)
		}
	}
	_, index := get(t, ts.URL+"/")
	for _, link := range []string{`href="/demo/rpc"`, `href="/demo/board"`} {
		if !strings.Contains(index, link) {
			t.Errorf("the index has no %s", link)
		}
	}
	for _, path := range []string{"/demo/nope", "/demo/static/nope.js", "/index.html", "/demo/rpc/x"} {
		if resp, _ := get(t, ts.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestStatic(t *testing.T) {
	ts := serve(t)
	types := map[string]string{
		"style.css": "text/css; charset=utf-8",
		"common.js": "text/javascript; charset=utf-8",
		"rpc.js":    "text/javascript; charset=utf-8",
		"board.js":  "text/javascript; charset=utf-8",
	}
	for name, ctype := range types {
		resp, body := get(t, ts.URL+"/demo/static/"+name)
		want, err := static.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype || body != string(want) {
			t.Errorf("GET /demo/static/%s: %d %q", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		// The scripts are modules that parse; a syntax error would only
		// show in a browser otherwise.
		res := api.Transform(string(want), api.TransformOptions{Format: api.FormatESModule, Target: api.ES2022, Sourcefile: name})
		for _, m := range res.Errors {
			t.Errorf("%s:%d: %s", name, m.Location.Line, m.Text)
		}
		if !strings.Contains(string(want), "from './common.js'") && name != "common.js" {
			t.Errorf("%s does not use common.js", name)
		}
	}
}
