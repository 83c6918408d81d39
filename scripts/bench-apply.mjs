#!/usr/bin/env node
// Benchmark: decnet apply vs the engine floor, in one run so the ratio holds on a
// noisy machine. N deckies x 2 services (ssh, http) in lab mode.
//   decnet: `decnetctl apply` (first apply, waits until Running), no-op re-apply, `delete fleet`
//   floor:  the same containers (same create bodies, same parallelism) created and
//           started directly through dockerode, then force-removed.
// usage: npm run bench:apply -- --deckies 10 [--reps 3] [--parallelism 8] [--json FILE]
// (npm run bench runs this comparison and more, with docker-compose as a third contender)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { groupObserved } from '@decnet/api';
import { DockerEngine, ensureLab, labNames, removeLab } from '@decnet/engine';
import { CLI, VERSION, docker, emptyHostPlan, floorUp, load1, machineInfo, median, prepareFiles, removeHostContainers, spread } from './bench/lib.mjs';

const { values } = parseArgs({
  options: { deckies: { type: 'string', default: '10' }, reps: { type: 'string', default: '3' }, parallelism: { type: 'string', default: '8' }, json: { type: 'string' } },
});
const N = Number(values.deckies);
const REPS = Number(values.reps);
const PAR = Number(values.parallelism);
const FLEET = 'bencha';
const HOST = 'bench-apply';
process.env.DECNET_BASE_IMAGE ??= `decnet/runtime-base:${VERSION}`;
process.env.DECNET_IMAGE_BASE ??= process.env.DECNET_BASE_IMAGE;
if (!(N >= 1 && N <= 250)) throw new Error('--deckies must be 1..250');

const manifest = [
  `apiVersion: decnet.io/v1alpha1\nkind: Fleet\nmetadata: { name: ${FLEET} }\nspec:\n  network: { subnet: 10.232.0.0/24, gateway: 10.232.0.1 }\n  lab: true\n`,
  ...Array.from({ length: N }, (_, i) => `apiVersion: decnet.io/v1alpha1\nkind: Decky\nmetadata: { name: bench-${String(i + 1).padStart(3, '0')} }\nspec: { fleet: ${FLEET}, services: [ssh, http], distro: debian, nmapOS: linux }\n`),
].join('---\n');
const dir = mkdtempSync(join(tmpdir(), 'decnet-bench-'));
const file = join(dir, 'fleet.yaml');
writeFileSync(file, manifest);

const env = { ...process.env, DECNET_HOST_ID: HOST };
function cli(...args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`decnetctl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, out: r.stdout };
}

const engine = new DockerEngine();

/** The plan decnet would run on an empty host: the floor executes its create bodies directly. */
async function floorPlan() {
  const p = emptyHostPlan(manifest, HOST, process.env.DECNET_BASE_IMAGE);
  await prepareFiles(p, engine.stateDir);
  return p;
}

async function floorRun(p) {
  const t0 = performance.now();
  const net = p.ops.find((o) => o.op === 'create-network');
  const lab = await ensureLab(FLEET, net.spec.network.subnet, net.spec.network.gateway);
  await floorUp(p, { stateDir: engine.stateDir, parent: lab.parent, par: PAR });
  const up = performance.now() - t0;
  const t1 = performance.now();
  await removeHostContainers(HOST, PAR);
  await docker.getNetwork(`decnet-${FLEET}`).remove();
  await removeLab(FLEET);
  return { up, down: performance.now() - t1, _labParent: labNames(FLEET).parent };
}

async function leftovers() {
  const g = groupObserved(await engine.observe(HOST));
  return g.deckies.length + g.fleets.length;
}


if ((await leftovers()) > 0) cli('delete', 'fleet', FLEET);
cli('images', 'build', '-q'); // make sure the honeypot image exists before timing
const p = await floorPlan();
const res = { decnetApply: [], decnetNoop: [], decnetDelete: [], floorUp: [], floorDown: [] };
for (let r = 0; r < REPS; r++) {
  // alternate which goes first so warm caches favour neither
  const order = r % 2 === 0 ? ['decnet', 'floor'] : ['floor', 'decnet'];
  for (const who of order) {
    if (who === 'decnet') {
      res.decnetApply.push(cli('apply', '-f', file).ms);
      const noop = cli('apply', '-f', file);
      if (!/0 engine writes/.test(noop.out)) throw new Error(`no-op re-apply made writes: ${noop.out}`);
      res.decnetNoop.push(noop.ms);
      res.decnetDelete.push(cli('delete', 'fleet', FLEET).ms);
    } else {
      const f = await floorRun(p);
      res.floorUp.push(f.up);
      res.floorDown.push(f.down);
    }
    if ((await leftovers()) > 0) throw new Error(`${who} left objects behind`);
  }
}
const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v)]));
const report = {
  ...(await machineInfo()),
  loadAvg1: load1(),
  deckies: N,
  containers: N * 3,
  parallelism: PAR,
  reps: REPS,
  medianMs: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v)])),
  spreadMs: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, spread(v)])),
  ratio: { applyVsFloor: +(m.decnetApply / m.floorUp).toFixed(2), deleteVsFloor: +(m.decnetDelete / m.floorDown).toFixed(2) },
};
console.log(`N=${N} deckies x 2 services (${N * 3} containers), parallelism ${PAR}, ${REPS} reps (median, min-max ms)`);
console.log(`  decnet apply (first, waits Running) ${report.medianMs.decnetApply} ms (${report.spreadMs.decnetApply})`);
console.log(`  engine floor create+start            ${report.medianMs.floorUp} ms (${report.spreadMs.floorUp})   ratio decnet/floor ${report.ratio.applyVsFloor}`);
console.log(`  decnet no-op re-apply (0 writes)     ${report.medianMs.decnetNoop} ms (${report.spreadMs.decnetNoop})`);
console.log(`  decnet delete fleet                  ${report.medianMs.decnetDelete} ms (${report.spreadMs.decnetDelete})`);
console.log(`  engine floor remove                  ${report.medianMs.floorDown} ms (${report.spreadMs.floorDown})   ratio decnet/floor ${report.ratio.deleteVsFloor}`);
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
