#!/usr/bin/env bash
# The whole suite: lint, the sdk module, the root module (unit, known-answer
# vectors, fuzz seed corpora), then the end-to-end tests against the real
# binaries on their own. No test asserts how long something takes (the
# timings are `make bench`'s); the end-to-end tests run apart only so that
# a failure is easy to place.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
echo "== lint"
make -s lint
echo "== sdk module"
(cd sdk && $GO test -count=1 -timeout 300s ./...)
echo "== root module"
$GO test -count=1 -timeout 600s $($GO list ./... | grep -v '/e2e$')
echo "== end to end"
$GO test -count=1 -timeout 600s ./e2e
