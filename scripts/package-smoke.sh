#!/usr/bin/env bash
# Checks the packages as packages: packs Nucleon.Pipes and Nucleon.Pipes.Hosting into
# artifacts/packages, restores and builds samples/Nucleon.Pipes.PackageSmoke from that folder feed
# (no ProjectReference), starts a private broker node (as scripts/demo.sh does), runs the sample against it (connect, confirmed
# publish, consume, close; then the same through the Generic Host: hosted connection, hosted
# consumer, IAmqpPublisher, health check) and stops the node by its node name, whatever happens.
# Catches a missing file, a missing dependency or an internal type a user needs.
# env: SMOKE_BROKER_PORT (first port tried, default 5694; the next free one is used)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FEED="$REPO/artifacts/packages"
SAMPLE="$REPO/samples/Nucleon.Pipes.PackageSmoke"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
log() { echo "package-smoke.sh: $*"; }

log "packing into $FEED"
rm -rf "$FEED"
mkdir -p "$FEED"
for project in Nucleon.Pipes Nucleon.Pipes.Hosting; do
    dotnet pack -c Release "$REPO/$project/$project.csproj" -o "$FEED" </dev/null
done
ls -l "$FEED"

nupkg="$(find "$FEED" -maxdepth 1 -name 'Nucleon.Pipes.[0-9]*.nupkg' ! -name '*.snupkg' | head -n 1)"
[ -n "$nupkg" ] || { log "no Nucleon.Pipes package was produced"; exit 1; }
version="$(basename "$nupkg" .nupkg)"
version="${version#Nucleon.Pipes.}"
for id in Nucleon.Pipes Nucleon.Pipes.Hosting; do
    for ext in nupkg snupkg; do
        [ -f "$FEED/$id.$version.$ext" ] || { log "missing $id.$version.$ext"; exit 1; }
    done
done
log "package version $version"

# The sample restores into its own packages folder; drop what an earlier pack of the same version left.
rm -rf "$REPO/artifacts/package-smoke/packages/nucleon.pipes" "$REPO/artifacts/package-smoke/packages/nucleon.pipes.hosting"
log "building the sample from the local feed"
dotnet build -c Release "$SAMPLE" -p:NucleonPipesVersion="$version" </dev/null

"$REPO/scripts/install-broker.sh" </dev/null
port="${SMOKE_BROKER_PORT:-5694}"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 50); do
    port_open "$port" || port_open "$((port + 20000))" || break
    port=$((port + 1))
done
NODE="nucleon-smoke-$port@localhost"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/nucleon-smoke-broker.XXXXXX")"
stop_node() { "$REPO/scripts/broker.sh" --dir "$DIR" --node "$NODE" stop >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap stop_node EXIT

URI="$("$REPO/scripts/broker.sh" --port "$port" --node "$NODE" --dir "$DIR" start)"
log "broker $NODE up at $URI"
dotnet run -c Release --no-build --project "$SAMPLE" -p:NucleonPipesVersion="$version" -- "${URI}%2f?heartbeat=30" </dev/null
log "passed"
