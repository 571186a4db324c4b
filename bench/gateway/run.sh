#!/bin/bash
# Gateway overhead on loopback: downloads through `oslorego serve --upstream` against the same
# real glance-api directly, with wrk.  See docs/benchmarks.md ("Gateway mode").
#
#   bench/gateway/run.sh                          # small (4 KiB) and large (64 MiB), 10 s each
#   DURATION=5s LARGE_MB=16 bench/gateway/run.sh  # quicker
#
# Starts its own private keystone peer (../shared/keystone-peer, on a free port, the unpacked
# package root reused) and glance peer (../shared/glance-peer, FLAVOR=keystone, file store),
# creates the images as admin, and runs the gateway as the peer's admin identity (it reads every
# property). The caller is alice (member of demo, which owns the images) with one token: both
# Glance's keystonemiddleware and the gateway cache its validation, so neither measures Keystone.
# The gateway has no image cache here (cold path: every request goes upstream twice, metadata as
# the caller, then data; the gateway's own read is cached for --upstream-metadata-ttl).
# A second gateway fronts bench/gateway/replay.go, which answers each path and token from memory
# after asking Glance once: with the upstream's time near zero, that gateway's latency is what
# the gateway itself adds.
#
# Writes the wrk outputs and summary.md to $RESULTS (default bench/gateway/results/<UTC stamp>/,
# not committed) and prints the summary table.
set -euo pipefail

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
(cd "$REPO" && go build -o "$WORK/oslorego" ./cmd/oslorego && go build -o "$WORK/replay" bench/gateway/replay.go)
printf '%s\n' "$KEYSTONE_PW" >"$WORK/pw"
RPORT=$(free_port)
REPLAY="http://127.0.0.1:$RPORT"
"$WORK/replay" -listen "127.0.0.1:$RPORT" -upstream "$GLANCE" 2>"$WORK/replay.err" &
pids+=($!)
gateway() {  # PORT UPSTREAM
  "$WORK/oslorego" serve --listen "127.0.0.1:$1" --upstream "$2" --decision-log off \
    --auth keystone --keystone-url "$KEYSTONE_URL" --keystone-username admin --keystone-user-domain-name Default \
    --keystone-password-file "$WORK/pw" --keystone-project-name admin --keystone-project-domain-name Default \
    2>"$WORK/oslorego-$1.err" &
  pids+=($!)
  wait_200 "http://127.0.0.1:$1/readyz"
}
OPORT=$(free_port)
GATEWAY="http://127.0.0.1:$OPORT"
gateway "$OPORT" "$GLANCE"
OPORT2=$(free_port)
GATEWAY_REPLAY="http://127.0.0.1:$OPORT2"
gateway "$OPORT2" "$REPLAY"

# Each answers 200 with the image's bytes before anything is measured.
for base in "$GLANCE" "$GATEWAY" "$REPLAY" "$GATEWAY_REPLAY"; do
  for pair in "$SMALL:small" "$LARGE:large"; do
    [ "$base" = "$REPLAY" ] || [ "$base" = "$GATEWAY_REPLAY" ] && [ "${pair##*:}" = large ] && continue
    curl -sf -H "X-Auth-Token: $ALICE" -o "$WORK/check" "$base/v2/images/${pair%%:*}/file"
    cmp -s "$WORK/check" "$WORK/${pair##*:}.img" || { echo "$base: ${pair##*:} image differs" >&2; exit 1; }
  done
done
curl -sf -H "X-Auth-Token: $ALICE" -o /dev/null "$REPLAY/v2/images/$SMALL"   # recorded once

{
  echo "uptime: $(uptime)"
  echo "nproc: $(nproc); go: $(go version); wrk: $(wrk -v 2>&1 | head -1)"
  echo "revision: $(cd "$REPO" && git rev-parse --short HEAD)"
} >"$RESULTS/env.txt"

