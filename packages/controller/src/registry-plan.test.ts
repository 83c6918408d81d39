import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalHash, groupObserved, makeDecky, makeFleet, plan, type ResolvedDecky } from '@decnet/api';
import { execute } from '@decnet/engine';
import type { DesiredDecky } from '@decnet/registry';
import { FakeEngine } from './fake-engine.js';
import { conforms, observedDeckies, planRegistrySync } from './registry-plan.js';

const HOST = 'h1';
const fleet = makeFleet('lab');
const entry = (spec: ResolvedDecky, generation = 1): DesiredDecky => ({ spec, generation, hash: canonicalHash(spec) });
let dir: string;
let engine: FakeEngine;

async function deploy(deckies: ResolvedDecky[]): Promise<void> {
  const p = plan(await engine.observe(HOST), { fleets: [fleet], deckies }, { hostId: HOST });
  expect(p.conflicts).toEqual([]);
  expect((await execute(p, engine)).ok).toBe(true);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'decnet-regplan-'));
  engine = new FakeEngine(dir, HOST);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('planRegistrySync', () => {
  it('builds a new slice from nothing: lab, network, every decky', async () => {
    const a = makeDecky('a', 'lab', { ip: '10.213.0.10' });
    const b = makeDecky('b', 'lab', { ip: '10.213.0.11' });
    const sp = planRegistrySync({ hostId: HOST, observed: await engine.observe(HOST), slice: { fleets: [fleet], deckies: [entry(a), entry(b)] }, placed: new Set() });
    expect(sp.refused).toEqual({});
    expect(sp.plan.ops.filter((o) => o.op === 'create-network')).toHaveLength(1);
    expect(sp.plan.ops.filter((o) => o.op === 'ensure-lab')).toHaveLength(1);
    expect(sp.plan.ops.filter((o) => o.op === 'create-container').map((o) => ('name' in o ? o.name : ''))).toEqual(['a', 'a-http', 'a-ssh', 'b', 'b-http', 'b-ssh']);
    expect(sp.plan.ops.map((o) => o.wave)).toEqual([...sp.plan.ops.map((o) => o.wave)].sort());
    expect((await execute(sp.plan, engine)).ok).toBe(true);
    const again = planRegistrySync({ hostId: HOST, observed: await engine.observe(HOST), slice: { fleets: [fleet], deckies: [entry(a), entry(b)] }, placed: new Set(['a', 'b']) });
    expect(again.plan.ops).toEqual([]);
    expect(again.inSync).toEqual(['a', 'b']);
  });

  it('a change of the fleet settings alone (alert routes) replaces the settings volume and nothing else', async () => {
    const a = makeDecky('a', 'lab', { ip: '10.213.0.10' });
    await deploy([a]);
    const withAlerts = { ...fleet, alerts: [{ name: 'soc', type: 'webhook' as const, minSeverity: 'low' as const, throttleMs: 60_000, maxPerMinute: 30, tlsVerify: true, secretsDigest: canonicalHash({ url: 'http://127.0.0.1:1/x' }) }] };
    const sp = planRegistrySync({ hostId: HOST, observed: await engine.observe(HOST), slice: { fleets: [withAlerts], deckies: [entry(a)] }, placed: new Set(['a']) });
    expect(sp.plan.ops.map((o) => o.op)).toEqual(['create-settings', 'remove-settings']);
    expect((await execute(sp.plan, engine, { alertSecrets: { lab: { soc: { url: 'http://127.0.0.1:1/x' } } } })).ok).toBe(true);
    expect(groupObserved(await engine.observe(HOST)).fleets[0]!.spec!.alerts!.map((r) => r.name)).toEqual(['soc']);
    const again = planRegistrySync({ hostId: HOST, observed: await engine.observe(HOST), slice: { fleets: [withAlerts], deckies: [entry(a)] }, placed: new Set(['a']) });
    expect(again.plan.ops).toEqual([]);
  });

  it('prunes only deckies the registry placed; local deckies stay; the lab is never removed', async () => {
    const local = makeDecky('local', 'lab', { ip: '10.213.0.20' });
    const placed = makeDecky('gone', 'lab', { ip: '10.213.0.21' });
    await deploy([local, placed]);
    const sp = planRegistrySync({ hostId: HOST, observed: await engine.observe(HOST), slice: { fleets: [], deckies: [] }, placed: new Set(['gone']) });
    expect(sp.pruned).toEqual(['gone']);
    expect(sp.plan.ops.every((o) => !('decky' in o) || o.decky === 'gone')).toBe(true);
    expect(sp.plan.ops.some((o) => o.op === 'remove-lab' || o.op === 'remove-network')).toBe(false); // 'local' still uses the network
    await execute(sp.plan, engine);
    expect(groupObserved(await engine.observe(HOST)).deckies.map((d) => d.name)).toEqual(['local']);
    // the last placed decky of a fleet takes the network with it, never the lab
    const sp2 = planRegistrySync({ hostId: HOST, observed: await engine.observe(HOST), slice: { fleets: [], deckies: [] }, placed: new Set(['local']) });
    expect(sp2.plan.ops.map((o) => o.op)).toContain('remove-network');
    expect(sp2.plan.ops.map((o) => o.op)).not.toContain('remove-lab');
  });

  it('adopts a listed local decky and updates it to the slice spec', async () => {
    const a = makeDecky('a', 'lab', { ip: '10.213.0.10' });
    await deploy([a]);
    const changed = { ...a, hostname: 'OTHER-NAME' };
    const sp = planRegistrySync({ hostId: HOST, observed: await engine.observe(HOST), slice: { fleets: [fleet], deckies: [entry(changed, 2)] }, placed: new Set() });
    expect(sp.adopted).toEqual(['a']);
    expect(sp.plan.ops.some((o) => o.op === 'create-container' && o.name === 'a')).toBe(true);
  });

  it('refuses a decky whose IP a local decky holds, and still builds the others', async () => {
    await deploy([makeDecky('local', 'lab', { ip: '10.213.0.30' })]);
    const clash = makeDecky('clash', 'lab', { ip: '10.213.0.30' });
    const ok = makeDecky('ok', 'lab', { ip: '10.213.0.31' });
    const sp = planRegistrySync({ hostId: HOST, observed: await engine.observe(HOST), slice: { fleets: [fleet], deckies: [entry(clash), entry(ok)] }, placed: new Set() });
    expect(Object.keys(sp.refused)).toEqual(['clash']);
    expect(sp.plan.ops.some((o) => 'decky' in o && o.decky === 'clash')).toBe(false);
    expect(sp.plan.ops.some((o) => o.op === 'create-container' && o.name === 'ok')).toBe(true);
  });
});

