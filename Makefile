# Aunsorm — the two commands a newcomer needs are `make run` and `make test`.
# The toolchain every build and test uses; a fresh machine's own Go fetches it
# through the module proxy (go.mod's go line says the same).
export GOTOOLCHAIN ?= go1.27.3
GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PLUGINS   := $(notdir $(wildcard plugins/*))
CONFIG    ?= config.hcl.example
# The SDK packages a plugin author builds against, cross-compiled by lint.
SDK_PORTABLE := ./plugin ./plugintest ./pluginhost ./examples/... ./apierror \
	./calibration ./clock ./rng ./gatewire ./sandbox ./internal/...

.PHONY: all build run test test-slow bench fuzz vuln lint gen gen-check clean

all: build

## build: bin/aunsormd and one bin/aunsorm-plugin-<kind> per plugin
# One go command builds every binary: the packages they share compile once
# and the links run in parallel. -v names each package as it compiles and
# the go command prints "go: downloading ..." for each module it fetches,
# so a first build shows its progress. go names the binaries after their
# directories; the mv lines give them their installed names.
build:
	@mkdir -p $(BIN)
	@echo "==> go build: aunsormd and the plugins $(PLUGINS) (the first build downloads modules and compiles SQLite: a few minutes)"
	$(GO) build -v -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./daemon $(addprefix ./plugins/,$(PLUGINS))
	mv -f $(BIN)/daemon $(BIN)/aunsormd$(foreach p,$(PLUGINS),; mv -f $(BIN)/$(p) $(BIN)/aunsorm-plugin-$(p))
	@echo "==> built $(BIN)/aunsormd $(addprefix $(BIN)/aunsorm-plugin-,$(PLUGINS))"

## run: build everything and start the daemon with config.hcl.example (data under ./data)
run: build
	@echo "==> starting aunsormd with $(CONFIG) (data under ./data; Ctrl-C stops it)"
	./$(BIN)/aunsormd serve -config $(CONFIG)

## test: the whole suite (unit, known-answer, fuzz seeds, e2e against real binaries)
test:
	./scripts/test.sh

## test-slow: every SLH-DSA ACVP vector, the "s" sets included (make test samples them)
test-slow:
	$(GO) test -count=1 -tags slow -timeout 60m -run '^TestACVPSLHDSA$$' ./plugins/pqc

## bench: Go benchmarks plus gateway load runs; prints ratios
bench: build
	./scripts/bench.sh

## fuzz: run every fuzz target for FUZZTIME each (default 10s)
fuzz:
	./scripts/fuzz.sh

## vuln: govulncheck over both modules against an offline database built from the module proxy
vuln:
	./scripts/vuln.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'); exit 1)
	$(GO) vet ./...
	cd sdk && $(GO) vet ./...
	@# A plugin author builds on any platform: the author-side SDK,
	@# sdk/examples and plugintest (with the host side it runs) cross-compile.
	cd sdk && for os in darwin/arm64 windows/amd64; do \
		GOOS=$${os%/*} GOARCH=$${os#*/} $(GO) build $(SDK_PORTABLE) || exit 1; done

## gen: regenerate protobuf code (committed)
gen:
	./scripts/gen.sh

## gen-check: fail when regenerating changes anything
gen-check: gen
	git diff --exit-code -- sdk/proto

clean:
	rm -rf $(BIN)
