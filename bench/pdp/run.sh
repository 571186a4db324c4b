#!/bin/bash
# PDP throughput and server time on real policies: for each service, an
# `oslorego serve --pdp-listen` on its registered defaults plus the
# operator's policy file (as TestPDPDelegated builds it), loaded by
# bench/pdp (keep-alive connections POSTing oslo HttpCheck bodies of the
# service's real-policy cases); decisions/s from the client, p50/p99 from
# the server's own oslorego_pdp_request_duration_seconds; and the server
# process's CPU time (/proc/PID/stat, user + system, its GC and other
# goroutines included) per request answered over warm-up and run, which a
# busy machine disturbs far less than the latencies.
#
#   bench/pdp/run.sh                                   # all five services
#   SERVICES="nova glance" CONNS=4 DURATION=5s bench/pdp/run.sh
#   MEMO=10000 bench/pdp/run.sh    # with the decision memo (default 0: every
#                                  # decision evaluated; the load repeats its cases)
#   PIN=0/1 bench/pdp/run.sh       # server on CPU 0, load generator on CPU 1
#                                  # (taskset; each Go process then runs with
#                                  # GOMAXPROCS 1): they do not take each other's core
#
# Prints one block per service and the load average before each; results
# and logs go to $WORK (default a temporary directory, removed after).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="${OSLOREGO_REPO:-$(cd "$HERE/../.." && pwd)}"
POLICIES="${POLICIES:-$REPO/../shared/policies}"
SERVICES="${SERVICES:-nova keystone cinder neutron glance}"
CONNS="${CONNS:-8}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONTENT_TYPE="${CONTENT_TYPE:-application/json}"
MEMO="${MEMO:-0}"                         # serve --decision-memo
DECISION_LOG="${DECISION_LOG:-file}"     # file (under $WORK, as in production) or off
PORT="${PORT:-19510}"                     # public listener; the PDP listens on PORT+1
KEEP_WORK="${KEEP_WORK:-0}"
PIN="${PIN:-}"                            # SERVER_CPUS/CLIENT_CPUS for taskset -c, e.g. 0/1 (default: not pinned)
SERVER_PIN=() CLIENT_PIN=()
if [ -n "$PIN" ]; then
  case "$PIN" in
    */*) SERVER_PIN=(taskset -c "${PIN%%/*}") CLIENT_PIN=(taskset -c "${PIN#*/}") ;;
    *) echo "PIN=$PIN: want SERVER_CPUS/CLIENT_CPUS, e.g. 0/1" >&2; exit 2 ;;
  esac
fi
if [ -z "${WORK:-}" ]; then WORK="$(mktemp -d /tmp/oslorego-pdp-bench.XXXXXX)"; OWN_WORK=1; else OWN_WORK=0; fi
mkdir -p "$WORK"

declare -A ORIGINAL=([nova]=nova-legacy.json [cinder]=cinder-legacy.json [glance]=glance-legacy.json)

SERVER_PID=""
# cpu_ticks is a process's user + system CPU time, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "$OWN_WORK" = 1 ] && [ "$KEEP_WORK" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

(cd "$REPO" && go build -o "$WORK/oslorego" ./cmd/oslorego && go build -o "$WORK/pdp-load" ./bench/pdp)

for svc in $SERVICES; do
  bundle="$WORK/$svc/bundle"
  mkdir -p "$bundle" "$WORK/$svc/data"
  cp "$POLICIES/$svc.meta.json" "$bundle/defaults.json"
  if [ -n "${ORIGINAL[$svc]:-}" ]; then cp "$POLICIES/${ORIGINAL[$svc]}" "$bundle/policy.json"; else echo '{}' > "$bundle/policy.json"; fi
  dlog=off
  [ "$DECISION_LOG" = file ] && dlog="$WORK/$svc/decisions.jsonl"
  "${SERVER_PIN[@]}" "$WORK/oslorego" serve --listen "127.0.0.1:$PORT" --pdp-listen "127.0.0.1:$((PORT + 1))" \
    --data-dir "$WORK/$svc/data" --auth headers --trusted-proxy 127.0.0.1/32 --bundle "$bundle" --decision-log "$dlog" \
    --decision-memo "$MEMO" 2> "$WORK/$svc/serve.log" &
  SERVER_PID=$!
  ready=0
  for _ in $(seq 200); do
    if curl -fsS "http://127.0.0.1:$((PORT + 1))/readyz" >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.1
  done
  if [ "$ready" != 1 ]; then echo "$svc: the PDP never got ready:" >&2; cat "$WORK/$svc/serve.log" >&2; exit 1; fi
  echo "== $svc (load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores${PIN:+; server on CPU ${PIN%%/*}, load generator on CPU ${PIN#*/}})"
  cpu0=$(cpu_ticks "$SERVER_PID")
  "${CLIENT_PIN[@]}" "$WORK/pdp-load" -policies "$POLICIES" -service "$svc" -conns "$CONNS" -duration "$DURATION" -warmup "$WARMUP" \
    -content-type "$CONTENT_TYPE" \
    -url "http://127.0.0.1:$((PORT + 1))/v1/oslo/check" -metrics "http://127.0.0.1:$PORT/metrics"
  cpu1=$(cpu_ticks "$SERVER_PID")
  requests=$(curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '/^oslorego_pdp_requests_total/ {n += $2} END {printf "%d", n}')
  awk -v t="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN {printf "server_cpu requests=%d cpu_s=%.2f us_per_request=%.0f\n", n, t / hz, 1e6 * t / hz / n}'
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
done
