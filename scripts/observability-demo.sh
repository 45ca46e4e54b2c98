#!/usr/bin/env bash
# Runs samples/Nucleon.Pipes.Observability (the OpenTelemetry SDK with its console exporter: a publish ->
# process trace and the Nucleon.Pipes metrics) against a private broker node it starts on loopback
# (port 5696, own node name and data dir) and stops again, whatever happens.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${OBSERVABILITY_BROKER_PORT:-5696}"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/nucleon-observability-broker.XXXXXX")"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

"$REPO/scripts/install-broker.sh"
stop_node() { "$REPO/scripts/broker.sh" --dir "$DIR" stop >/dev/null 2>&1 || true; rm -rf "$DIR"; "$REPO/scripts/release-epmd.sh"; }
trap stop_node EXIT

URI="$("$REPO/scripts/broker.sh" --port "$PORT" --dir "$DIR" start)"
echo "observability-demo.sh: broker up at $URI"
timeout 300 dotnet run -c Release --project "$REPO/samples/Nucleon.Pipes.Observability" -- "${URI}%2f"
