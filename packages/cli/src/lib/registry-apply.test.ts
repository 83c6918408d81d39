/** registryApply against a real redis-server: cluster-wide resolution, conflicts before writes, racing applies. */
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { parseManifests, type Manifest } from '@decnet/api';
import { Registry, startRedisServer, type RedisServer } from '@decnet/registry';
import { InvalidSubmissionError } from './apply.js';
import { formatConflicts, formatPlacement, generationsOf, registryApply } from './registry-apply.js';
import { parseHostLabels } from './registry-controller.js';
import { hostRows } from './registry-view.js';

let redis: RedisServer;
let reg: Registry;
let n = 0;

const fleet = `apiVersion: decnet.io/v1alpha1\nkind: Fleet\nmetadata: { name: lab }\nspec:\n  network: { mode: macvlan, subnet: 10.213.0.0/24, gateway: 10.213.0.1 }\n  lab: true`;
const decky = (name: string, extra = '') => `apiVersion: decnet.io/v1alpha1\nkind: Decky\nmetadata: { name: ${name} }\nspec: { fleet: lab, services: [ssh]${extra} }`;
function manifests(...docs: string[]): Manifest[] {
  const r = parseManifests([{ file: 'test.yaml', text: docs.join('\n---\n') }]);
  expect(r.issues).toEqual([]);
  return r.manifests;
}

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});
beforeEach(async () => {
  reg = await Registry.connect({ url: redis.url, cluster: `apply${++n}` });
  for (const id of ['h1', 'h2']) {
    await reg.registerHost({ id, labels: { zone: id === 'h1' ? 'a' : 'b' } });
    await reg.heartbeat(id, 60_000);
  }
});
afterEach(async () => {
  await reg.close();
});

describe('registryApply', () => {
  it('spreads deckies, resolves automatic IPs against every host, and stays put on re-apply', async () => {
    const r = await registryApply(reg, manifests(fleet, decky('a'), decky('b'), decky('c'), decky('d')));
    expect(r.result.conflicts).toEqual([]);
    expect(Object.values(r.result.assignments).sort()).toEqual(['h1', 'h1', 'h2', 'h2']);
    const snap = await reg.readAll();
    const ips = Object.values(snap.desired).flatMap((s) => s.deckies.map((d) => d.spec.ip));
    expect(new Set(ips).size).toBe(4);
    expect(generationsOf(snap, ['a', 'b', 'c', 'd'])).toEqual({ h1: 1, h2: 1 });
    // a later decky gets an IP no host uses, and nothing else moves
    const more = await registryApply(reg, manifests(decky('e')));
    const all = Object.values((await reg.readAll()).desired).flatMap((s) => s.deckies.map((d) => d.spec.ip));
    expect(new Set(all).size).toBe(5);
    expect(more.result.moves).toEqual([]);
    const again = await registryApply(reg, manifests(fleet, decky('a'), decky('b'), decky('c'), decky('d')));
    expect(again.result.changed).toEqual([]);
    expect(again.commit).toBeUndefined();
    expect(formatPlacement(again)).toMatch(/decky a -> host h\d \(stays, 10\.213\.0\.\d+\)/);
    const rows = hostRows(await reg.readAll());
    expect(rows.map((h) => [h.id, h.status, h.deckies])).toEqual([
      ['h1', 'Ready', 3],
      ['h2', 'Ready', 2],
    ]);
  });

  it('refuses an IP held on another host before writing anything; dry run writes nothing', async () => {
    await registryApply(reg, manifests(fleet, decky('a', ', ip: 10.213.0.50')));
    const before = await reg.readAll();
    const r = await registryApply(reg, manifests(decky('z', ', ip: 10.213.0.50')));
    expect(r.result.conflicts.map((c) => c.code)).toEqual(['IpTaken']);
    expect(formatConflicts(r.result.conflicts)).toMatch(/! IpTaken: .*10\.213\.0\.50/);
    const dry = await registryApply(reg, manifests(decky('y', ', placement: { hostSelector: { zone: b } }')), { dryRun: true });
    expect(dry.result.assignments).toEqual({ y: 'h2' });
    const after = await reg.readAll();
    expect(after.epoch).toBe(before.epoch);
    expect(Object.values(after.desired).flatMap((s) => s.deckies.map((d) => d.spec.name))).toEqual(['a']);
  });

  it('invalid manifests throw before anything is read or written', async () => {
    await expect(registryApply(reg, manifests(decky('orphan')))).rejects.toBeInstanceOf(InvalidSubmissionError);
    expect((await reg.readAll()).epoch).toBe(0);
  });

  it('racing applies of overlapping submissions place every decky once with distinct IPs', async () => {
    const others = await Promise.all(Array.from({ length: 3 }, () => Registry.connect({ url: redis.url, cluster: reg.cluster })));
    try {
      await Promise.all(others.map((o, i) => registryApply(o, manifests(fleet, decky(`r${i}`), decky('shared'), decky(`s${i}`)))));
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
    const snap = await reg.readAll();
    const placed = Object.values(snap.desired).flatMap((s) => s.deckies.map((d) => d.spec));
    expect(placed.map((d) => d.name).sort()).toEqual(['r0', 'r1', 'r2', 's0', 's1', 's2', 'shared']);
    expect(new Set(placed.map((d) => d.ip)).size).toBe(placed.length);
  });
});

describe('parseHostLabels', () => {
  it('parses k=v and refuses anything else', () => {
    expect(parseHostLabels(['zone=a', 'decnet.io/fleets=lab,corp'])).toEqual({ zone: 'a', 'decnet.io/fleets': 'lab,corp' });
    expect(() => parseHostLabels(['novalue'])).toThrow(/k=v/);
  });
});
