#!/usr/bin/env bash
# Native AOT check: publishes samples/Nucleon.Pipes.PackageSmoke, restored from the packed packages as
# in scripts/package-smoke.sh, with PublishAot=true (warnings are errors there, so a single trim or AOT
# warning fails the publish) and as an ordinary framework-dependent JIT app; runs both against a
# private broker node (connect, confirmed publish, consume, close; then the Generic Host round trip:
# hosted connection, hosted consumer, IAmqpPublisher, health check) and stops the node by name.
# Prints the binary sizes and start-up figures: milliseconds from launch to Main, to the first
# connection, to the started host and to the end of the round trip, the median of SMOKE_RUNS runs of
# each build, taken alternately after one unmeasured run of each.
# Finds a linker first with scripts/install-aot-toolchain.sh (clang, else gcc, else installs clang).
# env: SMOKE_RUNS (default 5), SMOKE_BROKER_PORT (first port tried, default 5694),
#      AOT_PUBLISH_TIMEOUT (seconds, default 600)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/smoke-lib.sh"
OUT="$REPO/artifacts/aot-smoke"
RUNS="${SMOKE_RUNS:-5}"
log() { echo "aot-smoke.sh: $*"; }

linker_arg="$("$REPO/scripts/install-aot-toolchain.sh" </dev/null)"
smoke_pack
rm -rf "$OUT"
mkdir -p "$OUT"

start=$SECONDS
# No ASP.NET Core runtime pack: the sample does not use it (it would be restored with the runtime identifier).
timeout "${AOT_PUBLISH_TIMEOUT:-600}" dotnet publish -c Release "$SMOKE_SAMPLE" -r linux-x64 -p:PublishAot=true -p:DisableTransitiveFrameworkReferenceDownloads=true \
    ${linker_arg:+"$linker_arg"} -p:NucleonPipesVersion="$SMOKE_VERSION" -o "$OUT/aot" </dev/null
aot_publish_s=$((SECONDS - start))
start=$SECONDS
timeout "${AOT_PUBLISH_TIMEOUT:-600}" dotnet publish -c Release "$SMOKE_SAMPLE" \
    -p:NucleonPipesVersion="$SMOKE_VERSION" -o "$OUT/jit" </dev/null
jit_publish_s=$((SECONDS - start))
AOT_BIN="$OUT/aot/Nucleon.Pipes.PackageSmoke"
JIT_BIN="$OUT/jit/Nucleon.Pipes.PackageSmoke"
[ -x "$AOT_BIN" ] && [ -x "$JIT_BIN" ] || { log "a build is missing: $AOT_BIN or $JIT_BIN"; exit 1; }
log "published: AOT in ${aot_publish_s} s, JIT in ${jit_publish_s} s"

smoke_broker_start nucleon-aot

# run BUILD BINARY: one round trip; fails the script unless it passes; keeps its timing line.
run() {
    local build="$1" binary="$2" log_file="$OUT/$1.log"
    if ! SMOKE_LAUNCH_UNIX_US="$(date +%s%6N)" timeout 120 "$binary" "${SMOKE_URI}%2f?heartbeat=30" >"$log_file" 2>&1 </dev/null; then
        cat "$log_file"
        log "the $build build failed its round trip"
        exit 1
    fi
    grep -q '^package-smoke: all checks passed$' "$log_file" || { cat "$log_file"; log "$build: no success line"; exit 1; }
    grep '^package-smoke: timing ' "$log_file" >>"$OUT/$build.timings"
}

for build in aot jit; do
    binary="$AOT_BIN"; [ "$build" = aot ] || binary="$JIT_BIN"
    run "$build" "$binary"
    cat "$OUT/$build.log"
    rm -f "$OUT/$build.timings"
done
for _ in $(seq 1 "$RUNS"); do
    run jit "$JIT_BIN"
    run aot "$AOT_BIN"
done

# median BUILD MILESTONE: the median over the measured runs, in ms.
median() {
    grep -oE " $2=[0-9.]+" "$OUT/$1.timings" | cut -d= -f2 | sort -n \
        | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
aot_size=$(stat -c %s "$AOT_BIN")
dbg_size=$(stat -c %s "$AOT_BIN.dbg" 2>/dev/null || echo 0)
jit_size=$(du -sb --exclude='*.pdb' "$OUT/jit" | cut -f1)
runtime_dir="$(dirname "$(readlink -f "$(command -v dotnet)")")/shared/Microsoft.NETCore.App"
runtime_size=$(du -sb "$runtime_dir"/"$(ls "$runtime_dir" | sort -V | tail -n 1)" 2>/dev/null | cut -f1 || echo 0)

log "sizes: AOT $(mib "$aot_size") ($aot_size B, one self-contained file; symbols in a separate .dbg of $(mib "$dbg_size"))"
log "       JIT $(mib "$jit_size") ($jit_size B of app and package assemblies, without .pdb; needs the shared .NET runtime, $(mib "$runtime_size") here)"
log "start-up, ms since launch, median of $RUNS runs each:"
printf 'aot-smoke.sh:   %-5s %8s %10s %13s %8s\n' build main connected host-started done
for build in aot jit; do
    printf 'aot-smoke.sh:   %-5s %8s %10s %13s %8s\n' "$build" "$(median "$build" main)" "$(median "$build" connected)" \
        "$(median "$build" host-started)" "$(median "$build" done)"
done
log "passed"
