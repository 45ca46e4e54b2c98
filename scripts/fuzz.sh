#!/usr/bin/env bash
# Fuzzes the AMQP frame decoder with SharpFuzz + AFL++ for a bounded time.
#   scripts/fuzz.sh [seconds]      (default 120)
# Installs what is missing (afl++ from Debian, the SharpFuzz.CommandLine dotnet tool 2.3.0 under
# fuzz/.tools), builds fuzz/Nucleon.Pipes.Fuzz, instruments its copy of Nucleon.Pipes.dll, seeds
# fuzz/corpus with valid frames if it is empty, and runs afl-fuzz. Findings land in fuzz/findings;
# a crash is any exception other than AmqpProtocolException. Replay one with:
#   dotnet run --project fuzz/Nucleon.Pipes.Fuzz -- --run fuzz/findings/default/crashes/id:...
# Exit status: 0 when no crash was found, 1 otherwise.
set -euo pipefail

DURATION="${1:-120}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$REPO/fuzz"
TOOLS="$FUZZ/.tools"
OUT="$FUZZ/out"
CORPUS="$FUZZ/corpus"
FINDINGS="$FUZZ/findings"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

if ! command -v afl-fuzz >/dev/null; then
    echo "== installing afl++"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi

if [ ! -x "$TOOLS/sharpfuzz" ]; then
    echo "== installing SharpFuzz.CommandLine 2.3.0"
    dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$TOOLS" >/dev/null
fi

echo "== building the harness"
rm -rf "$OUT"
dotnet build "$FUZZ/Nucleon.Pipes.Fuzz/Nucleon.Pipes.Fuzz.csproj" -c Release -o "$OUT" -v quiet -nologo

if [ -z "$(ls -A "$CORPUS" 2>/dev/null)" ]; then
    echo "== writing the seed corpus"
    dotnet "$OUT/Nucleon.Pipes.Fuzz.dll" --corpus "$CORPUS"
fi

# (Once instrumented, the assembly only runs under afl-fuzz.)
echo "== instrumenting Nucleon.Pipes.dll"
"$TOOLS/sharpfuzz" "$OUT/Nucleon.Pipes.dll"

echo "== afl-fuzz for $DURATION s"
rm -rf "$FINDINGS"
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
set +e
timeout --signal=INT $((DURATION + 60)) \
    afl-fuzz -V "$DURATION" -i "$CORPUS" -o "$FINDINGS" -t 5000 -m none -- dotnet "$OUT/Nucleon.Pipes.Fuzz.dll" \
    > "$FUZZ/afl.log" 2>&1
rc=$?
set -e

stats="$FINDINGS/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
    echo "afl-fuzz did not start (exit $rc); see $FUZZ/afl.log:"
    tail -30 "$FUZZ/afl.log"
    exit 2
fi

echo "== results"
grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg|stability) ' "$stats"
crashes=$(find "$FINDINGS/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
if [ "$crashes" -gt 0 ]; then
    echo "$crashes crash(es) in $FINDINGS/default/crashes"
    exit 1
fi

echo "no crash found"
