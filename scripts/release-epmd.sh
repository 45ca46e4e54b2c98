#!/usr/bin/env bash
# Stops the Erlang port mapper (epmd) once no node is registered with it. scripts/broker.sh starts epmd
# for the first private node and it outlives the nodes; the scripts that stop their nodes (stop-brokers.sh,
# demo.sh, worker-demo.sh, observability-demo.sh, smoke-lib.sh) call this last. epmd itself refuses to
# stop while any node (ours or the system's) is alive.
set -uo pipefail
command -v epmd >/dev/null 2>&1 || exit 0
names="$(epmd -names 2>/dev/null)" || exit 0      # not running
if ! grep -q '^name ' <<<"$names"; then
    epmd -kill >/dev/null 2>&1 || true
fi
exit 0
