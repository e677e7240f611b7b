#!/usr/bin/env bash
# Load benchmark: this framework against axum-login, same four routes, one run.
#
#   bench/load.sh                      # both servers on SQLite files
#   bench/load.sh postgres://postgres@127.0.0.1:5432/test   # ours on PostgreSQL
#
# Builds both servers in release (`bench/server`, a workspace member, and `bench/axum-login`,
# outside the workspace), starts each on a loopback port, runs `wrk --latency` against
# `/bare`, `/public`, `/protected` and `/perm` with the session cookie (and, for ours,
# `perm_key` and `perm_jwt`: `/perm` with an API key, then a JWT access token, as
# `Authorization: Bearer`), and prints one table:
# requests/s, p99 latency, server CPU time per request (utime+stime from /proc/<pid>/stat,
# before and after each run, divided by the request count), the ratios to the server's own
# `/bare`, and ours against axum-login per route. The axum-login anchor stays on SQLite
# (tower-sessions-sqlx-store's sqlite store) whatever the first argument.
#
# Each route is measured ROUNDS times, the routes taking turns, and the median is shown;
# the ratios to /bare are taken per round (each against the /bare run seconds before it),
# then their median, so that a slow stretch of the machine does not skew them.
#
# Environment: DURATION (default 5s per run), ROUNDS (3), THREADS (2), CONNECTIONS (32), WARMUP (1s),
# CARGO_TARGET_DIR (default: <repo>/target).
set -euo pipefail

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-1s}
PG_URL=${1:-}
ROUTES=(bare public protected perm)

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TARGET_DIR=$TARGET

if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

echo "building both servers (release)..." >&2
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p bench-server
cargo build --release --quiet --manifest-path "$ROOT/bench/axum-login/Cargo.toml"

WORK=$(mktemp -d)
PID=
cleanup() {
    if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

TICK=$(getconf CLK_TCK)
# utime + stime of a process, in clock ticks (fields 14 and 15; the names here have no spaces).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# A wrk duration (e.g. 1.23ms, 850.00us, 1.01s) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
        printf "%.2f", n }'
}

# The median of its arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A RPS P99 CPU BAD VS_BARE CPU_VS_BARE SERVER_ROUTES
NAMES=()

