#!/usr/bin/env bash
# The whole test suite, from a fresh machine: dependencies, a Docker engine, the
# local images (built offline), then unit, engine and end-to-end tests.
set -uo pipefail
cd "$(dirname "$0")/.."
set -e
bash scripts/test-deps.sh
bash scripts/ensure-engine.sh
# npm ci rejects the lock npm 11 writes here (it leaves out other platforms' optional
# turbo binaries), so install from the lock with npm install
[ -f node_modules/.package-lock.json ] || npm install --no-audit --no-fund
npx turbo run build
VERSION=$(node -p 'require("./package.json").version')
export DECNET_BASE_IMAGE="decnet/runtime-base:$VERSION"
bash scripts/build-runtime-base.sh "$DECNET_BASE_IMAGE" >/dev/null
export DECNET_IMAGE_BASE="$DECNET_BASE_IMAGE"   # base of the honeypot image (no public node image offline)
# always rebuild the honeypot image: its tag carries the version, not the code it was built from
node packages/cli/bin/run.js images build -q --base-image "$DECNET_IMAGE_BASE" >/dev/null
export TESTCONTAINERS_RYUK_DISABLED=true
set +e
rm -rf .reports && mkdir -p .reports
npx turbo run test --continue --filter='!@decnet/e2e'
unit=$?
npx turbo run test --continue --filter='@decnet/e2e'
e2e=$?
node scripts/test-summary.mjs .reports
summary=$?
[ $unit -eq 0 ] && [ $e2e -eq 0 ] && [ $summary -eq 0 ]
