# A throwaway PostgreSQL server for tests, listening only on 127.0.0.1. Source it:
#
#   . "$FWS_SOURCE_DIR/tests/lib/pg.sh"
#   pg_start                       # or fail: the server is not optional (scripts/setup installs it)
#   url=$(pg_createdb mydb)        # postgres://fwseal:PASSWORD@127.0.0.1:PORT/mydb
#   ...
#   pg_stop                        # optional: an EXIT trap calls it
#
# pg_start makes a private directory (data, socket, log) owned by the server's user, runs initdb
# there (as the `postgres` system user when the tests run as root, since initdb refuses root),
# picks a free port, turns fsync off for speed and requires a password (scram-sha-256) over TCP.
# It sets PG_DIR, PG_PORT, PG_USER, PG_PASSWORD and PG_LOG. It chains an EXIT trap that stops the
# server and removes the directory before running any EXIT trap set earlier; a test that sets
# its own EXIT trap afterwards must call pg_stop itself. A watchdog stops the server if the
# test's shell dies without running its traps (kill -9, a ctest timeout).
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=fwseal
PG_DIR=
PG_PORT=
PG_PASSWORD=
PG_LOG=
_pg_watchdog=
_pg_prev_exit_trap=

# Runs a server-side command as the owner of the data directory.
_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# _pg_alive PID: the process exists and is not a zombie waiting to be reaped.
_pg_alive() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ]
}

_pg_port_free() {
    ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

_pg_fail() {
    echo "pg.sh: $*" >&2
    if [ -n "$PG_LOG" ] && [ -f "$PG_LOG" ]; then
        echo "--- server log:" >&2
        tail -n 20 "$PG_LOG" >&2
    fi
    return 1
}

_pg_on_exit() {
    local rc=$?
    pg_stop
    if [ -n "$_pg_prev_exit_trap" ]; then
        eval "set -- $_pg_prev_exit_trap"
        eval "$3"
    fi
    exit "$rc"
}

pg_start() {
    local attempt port opts
    [ -z "$PG_DIR" ] || _pg_fail "a server is already running in $PG_DIR" || return 1
    [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
        _pg_fail "no PostgreSQL server binaries in $PG_BIN (scripts/setup installs them)" || return 1
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        _pg_fail "running as root but there is no postgres system user to run the server" || return 1
    fi
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fwseal-pg.XXXXXX") || _pg_fail "mktemp failed" || return 1
    PG_LOG=$PG_DIR/server.log
    chmod 700 "$PG_DIR"
    [ "$(id -u)" != 0 ] || chown postgres:postgres "$PG_DIR"
    _pg_prev_exit_trap=$(trap -p EXIT)
    trap _pg_on_exit EXIT

    PG_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    (umask 077 && printf '%s\n' "$PG_PASSWORD" >"$PG_DIR/pwfile")
    [ "$(id -u)" != 0 ] || chown postgres:postgres "$PG_DIR/pwfile"
    if ! _pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_USER" --pwfile="$PG_DIR/pwfile" \
        --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C --no-sync \
        >"$PG_DIR/initdb.log" 2>&1; then
        cat "$PG_DIR/initdb.log" >&2
        _pg_fail "initdb failed"
        return 1
    fi
    rm -f "$PG_DIR/pwfile"

    for attempt in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 40000))
        _pg_port_free "$port" || continue
        opts="-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off"
        opts="$opts -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        if _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_LOG" -w -t 60 -o "$opts" \
            start </dev/null >/dev/null 2>&1; then
            PG_PORT=$port
            break
        fi
        # Only a port someone took in between is worth another try.
        grep -q "could not bind\|Address already in use" "$PG_LOG" 2>/dev/null || break
    done
    [ -n "$PG_PORT" ] || _pg_fail "the server did not start" || return 1

    # Stops the server should this shell die without running its EXIT trap.
    (
        while _pg_alive $$ && [ -d "$PG_DIR/data" ]; do sleep 1; done
        if [ -d "$PG_DIR/data" ]; then
            _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop
            rm -rf "$PG_DIR"
        fi
    ) </dev/null >/dev/null 2>&1 &
    _pg_watchdog=$!
    return 0
}

# pg_createdb NAME: creates a database and prints its URL.
pg_createdb() {
    [ -n "$PG_PORT" ] || _pg_fail "pg_createdb: no server (call pg_start first)" || return 1
    PGPASSWORD=$PG_PASSWORD "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$1" ||
        _pg_fail "createdb $1 failed" || return 1
    printf 'postgres://%s:%s@127.0.0.1:%s/%s\n' "$PG_USER" "$PG_PASSWORD" "$PG_PORT" "$1"
}

# pg_psql DB ARGS...: runs psql against a database of the server.
pg_psql() {
    local db=$1
    shift
    PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$db" \
        -v ON_ERROR_STOP=1 -X -q "$@"
}

# Stops the server and removes its directory; safe to call more than once.
pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    if [ -n "$_pg_watchdog" ]; then
        kill "$_pg_watchdog" 2>/dev/null || true
        wait "$_pg_watchdog" 2>/dev/null || true
        _pg_watchdog=
    fi
    if [ -n "$PG_PORT" ]; then
        _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 ||
            true
    fi
    rm -rf "$PG_DIR"
    PG_DIR=
    PG_PORT=
}
