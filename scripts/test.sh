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
# Tests that were listed but have no result (the test host crashed, or the hang timeout killed
# it) count as failed and are named above the summary line.
#
# env: NUCLEON_TEST_RESULTS (results dir, default artifacts/test-results),
#      NUCLEON_TEST_HANG_TIMEOUT (blame hang timeout, default 5m)
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
    --blame-hang-timeout "${NUCLEON_TEST_HANG_TIMEOUT:-5m}" --blame-hang-dump-type none \
    "$@" </dev/null
test_rc=$?
set -e
cleanup_brokers

# ---- summary: every listed test without a result counts as failed ----
# The TRX counters only know the results that reached the logger: when the test host crashes
# (Environment.FailFast, stack overflow) or the hang timeout kills it, the rest simply vanish.
# So the same selection is listed (same filter and other arguments) and compared with the results.
list_args=(--list-tests)
case " $* " in *" --no-build "*) ;; *) list_args+=(--no-build) ;; esac
listing="$RESULTS/listed-tests.txt"
if ! dotnet test "$REPO/Nucleon.sln" -c Release "${list_args[@]}" "$@" </dev/null >"$listing" 2>&1; then
    echo "test.sh: listing the tests failed (see $listing)" >&2
fi

status=0
if [ "$test_rc" -ne 0 ]; then
    echo "test.sh: dotnet test exited with $test_rc" >&2; status=1
fi
trx_files=()
while IFS= read -r -d '' trx; do trx_files+=("$trx"); done < <(find "$RESULTS" -name '*.trx' -print0)
if [ "${#trx_files[@]}" -eq 0 ]; then
    echo "test.sh: no TRX results found (build failure?)" >&2; status=1
fi
command -v python3 >/dev/null || { echo "test.sh: python3 is needed for the summary" >&2; echo "0 passed, 0 failed"; exit 1; }
# Prints failed and never-run tests just above the summary line (the last line), so the tail
# of a CI log says what failed without the TRX file; exits non-zero on any of them.
python3 "$REPO/scripts/test-summary.py" "$listing" "$RESULTS/summary.txt" "${trx_files[@]}" || status=1
exit "$status"
