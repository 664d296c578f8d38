#!/usr/bin/env bash
# The whole suite: lint, the sdk module, the root module (unit, known-answer
# vectors, fuzz seed corpora, e2e tests against the real binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
echo "== lint"
make -s lint
echo "== sdk module"
(cd sdk && $GO test -count=1 -timeout 300s ./...)
echo "== root module"
$GO test -count=1 -timeout 600s ./...
