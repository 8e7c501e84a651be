#!/usr/bin/env bash
# Fails when package-lock.json is not what the pinned npm makes of package.json: a lock missing a
# platform's optional packages, or out of step with package.json, would make `npm ci` refuse it on a
# fresh machine. Needs the npm registry; run by `make test` (scripts/dev.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$work/"
(cd "$work" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
  { echo "lock: npm install --package-lock-only failed" >&2; exit 1; }
if ! cmp -s "$ROOT/package-lock.json" "$work/package-lock.json"; then
  echo "lock: package-lock.json would change under 'npm install --package-lock-only' (npm $(npm --version)):" >&2
  diff -u "$ROOT/package-lock.json" "$work/package-lock.json" | head -n 40 >&2 || true
  echo "lock: run 'npm install' with the pinned npm (source scripts/env.sh) and commit package-lock.json" >&2
  exit 1
fi
(cd "$work" && npm ci --dry-run --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
  { echo "lock: npm ci --dry-run refused package-lock.json" >&2; exit 1; }
echo "lock: package-lock.json is complete and installs with npm ci (npm $(npm --version))"
