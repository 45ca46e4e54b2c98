#!/usr/bin/env bash
# Runs the fault tests (Nucleon.Pipes.Tests/Integration/Faults) in their long soak variant:
# NUCLEON_SOAK=1 means 20 node kills, 30 forced closes, 100,000 publishes under 20 closes.
# They use a private rabbitmq-server node of their own (scripts/install-broker.sh must have run);
# it is stopped when this script ends. Extra arguments go to dotnet test.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 NUCLEON_SOAK=1
if [ -z "${NUCLEON_TEST_BROKER_ROOT:-}" ]; then
    NUCLEON_TEST_BROKER_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/nucleon-soak-brokers.XXXXXX")"
fi
export NUCLEON_TEST_BROKER_ROOT
trap '"$REPO/scripts/stop-brokers.sh" "$NUCLEON_TEST_BROKER_ROOT" >/dev/null 2>&1 || true' EXIT
dotnet test "$REPO/Nucleon.Pipes.Tests" -c Release \
    --filter "FullyQualifiedName~Nucleon.Pipes.Tests.Integration.Faults" \
    --logger "console;verbosity=detailed" \
    --blame-hang-timeout 30m --blame-hang-dump-type none \
    "$@" </dev/null
