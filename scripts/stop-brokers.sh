#!/usr/bin/env bash
# Stops every private broker node whose base dir lies directly under ROOT
# (the NUCLEON_TEST_BROKER_ROOT the test fixture used). Safe to run repeatedly.
# usage: scripts/stop-brokers.sh ROOT
set -uo pipefail
ROOT="${1:?usage: stop-brokers.sh ROOT}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ -d "$ROOT" ] || exit 0
for dir in "$ROOT"/*/; do
    dir="${dir%/}"
    [ -f "$dir/broker.env" ] || continue
    if [ -s "$dir/rabbitmq.pid" ] || [ -s "$dir/launcher.pid" ]; then
        echo "stop-brokers: stopping leftover node in $dir" >&2
        "$HERE/broker.sh" --dir "$dir" --timeout 30 stop >&2 || "$HERE/broker.sh" --dir "$dir" kill >&2 || true
    fi
done
# With every node stopped, the port mapper broker.sh started goes too.
"$HERE/release-epmd.sh"
exit 0
