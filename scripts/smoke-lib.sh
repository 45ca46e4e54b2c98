# Shared by scripts/package-smoke.sh and scripts/aot-smoke.sh (source it; bash, set -euo pipefail):
#   smoke_pack           packs Nucleon.Pipes and Nucleon.Pipes.Hosting into $SMOKE_FEED, checks that
#                        each .nupkg and .snupkg is there, sets SMOKE_VERSION
#   smoke_broker_start P starts a private broker node named P-<port>@localhost on the first free port
#                        from ${SMOKE_BROKER_PORT:-5694}, sets SMOKE_URI, and stops the node by name
#                        when the script exits (whatever happens)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SMOKE_FEED="$REPO/artifacts/packages"
SMOKE_SAMPLE="$REPO/samples/Nucleon.Pipes.PackageSmoke"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

smoke_pack() {
    echo "smoke: packing into $SMOKE_FEED"
    rm -rf "$SMOKE_FEED"
    mkdir -p "$SMOKE_FEED"
    local project id ext nupkg
    for project in Nucleon.Pipes Nucleon.Pipes.Hosting; do
        dotnet pack -c Release "$REPO/$project/$project.csproj" -o "$SMOKE_FEED" </dev/null
    done
    ls -l "$SMOKE_FEED"
    nupkg="$(find "$SMOKE_FEED" -maxdepth 1 -name 'Nucleon.Pipes.[0-9]*.nupkg' ! -name '*.snupkg' | head -n 1)"
    [ -n "$nupkg" ] || { echo "smoke: no Nucleon.Pipes package was produced"; return 1; }
    SMOKE_VERSION="$(basename "$nupkg" .nupkg)"
    SMOKE_VERSION="${SMOKE_VERSION#Nucleon.Pipes.}"
    for id in Nucleon.Pipes Nucleon.Pipes.Hosting; do
        for ext in nupkg snupkg; do
            [ -f "$SMOKE_FEED/$id.$SMOKE_VERSION.$ext" ] || { echo "smoke: missing $id.$SMOKE_VERSION.$ext"; return 1; }
        done
    done
    # The sample restores into its own packages folder; drop what an earlier pack of the same version left.
    rm -rf "$REPO/artifacts/package-smoke/packages/nucleon.pipes" "$REPO/artifacts/package-smoke/packages/nucleon.pipes.hosting"
    echo "smoke: package version $SMOKE_VERSION"
}

smoke_broker_start() {
    local prefix="$1" port
    "$REPO/scripts/install-broker.sh" </dev/null
    port="${SMOKE_BROKER_PORT:-5694}"
    for _ in $(seq 1 50); do
        smoke_port_open "$port" || smoke_port_open "$((port + 20000))" || break
        port=$((port + 1))
    done
    SMOKE_NODE="$prefix-$port@localhost"
    SMOKE_BROKER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/$prefix-broker.XXXXXX")"
    trap smoke_broker_stop EXIT
    trap 'exit 143' TERM INT # so that a timeout's TERM also runs the EXIT trap
    SMOKE_URI="$("$REPO/scripts/broker.sh" --port "$port" --node "$SMOKE_NODE" --dir "$SMOKE_BROKER_DIR" start)"
    echo "smoke: broker $SMOKE_NODE up at $SMOKE_URI"
}

smoke_broker_stop() {
    "$REPO/scripts/broker.sh" --dir "$SMOKE_BROKER_DIR" --node "$SMOKE_NODE" stop >/dev/null 2>&1 || true
    rm -rf "$SMOKE_BROKER_DIR"
    "$REPO/scripts/release-epmd.sh"
}

smoke_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
