#!/usr/bin/env bash
# `make bench` (after `make build`): Go benchmarks in-process, then load runs
# against a real daemon started here on free loopback ports.
#
#   1. go test -bench over the crypto and pqc plugins and the sdk module;
#      "ours vs raw library" for every BenchmarkHandler<X>/BenchmarkRaw<X> pair.
#   2. POST /crypto/encrypt (AES-256-GCM, 1 KiB) through the gateway, through
#      tools/relay (a process that only copies bytes to the plugin's port: the
#      floor of any extra hop on this machine) and directly on the plugin's
#      port: req/s, p50, p99, gateway cost (goal ≤ 25%) beside the relay's;
#      the same through the gateway with development TLS, for information.
#   3. PQC through the gateway (ML-KEM-768, ML-DSA-65, SLH-DSA-SHA2-128f)
#      beside the in-process raw rate, when bin/aunsorm-plugin-pqc is a plugin.
#   4. Supervision: time from kill -9 of the crypto plugin to serving again,
#      how long the gateway takes to answer 503 meanwhile
#      (median and p99 over KILLS kills) and hot-swap duration under load.
#
# Raw output lands in .bench/ (gitignored); a summary table ends the run.
# Nothing here fails on a number: goals are reported as PASS/MISS.
#
# Knobs (environment):
#   BENCHTIME      go test -benchtime (default 200ms)
#   SKIP_GO=1      skip step 1; raw rates then come from .bench/go-bench.tsv
#   LOAD_N LOAD_C  encrypt load: requests per run, concurrency (20000, 32)
#   ROUNDS         alternating gateway/relay/direct runs (5); each ratio
#                  is the median of the rounds' own ratios (a round's runs
#                  share the machine's conditions), rates are medians too
#   PQC_N          requests per PQC operation (2000; a tenth for SLH-DSA)
#   KILLS SWAPS    kill -9 and hot-swap repetitions (20, 5)
#   CRYPTO_PLUGIN PQC_PLUGIN  plugin binaries (bin/aunsorm-plugin-{crypto,pqc})
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GO=${GO:-go}
BENCHTIME=${BENCHTIME:-200ms}
LOAD_N=${LOAD_N:-20000}
LOAD_C=${LOAD_C:-32}
ROUNDS=${ROUNDS:-5}
PQC_N=${PQC_N:-2000}
KILLS=${KILLS:-20}
SWAPS=${SWAPS:-5}
CRYPTO_PLUGIN=$(realpath -m "${CRYPTO_PLUGIN:-bin/aunsorm-plugin-crypto}")
PQC_PLUGIN=$(realpath -m "${PQC_PLUGIN:-bin/aunsorm-plugin-pqc}")
CRYPTO_PROC=$(basename "$CRYPTO_PLUGIN") # how pgrep -f finds the plugin process
GOAL_GATEWAY_COST=25 # percent of direct throughput the gateway may cost
OUT=$ROOT/.bench
mkdir -p "$OUT"

# The daemon must read only the configs written below.
for v in $(compgen -e); do
	case $v in AUNSORM_*) unset "$v" ;; esac
done

for b in bin/aunsormd "$CRYPTO_PLUGIN"; do
	[[ -x $b ]] || { echo "bench: $b missing; run make build" >&2; exit 1; }
