#!/usr/bin/env node
// Bench: the shard registry with H simulated hosts x D deckies each, in-process,
// against one real redis-server started here (loopback, random port, no persistence).
//   apply    readAll + place (pure) + one atomic commit of every host's slice
//   no-op    re-apply of the same submission (readAll + place, nothing written)
//   change   one decky changed: readAll + place + a one-slice commit
//   observe  every simulated controller reads its slice and writes its observed slice (concurrently)
//   get      `get deckies --registry`: readAll + clusterDeckies aggregation
//   memory   INFO memory used_memory (after - before) and DBSIZE
// Specs are real resolved deckies (resolveManifests over DeckySets of mixed archetypes).
// usage: npm run bench:registry -- [--hosts 100] [--deckies 100] [--reps 3] [--json FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { parseManifests, resolveManifests } from '@decnet/api';
import { Registry, applyToRegistry, clusterDeckies, place, startRedisServer } from '@decnet/registry';

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '100' }, deckies: { type: 'string', default: '100' }, reps: { type: 'string', default: '3' }, json: { type: 'string' } } });
const H = Number(values.hosts);
const D = Number(values.deckies);
const REPS = Number(values.reps);
const TOTAL = H * D;
if (!(TOTAL >= 1 && TOTAL <= 16000)) throw new Error('hosts x deckies must be 1..16000 (one /18 fleet)');

const archetypes = ['linux-server', 'windows-workstation', 'web-server', 'database-server', 'mail-server', 'file-server', 'printer', 'iot-device', 'devops-host', 'monitoring-node'];
const sets = Math.ceil(TOTAL / 100);
const text = [
  'apiVersion: decnet.io/v1alpha1\nkind: Fleet\nmetadata: { name: sim }\nspec:\n  network: { subnet: 10.64.0.0/18, gateway: 10.64.0.1 }\n  lab: true\n',
  ...Array.from({ length: sets }, (_, i) => {
    const replicas = Math.min(100, TOTAL - i * 100);
    return `apiVersion: decnet.io/v1alpha1\nkind: DeckySet\nmetadata: { name: set${String(i).padStart(3, '0')} }\nspec: { fleet: sim, replicas: ${replicas}, template: { archetype: ${archetypes[i % archetypes.length]} } }\n`;
  }),
].join('---\n');

let t = performance.now();
const parsed = parseManifests([{ text, file: 'sim.yaml' }]);
if (parsed.issues.length > 0) throw new Error(JSON.stringify(parsed.issues.slice(0, 3)));
const { resolution, issues } = resolveManifests(parsed.manifests, { version: '0.1.0' });
if (issues.length > 0) throw new Error(JSON.stringify(issues.slice(0, 3)));
const resolveMs = performance.now() - t;
const { fleets, deckies } = resolution;

