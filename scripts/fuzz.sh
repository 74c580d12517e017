#!/usr/bin/env bash
# Runs every fuzz target of presage (each func FuzzXxx in a _test.go file),
# one after the other, for a given time each. A target that finds a failing
# input writes it to its package's testdata/fuzz/ and the script exits 1
# after the other targets ran; commit the input with the fix, where it then
# runs as a seed on every `go test`.
# Usage: scripts/fuzz.sh [TIME]     (TIME per target, default 60s; e.g. 10s)
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-60s}"

failed=""
count=0
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
# "pkg target" pairs, from the test files (no build needed to list them).
while read -r file target; do
	pkg="./$(dirname "$file")"
	count=$((count + 1))
	echo "fuzz: $pkg $target for $fuzztime" >&2
	if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$out" 2>&1; then
		cat "$out" >&2
		failed="$failed $pkg:$target"
	else
		grep -E '^fuzz: elapsed' "$out" | tail -1 | sed "s|^|fuzz: $target: |" >&2
	fi
done < <(git ls-files '*_test.go' 2>/dev/null | xargs grep -H -o '^func Fuzz[A-Za-z0-9_]*' | sed 's/:func / /')
if [ -n "$failed" ]; then
	echo "fuzz: failing:$failed" >&2
	exit 1
fi
echo "fuzz: $count targets, $fuzztime each: no failing input" >&2
