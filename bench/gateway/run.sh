#!/bin/bash
# Gateway benchmarks on loopback, with wrk. See docs/benchmarks.md ("Gateway mode").
#
#   bench/gateway/run.sh                          # both parts: small (4 KiB) and large (64 MiB)
#   PARTS=cold bench/gateway/run.sh               # the cold path only
#   PARTS=cache ROUNDS=5 bench/gateway/run.sh     # warm cache vs cold vs embedded store only
#   DURATION=5s LARGE_MB=16 bench/gateway/run.sh  # quicker
#   PARTS=cache CALLER_VIEW_TTL=5s bench/gateway/run.sh  # the warm cache also keeps callers' views
#
# Starts its own private keystone peer (../shared/keystone-peer, on a free port, the unpacked
# package root reused) and glance peer (../shared/glance-peer, FLAVOR=keystone, file store),
# creates the images as admin, and runs the gateways as the peer's admin identity (it reads
# every property). The caller is alice (member of demo, which owns the images) with one token:
# Glance's keystonemiddleware and every oslorego cache its validation, so nothing measures
# Keystone.
#
# PARTS=cold: the cold path (no image cache: every download is the caller's
# GET /v2/images/ID upstream, then the data; the gateway's own read of the target is cached for
# --upstream-metadata-ttl and runs beside the caller's when it is not) against the same
# glance-api directly, and a second gateway in front of bench/gateway/replay.go, which answers
# each path and token from memory after asking Glance once: with the upstream's time near zero,
# that gateway's latency is what the gateway itself adds. The one-at-a-time runs also read the
# gateway's /metrics around them: the upstream calls' time as the gateway sees it
# (oslorego_upstream_request_duration_seconds) against its own time per request, and
# bench/gateway/paired.go alternates a gateway download with the two direct calls it makes,
# round by round ($PAIRED_N rounds, default 400), so that drift in Glance cancels out.
#
# PARTS=cache: downloads through a gateway with a warm --cache-dir, through the cold gateway,
# and from `oslorego serve` with the same images imported into its embedded store (same
# Keystone authentication, same policy), side by side: ROUNDS rounds, each running every
# server once per image size, the order rotating between rounds; the summary gives each
# round's ratios (the machine may be shared: compare within a round). CALLER_VIEW_TTL, when set,
# is the warm-cache gateway's --upstream-caller-view-ttl (default: unset, the caller's GET upstream
# on every download); the summary says which.
#
# Writes the wrk outputs and summary.md to $RESULTS (default bench/gateway/results/<UTC stamp>/,
# not committed) and prints the summary.
set -euo pipefail
export LC_ALL=C

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="${OSLOREGO_REPO:-$(cd "$HERE/../.." && pwd)}"
SHARED="${SHARED:-$(cd "$REPO/.." && pwd)/shared}"
[ -d "$SHARED/keystone-peer" ] || SHARED="/work/shared"

SMALL_BYTES="${SMALL_BYTES:-4096}"
LARGE_MB="${LARGE_MB:-64}"
DURATION="${DURATION:-10s}"
SMALL_THREADS="${SMALL_THREADS:-2}" SMALL_CONNS="${SMALL_CONNS:-8}"
LARGE_THREADS="${LARGE_THREADS:-1}" LARGE_CONNS="${LARGE_CONNS:-2}"
WRK_TIMEOUT="${WRK_TIMEOUT:-30s}"
WARMUP="${WARMUP:-2s}"
RESULTS="${RESULTS:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)}"
PARTS="${PARTS:-cold cache}"
ROUNDS="${ROUNDS:-3}"
PAIRED_N="${PAIRED_N:-400}"
CACHE_CONNS="${CACHE_CONNS:-$SMALL_CONNS}" CACHE_THREADS="${CACHE_THREADS:-$SMALL_THREADS}"
CALLER_VIEW_TTL="${CALLER_VIEW_TTL:-}"

command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v curl >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
mkdir -p "$RESULTS"
WORK="$(mktemp -d)"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  KEYSTONE_PEER_HOME="$WORK/keystone" "$SHARED/keystone-peer/keystone-peer.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_200() {  # URL: until it answers 200 (two minutes at most)
  for _ in $(seq 600); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0; sleep 0.2; done
  echo "no 200 from $1" >&2; return 1
}

