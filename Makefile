# wampkit: the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
ADDR      ?= 127.0.0.1:8080
DIST      ?= dist
FUZZTIME  ?= 15s
NPM_DIRS  := internal/interop browsertests
ARTIFACTS ?= test-artifacts

.PHONY: run dist test build bench stress fuzz setup setup-go setup-npm setup-chromium check vet lint

## run: the router, the browser client and the demos on http://localhost:8080
##      (--dev: the client is rebuilt whenever wasm/, client/, wamp/, transport/ or js/ change)
run: setup-go
	$(GO) run ./cmd/wampd --addr $(ADDR) --realm realm1 --dev

## dist: the deployable browser client (wamp.js, wamp.global.js, wamp.wasm(.gz), wasm_exec.js, wamp.d.ts) into $(DIST)
dist: setup-go
	$(GO) run ./cmd/wampd --dist $(DIST)

## test: everything, browser and interop tests included (sets itself up);
##       the screenshots of the demo pages are kept under $(ARTIFACTS)/
test: setup check
	rm -rf $(ARTIFACTS) && mkdir -p $(ARTIFACTS)
	$(GO) test -race -count=1 -timeout 15m -artifacts -outputdir $(CURDIR)/$(ARTIFACTS) ./...

## build: the binaries into bin/
build: setup-go
	$(GO) build -o bin/ ./cmd/...

## bench: codec, router and transport figures (see README)
bench: setup-go setup-npm setup-chromium
	$(GO) test -run '^$$' -bench . -benchmem ./wamp/codec
	$(GO) run ./internal/bench

## stress: faults, load and hostile input against a router child, one table of figures (-short: the make test version)
stress: setup-go
	$(GO) run ./internal/stress

## fuzz: every fuzz target for $(FUZZTIME) each; the inputs that reached new code are
##       kept in the package's testdata/fuzz, where every go test replays them
fuzz: setup-go
	@set -e; cache=$$($(GO) env GOCACHE)/fuzz; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	    if [ -d "$$cache/$$pkg/$$f" ]; then \
	      dir=$$($(GO) list -f '{{.Dir}}' $$pkg)/testdata/fuzz/$$f; \
	      mkdir -p "$$dir" && cp "$$cache/$$pkg/$$f"/* "$$dir"/; \
	    fi; \
	  done; \
	done

## check: formatting and vet, native and wasm
check: setup-go
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags nocbor ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wamp/... ./transport/websocket/... ./transport/longpoll/... ./client/... ./wasm/...
	GOOS=js GOARCH=wasm $(GO) vet -tags nocbor ./wamp/... ./transport/websocket/... ./transport/longpoll/... ./client/... ./wasm/...

setup: setup-go setup-npm setup-chromium

setup-go:
	$(GO) mod download

setup-npm:
	@for d in $(NPM_DIRS); do \
	  if [ -f $$d/package.json ]; then (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; fi; \
	done

setup-chromium:
	@pkgs=""; \
	command -v chromium >/dev/null 2>&1 || pkgs="$$pkgs chromium"; \
	{ command -v certutil && command -v pk12util; } >/dev/null 2>&1 || pkgs="$$pkgs libnss3-tools"; \
	command -v openssl >/dev/null 2>&1 || pkgs="$$pkgs openssl"; \
	if [ -n "$$pkgs" ]; then \
	  echo "installing Debian$$pkgs for the browser tests (certutil, pk12util and openssl give a browser its client certificate)"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$pkgs; \
	fi