describe('conforms', () => {
  it('accepts a local mutation of the declared services, not other drift', () => {
    const d = makeDecky('m', 'lab', { mutateInterval: 3600 });
    const want = entry(d);
    expect(conforms(d, want)).toBe('exact');
    const rotated = { ...d, services: [d.services[0]!], mutation: { lastMutated: '2026-01-01T00:00:00Z', previousServices: ['http', 'ssh'], declaredHash: canonicalHash(d.services) } };
    expect(conforms(rotated, want)).toBe('mutated');
    expect(conforms({ ...rotated, hostname: 'X' }, want)).toBe(false);
    expect(conforms(rotated, entry({ ...d, services: [d.services[1]!] }))).toBe(false);
    expect(conforms(undefined, want)).toBe(false);
  });
});

describe('observedDeckies', () => {
  it('reports the desired generation only for deckies running the desired spec', async () => {
    const a = makeDecky('a', 'lab', { ip: '10.213.0.10' });
    const b = makeDecky('b', 'lab', { ip: '10.213.0.11' });
    await deploy([a, b]);
    const now = '2026-01-02T00:00:00.000Z';
    const slice = { deckies: [entry(a, 3), entry({ ...b, hostname: 'NEW' }, 4), entry(makeDecky('c', 'lab', { ip: '10.213.0.12' }), 1)] };
    const grouped = groupObserved(await engine.observe(HOST));
    const rows = observedDeckies({ slice, grouped, refused: { c: 'IpTaken: x' }, now });
    expect(rows.map((r) => [r.name, r.phase, r.observedGeneration])).toEqual([
      ['a', 'Running', 3],
      ['b', 'Pending', undefined],
      ['c', 'Failed', undefined],
    ]);
    expect(rows[0]!.hash).toBe(slice.deckies[0]!.hash);
    expect(rows[1]!.hash).not.toBe(slice.deckies[1]!.hash);
    expect(rows[2]!.message).toContain('IpTaken');
    engine.patch('a-ssh', { state: 'exited', exitCode: 137 });
    const later = observedDeckies({ slice, grouped: groupObserved(await engine.observe(HOST)), now });
    expect(later[0]!.phase).not.toBe('Running');
    expect(observedDeckies({ slice, grouped, engineReachable: false, now }).every((r) => r.phase === 'Unknown')).toBe(true);
  });
});
