#!/bin/bash
# HTTP download benchmark on loopback: nginx vs the real Zed glance-api vs oslorego,
# all serving the same bytes at /v2/images/<id>/file.  See bench/serve/README.md.
#
#   bench/serve/run.sh                      # everything (oslorego is skipped if it has no `serve`)
#   SERVERS="nginx glance" bench/serve/run.sh
#   SMALL_DURATION=5s LARGE_DURATION=5s LARGE_MB=64 bench/serve/run.sh   # quick smoke run
#
# Writes wrk/curl outputs and summary.md to $RESULTS (default bench/serve/results/<UTC stamp>/)
# and prints the summary table.  Never commits anything; the oslorego binary goes to $WORK.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="${OSLOREGO_REPO:-$(cd "$HERE/../.." && pwd)}"   # the oslorego checkout to build

# ---- knobs (environment) -------------------------------------------------------------------
SERVERS="${SERVERS:-nginx glance oslorego}"      # any subset, in this order
SMALL_BYTES="${SMALL_BYTES:-4096}"                # small image: 4 KiB
LARGE_MB="${LARGE_MB:-256}"                       # large image: 256 MiB
SMALL_THREADS="${SMALL_THREADS:-2}"  SMALL_CONNS="${SMALL_CONNS:-16}"  SMALL_DURATION="${SMALL_DURATION:-15s}"
LARGE_THREADS="${LARGE_THREADS:-1}"  LARGE_CONNS="${LARGE_CONNS:-4}"   LARGE_DURATION="${LARGE_DURATION:-15s}"
WRK_TIMEOUT="${WRK_TIMEOUT:-60s}"                 # wrk's default 2s would count slow 256 MiB bodies as timeouts
WARMUP="${WARMUP:-2s}"                            # short unrecorded wrk run before each measurement; 0 = none
REPEAT="${REPEAT:-1}"                             # measurements per server and scenario (one table row each)
QUIET_BELOW="${QUIET_BELOW:-}"                    # e.g. 30: before each run wait until other jobs use < 30% CPU ...
QUIET_MAX_WAIT="${QUIET_MAX_WAIT:-120}"           # ... but at most this many seconds, then measure anyway
NGINX_PORT="${NGINX_PORT:-18080}"
NGINX_WORKERS="${NGINX_WORKERS:-auto}"
NGINX_SENDFILE="${NGINX_SENDFILE:-on}"            # off = read()+write(); on loopback that is faster (see README)
GLANCE_PORT="${GLANCE_PORT:-19392}"               # not 19292, so a peer started by someone else is left alone
GLANCE_WORKERS="${GLANCE_WORKERS:-0}"             # 0 = one process, as the glance-peer setup runs it
GLANCE_DEBUG="${GLANCE_DEBUG:-false}"             # the peer config has debug = true; a benchmark should not
GLANCE_PEER_HOME="${GLANCE_PEER_HOME:-$HOME/.cache/glance-peer}"
GLANCE_PEER_KIT="${GLANCE_PEER_KIT:-$REPO/../shared/glance-peer}"  # the peer kit: setup-root.sh, start.sh, glance-api.conf, ...
OSLOREGO_PORT="${OSLOREGO_PORT:-18090}"           # --auth headers
OSLOREGO_TOKEN_PORT="${OSLOREGO_TOKEN_PORT:-18091}"  # --auth token
OSLOREGO_SERVE_ARGS="${OSLOREGO_SERVE_ARGS:-}"     # extra `oslorego serve` flags, e.g. "--decision-log off"
PROJECT="${PROJECT:-p1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}"   # owner project (same shape as scenarios.py's P1)
USER_ID="${USER_ID:-u-xxxxxxxxxx}"
ROLES="${ROLES:-member}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS="${RESULTS:-$HERE/results/$STAMP}"
KEEP_WORK="${KEEP_WORK:-0}"                       # 1 = keep $WORK (test files, server state, logs)
if [ -z "${WORK:-}" ]; then WORK="$(mktemp -d /tmp/oslorego-bench.XXXXXX)"; OWN_WORK=1; else OWN_WORK=0; fi

