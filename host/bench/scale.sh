#!/usr/bin/env bash
# scopegate at the size of a large estate, SQLite and PostgreSQL, in one run (ratios from that run):
#   1. a check's median latency for a cached token and for an uncached one, in a store of 1,000
#      tokens and in one of TOKENS (1,000,000), and the ratio (goal <= 1.2x); the time from starting
#      `scopegate serve` to its first answer at TOKENS (goal <= 2 s); the host's resident memory
#      (VmRSS) after each of those loads, beside the cache capacity it ran with;
#   2. /check throughput over ACTIVE (10,000) tokens round-robin while 20 admin writes a second run
#      (token creations, revocations of tokens outside the checked set, a repository moved between
#      two projects), against the same load without writes (goal >= 90%);
#   3. the edge snapshot at TOKENS: the full one's bytes and bytes per token, as JSON and gzipped as
#      an edge fetches it (goal <= 200 bytes a token), then after 10 changes
#      the refresh `GET /admin/v1/edge/snapshot?since=<version>` (goal: kilobytes);
#   4. token creation through the API with durable commits: sequential and 8 concurrent, tokens/s.
#
#   host/bench/scale.sh                      (under 10 minutes on 2 cores)
#   TOKENS=20000 ACTIVE=2000 SECONDS_PER_PHASE=3 host/bench/scale.sh      (a quick run)
#   BACKENDS=sqlite host/bench/scale.sh      (default "sqlite postgres")
#   BIN=/path/scopegate POLICY=/path/scopegate_policy_bg.wasm host/bench/scale.sh   (no cargo build)
#   STRICT=1 host/bench/scale.sh             (exit 1 when a goal is missed; else only setup fails)
# Other knobs: ACTIVE (10000), SECONDS_PER_PHASE (10: each measured side gets that much load),
# SMALL_TOKENS (1000), LATENCY_TOKENS (500), WRITES_PER_S (20), WORKERS (scopegate's worker
# threads; 1 as in http.sh, since wrk takes the same cores), ISSUE_SEQUENTIAL (1000),
# ISSUE_CONCURRENCY (8), WRITE_CLIENTS (4), KEEP_WORK=1 (keep the scratch directory and every
# wrk report).
#
# How, per backend:
# - Two stores: "1k" (SMALL_TOKENS in all) and "1M" (TOKENS in all). In each, `serve` creates
#   the schema, and workspace `bench` (projects BENCHA, BENCHB; repositories r000-r099, `mover`,
#   `writes`) and LATENCY_TOKENS real tokens are made through the admin API, so their secrets are
#   real. Filler tokens (never checked) then go in with bulk SQL, one transaction, with random
#   32-byte hashes, over an estate of workspaces (`Estate-0000`..., 10 projects and 250
#   repositories each, about 20 tokens a repository): 5% workspace, 15% project, 80% repository
#   tokens, 10% revoked, 10% expired, 10% without expiry. Last, the 1M store gets its ACTIVE
#   tokens through the API (part 4 times that).
# - The machine is shared and its speed changes within seconds, so the two sides of each
#   comparison run in alternating batches (ABBA order), not one after the other, and a ratio is
#   the median of the batches' ratios: both stores' hosts run at once, idle but for the batch.
# - Latency: wrk with one connection and one thread, i.e. a sequential client (each request sent
#   when the previous answer arrived: no queueing), round-robin over the store's LATENCY_TOKENS
#   real tokens, in 1 s batches, SECONDS_PER_PHASE of them a side; the median of the batches'
#   medians. "Cached": the defaults (a cache of 100,000 tokens, the decision memo on), after a
#   2 s warm-up; "uncached": `--cache-entries 1 --decision-memo false`, so every check reads its
#   token and repository from the store (the OS page cache stays warm: this is the store's
#   lookup, not the disk's).
# - Startup: from launching `serve` to the first 200 from /check for a real token (curl polling
#   every 5 ms), the store's files already in the OS page cache (a restart, not a cold boot).
# - Throughput: wrk, 2 threads, 64 connections (as http.sh), round-robin over the ACTIVE tokens,
#   in 2 s batches without and with writes (WRITE_CLIENTS (4) curl processes a write batch, each
#   paced by its own --rate over one kept-alive connection, WRITES_PER_S in all), SECONDS_PER_PHASE
#   a side.
# - The snapshot needs an admin credential: the SCOPEGATE_ADMIN_KEY the hosts run with. A binary
#   that does not know `?since=` answers the full snapshot again (no "since" field): reported so.
#
# Needs wrk, curl, python3, sqlite3 (for SQLite) and PostgreSQL's server programs (for PostgreSQL)
# (Debian: apt-get install wrk curl python3 sqlite3 postgresql); installs wrk when run as root.
# Starts a private PostgreSQL in a temporary directory (as the postgres user when run as root),
# fsync on, as hosts.sh does. Scratch files go to a mktemp directory (TMPDIR): about 2 GB at the
# default size. Helpers: scale/round-robin.lua (wrk), scale/issue.py (issuing through the API).
set -euo pipefail
export LC_ALL=C

TOKENS="${TOKENS:-1000000}"
ACTIVE="${ACTIVE:-10000}"
PHASE="${SECONDS_PER_PHASE:-10}"
BACKENDS="${BACKENDS:-sqlite postgres}"
SMALL="${SMALL_TOKENS:-1000}"
LAT_N="${LATENCY_TOKENS:-500}"
WRITES_PER_S="${WRITES_PER_S:-20}"
WORKERS="${WORKERS:-1}"
ISSUE_SEQ="${ISSUE_SEQUENTIAL:-1000}"
ISSUE_CONC="${ISSUE_CONCURRENCY:-8}"
WRITE_CLIENTS="${WRITE_CLIENTS:-4}"
CONNS=64
LAT_BATCH=1  # seconds of one latency batch
RPS_BATCH=2  # seconds of one throughput batch
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/host/bench/scale"
KEY="bench-admin-key-$(date +%s%N)"
PGPASS="bench-pg-$(date +%s%N)"
BENCH_REPOS=100 # r000..r099 in workspace bench: where the real tokens are bound
T_START="${EPOCHREALTIME/./}"