done
for t in curl python3 pgrep; do
	command -v "$t" >/dev/null || { echo "bench: $t is required" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/aunsorm-bench.XXXXXX")
DAEMONS=()
BGJOBS=()
cleanup() {
	local pid
	for pid in "${BGJOBS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${DAEMONS[@]}"; do stop_pid "$pid"; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SUMMARY=()
# row SECTION METRIC VALUE [NOTE] adds a line to the final table.
row() { SUMMARY+=("$(printf '%-10s|%-44s|%-26s|%s' "$1" "$2" "$3" "${4:-}")"); }
say() { printf '\n== %s\n' "$*"; }
warn() { printf 'bench: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- helpers

# Python helpers: loadgen JSON summaries, free ports, the kill loop.
cat >"$TMP/h.py" <<'PY'
import json, os, signal, subprocess, sys, time, urllib.request, urllib.error, ssl

def load(path):
    with open(path) as f:
        return json.load(f)

def summ(path):
    """ok_rps p50 p99 requests ok non2xx failed status errors"""
    s = load(path)
    non2xx = s["responses"] - s["ok"]
    st = ",".join(f"{k}:{v}" for k, v in sorted(s["status"].items())) or "-"
    er = ",".join(f"{k}:{v}" for k, v in sorted(s["errors"].items())) or "-"
    l = s["latency_ms"]
    print(f'{s["ok_rps"]:.1f} {l["p50"]:.2f} {l["p99"]:.2f} {s["requests"]} {s["ok"]} {non2xx} {s["failed"]} {st} {er}')

def ports(n):
    import socket
    socks = []
    for _ in range(int(n)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()

def pair_ratio(n, a="gateway", b="direct"):
    """median over rounds of a/b ok_rps, then the min and max"""
    out = os.environ["OUT"]
    rs = sorted(load(f"{out}/load-{a}-encrypt-{r}.json")["ok_rps"] / load(f"{out}/load-{b}-encrypt-{r}.json")["ok_rps"]
                for r in range(1, int(n) + 1))
    m = len(rs) // 2
    med = rs[m] if len(rs) % 2 else (rs[m - 1] + rs[m]) / 2
    print(f"{med:.3f} {rs[0]:.3f} {rs[-1]:.3f}")

def median_run(*paths):
    """the run with the median ok_rps (lower median), then min and max ok_rps"""
    runs = sorted((load(p)["ok_rps"], p) for p in paths)
    rps, path = runs[(len(runs) - 1) // 2]
    print(f"{path} {runs[0][0]:.1f} {runs[-1][0]:.1f}")

def field(path, *keys):
    v = load(path)
    for k in keys:
        v = v[k]
    print(v)

def children(daemon, pattern):
    r = subprocess.run(["pgrep", "-P", daemon, "-f", pattern], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]

def get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return 0

def pct(xs, p):
    xs = sorted(xs)
    import math
    return xs[max(1, math.ceil(p / 100 * len(xs))) - 1]

def kills(daemon, pattern, url, n):
    """kill -9 the plugin n times; time from the kill to the first 200, and
    how long each 503 meanwhile took to arrive."""
    times, non200, lost, unavail = [], 0, 0, []
    for i in range(int(n)):
        deadline = time.monotonic() + 10
        while True:  # healthy and identifiable before each kill
            pids = children(daemon, pattern)
            if len(pids) == 1 and get(url) == 200:
                break
            if time.monotonic() > deadline:
                print(json.dumps({"error": f"kill {i}: plugin not serving before the kill (pids {pids})"}))
                return
            time.sleep(0.05)
        old = pids[0]
        t0 = time.monotonic()
        os.kill(old, signal.SIGKILL)
        while True:
            a = time.monotonic()
            st = get(url)
            if st == 200:
                break
            if st == 503:
                unavail.append((time.monotonic() - a) * 1000)
            non200 += 1
            if time.monotonic() - t0 > 10:
                lost += 1
                break
            time.sleep(0.005)
        dt = (time.monotonic() - t0) * 1000
        if st == 200:
            times.append(dt)
        new = children(daemon, pattern)
        if old in new:
            print(json.dumps({"error": f"kill {i}: pid {old} survived kill -9"}))
            return
        print(f"  kill {i + 1:2d}: pid {old} -> serving again after {dt:7.1f} ms", file=sys.stderr)
        time.sleep(0.2)
    if not times:
        print(json.dumps({"error": "the plugin never served again"}))
        return
    times.sort()
    print(json.dumps({"kills": int(n), "recovered": len(times), "median_ms": round(pct(times, 50), 1),
                      "p99_ms": round(pct(times, 99), 1), "max_ms": round(times[-1], 1),
                      "min_ms": round(times[0], 1), "non200_polls": non200, "not_recovered": lost,
                      "unavailable_n": len(unavail),
                      "unavailable_p50_ms": round(pct(unavail, 50), 1) if unavail else 0,
                      "unavailable_p99_ms": round(pct(unavail, 99), 1) if unavail else 0,
                      "unavailable_max_ms": round(max(unavail), 1) if unavail else 0}))

if __name__ == "__main__":
    {"summ": summ, "ports": ports, "field": field, "kills": kills, "median_run": median_run, "pair_ratio": pair_ratio}[sys.argv[1]](*sys.argv[2:])
PY
py() { python3 "$TMP/h.py" "$@"; }

# stop_pid PID: SIGTERM, then SIGKILL after 10 s.
stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# write_config FILE DATA_DIR GATEWAY_PORT TLS(disabled|dev) CRYPTO_PORT [PQC_PORT]
write_config() {
	local file=$1 data=$2 gw=$3 tls=$4 cp=$5 pp=${6:-}
	local tlsline='disabled = true'
	[[ $tls == dev ]] && tlsline='dev = true'
	cat >"$file" <<EOF
# Written by scripts/bench.sh for one benchmark run.
data_dir = "$data"
log {
  level  = "info" # the access log is on, as operators run it (batched: log.flush_interval)
  format = "json"
}
gateway {
  listen = "127.0.0.1:$gw"
  tls {
    $tlsline
  }
  rate_limit {
    requests_per_second = 0
  }
}
plugin "crypto" {
  command     = "$CRYPTO_PLUGIN"
  listen      = "127.0.0.1:$cp"
  max_crashes = 1000 # the kill-to-serving run kills it on purpose
}
EOF
	if [[ -n $pp ]]; then
		cat >>"$file" <<EOF
plugin "pqc" {
  command = "$PQC_PLUGIN"
  listen  = "127.0.0.1:$pp"
  config {
    implementation = "circl"
  }
}
EOF
	fi
}

# start_daemon NAME CONFIG: starts aunsormd in the background; sets DAEMON_PID.
start_daemon() {
	"$ROOT/bin/aunsormd" serve -config "$2" >"$OUT/daemon-$1.log" 2>&1 &
	DAEMON_PID=$!
	DAEMONS+=("$DAEMON_PID")
}

# wait_health URL PID [CACERT]: until GET URL is 200 (30 s), or the daemon exits.
wait_health() {
	local url=$1 pid=$2 ca=${3:-} code i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if [[ -z $ca || -f $ca ]]; then
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 ${ca:+--cacert "$ca"} "$url" || true)
			[[ $code == 200 ]] && return 0
		fi
		sleep 0.1
	done
	return 1
}

# start_relay TARGET: tools/relay on a free port in front of TARGET; sets
# RELAY (its URL) and RELAY_PID.
start_relay() {
	"$TMP/relay" -listen 127.0.0.1:0 -to "$1" >"$TMP/relay.out" 2>&1 &
	RELAY_PID=$!
	BGJOBS+=("$RELAY_PID")
	local i addr=
	for ((i = 0; i < 100; i++)); do
		addr=$(awk '/^listening /{print $2; exit}' "$TMP/relay.out")
		[[ -n $addr ]] && break
		sleep 0.05
	done
	[[ -n $addr ]] || { warn "the relay did not start: $(cat "$TMP/relay.out")"; exit 1; }
	RELAY=http://$addr
}

# post URL FILE [CACERT]: one POST with a JSON body; prints the response body.
post() {
	curl -sS --fail-with-body --max-time 30 ${3:+--cacert "$3"} -H 'Content-Type: application/json' --data-binary "@$2" "$1"
}

# load LABEL ARGS...: a loadgen run saved as $OUT/load-LABEL.json; prints
# "ok_rps p50 p99 requests ok non2xx failed status errors".
load() {
	local label=$1
	shift
	"$LOADGEN" -json "$@" >"$OUT/load-$label.json"
	py summ "$OUT/load-$label.json"
}

# report LABEL ARGS...: load, then print and return the numbers in R_*.
report() {
	local label=$1
	shift
	read -r R_RPS R_P50 R_P99 R_N R_OK R_NON2XX R_FAILED R_STATUS R_ERRORS < <(load "$label" "$@")
	printf '  %-28s %10s req/s   p50 %7s ms   p99 %7s ms   (%s requests, status %s, errors %s)\n' \
		"$label" "$R_RPS" "$R_P50" "$R_P99" "$R_N" "$R_STATUS" "$R_ERRORS"
	if ((R_NON2XX + R_FAILED > 0)); then
		warn "$label: $R_NON2XX non-2xx responses and $R_FAILED transport errors (see $OUT/load-$label.json)"
	fi
}

# cpu_ms PID: user+system CPU time the process has used, in ms (0 if gone).
cpu_ms() {
	local pid=${1:-}
	[[ -n $pid && -r /proc/$pid/stat ]] || { echo 0; return 0; }
	# Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' "/proc/$pid/stat"
}

# cpu_per_req DAEMON D0 PLUGIN P0 N [LABEL]: "LABEL X µs, plugin Y µs" of CPU
# per request since D0/P0 (LABEL names the first process; default daemon).
cpu_per_req() {
	local d1 p1
	d1=$(cpu_ms "$1") p1=$(cpu_ms "$3")
	awk -v d="$((d1 - $2))" -v p="$((p1 - $4))" -v n="$5" -v l="${6:-daemon}" \
		'BEGIN { if (n > 0) printf "%s %.0f us, plugin %.0f us\n", l, d * 1000 / n, p * 1000 / n; else print "-" }'
}

# b64 N BYTE: base64url (no padding) of N copies of BYTE (decimal).
b64() { python3 -c "import base64,sys; print(base64.urlsafe_b64encode(bytes([int(sys.argv[2])])*int(sys.argv[1])).rstrip(b'=').decode())" "$1" "$2"; }

# ------------------------------------------------ 1. Go benchmarks in-process

GOBENCH=$OUT/go-bench.txt
go_benchmarks() {
	say "Go benchmarks (benchtime $BENCHTIME)"
	: >"$GOBENCH"
	local pkgs=(./plugins/crypto ./daemon/internal/upstream ./daemon/internal/audit)
	[[ -d plugins/pqc ]] && pkgs+=(./plugins/pqc)
	if ! $GO test -run '^$' -bench . -benchmem -benchtime="$BENCHTIME" -count=1 -timeout 20m "${pkgs[@]}" 2>&1 | tee -a "$GOBENCH"; then
		warn "go test -bench failed for part of ${pkgs[*]}; continuing with what ran"
	fi
	if ! (cd sdk && $GO test -run '^$' -bench . -benchmem -benchtime="$BENCHTIME" -count=1 -timeout 20m ./...) 2>&1 | tee -a "$GOBENCH"; then
		warn "go test -bench failed for part of sdk/...; continuing with what ran"
	fi
	# One line per benchmark: package, name without the -GOMAXPROCS suffix, ns/op.
	awk '
		/^pkg: / { pkg = $2; next }
		/^Benchmark/ {
			name = $1; sub(/-[0-9]+$/, "", name)
			for (i = 3; i < NF; i++) if ($(i + 1) == "ns/op") { print pkg "\t" name "\t" $i; break }
		}' "$GOBENCH" >"$OUT/go-bench.tsv"
	printf '\n  %s benchmarks parsed into %s\n' "$(wc -l <"$OUT/go-bench.tsv")" "$OUT/go-bench.tsv"
}

# pairs: "ours vs raw library". BenchmarkHandler<X> pairs with BenchmarkRaw<X>
# (names compared case-insensitively, underscores ignored). For handler names
# of the form <Op>_<Rest> a raw benchmark named <Rest><Op> or <Op><Rest> also
# pairs ("~" in the table), and <Rest> alone pairs with the first handler that
# claims it (Encrypt_AES256GCM_1K with AES256GCM_1K, not the Decrypt after it).
pairs() {
	say "Ours (handler, in-process) vs raw library"
	: >"$OUT/pairs.tsv"
	awk -F'\t' '
		function norm(s) { s = tolower(s); gsub(/_/, "", s); return s }
		$2 ~ /^BenchmarkRaw/ { x = substr($2, 13); raw[$1 SUBSEP norm(x)] = $3; rawname[$1 SUBSEP norm(x)] = x; next }
		$2 ~ /^BenchmarkHandler/ { h[++nh] = $1 SUBSEP substr($2, 17); hns[nh] = $3 }
		END {
			printf "  %-40s %12s %12s %8s %s\n", "X (handler name)", "ours ns/op", "raw ns/op", "ratio", "raw"
			for (i = 1; i <= nh; i++) {
				split(h[i], parts, SUBSEP); pkg = parts[1]; x = parts[2]
				op = x; rest = ""
				if (index(x, "_") > 0) { op = substr(x, 1, index(x, "_") - 1); rest = substr(x, index(x, "_") + 1) }
				k = ""; how = "="
				if ((pkg SUBSEP norm(x)) in raw) k = pkg SUBSEP norm(x)
				else if (rest != "" && (pkg SUBSEP norm(rest op)) in raw) { k = pkg SUBSEP norm(rest op); how = "~" }
				else if (rest != "" && (pkg SUBSEP norm(op rest)) in raw) { k = pkg SUBSEP norm(op rest); how = "~" }
				if (k != "") claimed[k] = 1
				match_[i] = k; how_[i] = how
			}
			for (i = 1; i <= nh; i++) {
				if (match_[i] != "") continue
				split(h[i], parts, SUBSEP); pkg = parts[1]; x = parts[2]
				if (index(x, "_") == 0) continue
				k = pkg SUBSEP norm(substr(x, index(x, "_") + 1))
				if ((k in raw) && !(k in claimed)) { claimed[k] = 1; match_[i] = k; how_[i] = "~" }
			}
			for (i = 1; i <= nh; i++) {
				split(h[i], parts, SUBSEP); x = parts[2]; k = match_[i]
				if (k == "") { printf "  %-40s %12.0f %12s %8s %s\n", x, hns[i], "-", "-", "(no raw benchmark)"; continue }
				printf "  %-40s %12.0f %12.0f %7.2fx %s %s\n", x, hns[i], raw[k], hns[i] / raw[k], how_[i], rawname[k]
				printf "%s\t%.0f\t%.0f\t%.2f\n", x, hns[i], raw[k], hns[i] / raw[k] > pairfile
			}
		}' pairfile="$OUT/pairs.tsv" "$OUT/go-bench.tsv"
	local n
	n=$(wc -l <"$OUT/pairs.tsv")
	if ((n > 0)); then
		row "go" "handler/raw pairs" "$n" "median ratio $(sort -t$'\t' -k4 -g "$OUT/pairs.tsv" | awk -F'\t' '{r[NR] = $4} END {print r[int((NR + 1) / 2)] "x"}')"
		while IFS=$'\t' read -r x ours raw ratio; do
			case $x in Encrypt_AES256GCM_1K | Sign_Ed25519 | Hash_SHA256_1K | *ML-KEM-768*encap*circl* | *ML-DSA-65*sign* | *SLH-DSA-SHA2-128f*sign*)
				row "go" "$x" "${ratio}x" "ours ${ours} ns/op, raw ${raw} ns/op" ;;
			esac
		done <"$OUT/pairs.tsv"
	fi
}

# raw_rate REGEX...: ops/s (one goroutine) of the first BenchmarkRaw whose
# name matches the first REGEX that matches any (lower case, "_" and "-"
# removed: BenchmarkRaw/ML-KEM-768/encapsulate/circl is
# benchmarkraw/mlkem768/encapsulate/circl), or "-".
raw_rate() {
	local re r
	for re in "$@"; do
		r=$(awk -F'\t' -v re="$re" '
			{ n = tolower($2); gsub(/[_-]/, "", n) }
			n ~ /^benchmarkraw/ && n ~ re { printf "%.0f\n", 1e9 / $3; exit }' "$OUT/go-bench.tsv")
		[[ -n $r ]] && { echo "$r"; return 0; }
	done
	echo "-"
}

# ------------------------------------------- 2. gateway vs direct, encrypt

prepare_bodies() {
	printf '{"algorithm":"AES-256-GCM","key":"%s","plaintext":"%s"}' "$(b64 32 7)" "$(b64 1024 90)" >"$TMP/encrypt.json"
}

# encrypt_load: ROUNDS rounds of a gateway, a relay and a direct run; the
# median run (by throughput) of each side is reported, with the spread, and
# each ratio is the median of the rounds' own ratios, because the load
# generator, the daemon and the plugin share the machine's few cores.
encrypt_load() {
	say "POST /crypto/encrypt (AES-256-GCM, 1 KiB): $LOAD_N requests, $LOAD_C concurrent, $ROUNDS rounds"
	local body=$TMP/encrypt.json args
	post "$GW/crypto/encrypt" "$body" >/dev/null
	args=(-method POST -body-file "$body" -c "$LOAD_C" -n "$LOAD_N")
	# Warm-up (connections, caches), not reported.
	"$LOADGEN" -url "$GW/crypto/encrypt" "${args[@]}" -n 1000 >/dev/null
	"$LOADGEN" -url "$DIRECT/crypto/encrypt" "${args[@]}" -n 1000 >/dev/null
	"$LOADGEN" -url "$RELAY/crypto/encrypt" "${args[@]}" -n 1000 >/dev/null
	local plugin d0 p0 r side url front label
	plugin=$(pgrep -P "$DAEMON_PID" -f "$CRYPTO_PROC" | head -n 1 || true)
	for ((r = 1; r <= ROUNDS; r++)); do
		for side in gateway relay direct; do
			case $side in
			gateway) url=$GW ;;
			relay) url=$RELAY ;;
			direct) url=$DIRECT ;;
			esac
			front=$DAEMON_PID label=daemon
			[[ $side == relay ]] && front=$RELAY_PID label=relay
			d0=$(cpu_ms "$front") p0=$(cpu_ms "$plugin")
			report "$side-encrypt-$r" -url "$url/crypto/encrypt" "${args[@]}"
			cpu_per_req "$front" "$d0" "$plugin" "$p0" "$R_N" "$label" >"$OUT/load-$side-encrypt-$r.cpu"
			printf '    CPU per request: %s\n' "$(cat "$OUT/load-$side-encrypt-$r.cpu")"
		done
	done
	local g_file g_min g_max d_file d_min d_max
	read -r g_file g_min g_max < <(py median_run "$OUT"/load-gateway-encrypt-[0-9]*.json)
	read -r d_file d_min d_max < <(py median_run "$OUT"/load-direct-encrypt-[0-9]*.json)
	local g_rps g_p50 g_p99 d_rps d_p50 d_p99 rest
	read -r g_rps g_p50 g_p99 rest < <(py summ "$g_file")
	read -r d_rps d_p50 d_p99 rest < <(py summ "$d_file")
	local f_file f_rpsmin f_rpsmax f_rps f_p50 f_p99
	read -r f_file f_rpsmin f_rpsmax < <(py median_run "$OUT"/load-relay-encrypt-[0-9]*.json)
	read -r f_rps f_p50 f_p99 rest < <(py summ "$f_file")
	local g_cpu d_cpu
	g_cpu=$(cat "${g_file%.json}.cpu") d_cpu=$(cat "${d_file%.json}.cpu")
	local ratio r_min r_max cost verdict f_ratio f_min f_max f_cost o_ratio o_min o_max
	read -r ratio r_min r_max < <(OUT=$OUT py pair_ratio "$ROUNDS")
	read -r f_ratio f_min f_max < <(OUT=$OUT py pair_ratio "$ROUNDS" relay direct)
	read -r o_ratio o_min o_max < <(OUT=$OUT py pair_ratio "$ROUNDS" gateway relay)
	f_cost=$(python3 -c 'import sys; print(f"{(1 - float(sys.argv[1])) * 100:.1f}")' "$f_ratio")
	read -r cost verdict < <(python3 -c '
import sys
r, goal = float(sys.argv[1]), float(sys.argv[2])
c = (1 - r) * 100
print(f"{c:.1f}", "PASS" if c <= goal else "MISS")' "$ratio" "$GOAL_GATEWAY_COST")
	printf '  median of %s: gateway %s req/s (range %s-%s), direct %s req/s (range %s-%s)\n' \
		"$ROUNDS" "$g_rps" "$g_min" "$g_max" "$d_rps" "$d_min" "$d_max"
	printf '  gateway/direct throughput, median of the rounds: %s (range %s-%s); the gateway costs %s%% (goal <= %s%%): %s\n' \
		"$ratio" "$r_min" "$r_max" "$cost" "$GOAL_GATEWAY_COST" "$verdict"
	row "encrypt" "gateway (http), median of $ROUNDS" "$g_rps req/s" "p50 ${g_p50} ms, p99 ${g_p99} ms; range ${g_min}-${g_max}; CPU/req $g_cpu"
	row "encrypt" "byte relay to plugin port, median of $ROUNDS" "$f_rps req/s" "p50 ${f_p50} ms, p99 ${f_p99} ms; range ${f_rpsmin}-${f_rpsmax}; CPU/req $(cat "${f_file%.json}.cpu")"
	row "encrypt" "direct on plugin port, median of $ROUNDS" "$d_rps req/s" "p50 ${d_p50} ms, p99 ${d_p99} ms; range ${d_min}-${d_max}; CPU/req $d_cpu"
	printf '  relay/direct (a process that only copies bytes: the floor of any extra hop here): %s (range %s-%s), a cost of %s%%\n' \
		"$f_ratio" "$f_min" "$f_max" "$f_cost"
	printf '  gateway/relay (what the gateway does beyond the hop): %s (range %s-%s)\n' "$o_ratio" "$o_min" "$o_max"
	row "encrypt" "gateway/direct throughput (median of rounds)" "$ratio" "range ${r_min}-${r_max}; gateway cost ${cost}% (goal <= ${GOAL_GATEWAY_COST}%): $verdict"
	row "encrypt" "relay/direct: byte relay, floor of a hop" "$f_ratio" "range ${f_min}-${f_max}; any extra process costs ${f_cost}% here"
	row "encrypt" "gateway/relay: gateway beyond the hop" "$o_ratio" "range ${o_min}-${o_max}"
}

tls_load() {
	say "POST /crypto/encrypt through the gateway with development TLS"
	local data=$TMP/data-tls cfg=$TMP/tls.hcl gw cp
	read -r gw cp < <(py ports 2)
	write_config "$cfg" "$data" "$gw" dev "$cp"
	start_daemon tls "$cfg"
	local pid=$DAEMON_PID url=https://127.0.0.1:$gw ca=$data/tls/ca.pem
	if ! wait_health "$url/health" "$pid" "$ca"; then
		warn "the TLS daemon did not become healthy; see $OUT/daemon-tls.log"
		row "encrypt" "gateway (dev TLS)" "not measured" "daemon did not start"
		stop_pid "$pid"
		return 0
	fi
	local args=(-url "$url/crypto/encrypt" -cacert "$ca" -method POST -body-file "$TMP/encrypt.json" -c "$LOAD_C")
	"$LOADGEN" "${args[@]}" -n 1000 >/dev/null
	report gateway-tls-encrypt "${args[@]}" -n "$LOAD_N"
	row "encrypt" "gateway (dev TLS, information)" "$R_RPS req/s" "p50 ${R_P50} ms, p99 ${R_P99} ms"
	stop_pid "$pid"
}

# ---------------------------------------------------------------- 3. PQC

# pqc_prepare DIR MSG: keys (one-shot calls through the gateway) and request
# bodies for the PQC load. Each step checks itself: set -e does not apply to
# a function called as a condition.
pqc_prepare() {
	local d=$1 msg=$2
	printf '{"algorithm":"ML-KEM-768"}' >"$d/kem-keygen.json"
	printf '{"algorithm":"ML-DSA-65"}' >"$d/dsa-keygen.json"
	printf '{"algorithm":"SLH-DSA-SHA2-128f"}' >"$d/slh-keygen.json"
	post "$GW/pqc/ml-kem/keygen" "$d/kem-keygen.json" >"$d/kem-key.json" || return 1
	post "$GW/pqc/ml-dsa/keygen" "$d/dsa-keygen.json" >"$d/dsa-key.json" || return 1
	post "$GW/pqc/slh-dsa/keygen" "$d/slh-keygen.json" >"$d/slh-key.json" || return 1
	python3 - "$d" "$msg" <<'PY' || return 1
import json, sys
d, msg = sys.argv[1], sys.argv[2]
def rd(n): return json.load(open(f"{d}/{n}"))
def wr(n, o): json.dump(o, open(f"{d}/{n}", "w"))
kem, dsa, slh = rd("kem-key.json"), rd("dsa-key.json"), rd("slh-key.json")
wr("kem-encaps.json", {"algorithm": "ML-KEM-768", "public_key": kem["public_key"]})
wr("dsa-sign.json", {"algorithm": "ML-DSA-65", "private_key": dsa["private_key"], "message": msg})
wr("slh-sign.json", {"algorithm": "SLH-DSA-SHA2-128f", "private_key": slh["private_key"], "message": msg})
PY
	post "$GW/pqc/ml-kem/encapsulate" "$d/kem-encaps.json" >"$d/kem-ct.json" || return 1
	post "$GW/pqc/ml-dsa/sign" "$d/dsa-sign.json" >"$d/dsa-sig.json" || return 1
	python3 - "$d" "$msg" <<'PY' || return 1
import json, sys
d, msg = sys.argv[1], sys.argv[2]
def rd(n): return json.load(open(f"{d}/{n}"))
def wr(n, o): json.dump(o, open(f"{d}/{n}", "w"))
kem, dsa = rd("kem-key.json"), rd("dsa-key.json")
wr("kem-decaps.json", {"algorithm": "ML-KEM-768", "private_key": kem["private_key"], "ciphertext": rd("kem-ct.json")["ciphertext"]})
wr("dsa-verify.json", {"algorithm": "ML-DSA-65", "public_key": dsa["public_key"], "message": msg, "signature": rd("dsa-sig.json")["signature"]})
PY
	post "$GW/pqc/ml-kem/decapsulate" "$d/kem-decaps.json" >/dev/null || return 1
	local v
	v=$(post "$GW/pqc/ml-dsa/verify" "$d/dsa-verify.json") || return 1
	[[ $v == *'"valid":true'* ]] || warn "ML-DSA-65 verify of our own signature did not say valid: $v"
}

pqc_load() {
	say "PQC through the gateway ($PQC_N requests per operation, $LOAD_C concurrent)"
	local d=$TMP/pqc
	mkdir -p "$d"
	if ! pqc_prepare "$d" "$(b64 64 77)"; then
		warn "pqc set-up calls failed; skipping the PQC load"
		row "pqc" "through the gateway" "not measured" "keygen/encapsulate/sign set-up failed"
		return 0
	fi

	# label|path|body|raw benchmark regex (the load runs the circl backend)
	local ops=(
		"ML-KEM-768 encapsulate|/pqc/ml-kem/encapsulate|kem-encaps.json|mlkem768.*encap"
		"ML-KEM-768 decapsulate|/pqc/ml-kem/decapsulate|kem-decaps.json|mlkem768.*decap"
		"ML-DSA-65 sign|/pqc/ml-dsa/sign|dsa-sign.json|mldsa65.*sign"
		"ML-DSA-65 verify|/pqc/ml-dsa/verify|dsa-verify.json|mldsa65.*verif"
		"SLH-DSA-SHA2-128f sign|/pqc/slh-dsa/sign|slh-sign.json|slhdsa.*sha2128f.*sign"
	)
	local op label path body re n raw
	for op in "${ops[@]}"; do
		IFS='|' read -r label path body re <<<"$op"
		n=$PQC_N
		[[ $label == SLH* ]] && n=$((PQC_N / 10 > 50 ? PQC_N / 10 : 50)) # ~100x slower than ML-DSA
		report "pqc-${label// /-}" -url "$GW$path" -method POST -body-file "$d/$body" -c "$LOAD_C" -n "$n"
		raw=$(raw_rate "$re.*circl|circl.*$re" "$re")
		row "pqc" "$label (gateway)" "$R_RPS ops/s" "p50 ${R_P50} ms, p99 ${R_P99} ms; raw in-process ${raw} ops/s/core"
	done
	local circl gostd
	circl=$(raw_rate 'mlkem768.*encap.*circl|circl.*mlkem768.*encap|mlkem768.*circl.*encap')
	gostd=$(raw_rate 'mlkem768.*encap.*/(go|std|stdlib)$|mlkem768/(go|std|stdlib)/.*encap|(go|std|stdlib)/mlkem768.*encap')
	row "pqc" "ML-KEM-768 encapsulate raw: circl vs Go" "$circl vs $gostd ops/s" "from BenchmarkRaw* in plugins/pqc (- = none)"
}

# ------------------------------------------------------ 4. supervision

# kill_to_serving: kill -9 the crypto plugin KILLS times; time until a GET
# through the gateway answers 200 again (polled every 5 ms).
kill_to_serving() {
	say "kill -9 of the crypto plugin to serving again ($KILLS kills)"
	local res
	res=$(py kills "$DAEMON_PID" "$CRYPTO_PROC" "$GW/crypto/random?bytes=1" "$KILLS" | tail -n 1) || true
	[[ -n $res ]] || res='{"error": "the kill loop failed"}'
	echo "$res" >"$OUT/kill-to-serving.json"
	if [[ $res == *'"error"'* ]]; then
		warn "kill-to-serving: $res"
		row "supervise" "kill -9 to serving again" "not measured" "$res"
		return 0
	fi
	local med p99 mx polls lost
	med=$(py field "$OUT/kill-to-serving.json" median_ms)
	p99=$(py field "$OUT/kill-to-serving.json" p99_ms)
	mx=$(py field "$OUT/kill-to-serving.json" max_ms)
	polls=$(py field "$OUT/kill-to-serving.json" non200_polls)
	lost=$(py field "$OUT/kill-to-serving.json" not_recovered)
	local un up50 up99 umx
	un=$(py field "$OUT/kill-to-serving.json" unavailable_n)
	up50=$(py field "$OUT/kill-to-serving.json" unavailable_p50_ms)
	up99=$(py field "$OUT/kill-to-serving.json" unavailable_p99_ms)
	umx=$(py field "$OUT/kill-to-serving.json" unavailable_max_ms)
	printf '  median %s ms, p99 %s ms, max %s ms (%s non-200 polls in all; %s kills not serving within 10 s)\n' \
		"$med" "$p99" "$mx" "$polls" "$lost"
	printf '  503 while the plugin was down: %s answers, p50 %s ms, p99 %s ms, max %s ms\n' "$un" "$up50" "$up99" "$umx"
	row "supervise" "kill -9 to serving again (median / p99)" "$med / $p99 ms" "$KILLS kills, max $mx ms, $lost not back within 10 s; goal < 1000 ms"
	row "supervise" "503 while down (p50 / p99)" "$up50 / $up99 ms" "$un answers, max $umx ms; goal: p99 < 50 ms"
}

# swap_under_load: hot-swap the crypto plugin SWAPS times while a paced load
# (200 req/s) runs through the gateway; reports the reload call's duration
# and every failed request of the whole window.
swap_under_load() {
	say "hot swap of the crypto plugin under load (200 req/s, $SWAPS swaps)"
	local secs=$((SWAPS * 2 + 3)) lpid i t0 t1 times=() failed=0
	"$LOADGEN" -json -url "$GW/crypto/encrypt" -method POST -body-file "$TMP/encrypt.json" \
		-c 16 -rate 200 -duration "${secs}s" >"$OUT/load-swap.json" &
	lpid=$!
	BGJOBS+=("$lpid")
	sleep 2
	for ((i = 1; i <= SWAPS; i++)); do
		t0=$(date +%s%N)
		if ! "$ROOT/bin/aunsormd" plugin reload -config "$CFG" crypto >"$TMP/swap-$i.out" 2>&1; then
			failed=1
			break
		fi
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000000)))
		printf '  swap %d: %s ms (%s)\n' "$i" "${times[-1]}" "$(tr '\n' ' ' <"$TMP/swap-$i.out")"
		sleep 1
	done
	wait "$lpid" || true
	if ((failed)); then
		warn "plugin reload failed: $(head -c 300 "$TMP/swap-$i.out")"
		row "supervise" "hot swap under load" "not measured yet" "aunsormd plugin reload failed (hot swap not available?)"
		return 0
	fi
	read -r R_RPS R_P50 R_P99 R_N R_OK R_NON2XX R_FAILED R_STATUS R_ERRORS < <(py summ "$OUT/load-swap.json")
	local med mx
	med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
	mx=$(printf '%s\n' "${times[@]}" | sort -n | tail -n 1)
	printf '  swap duration median %s ms, max %s ms; load: %s requests, %s non-2xx, %s transport errors, p99 %s ms\n' \
		"$med" "$mx" "$R_N" "$R_NON2XX" "$R_FAILED" "$R_P99"
	row "supervise" "swap duration under load (median / max)" "$med / $mx ms" "$SWAPS swaps; $((R_NON2XX + R_FAILED)) of $R_N requests failed (goal 0)"
}