mkdir -p "$RESULTS" "$WORK"
chmod 755 "$WORK"          # nginx workers run as nobody and must read the test files
SUMMARY_ROWS="$RESULTS/rows.tsv"
: > "$SUMMARY_ROWS"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- process bookkeeping: every server runs in its own session/process group -------------
PGIDS=()
SERVER_PGID=0
start_bg() {   # start_bg LOGFILE CMD... -> sets LAST_PID (also its process-group id) and SERVER_PGID
  local logf="$1"; shift
  setsid "$@" >"$logf" 2>&1 < /dev/null &
  LAST_PID=$!
  SERVER_PGID=$LAST_PID
  PGIDS+=("$LAST_PID")
}
stop_group() {   # stop_group PGID: TERM the group, wait up to 10 s, then KILL
  local pg="$1"
  kill -0 -- "-$pg" 2>/dev/null || return 0
  kill -TERM -- "-$pg" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$pg" 2>/dev/null || true
  wait "$pg" 2>/dev/null || true
}
cleanup() {
  local rc=$? pg
  for pg in "${PGIDS[@]}"; do stop_group "$pg"; done
  if [ "$KEEP_WORK" = 1 ] || [ "$OWN_WORK" = 0 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_http() {   # wait_http URL SECONDS PID [curl args...]: until 200, or fail if PID dies
  local url="$1" secs="$2" pid="$3" code=; shift 3
  for _ in $(seq $((secs * 5))); do
    kill -0 "$pid" 2>/dev/null || { log "server (pid $pid) exited while waiting for $url"; return 1; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.2
  done
  log "timeout waiting for 200 from $url (last: $code)"; return 1
}

# ---- tools -----------------------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"

# ---- test files (same bytes for every server) ------------------------------------------------
mkdir -p "$WORK/files"
head -c "$SMALL_BYTES" /dev/urandom > "$WORK/files/small.bin"
head -c "$((LARGE_MB * 1024 * 1024))" /dev/urandom > "$WORK/files/large.bin"
chmod 644 "$WORK/files/"*.bin; chmod 755 "$WORK/files"
SMALL_SIZE=$(stat -c %s "$WORK/files/small.bin"); LARGE_SIZE=$(stat -c %s "$WORK/files/large.bin")
SMALL_MD5=$(md5sum < "$WORK/files/small.bin" | cut -d' ' -f1)
LARGE_MD5=$(md5sum < "$WORK/files/large.bin" | cut -d' ' -f1)
log "test files: small $SMALL_SIZE B md5 $SMALL_MD5, large $LARGE_SIZE B md5 $LARGE_MD5 (in $WORK/files)"

# Identity headers of Glance's fakeauth pipeline (and oslorego --auth headers).
ID_HDRS=(-H "X-Identity-Status: Confirmed" -H "X-Roles: $ROLES" -H "X-Project-Id: $PROJECT" -H "X-User-Id: $USER_ID")

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(uname -srm); nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "mem: $(free -m | awk '/^Mem:/{print $2" MiB total, "$7" MiB available"}')"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "nginx: $("$NGINX_BIN" -v 2>&1)"
  echo "curl: $(curl --version | head -1)"
  echo "oslorego repo: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$( [ -n "$(git -C "$REPO" status --porcelain 2>/dev/null)" ] && echo ' (dirty tree)')"
  echo "small: $SMALL_SIZE bytes md5 $SMALL_MD5; large: $LARGE_SIZE bytes md5 $LARGE_MD5"
  echo "small wrk: -t$SMALL_THREADS -c$SMALL_CONNS -d$SMALL_DURATION --timeout $WRK_TIMEOUT; large wrk: -t$LARGE_THREADS -c$LARGE_CONNS -d$LARGE_DURATION --timeout $WRK_TIMEOUT; warmup $WARMUP"
  echo "uptime at start: $(uptime)"
} > "$RESULTS/env.txt"

# CPU ticks (user+system) used so far by the live processes of process group $1.
pg_cpu_ticks() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | sed 's/^.*) //' | awk -v pg="$1" '$3==pg{s+=$12+$13} END{print s+0}'
}
# Percent of all CPUs busy during one idle second (nothing of ours running): the background noise.
busy_pct() {
  local a b
  a=$(head -1 /proc/stat); sleep 1; b=$(head -1 /proc/stat)
  printf '%s\n%s\n' "$a" "$b" | awk '{t=0; for(i=2;i<=NF;i++) t+=$i; idle=$5+$6; if(NR==1){t0=t;i0=idle}else{printf "%.0f", 100*(1-(idle-i0)/(t-t0))}}'
}

# ---- checks and measurements -----------------------------------------------------------------
# check_download NAME URL SIZE MD5 [curl header args...]: 200, Content-Length, body md5; logs Content-MD5.
check_download() {
  local name="$1" url="$2" size="$3" md5="$4"; shift 4
  local hdr="$RESULTS/$name.headers" wout="$RESULTS/$name.curl" body_md5 code got cl cmd5
  body_md5=$(curl -sS --max-time 300 -D "$hdr" -w '%{stderr}%{http_code} %{size_download}\n' "$@" "$url" 2>"$wout" | md5sum | cut -d' ' -f1)
  read -r code got < <(tail -n1 "$wout") || true
  cl=$(awk -F': *' 'tolower($1)=="content-length"{gsub("\r","",$2); print $2}' "$hdr" | tail -n1)
  cmd5=$(awk -F': *' 'tolower($1)=="content-md5"{gsub("\r","",$2); print $2}' "$hdr" | tail -n1)
  echo "$name: status=$code content-length=${cl:-none} downloaded=$got body-md5=$body_md5 content-md5=${cmd5:-none}" | tee -a "$RESULTS/checks.txt" >&2
  CHECK_CMD5="${cmd5:--}"
  [ "$code" = 200 ] && [ "$cl" = "$size" ] && [ "$got" = "$size" ] && [ "$body_md5" = "$md5" ]
}

# measure SERVER SCENARIO URL THREADS CONNS DURATION [wrk header args...]
measure() {
  local server="$1" scen="$2" url="$3" t="$4" c="$5" d="$6"; shift 6
  local out="$RESULTS/$server-${scen/\#/-}.wrk" load rps tps mib lat errs
  local busy waited=0
  busy=$(busy_pct)
  if [ -n "$QUIET_BELOW" ]; then
    while [ "$busy" -ge "$QUIET_BELOW" ] && [ "$waited" -lt "$QUIET_MAX_WAIT" ]; do busy=$(busy_pct); waited=$((waited + 1)); done
    [ "$waited" -gt 0 ] && log "waited ${waited}s for background CPU < $QUIET_BELOW% (now $busy%)"
  fi
  load="$(awk '{print $1" "$2" "$3}' /proc/loadavg); idle-busy $busy%"
  if [ "$WARMUP" != 0 ]; then
    wrk -t"$t" -c"$c" -d"$WARMUP" --timeout "$WRK_TIMEOUT" "$@" "$url" > "$RESULTS/$server-${scen/\#/-}.warmup.wrk" 2>&1 || true
  fi
  { echo "# uptime: $(uptime)"
    printf '# command: wrk -t%s -c%s -d%s --timeout %s --latency' "$t" "$c" "$d" "$WRK_TIMEOUT"
    printf ' %q' "$@" "$url"; echo; } > "$out"
  log "$server $scen: wrk -t$t -c$c -d$d $url (load $load)"
  local c0 t0 t1 c1 srvcpu
  c0=$(pg_cpu_ticks "$SERVER_PGID"); t0=$(date +%s.%N)
  wrk -t"$t" -c"$c" -d"$d" --timeout "$WRK_TIMEOUT" --latency "$@" "$url" >> "$out" 2>&1 || log "wrk exited non-zero (see $out)"
  c1=$(pg_cpu_ticks "$SERVER_PGID"); t1=$(date +%s.%N)
  srvcpu=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.0f", (b-a)/hz/(e-s)*100}')
  echo "# server CPU during run: ${srvcpu}% of one core (process group $SERVER_PGID)" >> "$out"
  rps=$(awk '/^Requests\/sec:/{print $2}' "$out"); tps=$(awk '/^Transfer\/sec:/{print $2}' "$out")
  lat=$(awk '$1=="Latency" && a==""{a=$2} $1=="50%"{p50=$2} $1=="99%"{p99=$2} END{print a" / "p50" / "p99}' "$out")
  mib=$(echo "${tps:-0B}" | awk '{v=$1; u=$1; sub(/[A-Za-z]+$/,"",v); sub(/^[0-9.]+/,"",u);
        m=(u=="B")?1/1048576:(u=="KB")?1/1024:(u=="MB")?1:(u=="GB")?1024:(u=="TB")?1048576:0; printf "%.1f", v*m}')
  errs=$(awk '/Non-2xx or 3xx responses:/{n+=$NF} /Socket errors:/{gsub(",","");
        for(i=1;i<=NF;i++) if($i ~ /^[0-9]+$/) n+=$i} END{print n+0}' "$out")
  grep -E '^(Requests/sec|Transfer/sec|  Non-2xx|  Socket errors)' "$out" | sed "s/^/    /" >&2 || true
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$scen" "${rps:-?}" "${tps:-?}" "$mib" "${lat:-?}" "$errs" "$srvcpu%" "$CHECK_CMD5" "$load" >> "$SUMMARY_ROWS"
}

skip_row() { printf '%s\t%s\t-\t-\t-\t-\t-\t-\t-\t%s\n' "$1" "$2" "skipped: $3" >> "$SUMMARY_ROWS"; log "skip $1 $2: $3"; }

# run_pair SERVER SMALL_URL LARGE_URL [header args...]: check + measure both scenarios
run_pair() {
  local server="$1" surl="$2" lurl="$3" r; shift 3
  if check_download "$server-small" "$surl" "$SMALL_SIZE" "$SMALL_MD5" "$@"; then
    for r in $(seq "$REPEAT"); do
      measure "$server" "small$( [ "$REPEAT" -gt 1 ] && echo "#$r")" "$surl" "$SMALL_THREADS" "$SMALL_CONNS" "$SMALL_DURATION" "$@"
    done
  else skip_row "$server" small "curl check failed (see checks.txt)"; fi
  if check_download "$server-large" "$lurl" "$LARGE_SIZE" "$LARGE_MD5" "$@"; then
    for r in $(seq "$REPEAT"); do
      measure "$server" "large$( [ "$REPEAT" -gt 1 ] && echo "#$r")" "$lurl" "$LARGE_THREADS" "$LARGE_CONNS" "$LARGE_DURATION" "$@"
    done
  else skip_row "$server" large "curl check failed (see checks.txt)"; fi
}

# ---- 1. nginx --------------------------------------------------------------------------------
bench_nginx() {
  local d="$WORK/nginx" sid lid
  sid=$(cat /proc/sys/kernel/random/uuid); lid=$(cat /proc/sys/kernel/random/uuid)
  mkdir -p "$d"
  cat > "$d/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
  access_log off;
  sendfile $NGINX_SENDFILE;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /healthz { return 200 "ok\n"; }
    # Glance answers Content-MD5 (the image checksum); send the same header for parity.
    location = /v2/images/$sid/file { alias $WORK/files/small.bin; add_header Content-MD5 $SMALL_MD5; }
    location = /v2/images/$lid/file { alias $WORK/files/large.bin; add_header Content-MD5 $LARGE_MD5; }
  }
}
EOF
  cp "$d/nginx.conf" "$RESULTS/nginx.conf"
  echo "nginx: sendfile $NGINX_SENDFILE, worker_processes $NGINX_WORKERS" >> "$RESULTS/env.txt"
  "$NGINX_BIN" -t -q -p "$d" -c "$d/nginx.conf" -g 'daemon off;' 2>"$RESULTS/nginx-t.log" || { cat "$RESULTS/nginx-t.log" >&2; skip_row nginx all "nginx -t failed"; return 0; }
  start_bg "$d/stderr.log" "$NGINX_BIN" -p "$d" -c "$d/nginx.conf" -g 'daemon off;'
  local pid=$LAST_PID
  wait_http "http://127.0.0.1:$NGINX_PORT/healthz" 20 "$pid" || { skip_row nginx all "did not start"; stop_group "$pid"; return 0; }
  run_pair nginx "http://127.0.0.1:$NGINX_PORT/v2/images/$sid/file" "http://127.0.0.1:$NGINX_PORT/v2/images/$lid/file" "${ID_HDRS[@]}"
  stop_group "$pid"
  cp "$d/error.log" "$RESULTS/nginx-error.log" 2>/dev/null || true
}

