#!/usr/bin/env bash
# Observability cost with nobody listening (issue 11): the Nucleon.Pipes e2e rows of this checkout against
# another build of the repository (e.g. main in a detached worktree), side by side in one sitting: rounds of
# before, after, each in a fresh process against the null broker (quick counts, a warm-up, one measured run),
# then the median of each column per side.
#   scripts/obs-bench.sh BEFORE_DIR [ROUNDS=3]        (ONLY=publish,... picks the workloads)
#   e.g. git worktree add --detach /tmp/before main && scripts/obs-bench.sh /tmp/before
set -euo pipefail
cd "$(dirname "$0")/.."
after="$(pwd)"
before="$(cd "$1" && pwd)"
rounds="${2:-3}"
only="${ONLY:-publish,publish-confirm,consume,consume-autoack}"
dotnet build -c Release Nucleon.Pipes.Benchmarks >/dev/null
(cd "$before" && dotnet build -c Release Nucleon.Pipes.Benchmarks >/dev/null)
rows="$(mktemp /tmp/obs-bench.XXXXXX)"
trap 'rm -f "$rows"' EXIT
for round in $(seq 1 "$rounds"); do
    for side in before after; do
        dir="$before"; [ "$side" = after ] && dir="$after"
        (cd "$dir" && dotnet run -c Release --no-build --project Nucleon.Pipes.Benchmarks -- \
            e2e --target null --quick --runs 1 --no-ceiling --client nucleon --only "$only") \
            | grep -E ' run 1 ' | sed "s/^/$side /" | tee -a "$rows"
    done
done
# Columns of a row line: side, workload, client (2 words), "run 1", msg/s, ..., µs CPU/msg, B/msg.
echo
echo "| workload | side | msg/s (median of $rounds) | µs CPU/msg | B/msg |"
echo "| --- | --- | ---: | ---: | ---: |"
for w in ${only//,/ }; do
    for side in before after; do
        grep -E "^$side +$w +" "$rows" | awk '{ gsub(",", ""); print $6, $10, $13 }' \
            | awk -v w="$w" -v side="$side" '
                { m[NR] = $1; c[NR] = $2; b[NR] = $3 }
                function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((n + 1) / 2)] }
                END { if (NR) printf "| %s | %s | %\047d | %.2f | %.1f |\n", w, side, med(m, NR), med(c, NR), med(b, NR) }'
    done
done
