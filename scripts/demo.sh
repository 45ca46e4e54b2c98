#!/usr/bin/env bash
# The main job: installs RabbitMQ if missing, starts a private broker node on loopback
# (port 5692, own node name and data dir), runs the Nucleon.Pipes demo against it, and
# stops the node again, whatever happens.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${DEMO_BROKER_PORT:-5692}"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/nucleon-demo-broker.XXXXXX")"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

"$REPO/scripts/install-broker.sh"
stop_node() { "$REPO/scripts/broker.sh" --dir "$DIR" stop >/dev/null 2>&1 || true; rm -rf "$DIR"; "$REPO/scripts/release-epmd.sh"; }
trap stop_node EXIT

URI="$("$REPO/scripts/broker.sh" --port "$PORT" --dir "$DIR" start)"
echo "demo.sh: broker up at $URI"
dotnet run -c Release --project "$REPO/samples/Nucleon.Pipes.Demo" -- "${URI}%2f?heartbeat=30"