# run NAME BINARY PORT [DATABASE_URL]
run() {
    local name=$1 bin=$2 port=$3 url=${4:-}
    local out=$WORK/$name.out
    (
        cd "$WORK"
        if [[ -n $url ]]; then export DATABASE_URL=$url; fi
        BENCH_ADDR=127.0.0.1:$port exec "$bin" >"$out" 2>"$WORK/$name.err"
    ) &
    PID=$!
    for _ in $(seq 100); do
        grep -q '^LISTENING' "$out" 2>/dev/null && break
        kill -0 "$PID" 2>/dev/null || { cat "$WORK/$name.err" >&2; exit 1; }
        sleep 0.2
    done
    grep -q '^LISTENING' "$out" || { echo "$name did not start" >&2; exit 1; }
    local cookie apikey jwt
    cookie=$(sed -n 's/^COOKIE //p' "$out")
    apikey=$(sed -n 's/^APIKEY //p' "$out")
    jwt=$(sed -n 's/^JWT //p' "$out")
    # A server that prints an API key (a JWT) gets one more route: /perm with it as a bearer.
    local -a routes=("${ROUTES[@]}")
    if [[ -n $apikey ]]; then routes+=(perm_key); fi
    if [[ -n $jwt ]]; then routes+=(perm_jwt); fi
    SERVER_ROUTES[$name]="${routes[*]}"
    path_of() { if [[ $1 == perm_key || $1 == perm_jwt ]]; then echo perm; else echo "$1"; fi; }
    header_of() {
        case $1 in
            perm_key) echo "Authorization: Bearer $apikey" ;;
            perm_jwt) echo "Authorization: Bearer $jwt" ;;
            *) echo "Cookie: $cookie" ;;
        esac
    }
    NAMES+=("$name")
    for route in "${routes[@]}"; do
        local target=http://127.0.0.1:$port/$(path_of "$route")
        local status
        status=$(curl -s -o /dev/null -w '%{http_code}' -H "$(header_of "$route")" "$target")
        [[ $status == 200 ]] || { echo "$name $target answered $status" >&2; exit 1; }
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "$(header_of "$route")" "$target" >/dev/null
    done
    # Rounds over the routes in turn, so that a slow moment of the machine lands on every
    # route alike; each figure is the median of its rounds.
    local round rps_all p99_all cpu_all
    declare -A rps_all p99_all cpu_all
    for round in $(seq "$ROUNDS"); do
        for route in "${routes[@]}"; do
            local target=http://127.0.0.1:$port/$(path_of "$route")
            local before after res requests
            before=$(cpu_ticks "$PID")
            res=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$(header_of "$route")" "$target")
            after=$(cpu_ticks "$PID")
            requests=$(awk '/requests in/ {print $1}' <<<"$res")
            rps_all[$route]+=" $(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$res")"
            p99_all[$route]+=" $(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$res")")"
            cpu_all[$route]+=" $(awk -v t=$((after - before)) -v r="$requests" -v hz="$TICK" \
                'BEGIN {printf "%.2f", t / hz / r * 1e6}')"
            local bad
            bad=$(awk '/Non-2xx/ {print $NF}' <<<"$res")
            if [[ -n $bad ]]; then BAD[$name/$route]=$bad; fi
            echo "$name $route round $round: $(awk '/^Requests\/sec:/ {print $2}' <<<"$res") req/s" >&2
        done
    done
    for route in "${routes[@]}"; do
        RPS[$name/$route]=$(median ${rps_all[$route]})
        P99[$name/$route]=$(median ${p99_all[$route]})
        CPU[$name/$route]=$(median ${cpu_all[$route]})
        # Against /bare of the same round (measured seconds apart), then the median.
        local -a mine bare
        read -ra mine <<<"${rps_all[$route]}"
        read -ra bare <<<"${rps_all[bare]}"
        local ratios=() i
        for i in "${!mine[@]}"; do
            ratios+=("$(awk -v a="${mine[$i]}" -v b="${bare[$i]}" 'BEGIN {printf "%.4f", a / b}')")
        done
        VS_BARE[$name/$route]=$(median "${ratios[@]}")
        read -ra mine <<<"${cpu_all[$route]}"
        read -ra bare <<<"${cpu_all[bare]}"
        ratios=()
        for i in "${!mine[@]}"; do
            ratios+=("$(awk -v a="${mine[$i]}" -v b="${bare[$i]}" 'BEGIN {printf "%.4f", a / b}')")
        done
        CPU_VS_BARE[$name/$route]=$(median "${ratios[@]}")
    done
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
}

OURS=ours-sqlite
if [[ -n $PG_URL ]]; then OURS=ours-postgres; fi
run "$OURS" "$TARGET/release/bench-server" 3100 "${PG_URL:-sqlite://bench.db}"
run axum-login-sqlite "$TARGET/release/bench-axum-login" 3200 sqlite://bench-al.db

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, median of $ROUNDS rounds, $(nproc) cores"
echo
printf '| %-17s | %-10s | %8s | %8s | %12s | %12s | %10s | %30s |\n' \
    server route 'req/s' 'p99 ms' 'CPU µs/req' 'req/s ÷ bare' 'CPU ÷ bare' 'ours ÷ axum-login (req/s, CPU)'
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------------------  ------------ ---------- ---------- \
    -------------- ------------ ------------ ------------------------
for name in "${NAMES[@]}"; do
    read -ra routes <<<"${SERVER_ROUTES[$name]}"
    for route in "${routes[@]}"; do
        k=$name/$route
        vs=
        if [[ $name == "$OURS" ]]; then
            a=axum-login-sqlite/${route%_*}
            vs=$(awk -v r="${RPS[$k]}" -v ra="${RPS[$a]}" -v c="${CPU[$k]}" -v ca="${CPU[$a]}" \
                'BEGIN {printf "%.2f×, %.2f×", r / ra, c / ca}')
        fi
        note=
        if [[ -n ${BAD[$k]:-} ]]; then note=" (${BAD[$k]} non-2xx)"; fi
        printf '| %-17s | %-10s | %8s | %8s | %12s | %12s | %10s | %30s |\n' \
            "$name" "/$route$note" "${RPS[$k]}" "${P99[$k]}" "${CPU[$k]}" \
            "$(printf '%.2f' "${VS_BARE[$k]}")" \
            "$(printf '%.2f' "${CPU_VS_BARE[$k]}")" \
            "$vs"
    done
done
