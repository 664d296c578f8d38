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

.PHONY: all build run test test-short bench fuzz lint gen gen-check clean

all: build

## build: bin/aunsormd and one bin/aunsorm-plugin-<kind> per plugin
build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/aunsormd ./daemon
	@for p in $(PLUGINS); do \
		echo "$(GO) build -o $(BIN)/aunsorm-plugin-$$p ./plugins/$$p"; \
		$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/aunsorm-plugin-$$p ./plugins/$$p || exit 1; \
	done

## run: build everything and start the daemon with config.hcl.example (data under ./data)
run: build
	./$(BIN)/aunsormd serve -config $(CONFIG)

## test: the whole suite (unit, known-answer, fuzz seeds, e2e against real binaries)
test:
	./scripts/test.sh

## bench: Go benchmarks plus gateway load runs; prints ratios
bench: build
	./scripts/bench.sh

## fuzz: run every fuzz target for FUZZTIME each (default 10s)
fuzz:
	./scripts/fuzz.sh

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