const srv = await startRedisServer();
const raw = new Redis(srv.port, '127.0.0.1');
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await raw.info('memory'))[1]);
const ms = (x) => Math.round(x * 10) / 10;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = [];
try {
  for (let rep = 0; rep < REPS; rep++) {
    await raw.flushall();
    const memBefore = await usedMemory();
    const reg = await Registry.connect({ url: srv.url, cluster: 'sim' });
    const hostIds = Array.from({ length: H }, (_, i) => `host-${String(i).padStart(3, '0')}`);
    await Promise.all(hostIds.map(async (id) => {
      await reg.registerHost({ id, capacity: D, address: '127.0.0.1', controllerVersion: '0.1.0' });
      await reg.heartbeat(id, 60_000);
    }));
    const run = {};

    t = performance.now();
    const applied = await applyToRegistry(reg, { fleets, deckies });
    run.applyMs = performance.now() - t;
    if (applied.result.conflicts.length > 0 || !applied.commit) throw new Error(`apply failed: ${JSON.stringify(applied.result.conflicts.slice(0, 3))}`);
    run.slicesWritten = applied.result.changed.length;
    // the pure part alone, for the split
    t = performance.now();
    place({ hosts: applied.snapshot.hosts, current: applied.snapshot.desired, fleets, deckies });
    run.placeOnlyEmptyMs = performance.now() - t;

    t = performance.now();
    const noop = await applyToRegistry(reg, { fleets, deckies });
    run.noopApplyMs = performance.now() - t;
    if (noop.commit || noop.result.changed.length !== 0) throw new Error('re-apply was not a no-op');

    const changed = deckies.map((d, i) => (i === 0 ? { ...d, hostname: `${d.hostname}-X` } : d));
    t = performance.now();
    const one = await applyToRegistry(reg, { fleets, deckies: changed });
    run.changeOneMs = performance.now() - t;
    if (one.result.changed.length !== 1) throw new Error(`expected one slice written, got ${one.result.changed.length}`);

    // simulated controllers: read own slice, report everything Running
    t = performance.now();
    await Promise.all(hostIds.map(async (id) => {
      const s = await reg.readDesired(id);
      const now = new Date().toISOString();
      await reg.writeObserved(id, { deckies: s.deckies.map((d) => ({ name: d.spec.name, fleet: d.spec.fleet, hash: d.hash, observedGeneration: d.generation, phase: 'Running', conditions: [{ type: 'Ready', status: 'True', reason: 'AllRunning' }], updatedAt: now })) }, s.generation);
    }));
    run.observeAllMs = performance.now() - t;

    const gets = [];
    let rows = [];
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      rows = clusterDeckies(await reg.readAll());
      gets.push(performance.now() - t);
    }
    run.getDeckiesMs = median(gets);
    if (rows.length !== TOTAL || rows.some((r) => r.phase !== 'Running' || !r.upToDate)) throw new Error('aggregation is wrong');
    run.usedMemoryBytes = (await usedMemory()) - memBefore;
    run.dbsize = await raw.dbsize();
    run.desiredBytes = (await Promise.all(hostIds.map((id) => raw.hstrlen(reg.keys.desired(id), 'doc')))).reduce((a, b) => a + b, 0);
    run.observedBytes = (await Promise.all(hostIds.map((id) => raw.hstrlen(reg.keys.observed(id), 'doc')))).reduce((a, b) => a + b, 0);
    runs.push(run);
    await reg.close();
  }
} finally {
  await raw.quit().catch(() => raw.disconnect());
  await srv.dispose();
}

const keys = Object.keys(runs[0]);
const summary = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]))]));
const out = { hosts: H, deckiesPerHost: D, deckies: TOTAL, reps: REPS, resolveMs: ms(resolveMs), median: summary, runs };
console.log(`registry sim: ${H} hosts x ${D} deckies = ${TOTAL} deckies, ${REPS} reps (median), redis-server on loopback`);
console.log(`  resolve manifests (not part of apply)  ${ms(resolveMs)} ms`);
console.log(`  apply: readAll + place + commit         ${ms(summary.applyMs)} ms  (${summary.slicesWritten} slices in one atomic commit)`);
console.log(`  place alone (pure)                      ${ms(summary.placeOnlyEmptyMs)} ms`);
console.log(`  re-apply, no change (nothing written)   ${ms(summary.noopApplyMs)} ms`);
console.log(`  one decky changed (one slice written)   ${ms(summary.changeOneMs)} ms`);
console.log(`  ${H} controllers read + report observed  ${ms(summary.observeAllMs)} ms`);
console.log(`  get deckies: readAll + aggregate        ${ms(summary.getDeckiesMs)} ms`);
console.log(`  redis used_memory                       ${(summary.usedMemoryBytes / 2 ** 20).toFixed(1)} MiB (${summary.dbsize} keys; desired docs ${(summary.desiredBytes / 2 ** 20).toFixed(1)} MiB, observed docs ${(summary.observedBytes / 2 ** 20).toFixed(1)} MiB)`);
if (values.json) writeFileSync(values.json, JSON.stringify(out, null, 2));
