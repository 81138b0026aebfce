# Sourced by the benchmarks that run PostgreSQL: a private server under a scratch directory, with
# durable commits as in production (fsync on), run as the postgres user when run as root.
# Needs PGBIN (the server's programs) and PGPASS; sets PGPORT and PGRUN.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_server_start() { # DIR: data, socket, password file and log go under it
  PGPORT="$(free_port)"
  PGRUN="$1"
  mkdir -p "$PGRUN/sock"
  echo "$PGPASS" >"$PGRUN/pw"
  [ "$(id -u)" = 0 ] && chown -R postgres "$PGRUN"
  as_pg "$PGBIN/initdb" -D "$PGRUN/data" -U postgres -E UTF8 --locale=C --pwfile="$PGRUN/pw" \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$PGRUN/data" -l "$PGRUN/pg.log" -w \
    -o "-p $PGPORT -k $PGRUN/sock -c listen_addresses=127.0.0.1" start >/dev/null
}

pg_server_stop() { # DIR
  [ -d "$1/data" ] && as_pg "$PGBIN/pg_ctl" -D "$1/data" -m immediate stop >/dev/null 2>&1 || true
}
