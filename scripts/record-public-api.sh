#!/usr/bin/env bash
# Brings each project's PublicAPI.Unshipped.txt in line with its code from the analyzer's errors:
# records every public symbol reported as undeclared (RS0016), and drops every Unshipped entry
# reported as no longer public (RS0017), building again until none is left. Entries in
# PublicAPI.Shipped.txt are never touched: removing shipped API is a breaking change, done by hand.
# Review the diff before committing it.
#   scripts/record-public-api.sh [project.csproj ...]   (default: both library projects)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
projects=("$@")
[ ${#projects[@]} -gt 0 ] || projects=("$REPO/Nucleon.Pipes/Nucleon.Pipes.csproj" "$REPO/Nucleon.Pipes.Hosting/Nucleon.Pipes.Hosting.csproj")
symbols_of() { grep -oE "error $1: Symbol '[^']+'" | sed -E "s/^error $1: Symbol '(.*)'$/\1/" | sort -u || true; }
for project in "${projects[@]}"; do
    dir="$(dirname "$project")"
    unshipped="$dir/PublicAPI.Unshipped.txt"
    for round in 1 2 3 4 5; do
        output="$(dotnet build "$project" -c Release --no-incremental 2>&1 || true)"
        added="$(symbols_of RS0016 <<<"$output")"
        # RS0017 names the stale entry's file; only those in PublicAPI.Unshipped.txt are dropped.
        removed="$( (grep -E "PublicAPI\.Unshipped\.txt\([0-9]+,[0-9]+\): error RS0017" <<<"$output" || true) | symbols_of RS0017)"
        [ -n "$added$removed" ] || break
        if [ -n "$removed" ]; then
            grep -vxF -f <(printf '%s\n' "$removed") "$unshipped" > "$unshipped.tmp" || true
            mv "$unshipped.tmp" "$unshipped"
            echo "record-public-api: $(printf '%s\n' "$removed" | wc -l) stale symbol(s) dropped from $unshipped"
        fi
        if [ -n "$added" ]; then
            # Appended, not re-sorted: the analyzer ignores the order, and review diffs stay small.
            printf '%s\n' "$added" >> "$unshipped"
            echo "record-public-api: $(printf '%s\n' "$added" | wc -l) symbol(s) recorded in $unshipped"
        fi
    done
done
