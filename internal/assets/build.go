// Package assets builds the browser client from this checkout's sources and
// serves it.
//
// A build makes these files, served at the root of the site:
//
//	wamp.wasm           the Go client (./wasm) for GOOS=js GOARCH=wasm, -trimpath -s -w
//	wasm_exec.js        Go's loader, copied from the same toolchain's GOROOT/lib/wasm
//	wamp.js(.map)       js/wamp.js bundled by esbuild as a minified ES module
//	wamp.global.js(.map) js/global.js bundled as a minified script defining globalThis.wampkit
//	wamp.d.ts           js/wamp.d.ts as is
//
// Build makes one [Bundle]; [Server] serves the last good bundle over HTTP,
// building it lazily or, in dev mode, rebuilding when sources change; [Dist]
// writes the files for deployment.
package assets

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/evanw/esbuild/pkg/api"
)

// Names lists the files of a bundle, in a stable order.
var Names = []string{
	"wamp.wasm",
	"wasm_exec.js",
	"wamp.js",
	"wamp.js.map",
	"wamp.global.js",
	"wamp.global.js.map",
	"wamp.d.ts",
}

// Sources are the directories, relative to the module root, whose files go
// into a build; a dev [Server] watches them.
var Sources = []string{"wasm", "client", "wamp", "transport", "js"}

// Config says where the sources are and which go command builds them.
// The zero value builds the checkout that holds the working directory with
// the go command on PATH.
type Config struct {
	// Root is the module root: the directory holding go.mod, wasm/ and js/.
	// Empty means the nearest directory at or above the working directory
	// whose go.mod declares module github.com/wampkit/wampkit.
	Root string
	// Go is the go command. Empty means $GOROOT/bin/go when GOROOT is set,
	// else go on PATH, else the GOROOT this program was built with.
	// wasm_exec.js is taken from this command's `go env GOROOT`, so that the
	// loader always matches the compiler.
	Go string
	// CBOR includes the CBOR serializer in wamp.wasm. Off by default: the
	// CBOR library weighs about 260 KB of the gzipped download, and JSON
	// and MessagePack carry everything a page needs; a page that asks for
	// 'cbor' without it gets a clear error.
	CBOR bool
	// Symbols keeps the symbol table in wamp.wasm (no -ldflags=-s -w), so
	// that a browser's CPU profile names Go functions. It makes the
	// download larger: for profiling only.
	Symbols bool
}

// File is one built file.
type File struct {
	Name        string
	ContentType string
	Data        []byte
	// Gzip is Data compressed once at build time; nil where compression
	// does not pay (small files).
	Gzip []byte
	// ETag is a strong validator of Data (quoted); the gzip representation
	// uses ETag with a -gz suffix inside the quotes.
	ETag string
}

// Bundle is the output of one build.
type Bundle struct {
	Files    map[string]*File
	Built    time.Time
	Duration time.Duration
	// GoVersion is the toolchain that compiled wamp.wasm, as `go env GOVERSION` says.
	GoVersion string
}

// module is the path that Config.Root's go.mod must declare.
const module = "github.com/wampkit/wampkit"

// contentTypes maps a file extension to its Content-Type.
var contentTypes = map[string]string{
	".wasm": "application/wasm",
	".js":   "text/javascript; charset=utf-8",
	".map":  "application/json; charset=utf-8",
	".ts":   "application/typescript; charset=utf-8",
}

// gzipMin is the size below which a file is not precompressed.
const gzipMin = 1024

// Build compiles the wasm client, bundles the JS shim and collects the
// support files. It stops early when ctx is done.
func Build(ctx context.Context, cfg Config) (*Bundle, error) {
	start := time.Now()
	root, err := findRoot(cfg.Root)
	if err != nil {
		return nil, err
	}
	goCmd, err := findGo(cfg.Go)
	if err != nil {
		return nil, err
	}
	env, err := goEnv(ctx, goCmd, root, "GOROOT", "GOVERSION")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var (
		wg             sync.WaitGroup
		wasm           []byte
		wasmErr, jsErr error
	)
	wg.Go(func() { wasm, wasmErr = buildWasm(ctx, goCmd, root, cfg.CBOR, cfg.Symbols) })
	wg.Go(func() { jsErr = bundleJS(root, env[0], files) })
	wg.Wait()
	if err := errors.Join(wasmErr, jsErr); err != nil {
		return nil, err
	}
	files["wamp.wasm"] = wasm
	execJS, err := os.ReadFile(filepath.Join(env[0], "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return nil, fmt.Errorf("assets: wasm_exec.js of the toolchain at %s: %w", env[0], err)
	}
	files["wasm_exec.js"] = execJS
	dts, err := os.ReadFile(filepath.Join(root, "js", "wamp.d.ts"))
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	files["wamp.d.ts"] = dts

	b := &Bundle{Files: make(map[string]*File, len(files)), Built: time.Now(), GoVersion: env[1]}
	for _, name := range Names {
		data, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("assets: the build made no %s", name)
		}
		f, err := newFile(name, data)
		if err != nil {
			return nil, err
		}
		b.Files[name] = f
	}
	b.Duration = time.Since(start)
	return b, nil
}

// newFile types, tags and precompresses one file.
func newFile(name string, data []byte) (*File, error) {
	sum := sha256.Sum256(data)
	f := &File{
		Name:        name,
		ContentType: contentTypes[filepath.Ext(name)],
		Data:        data,
		ETag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
	}
	if len(data) < gzipMin {
		return f, nil
	}
	var buf bytes.Buffer
	// The default level: best compression makes wamp.wasm 0.6% smaller
	// but takes three times as long, which every dev rebuild would pay.
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	zw.Write(data) // writes to a bytes.Buffer do not fail
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("assets: gzip %s: %w", name, err)
	}
	if buf.Len() < len(data) {
		f.Gzip = buf.Bytes()
	}
	return f, nil
}

