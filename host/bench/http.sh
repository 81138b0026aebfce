#!/usr/bin/env bash
# /check over HTTP against a static-200 nginx on the same machine, in the same run.
#
#   host/bench/http.sh [seconds]      (per phase and round, default 3; needs the built module:
#                                      cargo xtask wasm)
#   ROUNDS=5 host/bench/http.sh       (rounds; in each, nginx and scopegate take turns)
#   MEMO=false host/bench/http.sh     (every check calls the module: no per-second decision memo)
#   RECORD=false host/bench/http.sh   (no usage or denied-check recording, to compare)
#   RATE=20000 host/bench/http.sh     (the offered load of the latency phase, requests/s)
#   WORKERS=2 host/bench/http.sh      (scopegate's worker threads and nginx's worker processes;
#                                      default 1, see below)
#
# Load: wrk, 64 connections, 2 threads. The two servers take turns in short phases, ROUNDS times
# (which goes first alternates): this machine's neighbours come and go within seconds, and a slow
# stretch that falls on one server's only long phase once moved the ratio from 80% to 54%. The
# figures are the medians over the rounds; every round is printed too. Two kinds of phase:
# - saturation: every connection sends its next request as soon as the answer arrives; gives
#   the throughputs and their ratio. Its p99 is mostly queueing: wrk shares the two cores with the
#   server, so even nginx's p99 there is several milliseconds.
# - fixed load: each connection waits a random 0..2*64000/RATE ms between requests, so the
#   servers see about RATE requests/s; gives the p99 a client sees below saturation.
# wrk's two threads run on the same two cores as the servers. Each server gets one worker by
# default (the goal compares them at the same number): with two, four busy threads share two
# cores and scopegate's saturation p99 grows by about half (2.3-2.6 ms against 1.7 ms, measured
# side by side) for 2-20% more throughput.
# Needs wrk and nginx (Debian: apt-get install wrk nginx-light); installs them when run as root.
set -euo pipefail

DURATION="${1:-3}"
ROUNDS="${ROUNDS:-5}"
CONNS=64
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
POLICY="$ROOT/www/pkg/scopegate_policy_bg.wasm"
SG_PORT="${SG_PORT:-18080}"
NGINX_PORT="${NGINX_PORT:-18081}"
KEY="bench-admin-key-$(date +%s%N)"

if [ ! -f "$POLICY" ]; then
  echo "missing $POLICY: build the policy module with 'cargo xtask wasm'" >&2
  exit 1
fi
for tool in wrk nginx; do
  if ! command -v "$tool" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$tool" ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get install -y wrk nginx-light >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk nginx-light >/dev/null; }
    else
      echo "$tool is missing: apt-get install wrk nginx-light" >&2
      exit 1
    fi
  fi
done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

cd "$ROOT"
cargo build --release -q -p scopegate-host
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/scopegate"

WORK="$(mktemp -d)"
cleanup() {
  [ -n "${SG_PID:-}" ] && kill "$SG_PID" 2>/dev/null || true
  [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# scopegate
SCOPEGATE_ADMIN_KEY="$KEY" SCOPEGATE_LOG=warn "$BIN" serve --listen "127.0.0.1:$SG_PORT" \
  --db "$WORK/bench.db" --policy "$POLICY" --www "$WORK" --decision-memo "${MEMO:-true}" --record-usage "${RECORD:-true}" --workers "${WORKERS:-1}" >"$WORK/sg.out" 2>"$WORK/sg.err" &
SG_PID=$!
for _ in $(seq 1 300); do grep -q "listening" "$WORK/sg.out" 2>/dev/null && break; sleep 0.1; done
grep -q "listening" "$WORK/sg.out" || { cat "$WORK/sg.err" >&2; exit 1; }
A="http://127.0.0.1:$SG_PORT/admin/v1"
auth=(-H "Authorization: Bearer $KEY" -H "Content-Type: application/json")
curl -sf -X PUT "${auth[@]}" "$A/workspaces/acme" -d '{"plan":"premium"}' >/dev/null
curl -sf -X PUT "${auth[@]}" "$A/workspaces/acme/projects/PROJ" >/dev/null
curl -sf -X PUT "${auth[@]}" "$A/workspaces/acme/repositories/api" -d '{"project":"PROJ"}' >/dev/null
EXPIRES="$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)"
TOKEN="$(curl -sf -X POST "${auth[@]}" "$A/workspaces/acme/repositories/api/access-tokens" \
  -d "{\"name\":\"bench\",\"scopes\":[\"pullrequest\"],\"expires_at\":\"$EXPIRES\"}" |
  sed -E 's/.*"token":"([^"]+)".*/\1/')"

# nginx answering 200 to everything, with as many worker processes as scopegate has worker
# threads: the goal compares the two at the same number of workers.
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
worker_processes ${WORKERS:-1};
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$NGINX_PORT; location / { return 200 "ok\n"; } }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" &
NGINX_PID=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$NGINX_PORT/" >/dev/null && break; sleep 0.1; done

status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  -H 'X-Original-Method: GET' -H 'X-Original-URI: /2.0/repositories/acme/api/pullrequests' \
  "http://127.0.0.1:$SG_PORT/check")"
