#!/usr/bin/env bash
# The test run behind `npm test` (after set-up): static checks, unit tests, then the
# end-to-end tests one file at a time (two TCG guests fill both cores). Ends with a plain
# line `N passed, N failed` (the static checks count as one test each) and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
out=.cache/test-results
rm -rf "$out"; mkdir -p "$out"
checks_passed=0; checks_failed=0

check() {
  local name=$1; shift
  echo "== $name" >&2
  if "$@" >&2; then checks_passed=$((checks_passed + 1)); else checks_failed=$((checks_failed + 1)); echo "FAILED: $name" >&2; fi
}

check typecheck npx tsc -p tsconfig.json --noEmit
check typecheck-web npx tsc -p src/web/tsconfig.json --noEmit
check eslint npx eslint .
check prettier npx prettier --check . --log-level warn
# The release artifacts (npm tarball, .deb) built and installed into a temporary prefix and root.
check package bash scripts/package-test.sh

for project in unit e2e ui; do
  echo "== vitest $project" >&2
  npx vitest run --project "$project" --reporter=default --reporter=json --outputFile="$out/$project.json" >&2
  echo $? > "$out/$project.rc"
done

node scripts/test-summary.mjs "$out" "$checks_passed" "$checks_failed"
