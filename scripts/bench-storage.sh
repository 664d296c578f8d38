#!/usr/bin/env bash
# Storage side by side: the daemon's audit appends/s and the ledger example's
# write+read round trips/s, on SQLite and on PostgreSQL, on this machine.
# PostgreSQL is a private cluster the benchmarks start and remove
# (sdk/store/pgtest; Debian's postgresql package provides the binaries).
# `make bench` runs it after the load runs; it also runs on its own.
#
#   STORAGE_BENCHTIME  go test -benchtime (default 2s)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
BT=${STORAGE_BENCHTIME:-2s}
OUT=${OUT:-.bench}
mkdir -p "$OUT"
echo "== storage: audit appends and ledger write+read, SQLite vs PostgreSQL (benchtime $BT)"
$GO test -count=1 -run '^$' -bench '^BenchmarkAppendEngines$' -benchtime "$BT" ./daemon/internal/audit | tee "$OUT/storage-audit.txt"
(cd sdk && $GO test -count=1 -run '^$' -bench '^BenchmarkWriteRead$' -benchtime "$BT" ./examples/ledger) | tee "$OUT/storage-ledger.txt"
# metric <file> <sub-benchmark> <unit>: the value reported with unit.
metric() {
	awk -v name="$2" -v unit="$3" '$1 ~ "/"name"(-[0-9]+)?$" { for (i = 2; i <= NF; i++) if ($i == unit) print $(i-1) }' "$1" | tail -1
}
printf '\n%-36s %14s %14s\n' "storage" "sqlite" "postgres"
for row in "audit appends/s|$OUT/storage-audit.txt|appends/s" "ledger write+read round trips/s|$OUT/storage-ledger.txt|roundtrips/s"; do
	IFS='|' read -r label file unit <<<"$row"
	s=$(metric "$file" sqlite "$unit"); p=$(metric "$file" postgres "$unit")
	printf '%-36s %14s %14s\n' "$label" "${s:-not measured}" "${p:-not measured}"
done
