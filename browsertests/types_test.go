package browsertests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// tscTimeout bounds one run of the TypeScript compiler (a few seconds).
const tscTimeout = 2 * time.Minute

// tscFlags are those of a page's tsconfig: strict, browser globals, ES
// modules with top-level await. Not --skipLibCheck: wamp.d.ts itself is
// checked too.
var tscFlags = []string{
	"--strict", "--noEmit", "--pretty", "false",
	"--target", "es2022", "--lib", "es2022,dom",
	"--module", "esnext", "--moduleResolution", "bundler",
}

// TestTypeDefinitions type-checks js/wamp.d.ts, the browser client's types
// (/wamp.d.ts, and `make dist`'s), with TypeScript in --strict mode.
// testdata/types_ok.ts uses the whole API as README.md and wamp.d.ts
// document it and must compile cleanly; testdata/types_misuse.ts holds
// misuses, each under a `// @ts-expect-error`, and fails to compile when
// one of them stops being an error.
func TestTypeDefinitions(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("browsertests: node is not installed: TestTypeDefinitions runs the TypeScript compiler in Node.js; " +
			"install Node.js and npm (Debian: apt-get install nodejs npm)")
	}
	if err := npmReady(); err != nil {
		t.Fatal(err)
	}

	misuse, err := os.ReadFile(filepath.Join("testdata", "types_misuse.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(misuse, []byte("// @ts-expect-error")); n < 50 {
		t.Fatalf("testdata/types_misuse.ts marks %d misuses, want 50 or more: a misuse that wamp.d.ts "+
			"no longer refuses is fixed there, not dropped from the sample", n)
	}

	for _, name := range []string{"types_ok.ts", "types_misuse.ts"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), tscTimeout)
			defer cancel()
			args := append([]string{filepath.Join("node_modules", "typescript", "bin", "tsc")}, tscFlags...)
			cmd := exec.CommandContext(ctx, node, append(args, filepath.Join("testdata", name))...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			err := cmd.Run()
			if err != nil || out.Len() > 0 {
				t.Fatalf("tsc %s: %v\n%s", name, err, indent(out.String()))
			}
			t.Logf("tsc --strict: %s compiles cleanly in %v", name, time.Since(start).Round(time.Millisecond))
		})
	}
}
