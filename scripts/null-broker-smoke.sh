#!/usr/bin/env bash
# The C null broker (Nucleon.Pipes.Benchmarks/NullBroker/native/nullbroker.c) works:
#  1. it compiles with -Wall -Wextra -Werror (installing Debian's gcc first when there is no cc);
#  2. its process contract holds: "LISTENING port" on stdout, a client sending garbage is cut off
#     while the server lives on, end-of-file on stdin ends it, and so does SIGTERM;
#  3. `e2e --target null --null-server c --smoke` passes every workload for Nucleon.Pipes,
#     RabbitMQ.Client and the ceiling client, the report naming the C null broker.
# Builds Nucleon.Pipes.Benchmarks (Release) when needed; results go to artifacts/null-broker-smoke/.
# env: NULL_SMOKE_TIMEOUT (seconds for the e2e smoke, default 300)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$REPO/artifacts/null-broker-smoke"
SOURCE="$REPO/Nucleon.Pipes.Benchmarks/NullBroker/native/nullbroker.c"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
log() { echo "null-broker-smoke.sh: $*"; }
die() { log "FAILED: $*"; exit 1; }

# ---- 1. a C compiler, and the source compiled with warnings as errors
if ! command -v cc >/dev/null 2>&1; then
    log "no cc: installing gcc and libc6-dev with apt-get"
    "$REPO/scripts/apt-install.sh" gcc libc6-dev
    command -v cc >/dev/null 2>&1 || die "cc still missing after apt-get install"
fi
rm -rf "$OUT"
mkdir -p "$OUT"
BIN="$OUT/nullbroker"
cc -std=c11 -O2 -Wall -Wextra -Werror -pthread -o "$BIN" "$SOURCE"
log "compiled with $(cc --version | head -n 1)"

# ---- 2. the process contract
PID=""
# A server a failed check leaves behind is stopped when the script ends.
trap '[ -z "$PID" ] || kill "$PID" 2>/dev/null || true' EXIT
# start: runs the server as a coprocess (SERVER[1] writes to its stdin); sets PID and PORT.
start() {
    coproc SERVER { exec "$BIN" --port 0 2>>"$OUT/server.stderr"; }
    PID=$SERVER_PID
    local line=""
    read -r -t 10 line <&"${SERVER[0]}" || true
    case "$line" in LISTENING\ [0-9]*) PORT=${line#LISTENING } ;; *) die "no LISTENING line (got '$line')" ;; esac
}
# gone PID: true once the process has ended (within 5 s).
gone() {
    for _ in $(seq 1 50); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

start
# Garbage instead of the protocol header: the server answers with its own header and hangs up.
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET / HTTP/1.1\r\n\r\n' >&4
reply=$(timeout 5 head -c 8 <&4 | od -An -c | tr -s ' ')
exec 4>&-
case "$reply" in *"A M Q P"*) ;; *) die "no protocol header in answer to garbage (got '$reply')" ;; esac
# A frame larger than frame-max after a real protocol header: that connection is closed...
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
printf 'AMQP\0\0\011\001\001\0\0\377\377\377\377' >&4
timeout 5 cat <&4 >/dev/null || die "the connection that sent an oversized frame was not closed"
exec 4>&-
grep -q 'closing a connection: frame larger than frame-max' "$OUT/server.stderr" || die "the server did not say why it closed"
# ...and the server lives on: a new connection still gets connection.start.
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
printf 'AMQP\0\0\011\001' >&4
# A method frame (type 1) on channel 0 whose class and method are 10 and 10.
first=$(timeout 5 head -c 11 <&4 | od -An -tu1 | awk '{ print $1, $2, $3, $8, $9, $10, $11 }')
exec 4>&-
[ "$first" = "1 0 0 0 10 0 10" ] || die "no connection.start after a bad client (got '$first')"
# End-of-file on stdin ends it.
eval "exec ${SERVER[1]}>&-"
gone "$PID" || die "the server did not exit when its stdin closed"
wait "$PID" 2>/dev/null || true

start
kill -TERM "$PID"
gone "$PID" || die "the server did not exit on SIGTERM"
wait "$PID" 2>/dev/null || true
log "contract: LISTENING, bad clients cut off, exit on stdin EOF and on SIGTERM"

# ---- 3. every workload, all three clients, on the C null broker
dotnet build -c Release "$REPO/Nucleon.Pipes.Benchmarks" -v quiet -nologo </dev/null >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; die "dotnet build"; }
set +e
(cd "$REPO" && timeout "${NULL_SMOKE_TIMEOUT:-300}" dotnet Nucleon.Pipes.Benchmarks/bin/Release/net10.0/Nucleon.Pipes.Benchmarks.dll \
    e2e --target null --null-server c --smoke --out "$OUT/results" </dev/null >"$OUT/e2e.log" 2>&1)
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat "$OUT/e2e.log"; die "e2e smoke exited with $rc"; }
grep -q 'FAILED' "$OUT/e2e.log" && { grep 'FAILED' "$OUT/e2e.log"; die "a workload failed"; }
grep -q '; server: C null broker (nullbroker.c)$' "$OUT/e2e.log" || die "the report does not name the C null broker"
missing=""
for row in publish publish-confirm publish-parallel consume consume-autoack rpc rpc-direct rpc-direct-64 large-publish large-consume fairness; do
    clients="Nucleon.Pipes RabbitMQ.Client"
    case "$row" in publish | publish-confirm | consume | consume-autoack) clients="$clients ceiling" ;; esac
    for client in $clients; do
        # A row with a number in its msgs/s cell ran; "–" would mean it has no sample.
        grep -qE "^\| $row \| $client[^|]* \| [0-9]" "$OUT/e2e.log" || missing="$missing $row/$client"
    done
done
[ -z "$missing" ] || { cat "$OUT/e2e.log"; die "rows without results:$missing"; }
log "passed (e2e smoke: every row for all three clients; log in $OUT/e2e.log)"