# ---------------------------------------------------------------- main

LOADAVG0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
LOADGEN=$TMP/loadgen
rm -f "$OUT"/load-*.json "$OUT"/load-*.cpu "$OUT"/kill-to-serving.json
$GO build -o "$LOADGEN" ./tools/loadgen
$GO build -o "$TMP/relay" ./tools/relay
prepare_bodies

if [[ ${SKIP_GO:-0} != 1 ]]; then
	go_benchmarks
	pairs
else
	[[ -f $OUT/go-bench.tsv ]] || : >"$OUT/go-bench.tsv" # raw rates from the last run, if any
fi

say "starting aunsormd (plain HTTP gateway, rate limit off)"
DATA=$TMP/data
CFG=$TMP/bench.hcl
read -r GWP CP PP < <(py ports 3)
WITH_PQC=0
[[ -x $PQC_PLUGIN ]] && WITH_PQC=1
write_config "$CFG" "$DATA" "$GWP" disabled "$CP" "$( ((WITH_PQC)) && echo "$PP")"
start_daemon main "$CFG"
GW=http://127.0.0.1:$GWP
DIRECT=http://127.0.0.1:$CP
if ! wait_health "$GW/health" "$DAEMON_PID"; then
	stop_pid "$DAEMON_PID"
	if ((WITH_PQC)); then
		warn "the daemon did not become healthy with the pqc plugin; retrying without it (see $OUT/daemon-main.log)"
		cp "$OUT/daemon-main.log" "$OUT/daemon-main-with-pqc.log"
		WITH_PQC=0
		write_config "$CFG" "$DATA" "$GWP" disabled "$CP"
		start_daemon main "$CFG"
		wait_health "$GW/health" "$DAEMON_PID" || { warn "aunsormd did not become healthy; see $OUT/daemon-main.log"; exit 1; }
	else
		warn "aunsormd did not become healthy; see $OUT/daemon-main.log"
		exit 1
	fi
