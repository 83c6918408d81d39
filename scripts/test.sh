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
old_image=$(docker image inspect -f '{{.Id}}' "decnet/honeypot:$VERSION" 2>/dev/null || true)
node packages/cli/bin/run.js images build -q --base-image "$DECNET_IMAGE_BASE" >/dev/null
new_image=$(docker image inspect -f '{{.Id}}' "decnet/honeypot:$VERSION")
# the image this build replaced is untagged now: remove it (it stays while a container uses it)
if [ -n "$old_image" ] && [ "$old_image" != "$new_image" ]; then docker image rm "$old_image" >/dev/null 2>&1 || true; fi
export TESTCONTAINERS_RYUK_DISABLED=true
# the run's own temp dir: whatever a test leaves in it is named by the leftover check below
RUN_TMP=$(mktemp -d /tmp/decnet-test-run.XXXXXX)
export TMPDIR="$RUN_TMP"
set +e
rm -rf .reports && mkdir -p .reports
npx turbo run test --continue --filter='!@decnet/e2e'
unit=$?
npx turbo run test --continue --filter='@decnet/e2e'
e2e=$?
node scripts/test-summary.mjs .reports
summary=$?
# last step: a test run leaves nothing behind (containers, networks, namespaces, links,
# per-run images, daemons, state and temp files); fails naming what it finds
TMPDIR=/tmp node scripts/leftovers.mjs --check --tmp "$RUN_TMP"
left=$?
rm -rf "$RUN_TMP"
[ $unit -eq 0 ] && [ $e2e -eq 0 ] && [ $summary -eq 0 ] && [ $left -eq 0 ]
