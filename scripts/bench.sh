#!/usr/bin/env bash
# Runs the Nucleon.Pipes benchmarks.
#   scripts/bench.sh micro [BenchmarkDotNet args]        micro-benchmarks (default --filter '*')
#   scripts/bench.sh e2e [--target null|broker] [--quick] [--uri amqp://...] [--runs N] [--only a,b] [--alloc-profile] [--inbox-peak] [--no-ceiling]
#   scripts/bench.sh scaling [--quick] [--uri amqp://...] [--null-only|--broker-only]
# e2e writes benchmarks/results.md and benchmarks/ratios.svg (from benchmarks/results-*.json); beside the two
# clients it runs the raw-socket ceiling client on publish, publish-confirm, consume and consume-autoack.
# scaling writes benchmarks/scaling.md; cold start has its own script (scripts/cold-start.sh).
# --target broker starts a private RabbitMQ node (scripts/broker.sh, port 5694, /tmp/bench-broker) unless --uri is given.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release Nucleon.Pipes.Benchmarks >/dev/null
exec dotnet run -c Release --no-build --project Nucleon.Pipes.Benchmarks -- "$@"
