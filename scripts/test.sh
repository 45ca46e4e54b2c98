#!/usr/bin/env bash
# The test command: builds and runs every test in Nucleon.sln (Release) and
# prints as its last line "N passed, N failed" (", N skipped" when any were skipped).
# Exits non-zero if the build or any test failed, or if no test ran.
#
# Integration tests get their broker from BrokerFixture: NUCLEON_TEST_AMQP_URI, else a
# Docker engine (Testcontainers), else a private rabbitmq-server node it starts itself
# (needs scripts/install-broker.sh to have run). Private nodes live under
# NUCLEON_TEST_BROKER_ROOT; leftovers there are stopped when this script ends.
#
# env: NUCLEON_TEST_RESULTS (results dir, default artifacts/test-results)
# extra arguments are passed to dotnet test (e.g. --filter FullyQualifiedName~Codec)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RESULTS="${NUCLEON_TEST_RESULTS:-$REPO/artifacts/test-results}"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

own_root=0
if [ -z "${NUCLEON_TEST_BROKER_ROOT:-}" ]; then
    NUCLEON_TEST_BROKER_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/nucleon-test-brokers.XXXXXX")"
    own_root=1
fi
export NUCLEON_TEST_BROKER_ROOT
cleaned=0
cleanup_brokers() {
    [ "$cleaned" = 1 ] && return 0
    cleaned=1
    "$REPO/scripts/stop-brokers.sh" "$NUCLEON_TEST_BROKER_ROOT" || true
    if [ "$own_root" = 1 ]; then rmdir "$NUCLEON_TEST_BROKER_ROOT" 2>/dev/null || true; fi
}
trap 'cleanup_brokers >/dev/null 2>&1' EXIT

rm -rf "$RESULTS"
mkdir -p "$RESULTS"

echo "test.sh: dotnet test Nucleon.sln -c Release (results in $RESULTS, broker root $NUCLEON_TEST_BROKER_ROOT)"
set +e
dotnet test "$REPO/Nucleon.sln" -c Release \
    --logger "trx;LogFileName=results.trx" \
    --logger "console;verbosity=normal" \
    --results-directory "$RESULTS" \
    --blame-hang-timeout 5m --blame-hang-dump-type none \
    "$@" </dev/null
test_rc=$?
set -e
cleanup_brokers

# ---- summary from the TRX ResultSummary counters (the one place computing the line) ----
counter() { # file attribute
    grep -o '<Counters [^>]*>' "$1" | head -n 1 | grep -o " $2=\"[0-9]*\"" | tr -dc '0-9'
}
total=0 executed=0 passed=0 failed=0 trx_count=0
while IFS= read -r -d '' trx; do
    trx_count=$((trx_count + 1))
    t=$(counter "$trx" total); e=$(counter "$trx" executed); p=$(counter "$trx" passed)
    f=$(counter "$trx" failed); er=$(counter "$trx" error); to=$(counter "$trx" timeout); ab=$(counter "$trx" aborted)
    total=$((total + ${t:-0})); executed=$((executed + ${e:-0})); passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${er:-0} + ${to:-0} + ${ab:-0}))
done < <(find "$RESULTS" -name '*.trx' -print0)
skipped=$((total - executed))
[ "$skipped" -lt 0 ] && skipped=0

status=0
if [ "$test_rc" -ne 0 ]; then
    echo "test.sh: dotnet test exited with $test_rc" >&2; status=1
fi
if [ "$trx_count" -eq 0 ]; then
    echo "test.sh: no TRX results found (build failure?)" >&2; status=1
elif [ "$executed" -eq 0 ]; then
    echo "test.sh: no tests ran" >&2; status=1
fi
[ "$failed" -gt 0 ] && status=1

# Name each failed test with the start of its message just above the summary, so the
# tail of a CI log says what failed without the TRX file.
if [ "$failed" -gt 0 ] && command -v python3 >/dev/null; then
    find "$RESULTS" -name '*.trx' -print0 | xargs -0 python3 "$REPO/scripts/trx-failures.py" || true
fi

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line" > "$RESULTS/summary.txt"
echo "$line"
exit "$status"
