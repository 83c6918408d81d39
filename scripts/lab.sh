#!/usr/bin/env bash
# The main job, from a fresh machine: install what is missing, start a Docker
# engine if none runs, build decnet and its images offline, deploy a lab fleet
# (isolated veth LAN + attacker namespace, no physical NIC touched), show it,
# let the attacker namespace touch a decky, and show the events it caused.
#   usage: npm run lab [-- MANIFEST]   (default examples/lab-mixed.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
MANIFEST=${1:-examples/lab-mixed.yaml}
bash scripts/test-deps.sh
bash scripts/ensure-engine.sh
# npm ci rejects the lock npm 11 writes here (it leaves out other platforms' optional
# turbo binaries), so install from the lock with npm install
[ -f node_modules/.package-lock.json ] || npm install --no-audit --no-fund
npx turbo run build --output-logs=errors-only
VERSION=$(node -p 'require("./package.json").version')
# offline: base containers and the honeypot image use the locally built runtime image
export DECNET_BASE_IMAGE=${DECNET_BASE_IMAGE:-decnet/runtime-base:$VERSION}
export DECNET_IMAGE_BASE=${DECNET_IMAGE_BASE:-$DECNET_BASE_IMAGE}
bash scripts/build-runtime-base.sh "$DECNET_BASE_IMAGE" >/dev/null
dctl() { node packages/cli/bin/run.js "$@"; }

echo "== decnetctl apply -f $MANIFEST"
dctl apply -f "$MANIFEST"
FLEET=$(dctl validate -f "$MANIFEST" -o json >/dev/null && node -e '
  const y=require("yaml"),fs=require("fs");
  const d=y.parseAllDocuments(fs.readFileSync(process.argv[1],"utf8")).map(x=>x.toJS()).find(m=>m&&m.kind==="Fleet");
  console.log(d.metadata.name)' "$MANIFEST")
echo; echo "== decnetctl get fleets"; dctl get fleets
echo; echo "== decnetctl get deckies -o wide"; dctl get deckies --fleet "$FLEET" -o wide
TARGET=$(dctl get deckies --fleet "$FLEET" -o json | node -e '
  const ds=JSON.parse(require("fs").readFileSync(0,"utf8"));
  const d=ds.find(d=>d.services.includes("http"))||ds[0]; console.log(d.ip+" "+d.name+" "+d.services.join(","))')
set -- $TARGET
echo; echo "== an attacker in the lab namespace touches $2 ($1: $3)"
if [[ ",$3," == *",http,"* ]]; then
  # a container that runs may not listen yet: retry until the service answers
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    out=$(dctl lab exec "$FLEET" -- curl -s -o /dev/null -w 'HTTP %{http_code} from %{remote_ip}' -u admin:hunter2 "http://$1/" || true)
    [[ "$out" == "HTTP 000"* || -z "$out" ]] || break
    sleep 1
  done
  echo "$out"
fi
dctl lab exec "$FLEET" -- ping -c1 -W2 "$1" | grep -o 'ttl=[0-9]*' || true
sleep 1
echo; echo "== decnetctl events --decky $2"; dctl events --fleet "$FLEET" --decky "$2" --since 10m || true
WIN=$(dctl get deckies --fleet "$FLEET" -o json | node -e '
  const ds=JSON.parse(require("fs").readFileSync(0,"utf8"));
  const d=ds.find(d=>d.services.includes("smb")); if (d) console.log(d.ip+" "+d.name)')
if [ -n "$WIN" ]; then
  set -- $WIN
  echo; echo "== the attacker tries a domain login on $2 ($1): smbclient -L //$1 -W CORP -U alice"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    out=$(dctl lab exec "$FLEET" -- smbclient -L "//$1" -W CORP -U 'alice%Winter2026!' 2>&1 || true)
    [[ "$out" == *NT_STATUS_CONNECTION_REFUSED* || -z "$out" ]] || break
    sleep 1
  done
  echo "$out" | tail -n 2
  sleep 1
  echo; echo "== the NTLM capture it left (hashcat -m 5600 reads the secret as it is)"
  dctl events --fleet "$FLEET" --decky "$2" --service smb --since 10m -o json | node -e '
    const evs=JSON.parse(require("fs").readFileSync(0,"utf8")).filter(e=>e.event==="auth_attempt");
    for (const e of evs) console.log(`${e.time} ${e.src_ip} ${e.principal} ${e.secret_kind} ${e.secret}`)' || true
fi
echo; echo "The fleet keeps running. Explore: npx decnetctl describe decky $2 | npx decnetctl labels $2 | npx decnetctl lab exec $FLEET -- bash"
echo "Remove it with: npx decnetctl delete fleet $FLEET"