die() { echo "scale.sh: $*" >&2; exit 1; }
say() { awk -v a="$T_START" -v b="${EPOCHREALTIME/./}" -v m="$*" 'BEGIN { printf "[%6.1fs] %s\n", (b - a) / 1e6, m }' >&2; }

for v in TOKENS ACTIVE PHASE SMALL LAT_N WRITES_PER_S WORKERS ISSUE_SEQ ISSUE_CONC WRITE_CLIENTS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[ "$LAT_N" -ge 1 ] && [ "$LAT_N" -lt "$SMALL" ] || die "LATENCY_TOKENS ($LAT_N) must be 1..SMALL_TOKENS-1 ($SMALL)"
[ "$ACTIVE" -ge 1 ] || die "ACTIVE must be at least 1"
[ $((LAT_N + ACTIVE + 100)) -le "$TOKENS" ] || die "TOKENS ($TOKENS) must be at least LATENCY_TOKENS + ACTIVE + 100"
[ "$TOKENS" -gt "$SMALL" ] || die "TOKENS ($TOKENS) must be more than SMALL_TOKENS ($SMALL)"
[ "$WRITES_PER_S" -ge 1 ] || die "WRITES_PER_S must be at least 1"
[ "$ISSUE_CONC" -ge 1 ] || die "ISSUE_CONCURRENCY must be at least 1"
[ "$WRITE_CLIENTS" -ge 1 ] || die "WRITE_CLIENTS must be at least 1"
[ "$PHASE" -ge 2 ] || die "SECONDS_PER_PHASE must be at least 2"
[ "$ISSUE_SEQ" -le "$ACTIVE" ] || ISSUE_SEQ="$ACTIVE"
for b in $BACKENDS; do
  case "$b" in sqlite | postgres) ;; *) die "BACKENDS: unknown backend '$b' (sqlite, postgres)" ;; esac
done
FILL_SMALL=$((SMALL - LAT_N))
FILL_LARGE=$((TOKENS - LAT_N - ACTIVE))
LAT_ROUNDS=$((PHASE / LAT_BATCH))
RPS_ROUNDS=$((PHASE / RPS_BATCH))

# Tools.
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    die "wrk is missing: apt-get install wrk"
  fi
fi
for tool in curl python3; do command -v "$tool" >/dev/null || die "$tool is missing"; done
case " $BACKENDS " in *" sqlite "*) command -v sqlite3 >/dev/null || die "sqlite3 is missing: apt-get install sqlite3" ;; esac
case " $BACKENDS " in *" postgres "*)
  PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -x "$PGBIN/initdb" ] || die "PostgreSQL is missing: apt-get install postgresql" ;;
esac

POLICY="${POLICY:-$ROOT/www/pkg/scopegate_policy_bg.wasm}"
[ -f "$POLICY" ] || die "missing $POLICY: build the policy module with 'cargo xtask wasm' (or set POLICY)"
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p scopegate-host)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/scopegate"
fi
[ -x "$BIN" ] || die "missing $BIN (set BIN, or let the script build it)"

WORK="$(mktemp -d)"
chmod 755 "$WORK"
mkdir -p "$WORK/www"
declare -A HPID HPORT HNAME HT0 # the running hosts, by slot (small, large)
LOOP_PID=""
# shellcheck source=pg.sh
. "$ROOT/host/bench/pg.sh"
cleanup() {
  local p
  for p in "${HPID[@]}" "$LOOP_PID"; do [ -z "$p" ] || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_server_stop "$WORK/pgrun"
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "scratch kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

EXPIRES="$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)"
NOW="$(date +%s)"
AUTH=(-H "Authorization: Bearer $KEY" -H "Content-Type: application/json")
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# --- the hosts -------------------------------------------------------------------------------
# start_host SLOT NAME DB [serve flags...]: starts it and makes it the current host (HOST_PID,
# HOST_PORT, HOST_NAME, HOST_T0: the launch, in microseconds); does not wait.
start_host() {
  local slot="$1" name="$2" db="$3"
  shift 3
  HPORT[$slot]="$(free_port)"
  HNAME[$slot]="$name"
  HT0[$slot]="${EPOCHREALTIME/./}"
  SCOPEGATE_ADMIN_KEY="$KEY" SCOPEGATE_LOG=warn "$BIN" serve --listen "127.0.0.1:${HPORT[$slot]}" \
    --db "$db" --policy "$POLICY" --www "$WORK/www" --workers "$WORKERS" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  HPID[$slot]=$!
  use_host "$slot"
}
use_host() { # SLOT
  HOST_PID="${HPID[$1]}" HOST_PORT="${HPORT[$1]}" HOST_NAME="${HNAME[$1]}" HOST_T0="${HT0[$1]}"
}
stop_host() { # SLOT
  local i pid="${HPID[$1]:-}"
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  HPID[$1]=""
}
host_failed() {
  echo "scale.sh: $* (host ${HOST_NAME:-none}; its standard error follows)" >&2
  tail -n 30 "$WORK/${HOST_NAME:-none}.err" >&2 || true
  exit 1
}
wait_listening() {
  local i
  for i in $(seq 1 1200); do
    grep -q "listening" "$WORK/$HOST_NAME.out" 2>/dev/null && return 0
    kill -0 "$HOST_PID" 2>/dev/null || host_failed "scopegate serve exited"
    sleep 0.1
  done
  host_failed "scopegate serve did not listen within 120 s"
}
# first_answer TOKENS_FILE: sets STARTUP_S, seconds from the current host's launch to its first
# 200 from /check for the file's first token.
first_answer() {
  local code deadline=$((${EPOCHREALTIME/./} + 120000000)) now secret uri
  read -r secret uri _ <"$1"
  while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $secret" \
      -H 'X-Original-Method: GET' -H "X-Original-URI: $uri" "http://127.0.0.1:$HOST_PORT/check" || true)"
    now="${EPOCHREALTIME/./}"
    [ "$code" = 200 ] && break
    case "$code" in 000) ;; *) host_failed "/check answered $code for a real token, expected 200" ;; esac
    kill -0 "$HOST_PID" 2>/dev/null || host_failed "scopegate serve exited"
    [ "$now" -lt "$deadline" ] || host_failed "no answer from /check within 120 s"
    sleep 0.005
  done
  STARTUP_S="$(awk -v a="$HOST_T0" -v b="$now" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
}
# rss: sets RSS_MIB and HWM_MIB (VmRSS, VmHWM of the current host, MiB).
rss() {
  RSS_MIB="$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$HOST_PID/status")"
  HWM_MIB="$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$HOST_PID/status")"
}
# admin METHOD PATH [curl args...]: the answer's body; a non-2xx answer is a setup failure.
admin() {
  local m="$1" p="$2"
  shift 2
  curl -sS --fail-with-body -X "$m" "${AUTH[@]}" "http://127.0.0.1:$HOST_PORT/admin/v1$p" "$@" ||
    host_failed "admin $m $p failed"
}

