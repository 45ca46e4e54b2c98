#!/usr/bin/env bash
# Controls a private RabbitMQ node for tests (Debian's rabbitmq-server, own node
# name, ports and data directory; never the system service on 5672/25672).
#
# usage: scripts/broker.sh [options] start|stop|status|kill|uri|ctl [RABBITMQCTL ARGS...]
#   --port N        AMQP port                 (env BROKER_PORT,      default 5682)
#   --dist-port N   Erlang distribution port  (env BROKER_DIST_PORT, default port+20000)
#   --node NAME     node name                 (env BROKER_NODE,      default nucleon-<port>@localhost)
#   --dir DIR       base dir: data, logs,     (env BROKER_DIR,       default /tmp/nucleon-broker-<port>)
#                   config, pid file, cookie
#   --timeout S     start/stop timeout        (env BROKER_TIMEOUT,   default 60)
#   --conf FILE     lines appended to the generated rabbitmq.conf (env BROKER_EXTRA_CONF, default none;
#                   used only when DIR/rabbitmq.conf does not exist yet, e.g. TLS listeners)
#   --plugins LIST  comma-separated plugins for enabled_plugins (env BROKER_PLUGINS, default none;
#                   remembered by the base dir)
#   env BROKER_COOKIE: Erlang cookie (default: random, created once per base dir);
#   give nodes that should form a cluster the same cookie.
#
# The node and every rabbitmqctl call run as the invoking user with
# HOME=<dir>/home, which holds the node's .erlang.cookie (mode 400), so the CLI
# always shares the node's cookie. The Debian wrapper (/usr/sbin/rabbitmqctl,
# which switches to the rabbitmq user) is bypassed on purpose.
#
#   start   launch detached, wait (bounded) for `await_startup`, print the AMQP URI
#   stop    `rabbitmqctl stop`, falling back to SIGTERM/SIGKILL of the pid file's pid
#   status  exit 0 and print details if the node runs, exit 3 if it does not
#   kill    SIGKILL the node's beam process (pid file), for fault tests
#   uri     print the AMQP URI
#   ctl     run rabbitmqctl -n NODE ARGS...
set -euo pipefail

RMQ_BIN=/usr/lib/rabbitmq/bin
die() { echo "broker.sh: $*" >&2; exit 1; }
log() { echo "broker.sh: $*" >&2; }

PORT="${BROKER_PORT:-}"; DIST_PORT="${BROKER_DIST_PORT:-}"; NODE="${BROKER_NODE:-}"
DIR="${BROKER_DIR:-}"; TIMEOUT="${BROKER_TIMEOUT:-60}"
EXTRA_CONF="${BROKER_EXTRA_CONF:-}"; PLUGINS="${BROKER_PLUGINS:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --port) PORT="$2"; shift 2 ;;
        --dist-port) DIST_PORT="$2"; shift 2 ;;
        --node) NODE="$2"; shift 2 ;;
        --dir) DIR="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        --conf) EXTRA_CONF="$2"; shift 2 ;;
        --plugins) PLUGINS="$2"; shift 2 ;;
        --) shift; break ;;
        -*) die "unknown option $1" ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || die "usage: broker.sh [--port N] [--dist-port N] [--node NAME] [--dir DIR] start|stop|status|kill|uri|ctl ARGS..."
CMD="$1"; shift

# A base dir remembers the settings it was started with.
if [ -n "$DIR" ] && [ -f "$DIR/broker.env" ]; then
    # shellcheck source=/dev/null
    . "$DIR/broker.env"
    PORT="${PORT:-$SAVED_PORT}"; DIST_PORT="${DIST_PORT:-$SAVED_DIST_PORT}"; NODE="${NODE:-$SAVED_NODE}"
    PLUGINS="${PLUGINS:-${SAVED_PLUGINS:-}}"
fi
PORT="${PORT:-5682}"
DIST_PORT="${DIST_PORT:-$((PORT + 20000))}"
NODE="${NODE:-nucleon-$PORT@localhost}"
DIR="${DIR:-/tmp/nucleon-broker-$PORT}"
case "$NODE" in *@*) ;; *) NODE="$NODE@localhost" ;; esac
case "$PLUGINS" in *[!a-z0-9_,]*) die "--plugins takes comma-separated plugin names: $PLUGINS" ;; esac
URI="amqp://guest:guest@127.0.0.1:$PORT/"
PID_FILE="$DIR/rabbitmq.pid"
LAUNCHER_PID_FILE="$DIR/launcher.pid"

