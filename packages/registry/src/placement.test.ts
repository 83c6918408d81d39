import { makeDecky, makeFleet, type ResolvedDecky } from '@decnet/api';
import { describe, expect, it } from 'vitest';
import { drain } from './drain.js';
import { place, type PlacementHost, type PlacementResult } from './placement.js';
import { FLEETS_LABEL, type DesiredSlice } from './types.js';

const host = (id: string, over: Partial<PlacementHost> = {}): PlacementHost => ({ id, labels: {}, capacity: 100, status: 'Ready', ...over });
const lab = makeFleet('lab');
const corp = makeFleet('corp', { network: { mode: 'macvlan', subnet: '10.50.0.0/24', gateway: '10.50.0.1' } });
const d = (name: string, ip: number, over: Partial<ResolvedDecky> = {}, fleet = 'lab') => makeDecky(name, fleet, { ip: `${fleet === 'lab' ? '10.213.0' : '10.50.0'}.${ip}`, ...over });

/** Apply a placement result to `current` the way a commit would. */
function commit(current: Record<string, DesiredSlice>, r: PlacementResult): Record<string, DesiredSlice> {
  const next = { ...current };
  for (const h of r.changed) next[h] = { hostId: h, generation: (current[h]?.generation ?? 0) + 1, ...r.slices[h]!, updatedAt: 't' };
  return next;
}

describe('place', () => {
  it('spreads new deckies over Ready hosts, least loaded first, ties by host id', () => {
    const r = place({ hosts: [host('b'), host('a'), host('c', { status: 'NotReady' })], current: {}, fleets: [lab], deckies: [d('w1', 11), d('w2', 12), d('w3', 13)] });
    expect(r.conflicts).toEqual([]);
    expect(r.assignments).toEqual({ w1: 'a', w2: 'b', w3: 'a' });
    expect(r.changed).toEqual(['a', 'b']);
    expect(r.slices.a!.fleets).toEqual([lab]);
    expect(r.slices.b!.fleets).toEqual([lab]);
    expect(r.slices.a!.deckies.map((x) => [x.spec.name, x.generation])).toEqual([['w1', 1], ['w3', 1]]);
  });

  it('is capacity aware: load relative to capacity, full hosts skipped', () => {
    const r = place({ hosts: [host('big', { capacity: 3 }), host('small', { capacity: 1 })], current: {}, fleets: [lab], deckies: [1, 2, 3, 4].map((i) => d(`w${i}`, 10 + i)) });
    expect(r.assignments).toEqual({ w1: 'big', w2: 'small', w3: 'big', w4: 'big' });
    const full = place({ hosts: [host('a', { capacity: 1 })], current: {}, fleets: [lab], deckies: [d('x', 11), d('y', 12)] });
    expect(full.conflicts.map((c) => [c.code, c.decky])).toEqual([['NoHostAvailable', 'y']]);
    expect(full.conflicts[0]!.message).toContain('full');
  });

  it('is stable: re-applying, or adding hosts, moves nothing and writes nothing', () => {
    const hosts = [host('a'), host('b')];
    const deckies = [d('w1', 11), d('w2', 12), d('w3', 13)];
    const first = place({ hosts, current: {}, fleets: [lab], deckies });
    const current = commit({}, first);
    const again = place({ hosts: [...hosts, host('0-new')], current, fleets: [lab], deckies });
    expect(again.changed).toEqual([]);
    expect(again.moves).toEqual([]);
    expect(again.assignments).toEqual(first.assignments);
  });

  it('bumps only the changed decky generation, and only its host slice', () => {
    const hosts = [host('a'), host('b')];
    const current = commit({}, place({ hosts, current: {}, fleets: [lab], deckies: [d('w1', 11), d('w2', 12)] }));
    const r = place({ hosts, current, fleets: [lab], deckies: [d('w1', 11), d('w2', 12, { hostname: 'NEW' })] });
    expect(r.changed).toEqual(['b']);
    expect(r.slices.b!.deckies[0]!.generation).toBe(2);
  });

  it('pins to a host (NotReady too, with a warning) and refuses an unknown one', () => {
    const r = place({
      hosts: [host('a'), host('down', { status: 'NotReady' })],
      current: {},
      fleets: [lab],
      deckies: [d('p1', 11, { placement: { host: 'down' } }), d('p2', 12, { placement: { host: 'ghost' } })],
    });
    expect(r.assignments).toEqual({ p1: 'down' });
    expect(r.warnings.join()).toContain('NotReady');
    expect(r.conflicts.map((c) => c.code)).toEqual(['UnknownHost']);
  });

  it('honours hostSelector and the fleets a host serves', () => {
    const hosts = [host('a', { labels: { zone: 'dmz' } }), host('b', { labels: { zone: 'core', [FLEETS_LABEL]: 'corp' } }), host('c', { labels: { zone: 'core' } })];
    const r = place({ hosts, current: {}, fleets: [lab, corp], deckies: [d('s1', 11, { placement: { hostSelector: { zone: 'core' } } }), d('s2', 12, {}, 'corp'), d('s3', 13, { placement: { hostSelector: { zone: 'mars' } } })] });
    expect(r.assignments.s1).toBe('c');
    expect(r.assignments.s2).toBe('a');
    expect(r.conflicts.map((c) => [c.code, c.decky])).toEqual([['NoHostAvailable', 's3']]);
  });

  it('keeps deckies of a NotReady host there (nothing rescheduled silently)', () => {
    const current = commit({}, place({ hosts: [host('a'), host('b')], current: {}, fleets: [lab], deckies: [d('w1', 11), d('w2', 12)] }));
    const r = place({ hosts: [host('a', { status: 'NotReady' }), host('b')], current, fleets: [lab], deckies: [d('w1', 11), d('w2', 12), d('w3', 13)] });
    expect(r.assignments).toEqual({ w1: 'a', w2: 'b', w3: 'b' });
  });

  it('refuses a name held by another fleet and an IP held by another decky, before any write', () => {
    const hosts = [host('a'), host('b')];
    const current = commit({}, place({ hosts, current: {}, fleets: [lab, corp], deckies: [d('w1', 11), d('c1', 11, {}, 'corp')] }));
    const r = place({ hosts, current, fleets: [lab, corp], deckies: [d('c1', 20), d('w9', 11), d('w8', 30), d('w7', 30), d('c2', 11, {}, 'corp')] });
    expect(r.conflicts.map((c) => [c.code, c.decky]).sort()).toEqual([['IpTaken', 'c2'], ['IpTaken', 'w8'], ['IpTaken', 'w9'], ['NameTaken', 'c1']]);
    // same IP in another fleet is fine (one LAN per fleet)
    const ok = place({ hosts, current, fleets: [lab, corp], deckies: [d('c3', 12, {}, 'corp'), d('w3', 12)] });
    expect(ok.conflicts).toEqual([]);
  });

  it('lets two submitted deckies swap IPs', () => {
    const hosts = [host('a')];
    const current = commit({}, place({ hosts, current: {}, fleets: [lab], deckies: [d('x', 11), d('y', 12)] }));
    const r = place({ hosts, current, fleets: [lab], deckies: [d('x', 12), d('y', 11)] });
    expect(r.conflicts).toEqual([]);
  });

  it('prunes and deletes, leaving an empty slice for the host', () => {
    const hosts = [host('a'), host('b')];
    const current = commit({}, place({ hosts, current: {}, fleets: [lab], deckies: [d('w1', 11), d('w2', 12)] }));
    const pruned = place({ hosts, current, fleets: [lab], deckies: [d('w1', 11)], prune: true });
    expect(pruned.removed).toEqual([{ decky: 'w2', host: 'b' }]);
    expect(pruned.slices.b).toEqual({ fleets: [], deckies: [] });
    expect(pruned.changed).toEqual(['b']);
    const deleted = place({ hosts, current, fleets: [], deckies: [], deleteDeckies: ['w1'] });
    expect(deleted.changed).toEqual(['a']);
  });

  it('refuses a decky of a fleet nobody knows, and duplicate names', () => {
    const r = place({ hosts: [host('a')], current: {}, fleets: [lab], deckies: [d('x', 11, {}, 'corp'), d('y', 12), d('y', 13)] });
    expect(r.conflicts.map((c) => c.code).sort()).toEqual(['DuplicateDecky', 'UnknownFleet']);
  });
});