# --- wrk -------------------------------------------------------------------------------------
to_ms() { # wrk prints 850.00us, 1.23ms or 1.01s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
# wrk_run NAME THREADS CONNS SECONDS TOKENS_FILE: load on the current host; sets W_RPS, W_P50,
# W_P99 (ms), W_BAD (non-2xx answers), W_ERR (socket errors) from wrk's report, $WORK/wrk.NAME.txt.
wrk_run() {
  local f="$WORK/wrk.$1.txt"
  wrk -t"$2" -c"$3" -d"$4s" --latency -s "$HERE/round-robin.lua" \
    "http://127.0.0.1:$HOST_PORT/check" -- "$5" "$2" >"$f" 2>&1 || host_failed "wrk failed: $(tail -3 "$f")"
  W_RPS="$(awk '/^Requests\/sec:/ { print $2 }' "$f")"
  [ -n "$W_RPS" ] || host_failed "wrk gave no result: $(tail -3 "$f")"
  W_P50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")"
  W_P99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")"
  W_BAD="$(awk '/Non-2xx/ { print $NF }' "$f")"
  W_BAD="${W_BAD:-0}"
  W_ERR="$(awk -F'[ ,]+' '/Socket errors/ { print $5 + $7 + $9 + $11 }' "$f")"
  W_ERR="${W_ERR:-0}"
}
# wrk_clean NAME ...: wrk_run, where mostly non-2xx answers are a setup failure (the tokens are
# real and allowed); a few are the host's (e.g. a module call past its deadline on a starved
# machine): counted in STRAY, with where, and reported.
STRAY=0
STRAY_WHERE=""
wrk_clean() {
  local total
  wrk_run "$@"
  [ "$W_BAD" = 0 ] && return 0
  total="$(awk '/requests in/ { print $1 }' "$WORK/wrk.$1.txt")"
  [ $((W_BAD * 100)) -le "${total:-0}" ] || host_failed "$1: $W_BAD of ${total:-?} answers to real tokens were not 2xx"
  STRAY=$((STRAY + W_BAD))
  STRAY_WHERE="$STRAY_WHERE $1"
  say "$1: $W_BAD of $total answers were not 2xx (the host's log: $(tail -n 1 "$WORK/$HOST_NAME.err" | cut -c1-160))"
}

# --- PostgreSQL ----------------------------------------------------------------------------
pg_start() {
  pg_server_start "$WORK/pgrun"
  psql_scale postgres -c "CREATE DATABASE scale_small" -c "CREATE DATABASE scale_large"
  PGURL_BASE="postgres://postgres:$PGPASS@127.0.0.1:$PGPORT"
}
psql_scale() { # DB [psql args...]
  local db="$1"
  shift
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGRUN/sock" -p "$PGPORT" -U postgres -d "$db" "$@"
}

# --- filler ----------------------------------------------------------------------------------
# The estate: workspace w is Estate-%04d (slug_key lower-cased), with projects P000..P009 and
# repositories Repo-%06d (250 a workspace, 25 a project; numbered across the estate). Filler token
# n is tok_fill%016d, bound by n % 20 (0: workspace, 1-3: project, else repository) to the
# repository n % (workspaces * 250) or its project or workspace; by n % 10: 9 revoked, 8 expired,
# 7 without expiry. Those with n % 10 < 8 are active: the admin writes revoke them.
# A filler token's scopes, created_at, expires_at, revoked_at and last_accessed_at from its number
# n: the same SQL in both dialects.
filler_times() {
  cat <<SQL
CASE n % 5 WHEN 0 THEN '["repository"]' WHEN 1 THEN '["pullrequest"]'
                    WHEN 2 THEN '["pullrequest:write","repository:write"]'
                    WHEN 3 THEN '["pipeline","repository"]' ELSE '["issue:write","wiki"]' END,
         $NOW - (n * 7919) % 63072000,
         CASE n % 10 WHEN 8 THEN $NOW - 86400 - n % 86400 WHEN 7 THEN NULL
                     ELSE $NOW + 86400 + (n * 104729) % 31536000 END,
         CASE WHEN n % 10 = 9 THEN $NOW - 3600 END,
         CASE WHEN n % 3 = 0 THEN $NOW - n % 604800 END
SQL
}
estate_for() { echo $(((${1} + 4999) / 5000 > 0 ? (${1} + 4999) / 5000 : 1)); } # workspaces for N fillers
fill_sqlite() { # DB FIRST COUNT WORKSPACES
  local db="$1" first="$2" count="$3" nws="$4" end=$(($2 + $3)) nrepo=$(($4 * 250))
  [ "$count" -gt 0 ] || return 0
  sqlite3 -bail "$db" <<SQL >/dev/null
PRAGMA busy_timeout = 10000;
PRAGMA foreign_keys = ON;
PRAGMA synchronous = NORMAL;
BEGIN IMMEDIATE;
WITH RECURSIVE w(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM w WHERE i + 1 < $nws)
INSERT OR IGNORE INTO workspaces (slug_key, slug, plan, max_lifetime_days, allow_no_expiry, created_at)
  SELECT printf('estate-%04d', i), printf('Estate-%04d', i),
         CASE i % 3 WHEN 0 THEN 'free' WHEN 1 THEN 'standard' ELSE 'premium' END,
         365, i % 2, $NOW - 34560000 FROM w;
WITH RECURSIVE p(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM p WHERE j + 1 < $nws * 10)
INSERT OR IGNORE INTO projects (ws_key, key_key, key, created_at)
  SELECT printf('estate-%04d', j / 10), printf('p%03d', j % 10), printf('P%03d', j % 10),
         $NOW - 34560000 FROM p;
WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i + 1 < $nrepo)
INSERT OR IGNORE INTO repositories (ws_key, slug_key, slug, project_key, created_at)
  SELECT printf('estate-%04d', i / 250), printf('repo-%06d', i), printf('Repo-%06d', i),
         printf('p%03d', (i / 25) % 10), $NOW - 34560000 FROM r;
WITH RECURSIVE s(n) AS (SELECT $first UNION ALL SELECT n + 1 FROM s WHERE n + 1 < $end),
t(n, r, kind) AS (
  SELECT n, n % $nrepo, CASE WHEN n % 20 = 0 THEN 'workspace' WHEN n % 20 < 4 THEN 'project'
                             ELSE 'repository' END FROM s)
INSERT INTO tokens (id, hash, name, kind, workspace, ws_key, bound, bound_key, scopes,
                    created_at, expires_at, revoked_at, last_accessed_at)
  SELECT printf('tok_fill%016d', n), randomblob(32), 'filler-' || n, kind,
         printf('Estate-%04d', r / 250), printf('estate-%04d', r / 250),
         CASE kind WHEN 'workspace' THEN NULL WHEN 'project' THEN printf('P%03d', (r / 25) % 10)
                   ELSE printf('Repo-%06d', r) END,
         CASE kind WHEN 'workspace' THEN NULL WHEN 'project' THEN printf('p%03d', (r / 25) % 10)
                   ELSE printf('repo-%06d', r) END,
         $(filler_times)
  FROM t;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
}
fill_postgres() { # DATABASE FIRST COUNT WORKSPACES
  local dbname="$1" first="$2" count="$3" nws="$4" last=$(($2 + $3 - 1)) nrepo=$(($4 * 250))
  [ "$count" -gt 0 ] || return 0
  psql_scale "$dbname" <<SQL >/dev/null
BEGIN;
INSERT INTO workspaces (slug_key, slug, plan, max_lifetime_days, allow_no_expiry, created_at)
  SELECT 'estate-' || lpad(i::text, 4, '0'), 'Estate-' || lpad(i::text, 4, '0'),
         (ARRAY['free', 'standard', 'premium'])[i % 3 + 1], 365, i % 2 = 1, $NOW - 34560000
  FROM generate_series(0, $nws - 1) i ON CONFLICT DO NOTHING;
INSERT INTO projects (ws_key, key_key, key, created_at)
  SELECT 'estate-' || lpad((j / 10)::text, 4, '0'), 'p' || lpad((j % 10)::text, 3, '0'),
         'P' || lpad((j % 10)::text, 3, '0'), $NOW - 34560000
  FROM generate_series(0, $nws * 10 - 1) j ON CONFLICT DO NOTHING;
INSERT INTO repositories (ws_key, slug_key, slug, project_key, created_at)
  SELECT 'estate-' || lpad((i / 250)::text, 4, '0'), 'repo-' || lpad(i::text, 6, '0'),
         'Repo-' || lpad(i::text, 6, '0'), 'p' || lpad(((i / 25) % 10)::text, 3, '0'), $NOW - 34560000
  FROM generate_series(0, $nrepo - 1) i ON CONFLICT DO NOTHING;
INSERT INTO tokens (id, hash, name, kind, workspace, ws_key, bound, bound_key, scopes,
                    created_at, expires_at, revoked_at, last_accessed_at)
  SELECT 'tok_fill' || lpad(n::text, 16, '0'),
         sha256(convert_to(n::text || ':' || random()::text || ':' || clock_timestamp()::text, 'UTF8')),
         'filler-' || n, kind,
         'Estate-' || lpad((r / 250)::text, 4, '0'), 'estate-' || lpad((r / 250)::text, 4, '0'),
         CASE kind WHEN 'workspace' THEN NULL WHEN 'project' THEN 'P' || lpad(((r / 25) % 10)::text, 3, '0')
                   ELSE 'Repo-' || lpad(r::text, 6, '0') END,
         CASE kind WHEN 'workspace' THEN NULL WHEN 'project' THEN 'p' || lpad(((r / 25) % 10)::text, 3, '0')
                   ELSE 'repo-' || lpad(r::text, 6, '0') END,
         $(filler_times)
  FROM (SELECT n, n % $nrepo AS r,
               CASE WHEN n % 20 = 0 THEN 'workspace' WHEN n % 20 < 4 THEN 'project'
                    ELSE 'repository' END AS kind
        FROM generate_series($first::bigint, $last::bigint) n) t;
COMMIT;
ANALYZE;
SQL
}
# The k-th active filler token of the 1M store (n % 10 < 8), for the revocations.
REVOCABLE=$((FILL_LARGE / 10 * 8))
filler_id() { printf 'tok_fill%016d' $(($1 / 8 * 10 + $1 % 8)); }