# ---- 2. glance-api (Debian python3-glance 25.1.0, Zed) ---------------------------------------
glance_new_image() {   # glance_new_image BASE NAME FILE -> prints id
  local base="$1" name="$2" file="$3" resp id code
  resp=$(curl -sS --max-time 30 -X POST "${ID_HDRS[@]}" -H 'Content-Type: application/json' \
         -d "{\"name\": \"$name\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}" "$base/v2/images")
  id=$(printf '%s' "$resp" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') \
    || { log "glance create failed: $resp"; return 1; }
  code=$(curl -sS --max-time 600 -o "$RESULTS/glance-upload-$name.body" -w '%{http_code}' -X PUT "${ID_HDRS[@]}" \
         -H 'Content-Type: application/octet-stream' -H 'Expect:' --data-binary @"$file" "$base/v2/images/$id/file")
  [ "$code" = 204 ] || { log "glance upload of $name answered $code"; return 1; }
  echo "$id"
}

bench_glance() {
  local root="$GLANCE_PEER_HOME/root" d="$WORK/glance" base="http://127.0.0.1:$GLANCE_PORT" sid lid
  if ! PYTHONPATH="$root/usr/lib/python3/dist-packages" /usr/bin/python3 -c 'import glance.cmd.api' 2>/dev/null; then
    log "unpacking python3-glance into $GLANCE_PEER_HOME (once, ~2 min)"
    "$GLANCE_PEER_KIT/setup-root.sh" "$GLANCE_PEER_HOME" > "$RESULTS/glance-setup.log" 2>&1 \
      || { skip_row glance all "setup-root.sh failed (see glance-setup.log)"; return 0; }
  fi
  # Private copy of the peer files: start.sh reads glance-api.conf/paste.ini/policy.yaml next to itself.
  mkdir -p "$d/peer"
  cp "$GLANCE_PEER_KIT/"{start.sh,glance-api.conf,glance-api-paste.ini,policy.yaml} "$d/peer/"
  chmod u+w "$d/peer/"*
  sed -i -e "s/^debug = .*/debug = $GLANCE_DEBUG/" -e "s/^workers = .*/workers = $GLANCE_WORKERS/" "$d/peer/glance-api.conf"
  grep -E '^(workers|debug) =' "$d/peer/glance-api.conf" | sed 's/^/glance: /' >> "$RESULTS/env.txt"
  echo "glance: $(cd "$GLANCE_PEER_HOME/debs" 2>/dev/null && echo python3-glance_*.deb)" >> "$RESULTS/env.txt"
  start_bg "$d/start.log" env ROOT="$root" PORT="$GLANCE_PORT" STATE="$d/state" FLAVOR=fakeauth \
    POLICY="$d/peer/policy.yaml" "$d/peer/start.sh"
  local pid=$LAST_PID
  wait_http "$base/healthcheck" 120 "$pid" || { skip_row glance all "did not start (see $d/state/glance-api.log)";
    cp "$d/state/glance-api.log" "$RESULTS/glance-api.log" 2>/dev/null || true; stop_group "$pid"; return 0; }
  log "glance-api up on $base; uploading images"
  sid=$(glance_new_image "$base" small "$WORK/files/small.bin") && lid=$(glance_new_image "$base" large "$WORK/files/large.bin") \
    || { skip_row glance all "image create/upload failed"; stop_group "$pid"; return 0; }
  echo "glance images: small $sid large $lid" >> "$RESULTS/env.txt"
  run_pair glance "$base/v2/images/$sid/file" "$base/v2/images/$lid/file" "${ID_HDRS[@]}"
  stop_group "$pid"
  # Tracebacks at the very end of a wrk run are wrk closing connections mid-body (BrokenPipe/ConnectionReset).
  local glog="$d/state/glance-api.log"
  { echo "glance-api.log: $(grep -cE ' ERROR | Traceback' "$glog" 2>/dev/null || true) ERROR/Traceback lines; exception types:"
    grep -hoE '^[A-Za-z_.]*(Error|Exception|Exit)\b' "$glog" 2>/dev/null | sort | uniq -c | sed 's/^/  /' || true
    echo "glance-api.log: $(grep -cE '"GET /v2/images/[^ ]*/file HTTP/1.1" 200 ' "$glog" 2>/dev/null || true) downloads answered 200, $(grep -cE '"GET /v2/images/[^ ]*/file HTTP/1.1" [45][0-9][0-9] ' "$glog" 2>/dev/null || true) answered 4xx/5xx"
  } >> "$RESULTS/env.txt"
  grep -E ' ERROR |Traceback' -A20 "$glog" 2>/dev/null | head -400 > "$RESULTS/glance-api-errors.log" || true
  tail -n 50 "$glog" > "$RESULTS/glance-api.log.tail" 2>/dev/null || true
}

# ---- 3. oslorego -----------------------------------------------------------------------------
keep_log() {   # keep_log SRC DST: line count, first and last 30 lines (decision logs are ~20 MB per run)
  [ -f "$1" ] || return 0
  { echo "# $(wc -l < "$1") lines, $(stat -c %s "$1") bytes; first and last 30:"; head -n 30 "$1"; echo "# ..."; tail -n 30 "$1"; } > "$2"
}
bench_oslorego() {
  local d="$WORK/oslorego" bin="$WORK/oslorego/oslorego" sid lid tok pid
  local SERVE_EXTRA=()
  read -r -a SERVE_EXTRA <<< "$OSLOREGO_SERVE_ARGS"
  mkdir -p "$d"
  if ! (cd "$REPO" && go run ./cmd/oslorego serve --help) > "$RESULTS/oslorego-serve-help.txt" 2>&1; then
    log "oslorego: 'go run ./cmd/oslorego serve --help' failed — the serve command does not exist yet; skipping (see oslorego-serve-help.txt)"
    skip_row oslorego all "no 'serve' subcommand yet (go run ./cmd/oslorego serve --help failed)"
    return 0
  fi
  (cd "$REPO" && go build -o "$bin" ./cmd/oslorego) || { skip_row oslorego all "go build failed"; return 0; }
  sid=$("$bin" image import "$WORK/files/small.bin" --name small --owner "$PROJECT" --data-dir "$d/data" \
        | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') \
    && lid=$("$bin" image import "$WORK/files/large.bin" --name large --owner "$PROJECT" --data-dir "$d/data" \
        | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') \
    || { skip_row oslorego all "image import failed"; return 0; }
  echo "oslorego images: small $sid large $lid; serve extra args: ${OSLOREGO_SERVE_ARGS:-none}" >> "$RESULTS/env.txt"

  # 3a. --auth headers (same identity headers as Glance's fakeauth)
  local base="http://127.0.0.1:$OSLOREGO_PORT"
  start_bg "$d/serve-headers.log" "$bin" serve --listen "127.0.0.1:$OSLOREGO_PORT" --data-dir "$d/data" \
    --auth headers --trusted-proxy 127.0.0.1 "${SERVE_EXTRA[@]}"
  pid=$LAST_PID
  if wait_http "$base/healthz" 30 "$pid"; then
    run_pair oslorego-headers "$base/v2/images/$sid/file" "$base/v2/images/$lid/file" "${ID_HDRS[@]}"
  else skip_row oslorego-headers all "did not become healthy"; fi
  stop_group "$pid"; keep_log "$d/serve-headers.log" "$RESULTS/oslorego-serve-headers.log"

  # 3b. --auth token (X-Auth-Token from `oslorego token add`)
  tok=$("$bin" token add --user "$USER_ID" --project "$PROJECT" --roles "$ROLES" --data-dir "$d/data" | tr -d '[:space:]') \
    && [ -n "$tok" ] || { skip_row oslorego-token all "token add failed"; return 0; }
  base="http://127.0.0.1:$OSLOREGO_TOKEN_PORT"
  start_bg "$d/serve-token.log" "$bin" serve --listen "127.0.0.1:$OSLOREGO_TOKEN_PORT" --data-dir "$d/data" --auth token "${SERVE_EXTRA[@]}"
  pid=$LAST_PID
  if wait_http "$base/healthz" 30 "$pid"; then
    run_pair oslorego-token "$base/v2/images/$sid/file" "$base/v2/images/$lid/file" -H "X-Auth-Token: $tok"
  else skip_row oslorego-token all "did not become healthy"; fi
  stop_group "$pid"; keep_log "$d/serve-token.log" "$RESULTS/oslorego-serve-token.log"
}

# ---- run -------------------------------------------------------------------------------------
log "results -> $RESULTS ; work -> $WORK"
for s in $SERVERS; do
  case "$s" in
    nginx) bench_nginx ;;
    glance) bench_glance ;;
    oslorego) bench_oslorego ;;
    *) die "unknown server '$s' in SERVERS (nginx glance oslorego)" ;;
  esac
