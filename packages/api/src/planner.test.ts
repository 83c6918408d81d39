import { describe, expect, it } from 'vitest';
import { encodeDeckyLabels, LABEL_GENERATION, LABEL_SPEC } from './labels.js';
import { plan } from './planner.js';
import { observedFromPlan } from './plan-sim.js';
import { makeDecky, makeFleet, makeService } from './test-fixtures.js';
import { deploy, dropContainer, emptyHost, HOST, opLines, patchContainer } from './testing/scenarios.js';
import type { ObservedState, ResolvedDecky } from './types.js';

const lab = makeFleet('lab');
const web = makeDecky('web-01', 'lab', { ip: '10.213.0.10', services: ['http', 'ssh'] });
const db = makeDecky('db-01', 'lab', { ip: '10.213.0.11', services: ['mysql'] });
const desired = { fleets: [lab], deckies: [web, db] };
const base = () => deploy(emptyHost(), desired).after;
const replan = (o: ObservedState, d = desired, opts = {}) => plan(o, d, { hostId: HOST, ...opts });
const gen = (o: ObservedState, name: string) => o.containers.find((c) => c.name === name)?.labels[LABEL_GENERATION];

describe('plan: building and re-applying', () => {
  it('builds an empty host: lab, network, then each decky base-first', () => {
    const p = replan(emptyHost());
    expect(p.conflicts).toEqual([]);
    expect(opLines(p)).toEqual([
      '0 ensure-lab lab',
      '0 create-network decnet-lab',
      '0 create-settings decnet-lab-settings-b70c1cd84fd1',
      '2 create-container db-01',
      '2 start-container db-01',
      '2 create-container db-01-mysql',
      '2 start-container db-01-mysql',
      '2 create-container web-01',
      '2 start-container web-01',
      '2 create-container web-01-http',
      '2 start-container web-01-http',
      '2 create-container web-01-ssh',
      '2 start-container web-01-ssh',
    ]);
    expect(p.generations).toEqual({ 'db-01': 1, 'web-01': 1 });
  });

  it('re-applying the same specs plans nothing', () => {
    const p = replan(base());
    expect(p.ops).toEqual([]);
    expect(p.generations).toEqual({ 'db-01': 1, 'web-01': 1 });
  });

  it('a service config change recreates only that service container, at generation 2', () => {
    const web2 = { ...web, services: web.services.map((s) => (s.name === 'http' ? { ...s, config: { server_header: 'IIS' } } : s)) };
    const d2 = { fleets: [lab], deckies: [web2, db] };
    const { plan: p, after } = deploy(base(), d2);
    expect(opLines(p)).toEqual(['2 remove-container web-01-http', '2 create-container web-01-http', '2 start-container web-01-http']);
    expect(p.ops[0]?.cause).toBe('service http changed: config');
    expect(p.generations['web-01']).toBe(2);
    expect(gen(after, 'web-01-http')).toBe('2');
    expect(gen(after, 'web-01')).toBe('1');
    expect(replan(after, d2).ops).toEqual([]);
  });

  it('a base change recreates the base and cascades to its services', () => {
    const d2 = { fleets: [lab], deckies: [{ ...web, hostname: 'SRV-NEW-12' }, db] };
    const { plan: p, after } = deploy(base(), d2);
    expect(opLines(p)).toEqual([
      '2 remove-container web-01-http',
      '2 remove-container web-01-ssh',
      '2 remove-container web-01',
      '2 create-container web-01',
      '2 start-container web-01',
      '2 create-container web-01-http',
      '2 start-container web-01-http',
      '2 create-container web-01-ssh',
      '2 start-container web-01-ssh',
    ]);
    expect(p.ops.find((o) => o.op === 'create-container' && o.name === 'web-01-ssh')?.cause).toBe('base recreated');
    expect(replan(after, d2).ops).toEqual([]);
  });

  it('adding a service creates only it; removing one removes it and a carrier records the generation', () => {
    const added = { fleets: [lab], deckies: [{ ...web, services: [...web.services, makeService('ftp')].sort((a, b) => a.name.localeCompare(b.name)) }, db] };
    const a = deploy(base(), added);
    expect(opLines(a.plan)).toEqual(['2 create-container web-01-ftp', '2 start-container web-01-ftp']);
    expect(replan(a.after, added).ops).toEqual([]);

    const removed = { fleets: [lab], deckies: [{ ...web, services: web.services.filter((s) => s.name !== 'ssh') }, db] };
    const r = deploy(base(), removed);
    expect(opLines(r.plan)).toEqual([
      '2 remove-container web-01-ssh',
      '2 remove-container web-01-http',
      '2 create-container web-01-http',
      '2 start-container web-01-http',
    ]);
    expect(r.plan.ops[0]?.cause).toBe('service ssh removed from spec');
    expect(r.plan.ops[1]?.cause).toMatch(/^records generation 2: spec changed in services/);
    expect(gen(r.after, 'web-01-http')).toBe('2');
    expect(replan(r.after, removed).ops).toEqual([]);
  });

  it('a spec change that touches no container part uses the carrier rule', () => {
    const d2 = { fleets: [lab], deckies: [{ ...web, mutateInterval: 3600 }, db] };
    const { plan: p, after } = deploy(base(), d2);
    expect(opLines(p)).toEqual(['2 remove-container web-01-http', '2 create-container web-01-http', '2 start-container web-01-http']);
    expect(p.ops[0]?.cause).toBe('records generation 2: spec changed in mutateInterval, no container part did');
    expect(replan(after, d2).ops).toEqual([]);
    // and the following change goes to generation 3
    expect(replan(after, desired).generations['web-01']).toBe(3);
  });

  it('is level-based: starts stopped containers, recreates dead or missing ones', () => {
    let o = patchContainer(base(), 'web-01-ssh', { state: 'exited' });
    o = patchContainer(o, 'db-01-mysql', { state: 'dead' });
    o = dropContainer(o, 'web-01-http');
    const p = replan(o);
    expect(opLines(p)).toEqual([
      '2 remove-container db-01-mysql',
      '2 create-container db-01-mysql',
      '2 start-container db-01-mysql',
      '2 create-container web-01-http',
      '2 start-container web-01-http',
      '2 start-container web-01-ssh',
    ]);
    expect(p.generations).toEqual({ 'db-01': 1, 'web-01': 1 });
    expect(replan(observedFromPlan(o, p)).ops).toEqual([]);
  });

  it('a missing base recreates the whole decky from the labels of its services', () => {
    const o = dropContainer(base(), 'web-01');
    const ops = opLines(replan(o));
    expect(ops.slice(0, 2)).toEqual(['2 remove-container web-01-http', '2 remove-container web-01-ssh']);
    expect(ops).toContain('2 create-container web-01');
  });
});