# --- the phases ------------------------------------------------------------------------------
declare -A R # results: R[backend.figure]

setup_bench() { # the resources the real tokens are bound to, through the API
  local i
  admin PUT /workspaces/bench -d '{"plan":"premium"}' >/dev/null
  admin PUT /workspaces/bench/projects/BENCHA >/dev/null
  admin PUT /workspaces/bench/projects/BENCHB >/dev/null
  for i in $(seq 0 $((BENCH_REPOS - 1))); do
    admin PUT "/workspaces/bench/repositories/$(printf 'r%03d' "$i")" -d '{"project":"BENCHA"}' >/dev/null
  done
  admin PUT /workspaces/bench/repositories/mover -d '{"project":"BENCHA"}' >/dev/null
  admin PUT /workspaces/bench/repositories/writes -d '{"project":"BENCHB"}' >/dev/null
}
issue() { # COUNT CONCURRENCY OUT PREFIX: through the current host; sets ISSUED ("count seconds rate")
  ISSUED="$(python3 "$HERE/issue.py" "$HOST_PORT" "$KEY" bench 'r%03d' "$BENCH_REPOS" "$1" "$2" "$3" "$4" "$EXPIRES")" ||
    host_failed "issuing $1 tokens failed"
}
secs_since() { awk -v a="$1" -v b="${EPOCHREALTIME/./}" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

# prepare BACKEND SIZE DB FILLERS: the schema (by serve), bench and the store's latency tokens
# (through the API), then the filler (bulk SQL, the host stopped).
prepare() {
  local b="$1" size="$2" db="$3" fillers="$4" t0 nws
  start_host "$size" "$b-$size-init" "$db"
  wait_listening
  setup_bench
  : >"$WORK/$b.$size.latency"
  issue "$LAT_N" "$ISSUE_CONC" "$WORK/$b.$size.latency" lat
  stop_host "$size"
  t0="${EPOCHREALTIME/./}"
  nws="$(estate_for "$fillers")"
  case "$b" in
    sqlite) fill_sqlite "$db" 0 "$fillers" "$nws" ;;
    postgres) fill_postgres "scale_$size" 0 "$fillers" "$nws" ;;
  esac || die "$b: inserting $fillers filler tokens failed"
  R[$b.fill.$size]="$(secs_since "$t0")"
  R[$b.estate.$size]="$nws ws, $((nws * 10)) proj, $((nws * 250 + BENCH_REPOS + 2)) repos"
  say "$b $size: $LAT_N tokens through the API, $fillers filler tokens by SQL in ${R[$b.fill.$size]} s (${R[$b.estate.$size]})"
}