done
echo "uptime at end: $(uptime)" >> "$RESULTS/env.txt"

{
  echo "## Download benchmark ($STAMP)"
  echo
  echo "small = ${SMALL_SIZE} B, wrk -t$SMALL_THREADS -c$SMALL_CONNS -d$SMALL_DURATION; large = ${LARGE_SIZE} B, wrk -t$LARGE_THREADS -c$LARGE_CONNS -d$LARGE_DURATION (loopback, $(nproc) cores)"
  echo
  echo "| Server | Scenario | Requests/sec | Transfer/sec (wrk) | MiB/s | Latency avg / p50 / p99 | Errors | Server CPU | Content-MD5 | Before: load 1/5/15; idle-busy |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---|---|"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$10}' "$SUMMARY_ROWS"
  echo
  echo "Errors = wrk non-2xx responses + socket errors (connect/read/write/timeout). MiB/s is wrk's Transfer/sec (binary units, headers included)."
  echo "Server CPU = CPU time of the server's process group during the wrk run, % of one core (200% = both cores)."
  echo "idle-busy = % of all CPUs busy during a 1 s sample just before the run, with our servers idle and no wrk: other jobs on the machine."
} > "$RESULTS/summary.md"
cat "$RESULTS/summary.md"
log "done; raw outputs in $RESULTS"