[ -x "$RMQ_BIN/rabbitmq-server" ] || die "rabbitmq-server is not installed (run scripts/install-broker.sh)"

export HOME="$DIR/home"
export RABBITMQ_NODENAME="$NODE"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT="$PORT"
export RABBITMQ_DIST_PORT="$DIST_PORT"
export RABBITMQ_MNESIA_BASE="$DIR/mnesia"
export RABBITMQ_LOG_BASE="$DIR/log"
export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
export RABBITMQ_PID_FILE="$PID_FILE"
export RABBITMQ_CONFIG_FILE="$DIR/rabbitmq.conf"
export RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/advanced.config"
export RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf"
# The CLI's own Erlang node needs a listening port; the default range (11 ports)
# is too small when several runs or tests call rabbitmqctl at the same time.
export RABBITMQ_CTL_DIST_PORT_MIN="${RABBITMQ_CTL_DIST_PORT_MIN:-35672}"
export RABBITMQ_CTL_DIST_PORT_MAX="${RABBITMQ_CTL_DIST_PORT_MAX:-36671}"
# Keep the distribution listener on loopback.
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
unset RABBITMQ_ERLANG_COOKIE

ctl() {
    [ -s "$HOME/.erlang.cookie" ] || die "no node was set up in $DIR (missing $HOME/.erlang.cookie); pass the --dir/--port it was started with"
    "$RMQ_BIN/rabbitmqctl" -n "$NODE" "$@"
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
node_pid() { [ -s "$PID_FILE" ] && tr -dc '0-9' < "$PID_FILE" || true; }
launcher_pid() { [ -s "$LAUNCHER_PID_FILE" ] && tr -dc '0-9' < "$LAUNCHER_PID_FILE" || true; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_epmd() {
    if ! epmd -names >/dev/null 2>&1; then
        log "starting epmd"
        epmd -daemon </dev/null >/dev/null 2>&1 || true
        for _ in $(seq 1 50); do epmd -names >/dev/null 2>&1 && return 0; sleep 0.1; done
        die "epmd did not start"
    fi
}

prepare_dir() {
    mkdir -p "$DIR/home" "$DIR/mnesia" "$DIR/log"
    if [ ! -s "$HOME/.erlang.cookie" ] || [ -n "${BROKER_COOKIE:-}" ]; then
        local cookie="${BROKER_COOKIE:-}"
        if [ -z "$cookie" ]; then
            cookie=$(tr -dc 'A-Z' < /dev/urandom | head -c 20 || true)
        fi
        rm -f "$HOME/.erlang.cookie"
        (umask 077; printf '%s' "$cookie" > "$HOME/.erlang.cookie")
        chmod 400 "$HOME/.erlang.cookie"
    fi
    echo "[${PLUGINS}]." > "$DIR/enabled_plugins"
    if [ ! -f "$DIR/rabbitmq.conf" ]; then
        cat > "$DIR/rabbitmq.conf" <<CONF
# private test node (scripts/broker.sh)
log.file.level = info
log.console = false
CONF
        if [ -n "$EXTRA_CONF" ]; then
            [ -f "$EXTRA_CONF" ] || die "--conf file $EXTRA_CONF not found"
            cat "$EXTRA_CONF" >> "$DIR/rabbitmq.conf"
        fi
    fi
    : > "$DIR/rabbitmq-env.conf"
    cat > "$DIR/broker.env" <<ENV
SAVED_PORT=$PORT
SAVED_DIST_PORT=$DIST_PORT
SAVED_NODE=$NODE
SAVED_PLUGINS=$PLUGINS
ENV
}

is_running() {
    local pid; pid=$(node_pid)
    pid_alive "$pid" || pid_alive "$(launcher_pid)" || return 1
    [ -s "$HOME/.erlang.cookie" ] || return 1
    timeout 20 "$RMQ_BIN/rabbitmqctl" -n "$NODE" -q -t 10 ping >/dev/null 2>&1
}

start() {
    if is_running; then
        log "node $NODE already running"
        echo "$URI"
        return 0
    fi
    if pid_alive "$(launcher_pid)" || pid_alive "$(node_pid)"; then
        die "a process of node $NODE exists but does not answer; run '$0 --dir $DIR kill' first"
    fi
    port_open "$PORT" && die "AMQP port $PORT is already in use"
    port_open "$DIST_PORT" && die "distribution port $DIST_PORT is already in use"
    prepare_dir
    ensure_epmd
    rm -f "$PID_FILE"
    log "starting node $NODE (amqp 127.0.0.1:$PORT, dist $DIST_PORT, dir $DIR)"
    # Own session, no inherited stdio: callers that capture our output must see EOF.
    ( cd "$DIR" && exec setsid "$RMQ_BIN/rabbitmq-server" </dev/null >>"$DIR/log/startup.log" 2>&1 ) &
    echo $! > "$LAUNCHER_PID_FILE"
    local launcher; launcher=$(launcher_pid)
    local start_ts=$SECONDS deadline=$((SECONDS + TIMEOUT)) out=""
    while :; do
        if ! pid_alive "$launcher" && ! pid_alive "$(node_pid)"; then
            log "node $NODE exited during startup; last log lines:"
            tail -n 40 "$DIR/log/startup.log" >&2 || true
            tail -n 20 "$DIR/log/$NODE.log" >&2 2>/dev/null || true
            exit 1
        fi
        local left=$((deadline - SECONDS))
        [ "$left" -gt 0 ] || break
        # await_startup fails at once while the node is not yet registered; retry.
        if out=$(timeout $((left + 5)) "$RMQ_BIN/rabbitmqctl" -n "$NODE" -q -t "$left" await_startup 2>&1); then
            log "node $NODE started in $((SECONDS - start_ts)) s"
            echo "$URI"
            return 0
        fi
        sleep 0.5
    done
    log "node $NODE did not start within $TIMEOUT s: $out"
    tail -n 40 "$DIR/log/startup.log" >&2 || true
    kill_node >/dev/null 2>&1 || true
    exit 1
}

wait_gone() { # pid seconds
    local pid="$1" n=$(( $2 * 10 ))
    while pid_alive "$pid" && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    ! pid_alive "$pid"
}

stop() {
    local pid launcher; pid=$(node_pid); launcher=$(launcher_pid)
    if ! pid_alive "$pid" && ! pid_alive "$launcher"; then
        log "node $NODE is not running"
        return 0
    fi
    if timeout $((TIMEOUT + 5)) "$RMQ_BIN/rabbitmqctl" -n "$NODE" -q -t "$TIMEOUT" stop >/dev/null 2>&1 \
        && { [ -z "$pid" ] || wait_gone "$pid" "$TIMEOUT"; }; then
        log "node $NODE stopped"
    else
        log "rabbitmqctl stop failed; sending SIGTERM"
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
        [ -n "$launcher" ] && kill -TERM "$launcher" 2>/dev/null || true
        if ! wait_gone "${pid:-$launcher}" 15; then
            log "sending SIGKILL"
            [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
            [ -n "$launcher" ] && kill -KILL "$launcher" 2>/dev/null || true
            wait_gone "${pid:-$launcher}" 10 || die "could not stop node $NODE"
        fi
    fi
    wait_gone "$launcher" 5 || true
    rm -f "$PID_FILE" "$LAUNCHER_PID_FILE"
}

kill_node() {
    local pid launcher; pid=$(node_pid); launcher=$(launcher_pid)
    if ! pid_alive "$pid"; then
        if pid_alive "$launcher"; then
            # Still booting: the beam process has not written its pid file yet.
            log "node $NODE has no live pid in $PID_FILE; killing the launcher's process group"
            kill -KILL -- "-$launcher" 2>/dev/null || kill -KILL "$launcher" 2>/dev/null || true
            wait_gone "$launcher" 10 || die "could not kill node $NODE"
            return 0
        fi
        die "node $NODE is not running (no live pid in $PID_FILE)"
    fi
    kill -KILL "$pid"
    wait_gone "$pid" 10 || die "beam process $pid survived SIGKILL"
    wait_gone "$launcher" 5 || true
    log "node $NODE (pid $pid) killed"
}

status() {
    if is_running; then
        echo "running node=$NODE pid=$(node_pid) uri=$URI dir=$DIR"
        return 0
    fi
    echo "not running node=$NODE dir=$DIR"
    return 3
}

case "$CMD" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    kill) kill_node ;;
    uri) echo "$URI" ;;
    ctl) ctl "$@" ;;
    *) die "unknown command $CMD" ;;
esac