# latency_pair BACKEND MODE: the two running hosts (slots small, large) in alternating batches
# (ABBA); sets R[BACKEND.lat.MODE.{small,large,ratio}] and R[BACKEND.rss.MODE.{small,large}].
latency_pair() {
  local b="$1" mode="$2" r s order warm=1 ps=0 pl=0 smalls=() larges=() ratios=()
  [ "$mode" = cached ] && warm=2
  for s in small large; do
    use_host "$s"
    wrk_clean "$b-$mode-$s-warm" 1 1 "$warm" "$WORK/$b.$s.latency"
  done
  for r in $(seq 1 "$LAT_ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="small large"; else order="large small"; fi
    for s in $order; do
      use_host "$s"
      wrk_clean "$b-$mode-$s-$r" 1 1 "$LAT_BATCH" "$WORK/$b.$s.latency"
      if [ "$s" = small ]; then ps="$W_P50"; else pl="$W_P50"; fi
    done
    smalls+=("$ps")
    larges+=("$pl")
    ratios+=("$(awk -v a="$pl" -v b="$ps" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')")
  done
  R[$b.lat.$mode.small]="$(median "${smalls[@]}")"
  R[$b.lat.$mode.large]="$(median "${larges[@]}")"
  R[$b.lat.$mode.ratio]="$(printf '%.2f' "$(median "${ratios[@]}")")"
  for s in small large; do
    use_host "$s"
    rss
    R[$b.rss.$mode.$s]="$RSS_MIB"
  done
  say "$b $mode: median ${R[$b.lat.$mode.small]} ms ($SMALL tokens) / ${R[$b.lat.$mode.large]} ms ($TOKENS), ratio ${R[$b.lat.$mode.ratio]}; RSS ${R[$b.rss.$mode.small]} / ${R[$b.rss.$mode.large]} MiB"
}

# write_batch PORT FIRST_K COUNT: curl configurations $WORK/writes.N.cfg, one for each of
# WRITE_CLIENTS curl processes, COUNT admin writes in all: of every 10, 4 creations (in
# bench/writes, never checked), 4 revocations of active filler tokens (from the FIRST_K-th on),
# 2 moves of bench/mover between BENCHA and BENCHB; write i goes to client i % WRITE_CLIENTS.
# Each client is paced by curl itself (--rate, WRITES_PER_S / WRITE_CLIENTS a second, over one
# kept-alive connection), so the load is offered at WRITES_PER_S while a write takes up to
# WRITE_CLIENTS / WRITES_PER_S seconds, and the clients take next to no CPU from the host and
# wrk. Sets NEXT_K.
write_batch() {
  local A="http://127.0.0.1:$1/admin/v1" k="$2" n="$3" i c proj=BENCHB
  for c in $(seq 0 $((WRITE_CLIENTS - 1))); do
    echo "rate = \"$((WRITES_PER_S * 60 / WRITE_CLIENTS))/m\"" >"$WORK/writes.$c.cfg"
  done
  for i in $(seq 0 $((n - 1))); do
    c=$((i % WRITE_CLIENTS))
    {
      [ "$i" -lt "$WRITE_CLIENTS" ] || echo "next"
      echo "silent"
      echo "header = \"Authorization: Bearer $KEY\""
      echo 'header = "Content-Type: application/json"'
      echo 'output = "/dev/null"'
      echo 'write-out = "%{http_code} %{time_total}\n"'
      echo 'max-time = 30'
      case $((i % 10)) in
        0 | 2 | 5 | 7)
          echo "url = \"$A/workspaces/bench/repositories/writes/access-tokens\""
          echo 'request = "POST"'
          echo "data = \"{\\\"name\\\":\\\"w-$k-$i\\\",\\\"scopes\\\":[\\\"repository\\\"],\\\"expires_at\\\":\\\"$EXPIRES\\\"}\"" ;;
        4 | 9)
          echo "url = \"$A/workspaces/bench/repositories/mover\""
          echo 'request = "PUT"'
          echo "data = \"{\\\"project\\\":\\\"$proj\\\"}\""
          if [ "$proj" = BENCHB ]; then proj=BENCHA; else proj=BENCHB; fi ;;
        *)
          echo "url = \"$A/access-tokens/$(filler_id "$k")\""
          echo 'request = "DELETE"'
          k=$((k + 1)) ;;
      esac
    } >>"$WORK/writes.$c.cfg"
  done
  NEXT_K="$k"
}