// WriteDir writes every file of the bundle into dir, creating it, plus
// NAME.gz beside each precompressed file for servers that serve those
// (nginx gzip_static, Caddy precompressed).
func (b *Bundle) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("assets: %w", err)
	}
	for _, name := range Names {
		f := b.Files[name]
		if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o644); err != nil {
			return fmt.Errorf("assets: %w", err)
		}
		if f.Gzip != nil {
			if err := os.WriteFile(filepath.Join(dir, name+".gz"), f.Gzip, 0o644); err != nil {
				return fmt.Errorf("assets: %w", err)
			}
		}
	}
	return nil
}

// Dist builds the checkout that holds the working directory and writes the
// deployable browser files into dir (see [Bundle.WriteDir]).
func Dist(dir string) error {
	b, err := Build(context.Background(), Config{})
	if err != nil {
		return err
	}
	return b.WriteDir(dir)
}

// findRoot returns the module root: dir itself when given (after checking
// it), else the nearest wampkit module at or above the working directory.
func findRoot(dir string) (string, error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fmt.Errorf("assets: %w", err)
		}
		if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
			return "", fmt.Errorf("assets: root %s: %w", dir, err)
		}
		return abs, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("assets: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if mod, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && modulePath(mod) == module {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("assets: no %s checkout at or above %s: run from the checkout to serve the browser client", module, wd)
		}
	}
}

// modulePath returns the module path that a go.mod file declares.
func modulePath(gomod []byte) string {
	for line := range strings.Lines(string(gomod)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// findGo returns the go command to run.
func findGo(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	exe := "go"
	if runtime.GOOS == "windows" {
		exe = "go.exe"
	}
	if gr := os.Getenv("GOROOT"); gr != "" {
		if p := filepath.Join(gr, "bin", exe); isFile(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	// The GOROOT this program was built with (deprecated as a source of
	// truth, since it may be gone at run time) is the last place to look.
	if gr := runtime.GOROOT(); gr != "" {
		if p := filepath.Join(gr, "bin", exe); isFile(p) {
			return p, nil
		}
	}
	return "", errors.New("assets: no go command: not in $GOROOT/bin, on PATH, nor in the GOROOT this program was built with")
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// goEnv runs `go env` in root and returns the values of vars in order.
func goEnv(ctx context.Context, goCmd, root string, vars ...string) ([]string, error) {
	cmd := exec.CommandContext(ctx, goCmd, append([]string{"env"}, vars...)...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("assets: %s env: %w: %s", goCmd, err, strings.TrimSpace(stderr.String()))
	}
	vals := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(vals) != len(vars) || slices.Contains(vals, "") {
		return nil, fmt.Errorf("assets: %s env %s: unexpected output %q", goCmd, strings.Join(vars, " "), out)
	}
	return vals, nil
}

// buildWasm compiles root/wasm for the browser and returns the binary.
func buildWasm(ctx context.Context, goCmd, root string, withCBOR, symbols bool) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "wampkit-wasm-")
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "wamp.wasm")
	tags := "-tags=nocbor"
	if withCBOR {
		tags = "-tags="
	}
	ldflags := "-ldflags=-s -w"
	if symbols {
		ldflags = "-ldflags="
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", ldflags, tags, "-o", out, "./wasm")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("assets: wasm build: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("assets: GOOS=js GOARCH=wasm go build ./wasm: %w\n%s", err, strings.TrimSpace(output.String()))
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	return wasm, nil
}

// bundleJS bundles the two JS entries with esbuild into files, keyed by
// name. The shim imports './wasm_exec.js', which is not in js/: it resolves
// to goroot's copy, so that the loader bundled is the compiler's.
func bundleJS(root, goroot string, files map[string][]byte) error {
	wasmExec := api.Plugin{
		Name: "wasm_exec",
		Setup: func(pb api.PluginBuild) {
			pb.OnResolve(api.OnResolveOptions{Filter: `^\./wasm_exec\.js$`}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
				return api.OnResolveResult{Path: filepath.Join(goroot, "lib", "wasm", "wasm_exec.js")}, nil
			})
		},
	}
	entries := []struct {
		in, out string
		format  api.Format
	}{
		{"js/wamp.js", "wamp", api.FormatESModule},
		{"js/global.js", "wamp.global", api.FormatIIFE},
	}
	var errs []error
	for _, e := range entries {
		res := api.Build(api.BuildOptions{
			EntryPointsAdvanced: []api.EntryPoint{{InputPath: e.in, OutputPath: e.out}},
			AbsWorkingDir:       root,
			Outdir:              filepath.Join(root, "dist"),
			Bundle:              true,
			Format:              e.format,
			Platform:            api.PlatformBrowser,
			Target:              api.ES2020,
			MinifyWhitespace:    true,
			MinifyIdentifiers:   true,
			MinifySyntax:        true,
			Sourcemap:           api.SourceMapLinked,
			LegalComments:       api.LegalCommentsEndOfFile,
			LogLevel:            api.LogLevelSilent,
			Write:               false,
			Plugins:             []api.Plugin{wasmExec},
		})
		if len(res.Errors) > 0 {
			msgs := api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
			errs = append(errs, fmt.Errorf("assets: esbuild %s:\n%s", e.in, strings.TrimSpace(strings.Join(msgs, ""))))
			continue
		}
		for _, f := range res.OutputFiles {
			files[filepath.Base(f.Path)] = f.Contents
		}
	}
	return errors.Join(errs...)
}
