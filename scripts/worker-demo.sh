#!/usr/bin/env bash
# Runs samples/Nucleon.Pipes.Worker (a Worker Service: hosted connection, publisher and consumer,
# settings from appsettings.json) against a private broker node it starts on loopback (port 5693,
# own node name and data dir) and stops again, whatever happens. The worker stops by itself once
# every message it published was handled; the connection string is passed as configuration.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${WORKER_BROKER_PORT:-5693}"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/nucleon-worker-broker.XXXXXX")"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

"$REPO/scripts/install-broker.sh"
stop_node() { "$REPO/scripts/broker.sh" --dir "$DIR" stop >/dev/null 2>&1 || true; rm -rf "$DIR"; "$REPO/scripts/release-epmd.sh"; }
trap stop_node EXIT

URI="$("$REPO/scripts/broker.sh" --port "$PORT" --dir "$DIR" start)"
echo "worker-demo.sh: broker up at $URI"
cd "$REPO/samples/Nucleon.Pipes.Worker"
ConnectionStrings__amqp="${URI}%2f" timeout 300 dotnet run -c Release