# writes_pair BACKEND: the 1M store's cached host, ACTIVE tokens round-robin, in alternating
# batches without and with the write loop.
writes_pair() {
  local b="$1" tokens="$WORK/$1.active" r x order q=0 w=0 k=0 ok=0 bad=0 us=0 nbad=0 nerr=0
  local a c d t0 quiet=() writes=() ratios=() qp99=() wp99=()
  use_host large
  : >"$WORK/writes.all"
  wrk_clean "$b-rr-warm" 2 "$CONNS" 3 "$tokens"
  for r in $(seq 1 "$RPS_ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="quiet writes"; else order="writes quiet"; fi
    for x in $order; do
      if [ "$x" = quiet ]; then
        wrk_clean "$b-rr-quiet-$r" 2 "$CONNS" "$RPS_BATCH" "$tokens"
        q="$W_RPS"
        qp99+=("$W_P99")
      else
        write_batch "$HOST_PORT" "$k" $((WRITES_PER_S * RPS_BATCH))
        k="$NEXT_K"
        t0="${EPOCHREALTIME/./}"
        (
          for c in $(seq 0 $((WRITE_CLIENTS - 1))); do
            curl -K "$WORK/writes.$c.cfg" >"$WORK/writes.$c.out" 2>"$WORK/writes.$c.err" &
          done
          wait
        ) &
        LOOP_PID=$!
        wrk_run "$b-rr-writes-$r" 2 "$CONNS" "$RPS_BATCH" "$tokens"
        wait "$LOOP_PID" || true
        LOOP_PID=""
        d=$((${EPOCHREALTIME/./} - t0))
        w="$W_RPS"
        wp99+=("$W_P99")
        nbad=$((nbad + W_BAD))
        nerr=$((nerr + W_ERR))
        a="$(cat "$WORK"/writes.*.out | grep -c '^2' || true)"
        cat "$WORK"/writes.*.out >>"$WORK/writes.all"
        c=$((WRITES_PER_S * RPS_BATCH - a))
        ok=$((ok + a)) bad=$((bad + c)) us=$((us + d))
      fi
    done
    quiet+=("$q")
    writes+=("$w")
    ratios+=("$(awk -v a="$w" -v b="$q" 'BEGIN { printf "%.2f", (b > 0 ? 100 * a / b : 0) }')")
  done
  R[$b.rps.quiet]="$(printf '%.0f' "$(median "${quiet[@]}")")"
  R[$b.rps.writes]="$(printf '%.0f' "$(median "${writes[@]}")")"
  R[$b.rps.ratio]="$(printf '%.1f' "$(median "${ratios[@]}")")"
  R[$b.rps.p99]="$(median "${qp99[@]}") / $(median "${wp99[@]}")"
  R[$b.rps.writes.bad]="$nbad non-2xx, $nerr sock.err"
  R[$b.writes.rate]="$(awk -v n="$ok" -v us="$us" 'BEGIN { printf "%.1f", (us > 0 ? n * 1e6 / us : 0) }')"
  R[$b.writes.failed]="$bad of $((ok + bad))"
  # Each write's time as its client saw it (curl's time_total), median and max.
  R[$b.writes.latency]="$(awk '{ print $2 * 1000 }' "$WORK/writes.all" | sort -g |
    awk '{ a[NR] = $1 } END { if (NR) printf "%.1f / %.1f", a[int((NR + 1) / 2)], a[NR]; else print "-" }')"
  rss
  R[$b.rss.active]="$RSS_MIB"
  say "$b: $ACTIVE tokens round-robin: ${R[$b.rps.quiet]} req/s quiet, ${R[$b.rps.writes]} with writes (${R[$b.writes.rate]}/s, $bad failed), ratio ${R[$b.rps.ratio]}%"
}

# snapinfo FILE: "FORMAT VERSION TOKENS SINCE" of a snapshot answer ("-" for a field it lacks).
snapinfo() {
  python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
t = v.get("tokens")
n = len(t) if isinstance(t, (list, dict)) else "-"
since = v.get("since")
print(v.get("format", "-"), v.get("version", ""), n, "-" if since is None else since)
' "$1"
}

# snapshot_phase BACKEND: on the 1M store's host.
snapshot_phase() {
  local b="$1" out code size t version j format n sformat sversion sn ssince
  use_host large
  R[$b.snap.failed]="none"
  # A full snapshot that fails (at this size PostgreSQL may not answer within the host's 5 s
  # limit of one answer: 503 store_unavailable) is a finding, not a setup failure: tried twice,
  # then reported, and the version for ?since= is read from the store's change counter instead.
  for j in 1 2; do
    out="$(curl -s -o "$WORK/full.json" -w '%{http_code} %{size_download} %{time_total}' "${AUTH[@]}" \
      "http://127.0.0.1:$HOST_PORT/admin/v1/edge/snapshot")" || host_failed "the snapshot request failed"
    read -r code size t <<<"$out"
    [ "$code" = 200 ] && break
    R[$b.snap.failed]="answered $code in ${t}s: $(head -c 160 "$WORK/full.json")"
    say "$b: the full snapshot answered $code in ${t}s (try $j of 2)"
  done
  rss
  R[$b.snap.rss]="$RSS_MIB, peak $HWM_MIB"
  if [ "$code" = 200 ]; then
    # The format may change (format 2 had a "sha256" object a token, 3 an array): read the JSON.
    read -r format version n _ < <(snapinfo "$WORK/full.json") || host_failed "the snapshot is not JSON"
    [ -n "$version" ] && [ "$version" != - ] || host_failed "the snapshot has no version field"
    R[$b.snap.full]="$size"
    R[$b.snap.tokens]="$n"
    R[$b.snap.tokens.cell]="$n (format $format)"
    R[$b.snap.time]="$(printf '%.2f' "$t")"
    R[$b.snap.version]="$version"
    # On the wire as an edge fetches it: Node's fetch asks for gzip. curl without --compressed
    # keeps the bytes as sent, so size_download is the compressed size.
    out="$(curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{http_code} %{size_download} %{time_total}' \
      "${AUTH[@]}" "http://127.0.0.1:$HOST_PORT/admin/v1/edge/snapshot")" || host_failed "the snapshot request failed"
    read -r zcode zsize zt <<<"$out"
    if [ "$zcode" = 200 ]; then
      R[$b.snap.gzip]="$zsize"
      R[$b.snap.gzip.time]="$(printf '%.2f' "$zt")"
    else
      R[$b.snap.gzip]="answered $zcode"
    fi
  else
    R[$b.snap.full]="answered $code"
    R[$b.snap.time]="$t"
    case "$b" in
      sqlite) version="$(sqlite3 "$WORK/large.db" "SELECT value FROM settings WHERE name = 'generation'")" ;;
      postgres) version="$(psql_scale scale_large -tAc "SELECT value FROM generation")" ;;
    esac || host_failed "no full snapshot, and the store's change counter could not be read"
    R[$b.snap.version]="$version (from the store)"
  fi
  rm -f "$WORK/full.json"
  # 10 changes: 5 revocations of active fillers (from the end of the range the write loop
  # takes from the start of), 5 creations.
  for j in 0 1 2 3 4; do
    admin DELETE "/access-tokens/$(filler_id $((REVOCABLE - 1 - j)))" >/dev/null
    admin POST /workspaces/bench/repositories/writes/access-tokens \
      -d "{\"name\":\"snap-$j\",\"scopes\":[\"repository\"],\"expires_at\":\"$EXPIRES\"}" >/dev/null
  done
  out="$(curl -s -o "$WORK/since.json" -w '%{http_code} %{size_download} %{time_total}' "${AUTH[@]}" \
    "http://127.0.0.1:$HOST_PORT/admin/v1/edge/snapshot?since=$version")" || host_failed "the snapshot request failed"
  read -r code size t <<<"$out"
  if [ "$code" != 200 ]; then
    R[$b.snap.since]="answered $code"
    R[$b.snap.since.note]="$(head -c 200 "$WORK/since.json")"
  else
    read -r sformat sversion sn ssince < <(snapinfo "$WORK/since.json") ||
      host_failed "the ?since= answer is not JSON: $(head -c 200 "$WORK/since.json")"
    if [ "$ssince" != - ]; then
      R[$b.snap.since]="$size"
      R[$b.snap.since.note]="$sn tokens, $(printf '%.3f' "$t") s"
    else
      R[$b.snap.since]="full ($size)"
      R[$b.snap.since.note]="no \"since\" field: this binary answers the full snapshot to ?since="
    fi
  fi
  rm -f "$WORK/since.json"
  say "$b: full snapshot: ${R[$b.snap.full]} bytes, ${R[$b.snap.tokens]:-?} tokens, ${R[$b.snap.time]} s (version $version); ?since=: ${R[$b.snap.since]}"
}