fi
printf '  gateway %s, crypto plugin %s%s (pid %s)\n' "$GW" "$DIRECT" "$( ((WITH_PQC)) && echo ", pqc plugin 127.0.0.1:$PP")" "$DAEMON_PID"
start_relay "127.0.0.1:$CP"
printf '  byte relay to the crypto plugin %s (pid %s)\n' "$RELAY" "$RELAY_PID"

encrypt_load
if ((WITH_PQC)); then
	pqc_load
else
	row "pqc" "through the gateway" "not measured" "$PQC_PLUGIN missing or not serving"
fi
swap_under_load
kill_to_serving
stop_pid "$DAEMON_PID"
tls_load

say "summary ($(nproc) CPUs shared by the load generator, the daemon and its plugins; load average before the run: $LOADAVG0, now: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"))"
{
	printf '%-10s|%-44s|%-26s|%s\n' section metric value note
	printf '%s\n' "----------|--------------------------------------------|--------------------------|------------------------------"
	for sec in go encrypt pqc supervise; do
		for line in "${SUMMARY[@]}"; do
			if [[ $line == "$(printf '%-10s|' "$sec")"* ]]; then printf '%s\n' "$line"; fi
		done
	done
} >"$OUT/summary.txt"
if command -v column >/dev/null; then
	column -t -s '|' -o ' | ' "$OUT/summary.txt"
else
	cat "$OUT/summary.txt"
fi
printf '\nraw output: %s\n' "$OUT"