echo "== keystone peer (private, on a free port)"
mkdir -p "$WORK/keystone"
for r in "${KEYSTONE_PEER_HOME:-}/root" "$HOME/.cache/keystone-peer/root" "$HOME/.cache/oslorego-ci/keystone-peer-root"; do
  if [ -f "$r/usr/lib/python3/dist-packages/keystone/server/wsgi.py" ]; then ln -s "$r" "$WORK/keystone/root"; break; fi
done
KPORT=$(free_port)
KEYSTONE_PEER_HOME="$WORK/keystone" PORT=$KPORT IMAGE_URL=http://127.0.0.1:9 "$SHARED/keystone-peer/keystone-peer.sh" >"$WORK/keystone.out" 2>&1
# shellcheck disable=SC1091
. "$WORK/keystone/state/env.sh"
token() {  # USER PROJECT
  curl -sf -D - -o /dev/null -H 'Content-Type: application/json' "$KEYSTONE_URL/v3/auth/tokens" -d \
    "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$1\",\"domain\":{\"id\":\"default\"},\"password\":\"$KEYSTONE_PW\"}}},\"scope\":{\"project\":{\"name\":\"$2\",\"domain\":{\"id\":\"default\"}}}}}" \
    | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'
}
ADMIN=$(token admin admin)
ALICE=$(token alice demo)

echo "== glance peer (FLAVOR=keystone, file store)"
GHOME="${GLANCE_PEER_HOME:-$HOME/.cache/glance-peer}"
[ -d "$GHOME/root/usr/lib/python3/dist-packages/glance" ] || "$SHARED/glance-peer/setup-root.sh" "$GHOME" >/dev/null
GPORT=$(free_port)
GLANCE="http://127.0.0.1:$GPORT"
FLAVOR=keystone PORT=$GPORT STATE="$WORK/glance" GLANCE_PEER_HOME="$GHOME" KEYSTONE_URL="$KEYSTONE_URL" \
  GLANCE_SERVICE_USER="$GLANCE_SERVICE_USER" GLANCE_SERVICE_PW="$GLANCE_SERVICE_PW" \
  "$SHARED/glance-peer/start.sh" >"$WORK/glance.out" 2>&1 &
pids+=($!)
wait_200 "$GLANCE/healthcheck"