run_backend() { # BACKEND
  local b="$1" dbs dbl
  case "$b" in
    sqlite) dbs="$WORK/small.db" dbl="$WORK/large.db" ;;
    postgres)
      [ -n "${PGURL_BASE:-}" ] || pg_start
      dbs="$PGURL_BASE/scale_small" dbl="$PGURL_BASE/scale_large" ;;
  esac
  prepare "$b" small "$dbs" "$FILL_SMALL"
  prepare "$b" large "$dbl" "$FILL_LARGE"

  # The ACTIVE tokens through the API, sequentially then concurrently: part 4's rates.
  start_host large "$b-large-issue" "$dbl"
  wait_listening
  : >"$WORK/$b.active"
  issue "$ISSUE_SEQ" 1 "$WORK/$b.active" act
  R[$b.create.seq]="$(echo "$ISSUED" | awk '{ printf "%.0f", $3 }')"
  R[$b.create.seq.detail]="$(echo "$ISSUED" | awk '{ printf "%d in %.1f s", $1, $2 }')"
  if [ $((ACTIVE - ISSUE_SEQ)) -gt 0 ]; then
    issue $((ACTIVE - ISSUE_SEQ)) "$ISSUE_CONC" "$WORK/$b.active" actc
    R[$b.create.conc]="$(echo "$ISSUED" | awk '{ printf "%.0f", $3 }')"
    R[$b.create.conc.detail]="$(echo "$ISSUED" | awk '{ printf "%d in %.1f s", $1, $2 }')"
  fi
  stop_host large
  say "$b: $ACTIVE tokens through the API: ${R[$b.create.seq]}/s sequential, ${R[$b.create.conc]:-n/a}/s over $ISSUE_CONC connections"

  # Cached: both stores' hosts with the defaults; each one's start timed alone.
  start_host small "$b-small-cached" "$dbs"
  first_answer "$WORK/$b.small.latency"
  R[$b.startup.small]="$STARTUP_S"
  wait_listening
  start_host large "$b-large-cached" "$dbl"
  first_answer "$WORK/$b.large.latency"
  R[$b.startup.large]="$STARTUP_S"
  wait_listening
  say "$b: serve to first answer: ${R[$b.startup.small]} s ($SMALL tokens), ${R[$b.startup.large]} s ($TOKENS)"
  latency_pair "$b" cached
  stop_host small
  writes_pair "$b"
  snapshot_phase "$b"
  stop_host large

  # Uncached: no token cache to speak of, no memo.
  start_host small "$b-small-uncached" "$dbs" --cache-entries 1 --decision-memo false
  wait_listening
  start_host large "$b-large-uncached" "$dbl" --cache-entries 1 --decision-memo false
  wait_listening
  latency_pair "$b" uncached
  R[$b.stray]="$STRAY${STRAY_WHERE:+ (in$STRAY_WHERE)}"
  STRAY=0
  STRAY_WHERE=""
  stop_host small
  stop_host large
}

say "TOKENS=$TOKENS ACTIVE=$ACTIVE SECONDS_PER_PHASE=$PHASE BACKENDS='$BACKENDS' on $(nproc) cores; scratch in $WORK"
for b in $BACKENDS; do run_backend "$b"; done

# --- the summary -----------------------------------------------------------------------------
MISSED=0
# verdict VALUE OP LIMIT: "ok" or "MISSED"; nothing when VALUE is not a number.
verdict() {
  [[ "$1" =~ ^[0-9.]+$ ]] || return 0
  if awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { exit !((op == "<=") ? v <= l : v >= l) }'; then
    echo "ok"
  else
    echo "MISSED"
  fi
}
human() { awk -v n="$1" 'BEGIN { if (n !~ /^[0-9]+$/) print n; else if (n >= 1048576) printf "%.1f MB", n / 1048576; else if (n >= 1024) printf "%.1f kB", n / 1024; else printf "%d B", n }'; }
k() { awk -v n="$1" 'BEGIN { if (n >= 1000000) printf "%gM", n / 1000000; else if (n >= 1000) printf "%gk", n / 1000; else print n }'; }