[ "$status" = 200 ] || { echo "/check answered $status, expected 200" >&2; exit 1; }

to_ms() { # wrk prints 850.00us, 1.23ms or 1.01s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
RATE="${RATE:-20000}"
cat >"$WORK/paced.lua" <<LUA
-- Think time between a connection's requests, averaging $CONNS connections / $RATE per second.
local mean = $CONNS * 1000 / $RATE
function delay() return math.random(0, math.floor(2 * mean)) end
LUA
run() { # name url [headers...]
  local name="$1" url="$2"; shift 2
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency ${PACED:+-s "$WORK/paced.lua"} "$@" "$url" >"$WORK/$name.txt"
  local rps p99 non2xx
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/$name.txt")"
  p99="$(awk '$1 == "99%" { print $2 }' "$WORK/$name.txt")"
  non2xx="$(awk '/Non-2xx/ { print $NF }' "$WORK/$name.txt")"
  if [ -n "$non2xx" ]; then echo "$name: $non2xx non-2xx answers" >&2; exit 1; fi
  echo "$rps $(to_ms "$p99")"
}
# The client's address as a front names it, so that usage recording (RECORD) has one to keep.
CHECK_HEADERS=(-H "Authorization: Bearer $TOKEN" -H 'X-Original-Method: GET'
  -H 'X-Original-URI: /2.0/repositories/acme/api/pullrequests?state=OPEN'
  -H 'X-Real-IP: 192.0.2.10')

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
max() { printf '%s\n' "$@" | sort -g | tail -n 1; }
NG_RPS=() NG_P99=() SG_RPS=() SG_P99=() NG_PACED_P99=() SG_PACED_P99=() SG_PACED_RPS=()
echo "connections $CONNS, $ROUNDS rounds of ${DURATION}s phases, $(nproc) cores, wrk -t2, workers ${WORKERS:-1} each, decision memo ${MEMO:-true}, recording ${RECORD:-true}"
echo "round  nginx req/s  p99 ms | /check req/s  p99 ms | paced p99 ms: nginx  /check (req/s)"
for round in $(seq 1 "$ROUNDS"); do
  nginx_side() {
    read -r rps p99 < <(run nginx "http://127.0.0.1:$NGINX_PORT/")
    NG_RPS+=("$rps") NG_P99+=("$p99")
    read -r _ p99 < <(PACED=1 run nginx-paced "http://127.0.0.1:$NGINX_PORT/")
    NG_PACED_P99+=("$p99")
  }
  check_side() {
    read -r rps p99 < <(run check "http://127.0.0.1:$SG_PORT/check" "${CHECK_HEADERS[@]}")
    SG_RPS+=("$rps") SG_P99+=("$p99")
    read -r rps p99 < <(PACED=1 run check-paced "http://127.0.0.1:$SG_PORT/check" "${CHECK_HEADERS[@]}")
    SG_PACED_P99+=("$p99") SG_PACED_RPS+=("$rps")
  }
  if [ $((round % 2)) = 1 ]; then nginx_side; check_side; else check_side; nginx_side; fi
  i=$((round - 1))
  printf '%5d  %11.0f  %6s | %12.0f  %6s | %18s  %6s (%.0f)\n' "$round" "${NG_RPS[$i]}" "${NG_P99[$i]}" \
    "${SG_RPS[$i]}" "${SG_P99[$i]}" "${NG_PACED_P99[$i]}" "${SG_PACED_P99[$i]}" "${SG_PACED_RPS[$i]}"
done

NG="$(median "${NG_RPS[@]}")" SG="$(median "${SG_RPS[@]}")"
echo "medians over the rounds:"
printf 'nginx static 200:   %10.0f req/s   p99 %s ms\n' "$NG" "$(median "${NG_P99[@]}")"
printf 'scopegate /check:   %10.0f req/s   p99 %s ms\n' "$SG" "$(median "${SG_P99[@]}")"
awk -v a="$SG" -v b="$NG" 'BEGIN { printf "ratio:              %.1f%% of nginx (goal >= 75%%)\n", 100 * a / b }'
echo "at about $RATE req/s offered (wrk with think time):"
printf 'nginx static 200:   p99 %s ms (worst round %s)\n' "$(median "${NG_PACED_P99[@]}")" "$(max "${NG_PACED_P99[@]}")"
printf 'scopegate /check:   p99 %s ms (worst round %s; goal <= 1 ms), %.0f req/s answered\n' \
  "$(median "${SG_PACED_P99[@]}")" "$(max "${SG_PACED_P99[@]}")" "$(median "${SG_PACED_RPS[@]}")"
