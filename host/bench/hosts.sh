#!/usr/bin/env bash
# Several hosts over PostgreSQL beside one host over SQLite, on the same machine, in the same run:
#   1. /check throughput of one host over SQLite, then of two hosts over one PostgreSQL (loaded
#      together, their throughputs summed);
#   2. revocation propagation: 100 tokens revoked through host A, each polled on host B (warm
#      cache) until denied; the time from A's answer to B's denial, median and max.
#
#   host/bench/hosts.sh [seconds]     (default 10; needs the built module: cargo xtask wasm)
#
# Needs wrk, python3 and PostgreSQL's server programs (Debian: apt-get install wrk postgresql);
# starts a private PostgreSQL in a temporary directory (as the postgres user when run as root).
set -euo pipefail

DURATION="${1:-10}"
CONNS=64
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
POLICY="$ROOT/www/pkg/scopegate_policy_bg.wasm"
KEY="bench-admin-key-$(date +%s%N)"
PGPASS="bench-pg-$(date +%s%N)"

[ -f "$POLICY" ] || { echo "missing $POLICY: build it with 'cargo xtask wasm'" >&2; exit 1; }
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL is missing: apt-get install postgresql" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

cd "$ROOT"
cargo build --release -q -p scopegate-host
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/scopegate"

WORK="$(mktemp -d)"
chmod 755 "$WORK"
# shellcheck source=pg.sh
. "$ROOT/host/bench/pg.sh"
cleanup() {
  # start_host runs in a command substitution, so its hosts' pids come back through files.
  for f in "$WORK"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_server_stop "$WORK/pgrun"
  rm -rf "$WORK"
}
trap cleanup EXIT

# PostgreSQL, durable commits as in production (fsync on).
pg_server_start "$WORK/pgrun"
"$PGBIN/psql" -X -q -h "$PGRUN/sock" -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE bench"
PGURL="postgres://postgres:$PGPASS@127.0.0.1:$PGPORT/bench"

start_host() { # name db -> prints the port
  local name="$1" db="$2" port
  port="$(free_port)"
  SCOPEGATE_ADMIN_KEY="$KEY" SCOPEGATE_LOG=warn "$BIN" serve --listen "127.0.0.1:$port" \
    --db "$db" --policy "$POLICY" --www "$WORK" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  echo $! >"$WORK/$name.pid"
  for _ in $(seq 1 300); do grep -q "listening" "$WORK/$name.out" 2>/dev/null && break; sleep 0.1; done
  grep -q "listening" "$WORK/$name.out" || { cat "$WORK/$name.err" >&2; exit 1; }
  echo "$port"
}
S_PORT="$(start_host sqlite "$WORK/bench.db")"
A_PORT="$(start_host pg-a "$PGURL")"
B_PORT="$(start_host pg-b "$PGURL")"

auth=(-H "Authorization: Bearer $KEY" -H "Content-Type: application/json")
EXPIRES="$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)"
seed() { # port -> prints a token
  local A="http://127.0.0.1:$1/admin/v1"
  curl -sf -X PUT "${auth[@]}" "$A/workspaces/acme" -d '{"plan":"premium"}' >/dev/null
  curl -sf -X PUT "${auth[@]}" "$A/workspaces/acme/projects/PROJ" >/dev/null
  curl -sf -X PUT "${auth[@]}" "$A/workspaces/acme/repositories/api" -d '{"project":"PROJ"}' >/dev/null
  curl -sf -X POST "${auth[@]}" "$A/workspaces/acme/repositories/api/access-tokens" \
    -d "{\"name\":\"bench\",\"scopes\":[\"pullrequest\"],\"expires_at\":\"$EXPIRES\"}" |
    sed -E 's/.*"token":"([^"]+)".*/\1/'
}
S_TOKEN="$(seed "$S_PORT")"
PG_TOKEN="$(seed "$A_PORT")"

wrk_check() { # port token threads conns -> requests/s
  wrk -t"$3" -c"$4" -d"${DURATION}s" -H "Authorization: Bearer $2" -H 'X-Original-Method: GET' \
    -H 'X-Original-URI: /2.0/repositories/acme/api/pullrequests?state=OPEN' \
    "http://127.0.0.1:$1/check" >"$WORK/wrk.$1.txt"
  if grep -q Non-2xx "$WORK/wrk.$1.txt"; then echo "non-2xx answers on $1" >&2; exit 1; fi
  awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk.$1.txt"
}

S_RPS="$(wrk_check "$S_PORT" "$S_TOKEN" 2 "$CONNS")"
wrk_check "$A_PORT" "$PG_TOKEN" 1 $((CONNS / 2)) >"$WORK/a.rps" &
WRK_A=$!
wrk_check "$B_PORT" "$PG_TOKEN" 1 $((CONNS / 2)) >"$WORK/b.rps"
wait "$WRK_A"
A_RPS="$(cat "$WORK/a.rps")"
B_RPS="$(cat "$WORK/b.rps")"

echo "connections: $CONNS in total, ${DURATION}s each, $(nproc) cores, decision memo on"
printf 'one host over SQLite:         %10.0f req/s\n' "$S_RPS"
printf 'two hosts over PostgreSQL:    %10.0f req/s  (A %.0f + B %.0f)\n' \
  "$(awk -v a="$A_RPS" -v b="$B_RPS" 'BEGIN { print a + b }')" "$A_RPS" "$B_RPS"

# Propagation: revoke through A, poll B until it denies.
python3 - "$A_PORT" "$B_PORT" "$KEY" "$EXPIRES" <<'PY'
import http.client, json, statistics, sys, time
a_port, b_port, key, expires = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
a = http.client.HTTPConnection("127.0.0.1", a_port)
b = http.client.HTTPConnection("127.0.0.1", b_port)
admin = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
def req(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    return r.status, r.read()
def check(token):
    return req(b, "GET", "/check", headers={"Authorization": "Bearer " + token,
        "X-Original-Method": "GET", "X-Original-URI": "/2.0/repositories/acme/api"})[0]
tokens = []
for i in range(100):
    s, body = req(a, "POST", "/admin/v1/workspaces/acme/repositories/api/access-tokens",
                  json.dumps({"name": "p%d" % i, "scopes": ["repository"], "expires_at": expires}), admin)
    assert s == 201, body
    v = json.loads(body)
    tokens.append((v["id"], v["token"]))
lat = []
for tid, tok in tokens:
    assert check(tok) == 200  # warm B's cache
    s, _ = req(a, "DELETE", "/admin/v1/access-tokens/" + tid, headers=admin)
    assert s == 204
    answered = time.monotonic()
    while check(tok) == 200:
        if time.monotonic() - answered > 5:
            sys.exit("revocation not seen on B within 5 s")
    lat.append((time.monotonic() - answered) * 1000)
print("revocation A -> B (100): median %.1f ms, max %.1f ms" % (statistics.median(lat), max(lat)))
PY