for b in $BACKENDS; do
  R[$b.snap.per_token]="$(awk -v a="${R[$b.snap.full]:-0}" -v n="${R[$b.snap.tokens]:-0}" 'BEGIN { if (n > 0) printf "%.0f", a / n; else print "-" }')"
  R[$b.snap.full.human]="$(human "${R[$b.snap.full]:-n/a}")"
  R[$b.snap.gzip.per_token]="$(awk -v a="${R[$b.snap.gzip]:-0}" -v n="${R[$b.snap.tokens]:-0}" 'BEGIN { if (n > 0 && a ~ /^[0-9]+$/) printf "%.0f", a / n; else print "-" }')"
  # Goal "kilobytes": under 1 MiB passes; a full snapshot or an error does not.
  v="${R[$b.snap.since]:-n/a}"
  if [[ "$v" =~ ^[0-9]+$ ]]; then
    if [ "$v" -lt 1048576 ]; then R[$b.snap.since.cell]="$v ($(human "$v")) ok"; else
      R[$b.snap.since.cell]="$v ($(human "$v")) MISSED"
      MISSED=$((MISSED + 1))
    fi
  elif [ "$v" != n/a ]; then
    R[$b.snap.since.cell]="$v MISSED"
    MISSED=$((MISSED + 1))
  fi
done

line() { # LABEL GOAL CELL...
  local label="$1" goal="$2"
  shift 2
  printf '%-46s' "$label"
  for v in "$@"; do printf ' %-22s' "$v"; done
  printf ' %s\n' "$goal"
}
# row LABEL GOAL KEY [OP LIMIT [SUFFIX]]: a cell per backend, with a verdict when OP is given.
row() {
  local label="$1" goal="$2" key="$3" op="${4:-}" limit="${5:-}" suffix="${6:-}" cells=() v c vd
  for b in $BACKENDS; do
    v="${R[$b.$key]:-n/a}"
    c="$v"
    if [[ "$v" =~ ^[0-9.]+$ ]]; then c="$v$suffix"; fi
    if [ -n "$op" ]; then
      vd="$(verdict "$v" "$op" "$limit")"
      if [ "$vd" = MISSED ]; then MISSED=$((MISSED + 1)); fi
      if [ -n "$vd" ]; then c="$c $vd"; fi
    fi
    cells+=("$c")
  done
  line "$label" "$goal" "${cells[@]}"
}

S_K="$(k "$SMALL")"
L_K="$(k "$TOKENS")"
cols=()
for b in $BACKENDS; do cols+=("$b"); done
echo
echo "scopegate at scale: stores of $TOKENS and $SMALL tokens; ${PHASE}s of load a side; $(nproc) cores; scopegate --workers $WORKERS"
line "" "goal" "${cols[@]}"
echo "1. size (sequential client, median of $LAT_ROUNDS ${LAT_BATCH}s batches a side, ABBA)"
row "  check median, cached, $S_K tokens (ms)" "" lat.cached.small
row "  check median, cached, $L_K tokens (ms)" "" lat.cached.large
row "    ratio $L_K / $S_K (median of batch ratios)" "<= 1.2x" lat.cached.ratio "<=" 1.2 x
row "  check median, uncached, $S_K tokens (ms)" "" lat.uncached.small
row "  check median, uncached, $L_K tokens (ms)" "" lat.uncached.large
row "    ratio $L_K / $S_K (median of batch ratios)" "<= 1.2x" lat.uncached.ratio "<=" 1.2 x
row "  serve to first answer, $S_K tokens (s)" "" startup.small
row "  serve to first answer, $L_K tokens (s)" "<= 2 s" startup.large "<=" 2
row "  VmRSS after cached load, $S_K (MiB)" "cache 100000, $LAT_N tokens" rss.cached.small
row "  VmRSS after cached load, $L_K (MiB)" "cache 100000, $LAT_N tokens" rss.cached.large
row "  VmRSS after uncached load, $S_K (MiB)" "cache 1" rss.uncached.small
row "  VmRSS after uncached load, $L_K (MiB)" "cache 1" rss.uncached.large
row "  VmRSS after the $(k "$ACTIVE")-token load, $L_K (MiB)" "cache 100000, $ACTIVE tokens" rss.active
row "  filler insert, $FILL_LARGE rows (s)" "" fill.large
row "    the $L_K estate (workspaces, projects, repos)" "" estate.large
echo "2. $ACTIVE tokens round-robin, wrk -t2 -c$CONNS (median of $RPS_ROUNDS ${RPS_BATCH}s batches a side, ABBA)"
row "  /check req/s, no writes" "" rps.quiet
row "  /check req/s, $WRITES_PER_S admin writes/s" "" rps.writes
row "    ratio (%, median of batch ratios)" ">= 90%" rps.ratio ">=" 90 %
row "    p99 no writes / writes (ms)" "" rps.p99
row "    answers under writes" "" rps.writes.bad
row "  admin writes achieved (/s)" "$WRITES_PER_S" writes.rate
row "  admin writes failed" "0" writes.failed
row "  admin write latency, median / max (ms)" "" writes.latency
row "  non-2xx answers to real tokens, other phases" "0" stray
echo "3. edge snapshot at $L_K"
row "  full snapshot (bytes)" "" snap.full
row "" "" snap.full.human
row "    tokens in it" "" snap.tokens.cell
row "    bytes per token" "" snap.per_token
row "    fetch time (s)" "" snap.time
row "  gzipped, as an edge fetches it (bytes)" "" snap.gzip
row "    bytes per token" "<= 200" snap.gzip.per_token "<=" 200
row "    fetch time (s)" "" snap.gzip.time
row "    host VmRSS after it (MiB)" "" snap.rss
row "    failure" "" snap.failed
row "    version" "" snap.version
row "  ?since=version after 10 changes (bytes)" "kilobytes" snap.since.cell
row "    tokens in it, fetch time" "" snap.since.note
echo "4. token creation through the API (durable), into the $L_K store"
row "  sequential (tokens/s)" "" create.seq
row "" "" create.seq.detail
row "  $ISSUE_CONC concurrent (tokens/s)" "" create.conc
row "" "" create.conc.detail
say "done; $MISSED goal(s) missed"
if [ "${STRICT:-0}" = 1 ] && [ "$MISSED" -gt 0 ]; then exit 1; fi
exit 0