# run NAME URL THREADS CONNS: one wrk measurement (after an unrecorded warm-up)
run() {
  local out="$RESULTS/$1.wrk"
  [ "$WARMUP" = 0 ] || wrk -t"$3" -c"$4" -d"$WARMUP" --timeout "$WRK_TIMEOUT" -H "X-Auth-Token: $ALICE" "$2" >/dev/null
  echo "wrk -t$3 -c$4 -d$DURATION --timeout $WRK_TIMEOUT --latency -H 'X-Auth-Token: ...' $2" >"$out"
  wrk -t"$3" -c"$4" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency -H "X-Auth-Token: $ALICE" "$2" >>"$out"
}
echo "== measuring ($DURATION each)"
# Throughput: many connections.
run small-glance "$GLANCE/v2/images/$SMALL/file" "$SMALL_THREADS" "$SMALL_CONNS"
run small-gateway "$GATEWAY/v2/images/$SMALL/file" "$SMALL_THREADS" "$SMALL_CONNS"
run small-replay "$REPLAY/v2/images/$SMALL/file" "$SMALL_THREADS" "$SMALL_CONNS"
run small-gateway-replay "$GATEWAY_REPLAY/v2/images/$SMALL/file" "$SMALL_THREADS" "$SMALL_CONNS"
run large-glance "$GLANCE/v2/images/$LARGE/file" "$LARGE_THREADS" "$LARGE_CONNS"
run large-gateway "$GATEWAY/v2/images/$LARGE/file" "$LARGE_THREADS" "$LARGE_CONNS"
# Latency: one request at a time. The gateway's cold path is two upstream calls (the caller's
# GET /v2/images/ID, then the data), so the upstream's own time is the sum of the two.
run c1-meta-glance "$GLANCE/v2/images/$SMALL" 1 1
run c1-small-glance "$GLANCE/v2/images/$SMALL/file" 1 1
run c1-small-gateway "$GATEWAY/v2/images/$SMALL/file" 1 1
run c1-meta-replay "$REPLAY/v2/images/$SMALL" 1 1
run c1-small-replay "$REPLAY/v2/images/$SMALL/file" 1 1
run c1-small-gateway-replay "$GATEWAY_REPLAY/v2/images/$SMALL/file" 1 1

field() { awk -v k="$2" '$1 == k {print $2}' "$RESULTS/$1.wrk"; }
lat() { awk -v k="$2" '$1 == k {print $2; exit}' "$RESULTS/$1.wrk"; }
errors() { grep -E 'Non-2xx|Socket errors' "$RESULTS/$1.wrk" | tr '\n' ' ' || true; }
ms() {  # wrk's 950.00us / 12.48ms / 1.02s in ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'
}
adds() {  # PREFIX: the gateway's median minus the upstream's two medians
  local m f g
  m=$(ms "$(lat "c1-meta-$1" 50%)") f=$(ms "$(lat "c1-small-$1" 50%)") g=$(ms "$(lat "c1-small-gateway${2:-}" 50%)")
  echo "| $3 | $m ms | $f ms | $g ms | $(awk -v g="$g" -v m="$m" -v f="$f" 'BEGIN { printf "%.2f", g - m - f }') ms |"
}
{
  echo "| run | requests/s | transfer/s | latency avg | p50 | p99 | errors |"
  echo "|---|---|---|---|---|---|---|"
  for f in "$RESULTS"/*.wrk; do
    n=$(basename "$f" .wrk)
    echo "| $n | $(field "$n" Requests/sec:) | $(field "$n" Transfer/sec:) | $(lat "$n" Latency) | $(lat "$n" 50%) | $(lat "$n" 99%) | $(errors "$n") |"
  done
  echo
  echo "| one request at a time (medians) | upstream GET /v2/images/ID | upstream GET .../file | gateway GET .../file | the gateway adds |"
  echo "|---|---|---|---|---|"
  adds glance "" "real Glance"
  adds replay "-replay" "replayed Glance (upstream time near zero)"
} >"$RESULTS/summary.md"
cat "$RESULTS/summary.md"
echo "(raw outputs in $RESULTS)"
