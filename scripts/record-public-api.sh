#!/usr/bin/env bash
# Records every public symbol the PublicApiAnalyzers report as undeclared (RS0016) in the project's
# PublicAPI.Unshipped.txt, building again until none is left. Review the diff before committing it.
#   scripts/record-public-api.sh [project.csproj ...]   (default: both library projects)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
projects=("$@")
[ ${#projects[@]} -gt 0 ] || projects=("$REPO/Nucleon.Pipes/Nucleon.Pipes.csproj" "$REPO/Nucleon.Pipes.Hosting/Nucleon.Pipes.Hosting.csproj")
for project in "${projects[@]}"; do
    dir="$(dirname "$project")"
    for round in 1 2 3 4 5; do
        symbols="$(dotnet build "$project" -c Release --no-incremental 2>&1 \
            | grep -oE "error RS0016: Symbol '[^']+'" | sed -E "s/^error RS0016: Symbol '(.*)'$/\1/" | sort -u || true)"
        [ -n "$symbols" ] || break
        # Appended, not re-sorted: the analyzer ignores the order, and review diffs stay small.
        printf '%s\n' "$symbols" >> "$dir/PublicAPI.Unshipped.txt"
        echo "record-public-api: $(printf '%s\n' "$symbols" | wc -l) symbol(s) recorded in $dir/PublicAPI.Unshipped.txt"
    done
done