describe('plan: additive, prune, delete', () => {
  it('leaves deckies that are not submitted alone; prune removes them (services first)', () => {
    const o = base();
    const onlyWeb = { fleets: [lab], deckies: [web] };
    expect(replan(o, onlyWeb).ops).toEqual([]);
    const p = replan(o, onlyWeb, { prune: true });
    expect(opLines(p)).toEqual(['1 remove-container db-01-mysql', '1 remove-container db-01']);
    expect(p.ops[0]?.cause).toBe('pruned: not in the submission of fleet lab');
    // prune never touches fleets that were not submitted
    expect(replan(o, { fleets: [], deckies: [web] }, { prune: true }).ops).toEqual([]);
  });

  it('deletes a decky, and a fleet left without deckies loses its network and lab', () => {
    const o = base();
    const one = replan(o, { fleets: [], deckies: [] }, { deleteDeckies: ['db-01'] });
    expect(opLines(one)).toEqual(['1 remove-container db-01-mysql', '1 remove-container db-01']);
    const both = replan(o, { fleets: [], deckies: [] }, { deleteDeckies: ['db-01', 'web-01'] });
    expect(opLines(both).slice(-3)).toEqual(['3 remove-network decnet-lab', '3 remove-lab lab', '3 remove-settings decnet-lab-settings-b70c1cd84fd1']);
    const after = observedFromPlan(o, both);
    expect(after).toEqual({ ...emptyHost(), containers: [], networks: [], labs: [], volumes: [] });
  });

  it('deleting a fleet removes every decky then the network and lab', () => {
    const o = base();
    const p = replan(o, { fleets: [], deckies: [] }, { deleteFleets: ['lab'] });
    expect(p.conflicts).toEqual([]);
    expect(p.ops.filter((x) => x.wave === 1)).toHaveLength(5);
    expect(opLines(p).slice(-3)).toEqual(['3 remove-network decnet-lab', '3 remove-lab lab', '3 remove-settings decnet-lab-settings-b70c1cd84fd1']);
    expect(observedFromPlan(o, p).containers).toEqual([]);
    expect(observedFromPlan(o, p).volumes).toEqual([]);
  });

  it('refuses to submit and delete the same thing', () => {
    expect(replan(base(), desired, { deleteDeckies: ['web-01'] }).conflicts.map((c) => c.code)).toEqual(['DeleteSubmitted']);
    expect(replan(base(), desired, { deleteFleets: ['lab'] }).conflicts.map((c) => c.code)).toEqual(['DeleteSubmitted']);
  });
});