describe('drain', () => {
  it('moves every decky of the host elsewhere, keeping spec, IP and generation', () => {
    const hosts = [host('a'), host('b'), host('c')];
    const current = commit({}, place({ hosts, current: {}, fleets: [lab], deckies: [1, 2, 3, 4, 5, 6].map((i) => d(`w${i}`, 10 + i)) }));
    const r = drain({ hosts, current }, 'a');
    expect(r.conflicts).toEqual([]);
    expect(r.moves.map((m) => m.from)).toEqual(['a', 'a']);
    expect(r.slices.a).toEqual({ fleets: [], deckies: [] });
    const after = commit(current, r);
    const moved = r.moves.map((m) => after[m.to]!.deckies.find((x) => x.spec.name === m.decky)!);
    for (const m of moved) expect(current.a!.deckies.find((x) => x.spec.name === m.spec.name)).toEqual(m);
    expect(new Set(r.moves.map((m) => m.to))).toEqual(new Set(['b', 'c']));
  });

  it('refuses pinned deckies and respects the fleets a target serves', () => {
    const hosts = [host('a'), host('b', { labels: { [FLEETS_LABEL]: 'corp' } })];
    const current = commit({}, place({ hosts: [host('a')], current: {}, fleets: [lab], deckies: [d('p', 11, { placement: { host: 'a' } }), d('q', 12)] }));
    const r = drain({ hosts, current }, 'a');
    expect(r.conflicts.map((c) => [c.code, c.decky])).toEqual([['PinnedToDrainedHost', 'p'], ['NoHostAvailable', 'q']]);
  });
});