image() {  # FILE: create and upload as admin, owner demo; prints the id
  local id
  id=$(curl -sf -H "X-Auth-Token: $ADMIN" -H 'Content-Type: application/json' "$GLANCE/v2/images" \
    -d "{\"name\":\"bench\",\"disk_format\":\"raw\",\"container_format\":\"bare\",\"visibility\":\"private\",\"owner\":\"$PROJECT_DEMO\"}" \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -sf -X PUT -H "X-Auth-Token: $ADMIN" -H 'Content-Type: application/octet-stream' --data-binary "@$1" "$GLANCE/v2/images/$id/file"
  echo "$id"
}
head -c "$SMALL_BYTES" /dev/urandom >"$WORK/small.img"
head -c "$((LARGE_MB << 20))" /dev/urandom >"$WORK/large.img"
SMALL=$(image "$WORK/small.img")
LARGE=$(image "$WORK/large.img")

echo "== oslorego serve --upstream (built from $REPO)"
(cd "$REPO" && go build -o "$WORK/oslorego" ./cmd/oslorego && go build -o "$WORK/replay" bench/gateway/replay.go \
  && go build -o "$WORK/paired" bench/gateway/paired.go)
printf '%s\n' "$KEYSTONE_PW" >"$WORK/pw"
RPORT=$(free_port)
REPLAY="http://127.0.0.1:$RPORT"
"$WORK/replay" -listen "127.0.0.1:$RPORT" -upstream "$GLANCE" 2>"$WORK/replay.err" &
pids+=($!)
serve() {  # PORT ARGS...: oslorego serve with keystone auth as the peer's admin
  local port=$1
  shift
  "$WORK/oslorego" serve --listen "127.0.0.1:$port" --decision-log off \
    --auth keystone --keystone-url "$KEYSTONE_URL" --keystone-username admin --keystone-user-domain-name Default \
    --keystone-password-file "$WORK/pw" --keystone-project-name admin --keystone-project-domain-name Default \
    "$@" 2>"$WORK/oslorego-$port.err" &
  pids+=($!)
  wait_200 "http://127.0.0.1:$port/readyz"
}
OPORT=$(free_port)
GATEWAY="http://127.0.0.1:$OPORT"
serve "$OPORT" --upstream "$GLANCE"
OPORT2=$(free_port)
GATEWAY_REPLAY="http://127.0.0.1:$OPORT2"
serve "$OPORT2" --upstream "$REPLAY"
# The warm cache, and the embedded store with the same images (same ids, owner demo).
CPORT=$(free_port)
CACHED="http://127.0.0.1:$CPORT"
serve "$CPORT" --upstream "$GLANCE" --cache-dir "$WORK/cache" --cache-size "$((2 * LARGE_MB + 64))M" \
  ${CALLER_VIEW_TTL:+--upstream-caller-view-ttl "$CALLER_VIEW_TTL"}
for pair in "$SMALL:small" "$LARGE:large"; do
  "$WORK/oslorego" image import "$WORK/${pair##*:}.img" --data-dir "$WORK/store" --id "${pair%%:*}" --name bench \
    --owner "$PROJECT_DEMO" --visibility private >/dev/null
done
EPORT=$(free_port)
EMBEDDED="http://127.0.0.1:$EPORT"
serve "$EPORT" --data-dir "$WORK/store"

# Each answers 200 with the image's bytes before anything is measured; the cached gateway's
# first downloads fill its cache.
for base in "$GLANCE" "$GATEWAY" "$REPLAY" "$GATEWAY_REPLAY" "$CACHED" "$EMBEDDED"; do
  for pair in "$SMALL:small" "$LARGE:large"; do
    [ "$base" = "$REPLAY" ] || [ "$base" = "$GATEWAY_REPLAY" ] && [ "${pair##*:}" = large ] && continue
    curl -sf -H "X-Auth-Token: $ALICE" -o "$WORK/check" "$base/v2/images/${pair%%:*}/file"
    cmp -s "$WORK/check" "$WORK/${pair##*:}.img" || { echo "$base: ${pair##*:} image differs" >&2; exit 1; }
  done
done
curl -sf -H "X-Auth-Token: $ALICE" -o /dev/null "$REPLAY/v2/images/$SMALL"   # recorded once
for _ in $(seq 100); do
  curl -s "$CACHED/metrics" | grep -q '^oslorego_image_cache_entries 2$' && break
  sleep 0.1
done
curl -s "$CACHED/metrics" | grep -q '^oslorego_image_cache_entries 2$' || { echo "the cache did not fill" >&2; exit 1; }

{
  echo "uptime: $(uptime)"
  echo "nproc: $(nproc); go: $(go version); wrk: $(wrk -v 2>&1 | head -1)"
  echo "revision: $(cd "$REPO" && git rev-parse --short HEAD)"
  echo "parts: $PARTS; rounds: $ROUNDS; duration: $DURATION; warm cache --upstream-caller-view-ttl: ${CALLER_VIEW_TTL:-unset (off)}"
} >"$RESULTS/env.txt"

# run NAME URL THREADS CONNS: one wrk measurement (after an unrecorded warm-up)
run() {
  local out="$RESULTS/$1.wrk"
  [ "$WARMUP" = 0 ] || wrk -t"$3" -c"$4" -d"$WARMUP" --timeout "$WRK_TIMEOUT" -H "X-Auth-Token: $ALICE" "$2" >/dev/null
  echo "wrk -t$3 -c$4 -d$DURATION --timeout $WRK_TIMEOUT --latency -H 'X-Auth-Token: ...' $2" >"$out"
  wrk -t"$3" -c"$4" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency -H "X-Auth-Token: $ALICE" "$2" >>"$out"
}
# metrics URL NAME: the gateway's counters and histogram sums, one "name value" a line
metrics() {
  curl -s "$1/metrics" | grep -E '^oslorego_(upstream_request_duration_seconds|http_request_duration_seconds)_(sum|count)|^oslorego_upstream_metadata_lookups_total' \
    | sed 's/ /\t/' | sort >"$RESULTS/$2"
}
field() { awk -v k="$2" '$1 == k {print $2}' "$RESULTS/$1.wrk"; }
lat() { awk -v k="$2" '$1 == k {print $2; exit}' "$RESULTS/$1.wrk"; }
errors() { grep -E 'Non-2xx|Socket errors' "$RESULTS/$1.wrk" | tr '\n' ' ' || true; }
ms() {  # wrk's 950.00us / 12.48ms / 1.02s in ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'
}
table() {  # the wrk runs NAMES...
  echo "| run | requests/s | transfer/s | latency avg | p50 | p99 | errors |"
  echo "|---|---|---|---|---|---|---|"
  local n
  for n in "$@"; do
    echo "| $n | $(field "$n" Requests/sec:) | $(field "$n" Transfer/sec:) | $(lat "$n" Latency) | $(lat "$n" 50%) | $(lat "$n" 99%) | $(errors "$n") |"
  done
}

: >"$RESULTS/summary.md"
case " $PARTS " in *" cold "*)
  echo "== cold path ($DURATION each)"
  # Throughput: many connections.
  run small-glance "$GLANCE/v2/images/$SMALL/file" "$SMALL_THREADS" "$SMALL_CONNS"
  run small-gateway "$GATEWAY/v2/images/$SMALL/file" "$SMALL_THREADS" "$SMALL_CONNS"
  run small-replay "$REPLAY/v2/images/$SMALL/file" "$SMALL_THREADS" "$SMALL_CONNS"
  run small-gateway-replay "$GATEWAY_REPLAY/v2/images/$SMALL/file" "$SMALL_THREADS" "$SMALL_CONNS"
  run large-glance "$GLANCE/v2/images/$LARGE/file" "$LARGE_THREADS" "$LARGE_CONNS"
  run large-gateway "$GATEWAY/v2/images/$LARGE/file" "$LARGE_THREADS" "$LARGE_CONNS"
  # Latency: one request at a time. The gateway's cold path is two upstream calls (the
  # caller's GET /v2/images/ID, then the data), so the upstream's own time is the sum of the
  # two; the gateway's /metrics around its run say how long those calls took as it saw them.
  run c1-meta-glance "$GLANCE/v2/images/$SMALL" 1 1
  run c1-small-glance "$GLANCE/v2/images/$SMALL/file" 1 1
  metrics "$GATEWAY" c1-before.metrics
  run c1-small-gateway "$GATEWAY/v2/images/$SMALL/file" 1 1
  metrics "$GATEWAY" c1-after.metrics
  run c1-meta-replay "$REPLAY/v2/images/$SMALL" 1 1
  run c1-small-replay "$REPLAY/v2/images/$SMALL/file" 1 1
  run c1-small-gateway-replay "$GATEWAY_REPLAY/v2/images/$SMALL/file" 1 1
  # The same comparison side by side: Glance's latency drifts within seconds, so the runs
  # above, minutes apart, can differ by more than the gateway costs; paired.go alternates a
  # gateway download and the two direct calls, round by round.
  "$WORK/paired" -glance "$GLANCE" -gateway "$GATEWAY" -token "$ALICE" -image "$SMALL" -n "$PAIRED_N" >"$RESULTS/paired.txt"

  adds() {  # PREFIX SUFFIX LABEL: the gateway's median minus the upstream's two medians
    local m f g
    m=$(ms "$(lat "c1-meta-$1" 50%)") f=$(ms "$(lat "c1-small-$1" 50%)") g=$(ms "$(lat "c1-small-gateway${2:-}" 50%)")
    echo "| $3 | $m ms | $f ms | $g ms | $(awk -v g="$g" -v m="$m" -v f="$f" 'BEGIN { printf "%.2f", g - m - f }') ms |"
  }
  # mean NAME LABELS: the mean of histogram NAME{LABELS} over the c1 gateway run, in ms
  mean() {
    join -t "$(printf '\t')" "$RESULTS/c1-before.metrics" "$RESULTS/c1-after.metrics" | awk -F '\t' -v s="$1_sum{$2}" -v c="$1_count{$2}" '
      $1 == s { sum = $3 - $2 } $1 == c { n = $3 - $2 }
      END { if (n > 0) printf "%.2f ms (n=%d)", 1000 * sum / n, n; else printf "-" }'
  }
  {
    echo "## Cold path"
    echo
    table small-glance small-gateway small-replay small-gateway-replay large-glance large-gateway \
      c1-meta-glance c1-small-glance c1-small-gateway c1-meta-replay c1-small-replay c1-small-gateway-replay
    echo
    echo "| one request at a time (medians) | upstream GET /v2/images/ID | upstream GET .../file | gateway GET .../file | the gateway adds |"
    echo "|---|---|---|---|---|"
    adds glance "" "real Glance"
    adds replay "-replay" "replayed Glance (upstream time near zero)"
    echo
    echo "Side by side, one request at a time, $PAIRED_N rounds alternating a gateway download and the two direct calls (bench/gateway/paired.go):"
    echo
    sed 's/^/    /' "$RESULTS/paired.txt"
    echo
    echo "During c1-small-gateway, as the gateway saw it (means from its /metrics):"
    echo
    echo "| request, server side | caller's GET /v2/images/ID | own read (misses) | data, to its headers |"
    echo "|---|---|---|---|"
    h=oslorego_upstream_request_duration_seconds
    echo "| $(mean oslorego_http_request_duration_seconds 'method="GET",route="/v2/images/:id/file"') | $(mean $h 'call="image"') | $(mean $h 'call="service_image"') | $(mean $h 'call="data"') |"
    echo
  } >>"$RESULTS/summary.md"
