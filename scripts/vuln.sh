#!/usr/bin/env bash
# `make vuln`: govulncheck over both modules (root and sdk) against a
# vulnerability database built here, offline, from the Go module proxy.
#
#   1. golang.org/x/vulndb (its data/osv: one OSV file per Go advisory) is
#      fetched with `go mod download`, at VULNDB_VERSION (default: the
#      newest the proxy serves).
#   2. Its own cmd/indexdb indexes data/osv into the database layout
#      govulncheck reads (index/, ID/), under $VULN_CACHE/db-<version>.
#   3. govulncheck (golang.org/x/vuln, pinned below) runs with
#      -db file://... on ./... of each module: only vulnerabilities that
#      our code can reach are reported, and any one of them fails the run.
#
# Everything is cached under .vuln/ (gitignored): a second run with the
# same database version fetches and builds nothing. With no proxy in
# reach, the newest database already cached is used.
#
# Knobs (environment):
#   GOVULNCHECK_VERSION  golang.org/x/vuln version (default below)
#   VULNDB_VERSION       golang.org/x/vulndb version or "latest" (default)
#   VULN_CACHE           cache directory (default .vuln)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GO=${GO:-go}
GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.9.0}
VULNDB_VERSION=${VULNDB_VERSION:-latest}
CACHE=$(realpath -m "${VULN_CACHE:-.vuln}")
mkdir -p "$CACHE/bin"

# Module queries run outside this repository's modules, so that neither
# go.mod nor go.sum is touched.
OUTSIDE=$(mktemp -d "${TMPDIR:-/tmp}/aunsorm-vuln.XXXXXX")
trap 'rm -rf "$OUTSIDE"' EXIT
outside() { (cd "$OUTSIDE" && GOWORK=off "$GO" "$@"); }

say() { printf '== %s\n' "$*"; }

# 1. The database version.
if ver=$(outside list -m -f '{{.Version}}' "golang.org/x/vulndb@$VULNDB_VERSION" 2>"$OUTSIDE/list.err"); then
	:
else
	ver=$(find "$CACHE" -maxdepth 1 -name 'db-*' -type d -printf '%f\n' 2>/dev/null | sed 's/^db-//' | sort | tail -n 1)
	if [[ -z $ver ]]; then
		echo "vuln: cannot resolve golang.org/x/vulndb@$VULNDB_VERSION and no database is cached:" >&2
		cat "$OUTSIDE/list.err" >&2
		exit 1
	fi
	echo "vuln: the module proxy is not reachable; using the cached database $ver" >&2
fi
DB=$CACHE/db-$ver

# 2. The indexed database, built once per version.
if [[ ! -f $DB/index/db.json ]]; then
	say "fetching golang.org/x/vulndb@$ver"
	dir=$(outside mod download -json "golang.org/x/vulndb@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -d $dir/data/osv ]] || { echo "vuln: golang.org/x/vulndb@$ver has no data/osv" >&2; exit 1; }
	indexdb=$CACHE/bin/indexdb-$ver
	if [[ ! -x $indexdb ]]; then
		say "building its cmd/indexdb"
		(cd "$dir" && GOFLAGS=-mod=readonly GOWORK=off "$GO" build -o "$indexdb.tmp" ./cmd/indexdb)
		mv "$indexdb.tmp" "$indexdb"
	fi
	say "indexing $(find "$dir/data/osv" -name '*.json' | wc -l) advisories into $DB"
	rm -rf "$DB.tmp"
	"$indexdb" -vulns "$dir/data/osv" -out "$DB.tmp"
	mv "$DB.tmp" "$DB"
fi

# 3. govulncheck, pinned.
GOVULNCHECK=$CACHE/bin/govulncheck-$GOVULNCHECK_VERSION
if [[ ! -x $GOVULNCHECK ]]; then
	say "installing golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
	(cd "$OUTSIDE" && GOBIN="$OUTSIDE/bin" GOWORK=off "$GO" install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION")
	mv "$OUTSIDE/bin/govulncheck" "$GOVULNCHECK"
fi

failed=()
for mod in . sdk; do
	say "govulncheck $mod (database golang.org/x/vulndb@$ver, $($GO env GOVERSION))"
	# Exit status 3: vulnerabilities reachable from the code were found.
	if ! (cd "$ROOT/$mod" && "$GOVULNCHECK" -db "file://$DB" ./...); then
		failed+=("$mod")
	fi
done
if ((${#failed[@]} > 0)); then
	echo "vuln: reachable vulnerabilities (or a failed check) in: ${failed[*]}" >&2
	exit 1
fi
echo "vuln: no reachable vulnerabilities in either module"
