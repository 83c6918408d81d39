import { join } from 'node:path';
import {
  canonicalHash,
  groupObserved,
  makeDecky,
  makeFleet,
  observedFromPlan,
  plan as makePlan,
  servicePorts,
  type AttackerEvent,
  type ObservedState,
  type Op,
  type ResolvedDecky,
} from '@decnet/api';
import type { Engine } from '@decnet/engine';
import { describe, expect, it } from 'vitest';
import { seededRandom } from './clock.js';
import { dueMutations, mutateDecky, mutatedSpec, mutationExtension, pickServices } from './mutation-runner.js';
import { scratchDir } from '../../../test-scratch.js';



const HOST = 'h11-mut';

/** An engine whose writes go through api's plan simulator, one op at a time. */
function simEngine(initial: ObservedState): Engine & { state: ObservedState; writes: string[] } {
  const stateDir = scratchDir('decnet-h11-mut-');
  const e = {
    stateDir,
    state: initial,
    writes: [] as string[],
    apply(op: Op) {
      e.writes.push(`${op.op} ${'name' in op ? op.name : op.fleet}`);
      e.state = observedFromPlan(e.state, { ops: [op], conflicts: [], generations: {} });
    },
    async observe(hostId: string) {
      return { ...e.state, hostId };
    },
    async createContainer(op: Extract<Op, { op: 'create-container' }>) {
      e.apply(op);
      return e.state.containers.find((c) => c.name === op.name)!.id;
    },
    async startContainer(name: string) {
      e.apply({ wave: 2, op: 'start-container', decky: '', name, cause: '' });
    },
    async removeContainer(id: string) {
      e.apply({ wave: 2, op: 'remove-container', decky: '', name: e.state.containers.find((c) => c.id === id)?.name ?? id, id, cause: '' });
    },
  };
  return e as unknown as Engine & { state: ObservedState; writes: string[] };
}

function deployed(deckies: ResolvedDecky[], fleet = makeFleet('lab')): ObservedState {
  const empty: ObservedState = { hostId: HOST, containers: [], networks: [], labs: [] };
  const p = makePlan(empty, { fleets: [fleet], deckies }, { hostId: HOST });
  return observedFromPlan(empty, p);
}

const names = (d: ResolvedDecky) => d.services.map((s) => s.name);

describe('pickServices', () => {
  it('is deterministic for a seed, always different from the current set and port-clash free', () => {
    const d = makeDecky('web-01', 'lab', { services: ['ssh', 'http'] });
    const a = pickServices(d, seededRandom(1)).services;
    expect(pickServices(d, seededRandom(1)).services).toEqual(a);
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const { services, pool } = pickServices(d, seededRandom(seed));
      expect(pool).toBe('catalogue');
      expect(services.join(',')).not.toBe('http,ssh');
      expect(services.length).toBeGreaterThanOrEqual(1);
      expect(services.length).toBeLessThanOrEqual(3);
      const ports = services.flatMap((s) => (servicePorts(s) ?? []).map((p) => `${p.port}/${p.proto}`));
      expect(new Set(ports).size).toBe(ports.length);
      seen.add(services.join(','));
    }
    expect(seen.size).toBeGreaterThan(50);
  });

  it("draws from the archetype's services, and from the catalogue when the archetype allows no change", () => {
    const db = makeDecky('db-01', 'lab', { archetype: 'database-server', services: ['mysql', 'postgres', 'redis'] });
    for (let seed = 0; seed < 30; seed++) {
      const r = pickServices(db, seededRandom(seed));
      expect(r.pool).toBe('archetype');
      expect(r.services.every((s) => ['mysql', 'postgres', 'redis'].includes(s))).toBe(true);
    }
    const dead = makeDecky('dd-01', 'lab', { archetype: 'deaddeck', services: ['ssh'] });
    const r = pickServices(dead, seededRandom(3));
    expect(r.pool).toBe('catalogue');
    expect(r.services).not.toEqual(['ssh']);
  });
});

describe('dueMutations', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const withBase = (d: ResolvedDecky, createdAt: string) => {
    const s = deployed([d], makeFleet(d.fleet));
    s.containers = s.containers.map((c) => (c.name === d.name ? { ...c, createdAt } : c));
    return s;
  };

  it('counts from the last mutation, else from the base creation; own interval, else the fleet’s', () => {
    const fresh = makeDecky('a', 'lab', { mutateInterval: 3600, services: ['ssh'] });
    const old = makeDecky('b', 'lab', { mutateInterval: 60, services: ['ssh'] });
    const mutatedRecently = makeDecky('c', 'lab', { mutateInterval: 60, services: ['ssh'], mutation: { lastMutated: '2026-01-01T11:59:30Z', previousServices: ['http'] } });
    const inherits = makeDecky('d', 'lab', { services: ['ssh'] });
    const never = makeDecky('e', 'other', { services: ['ssh'] });
    const states = [withBase(fresh, '2026-01-01T11:30:00Z'), withBase(old, '2026-01-01T11:58:00Z'), withBase(mutatedRecently, '2026-01-01T10:00:00Z'), withBase(inherits, '2026-01-01T11:00:00Z'), withBase(never, '2026-01-01T00:00:00Z')];
    const merged: ObservedState = { hostId: HOST, containers: states.flatMap((s) => s.containers), networks: [], labs: [] };
    const due = dueMutations(groupObserved(merged), [makeFleet('lab', { mutateInterval: 1800 }), makeFleet('other')], now);
    expect(due.map((d) => [d.decky, d.interval, d.since])).toEqual([
      ['b', 60, '2026-01-01T11:58:00Z'],
      ['d', 1800, '2026-01-01T11:00:00Z'],
    ]);
    expect(due[0]!.dueAt).toBe('2026-01-01T11:59:00.000Z');
    expect(dueMutations(groupObserved(merged), [], now + 3600_000).map((d) => d.decky)).toEqual(['a', 'b', 'c']);
  });
});