describe('plan: fleets', () => {
  it('refuses a changed fleet network, naming the live deckies; --force recreates everything', () => {
    const lab2 = { ...lab, network: { ...lab.network, gateway: '10.213.0.254' } };
    const d2 = { fleets: [lab2], deckies: [web, db] };
    const o = base();
    const refused = replan(o, d2);
    expect(refused.conflicts).toEqual([
      expect.objectContaining({ code: 'NetworkChanged', message: expect.stringContaining('its live deckies: db-01, web-01') }),
    ]);
    const forced = replan(o, d2, { force: true });
    expect(forced.conflicts).toEqual([]);
    const w0 = opLines(forced).filter((l) => l.startsWith('0 '));
    expect(w0).toEqual([
      '0 remove-container db-01-mysql',
      '0 remove-container db-01',
      '0 remove-container web-01-http',
      '0 remove-container web-01-ssh',
      '0 remove-container web-01',
      '0 remove-network decnet-lab',
      '0 create-network decnet-lab',
    ]);
    expect(forced.ops.filter((x) => x.op === 'create-container')).toHaveLength(5);
    expect(forced.generations).toEqual({ 'db-01': 1, 'web-01': 1 });
    const after = observedFromPlan(o, forced);
    expect(replan(after, d2).ops).toEqual([]);
  });

  it('a change of alerts, logTarget, mutateInterval or fleet labels replaces the settings volume and recreates nothing', () => {
    const o = base();
    const route = { name: 'soc', type: 'webhook' as const, minSeverity: 'medium' as const, throttleMs: 60_000, maxPerMinute: 30, tlsVerify: true, secretsDigest: 'd1' };
    for (const lab2 of [
      { ...lab, alerts: [route] },
      { ...lab, logTarget: 'udp://127.0.0.1:5514' },
      { ...lab, mutateInterval: 600 },
      { ...lab, labels: { team: 'blue' } },
    ]) {
      const p = replan(o, { fleets: [lab2], deckies: [web, db] });
      expect(p.conflicts).toEqual([]);
      expect(p.ops.map((x) => x.op)).toEqual(['create-settings', 'remove-settings']);
      expect(p.ops[0]?.cause).toMatch(/^fleet settings changed: (alerts|logTarget|mutateInterval|labels)$/);
      const after = observedFromPlan(o, p);
      expect(replan(after, { fleets: [lab2], deckies: [web, db] }).ops).toEqual([]);
      expect(after.containers.map((c) => c.id)).toEqual(o.containers.map((c) => c.id));
      expect(after.networks).toEqual(o.networks);
    }
  });

  it('settings volumes: an interrupted change (two volumes) is settled by the next apply; the newest is in force', () => {
    const o = base();
    const lab2 = { ...lab, logTarget: 'udp://127.0.0.1:5514' };
    const p = replan(o, { fleets: [lab2], deckies: [web, db] });
    const half = observedFromPlan(o, { ...p, ops: p.ops.filter((x) => x.op === 'create-settings') });
    expect(half.volumes).toHaveLength(2);
    const again = replan(half, { fleets: [lab2], deckies: [web, db] });
    expect(opLines(again)).toEqual([`0 remove-settings ${p.ops[1] && 'name' in p.ops[1] ? p.ops[1].name : ''}`]);
  });

  it('--force also rebuilds the fleet deckies that were not submitted, from their labels', () => {
    const lab2 = { ...lab, customServices: { gopher: { image: 'example/gopher:1', ports: [{ port: 70, proto: 'tcp' as const }] } } };
    expect(replan(base(), { fleets: [lab2], deckies: [web] }).conflicts.map((c) => c.code)).toEqual(['NetworkChanged']);
    const p = replan(base(), { fleets: [lab2], deckies: [web] }, { force: true });
    expect(p.conflicts).toEqual([]);
    expect(opLines(p)).toContain('2 create-container db-01-mysql');
    expect(replan(observedFromPlan(base(), p), { fleets: [lab2], deckies: [web, db] }).ops).toEqual([]);
  });

  it('re-creates lab plumbing that disappeared', () => {
    const o = { ...base(), labs: [] };
    expect(opLines(replan(o))).toEqual(['0 ensure-lab lab']);
  });

  it('a decky of an unknown fleet is refused', () => {
    const p = replan(emptyHost(), { fleets: [], deckies: [web] });
    expect(p.conflicts.map((c) => c.code)).toEqual(['UnknownFleet']);
    expect(p.ops).toEqual([]);
  });
});

