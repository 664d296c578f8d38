#!/usr/bin/env bash
# Runs every native fuzz target of both modules for FUZZTIME (default 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}
run() { # dir
  (cd "$1" && for pkg in $(go list ./...); do
    for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
      echo "== $pkg $f"
      go test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" "$pkg"
    done
  done)
}
run .
run sdk
