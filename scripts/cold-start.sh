#!/usr/bin/env bash
# Cold start (issue 14): the first run of each workload in a fresh process, both clients, under the default tiered
# JIT, TieredPGO off, tiered compilation off, and ReadyToRun. Publishes the benchmark program twice for this
# machine's RID (plain, and with -p:PublishReadyToRun=true) into artifacts/cold-start/, then runs `coldstart` from
# the plain build with --r2r pointing at the other. Writes benchmarks/cold-start.md.
#   scripts/cold-start.sh [--runs N] [--only publish,rpc,...] [--smoke] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/cold-start
rid=$(dotnet --info | awk '/^ *RID:/ { print $2; exit }')
dotnet publish Nucleon.Pipes.Benchmarks -c Release -r "$rid" --self-contained false -o "$out/jit" >/dev/null
dotnet publish Nucleon.Pipes.Benchmarks -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true -o "$out/r2r" >/dev/null
exec dotnet "$out/jit/Nucleon.Pipes.Benchmarks.dll" coldstart --r2r "$out/r2r" "$@"
