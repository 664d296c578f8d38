#!/usr/bin/env bash
# Runs every native fuzz target of both modules for FUZZTIME (default 10s).
# Targets are found in the test sources (go test -list would run each
# package's TestMain, which builds binaries for the end-to-end tests); a
# package that does not compile fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
run() { # module dir
  (cd "$1" && $GO list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do
    for f in $(cat "$dir"/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p'); do
      echo "== $pkg $f"
      $GO test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" "$pkg"
    done
  done)
}
run .
run sdk
