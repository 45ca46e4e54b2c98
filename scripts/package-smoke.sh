#!/usr/bin/env bash
# Checks the packages as packages: packs Nucleon.Pipes and Nucleon.Pipes.Hosting into
# artifacts/packages, restores and builds samples/Nucleon.Pipes.PackageSmoke from that folder feed
# (no ProjectReference), starts a private broker node (as scripts/demo.sh does), runs the sample against it (connect, confirmed
# publish, consume, close; then the same through the Generic Host: hosted connection, hosted
# consumer, IAmqpPublisher, health check) and stops the node by its node name, whatever happens.
# Catches a missing file, a missing dependency or an internal type a user needs.
# env: SMOKE_BROKER_PORT (first port tried, default 5694; the next free one is used)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/smoke-lib.sh"
log() { echo "package-smoke.sh: $*"; }

smoke_pack
log "building the sample from the local feed"
dotnet build -c Release "$SMOKE_SAMPLE" -p:NucleonPipesVersion="$SMOKE_VERSION" </dev/null

smoke_broker_start nucleon-smoke
dotnet run -c Release --no-build --project "$SMOKE_SAMPLE" -p:NucleonPipesVersion="$SMOKE_VERSION" -- "${SMOKE_URI}%2f?heartbeat=30" </dev/null
log "passed"