describe('mutateDecky', () => {
  it('rotates services on a simulated engine: only changed service containers are touched, labels record the mutation, the event is emitted', async () => {
    const d = makeDecky('web-01', 'lab', { services: ['ssh', 'http'] });
    const engine = simEngine(deployed([d, makeDecky('db-01', 'lab', { services: ['mysql'], ip: '10.213.0.250' })]));
    const before = Object.fromEntries(engine.state.containers.map((c) => [c.name, c.id]));
    const emitted: AttackerEvent[] = [];
    const now = Date.parse('2026-02-03T04:05:06Z');
    const r = await mutateDecky({ engine, hostId: HOST, name: 'web-01', random: seededRandom(1), now, emit: (e) => emitted.push(e) });

    const expected = pickServices(d, seededRandom(1)).services;
    expect(r.services).toEqual(expected);
    expect(r.previous).toEqual(['http', 'ssh']);
    expect(emitted).toEqual([r.event]);
    expect(r.event).toEqual({ time: '2026-02-03T04:05:06.000Z', host: HOST, fleet: 'lab', decky: 'web-01', service: 'decnet', event: 'decky_mutated', previous_services: ['http', 'ssh'], services: expected });

    const g = groupObserved(engine.state);
    const after = g.deckies.find((x) => x.name === 'web-01')!;
    expect(after.errors).toEqual([]);
    expect(names(after.spec!)).toEqual(expected);
    expect(after.spec!.mutation).toEqual({ lastMutated: '2026-02-03T04:05:06.000Z', previousServices: ['http', 'ssh'], declaredHash: expect.any(String) });
    expect(after.generation).toBe(2);
    expect(after.containers.map((c) => c.container.name).sort()).toEqual(['web-01', ...expected.map((s) => `web-01-${s}`)].sort());
    const now2 = Object.fromEntries(engine.state.containers.map((c) => [c.name, c.id]));
    expect(now2['web-01']).toBe(before['web-01']);
    expect(now2['db-01']).toBe(before['db-01']);
    expect(now2['db-01-mysql']).toBe(before['db-01-mysql']);
    expect(engine.writes.every((w) => w.includes('web-01-'))).toBe(true);
    // the decky is now exactly as its labels say: planning it again changes nothing
    expect(makePlan(engine.state, { fleets: [], deckies: [after.spec!] }, { hostId: HOST }).ops).toEqual([]);
  });

  it('keeps an unchanged service container when the new set overlaps the old one', async () => {
    const d = makeDecky('web-02', 'lab', { services: ['ssh', 'http'] });
    const next = mutatedSpec(d, ['ssh', 'ftp'], { now: 0, serviceImage: 'decnet/honeypot:test' });
    expect(next.services.find((s) => s.name === 'ssh')).toBe(d.services.find((s) => s.name === 'ssh'));
    expect(next.services.find((s) => s.name === 'ftp')).toMatchObject({ image: 'decnet/honeypot:test', ports: [{ port: 21, proto: 'tcp' }], secretKeys: [] });
    // the declaration the rotations started from is recorded once and carried over
    expect(next.mutation!.declaredHash).toBe(canonicalHash(d.services));
    expect(mutatedSpec(next, ['telnet'], { now: 1, serviceImage: 'decnet/honeypot:test' }).mutation!.declaredHash).toBe(canonicalHash(d.services));
    const engine = simEngine(deployed([d]));
    const sshId = engine.state.containers.find((c) => c.name === 'web-02-ssh')!.id;
    // find a seed that keeps ssh and adds something, so the check is about a real overlap
    const seed = Array.from({ length: 500 }, (_, i) => i).find((s) => {
      const p = pickServices(d, seededRandom(s)).services;
      return p.includes('ssh') && p.length > 1 && p[0] !== 'ssh';
    })!;
    await mutateDecky({ engine, hostId: HOST, name: 'web-02', random: seededRandom(seed), now: 1 });
    expect(engine.state.containers.find((c) => c.name === 'web-02-ssh')!.id).toBe(sshId);
    expect(engine.writes.some((w) => w.endsWith('web-02-ssh'))).toBe(false);
  });

  it('refuses unknown deckies with a typed error', async () => {
    const engine = simEngine(deployed([makeDecky('x', 'lab')]));
    await expect(mutateDecky({ engine, hostId: HOST, name: 'nope', random: seededRandom(1) })).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('as a controller extension mutates what is due, once, and reports it', async () => {
    const d = makeDecky('web-03', 'lab', { services: ['ssh', 'http'], mutateInterval: 60 });
    const engine = simEngine(deployed([d]));
    engine.state.containers = engine.state.containers.map((c) => ({ ...c, createdAt: '2026-01-01T00:00:00Z' }));
    const results: string[] = [];
    const ext = mutationExtension({ engine, hostId: HOST, random: seededRandom(7), now: () => Date.parse('2026-01-01T00:05:00Z'), onResult: (r) => results.push('services' in r ? r.services.join(',') : `error ${r.error.message}`) });
    const g = groupObserved(engine.state);
    ext.onResync!(engine.state, g);
    ext.onResync!(engine.state, g); // same observation again: not queued twice
    await ext.idle();
    expect(results).toEqual([pickServices(d, seededRandom(7)).services.join(',')]);
    // right after the mutation it is not due again
    ext.onResync!(engine.state, groupObserved(engine.state));
    await ext.idle();
    expect(results).toHaveLength(1);
  });
});