esac

case " $PARTS " in *" cache "*)
  echo "== warm cache, cold gateway, embedded store ($ROUNDS rounds of $DURATION each)"
  servers=(embedded warm cold)
  declare -A base=([embedded]="$EMBEDDED" [warm]="$CACHED" [cold]="$GATEWAY")
  declare -A load=()
  for r in $(seq "$ROUNDS"); do
    load[$r]=$(cut -d' ' -f1-3 /proc/loadavg)
    for size in small large; do
      id=$SMALL t=$CACHE_THREADS c=$CACHE_CONNS
      [ "$size" = large ] && id=$LARGE t=$LARGE_THREADS c=$LARGE_CONNS
      for i in 0 1 2; do
        s=${servers[$(((i + r) % 3))]}
        run "r$r-$size-$s" "${base[$s]}/v2/images/$id/file" "$t" "$c"
      done
    done
  done
  curl -s "$CACHED/metrics" | grep -E '^oslorego_(image_cache|upstream_caller_view)_lookups_total' >"$RESULTS/cache.metrics"
  {
    echo "## Warm cache vs cold gateway vs embedded store"
    echo
    echo "Revision $(cd "$REPO" && git rev-parse --short HEAD); $(uptime | sed 's/.*load/load/') at the end."
    echo "Warm cache gateway's --upstream-caller-view-ttl: ${CALLER_VIEW_TTL:-unset (off: the caller GETs the image upstream on every download)}."
    echo
    for size in small large; do
      names=()
      for r in $(seq "$ROUNDS"); do for s in "${servers[@]}"; do names+=("r$r-$size-$s"); done; done
      table "${names[@]}"
      echo
    done
    echo "| round | load average at its start | image | embedded downloads/s | warm cache | cold gateway | warm / embedded | cold / embedded |"
    echo "|---|---|---|---|---|---|---|---|"
    for r in $(seq "$ROUNDS"); do
      for size in small large; do
        e=$(field "r$r-$size-embedded" Requests/sec:) w=$(field "r$r-$size-warm" Requests/sec:) c=$(field "r$r-$size-cold" Requests/sec:)
        echo "| $r | ${load[$r]} | $size | $e | $w | $c | $(awk -v a="$w" -v b="$e" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$c" -v b="$e" 'BEGIN { printf "%.2f", a / b }') |"
      done
    done
    echo
    echo "Lookups on the warm gateway (image cache, caller views): $(tr '\n' ' ' <"$RESULTS/cache.metrics")"
  } >>"$RESULTS/summary.md"
esac
cat "$RESULTS/summary.md"
echo "(raw outputs in $RESULTS)"