describe('plan: conflicts and foreign objects', () => {
  const foreign = (name: string, labels = {}) => ({ id: `f-${name}`, name, image: 'x', state: 'running' as const, labels });

  it('never plans on foreign or other-host containers, and refuses their names', () => {
    const other = encodeDeckyLabels(makeDecky('web-01', 'lab'), { hostId: 'host-b', role: 'service', service: 'ssh', generation: 1 });
    const o: ObservedState = { ...emptyHost(), containers: [foreign('web-01-ssh', other), foreign('nginx')], foreignNames: ['db-01'] };
    const p = replan(o);
    expect(p.conflicts.map((c) => c.code)).toEqual(['ForeignNameConflict', 'ForeignNameConflict']);
    expect(p.ops.some((x) => 'name' in x && (x.name === 'nginx' || x.name === 'web-01-ssh' || x.name === 'db-01'))).toBe(false);
    // deleting everything never touches them either
    const del = replan(o, { fleets: [], deckies: [] }, { deleteFleets: ['lab'] });
    expect(del.ops).toEqual([]);
  });

  it('refuses a decky name held by another fleet, and an IP held in the same fleet', () => {
    const o = base();
    const corp = makeFleet('corp', { network: { mode: 'macvlan', subnet: '10.9.0.0/24', gateway: '10.9.0.1' } });
    const dup = makeDecky('web-01', 'corp', { ip: '10.9.0.5' });
    const p1 = replan(o, { fleets: [corp], deckies: [dup] });
    expect(p1.conflicts).toEqual([expect.objectContaining({ code: 'NameTaken', message: expect.stringMatching(/web-01 \(fleet corp\).*web-01 of fleet lab/) })]);

    const thief = makeDecky('app-01', 'lab', { ip: db.ip });
    const p2 = replan(o, { fleets: [lab], deckies: [thief] });
    expect(p2.conflicts).toEqual([
      expect.objectContaining({ code: 'IpTaken', message: expect.stringContaining('app-01'), hint: expect.stringContaining('--prune') }),
    ]);
    expect(p2.conflicts[0]?.message).toContain('db-01');
    // with prune the holder leaves in wave 1 and the IP is free
    const p3 = replan(o, { fleets: [lab], deckies: [thief, web] }, { prune: true });
    expect(p3.conflicts).toEqual([]);
    expect(replan(observedFromPlan(o, p3), { fleets: [lab], deckies: [thief, web] }).ops).toEqual([]);
    // two submitted deckies with one IP
    const twin = makeDecky('twin', 'lab', { ip: web.ip });
    const pair = replan(emptyHost(), { fleets: [lab], deckies: [web, twin] });
    expect(pair.conflicts).toEqual([expect.objectContaining({ code: 'IpTaken', message: expect.stringContaining('twin and web-01') })]);
    expect(pair.ops.filter((x) => x.wave === 2)).toEqual([]);
  });

  it('refuses to touch a decky with invalid labels unless forced', () => {
    const o = patchContainer(base(), 'web-01-ssh', { labels: { ...base().containers.find((c) => c.name === 'web-01-ssh')!.labels, [LABEL_SPEC]: '{}' } });
    const changed = { fleets: [lab], deckies: [{ ...web, hostname: 'X' }, db] };
    const p = replan(o, changed);
    expect(p.conflicts.map((c) => c.code)).toEqual(['InvalidLabels']);
    expect(p.ops.filter((x) => 'decky' in x && x.decky === 'web-01')).toEqual([]);
    const del = replan(o, { fleets: [], deckies: [] }, { deleteDeckies: ['web-01'] });
    expect(del.conflicts.map((c) => c.code)).toEqual(['InvalidLabels']);
    expect(del.ops).toEqual([]);
    const forced = replan(o, changed, { force: true });
    expect(forced.conflicts).toEqual([]);
    expect(replan(observedFromPlan(o, forced), changed).ops).toEqual([]);
  });

  it('keeps the generation of an unchanged decky and bumps from the max observed one', () => {
    let o = base();
    const d = (h: string): ResolvedDecky => ({ ...web, hostname: h });
    for (const [i, h] of ['A', 'B', 'C'].entries()) {
      const r = deploy(o, { fleets: [lab], deckies: [d(h)] });
      expect(r.plan.generations['web-01']).toBe(i + 2);
      o = r.after;
    }
    expect(replan(o, { fleets: [lab], deckies: [d('C')] }).generations['web-01']).toBe(4);
  });
});
