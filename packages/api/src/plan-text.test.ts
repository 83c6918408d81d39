import { describe, expect, it } from 'vitest';
import { encodeDeckyLabels, LABEL_SPEC_HASH } from './labels.js';
import { plan, type DesiredState, type PlanOptions } from './planner.js';
import { formatPlan, summarizePlan } from './plan-text.js';
import { makeDecky, makeFleet, makeService } from './test-fixtures.js';
import { deploy, emptyHost, HOST, patchContainer } from './testing/scenarios.js';
import type { ObservedState } from './types.js';

const lab = makeFleet('lab');
const web = makeDecky('web-01', 'lab', { ip: '10.213.0.10', services: ['http', 'ssh'] });
const db = makeDecky('db-01', 'lab', { ip: '10.213.0.11', services: ['mysql'] });
const corp = makeFleet('corp', { lab: false, network: { mode: 'macvlan', parent: 'eth1', subnet: '10.9.0.0/24', gateway: '10.9.0.1' } });
const ws = makeDecky('ws-01', 'corp', { ip: '10.9.0.20', services: ['rdp', 'smb'] });
const desired: DesiredState = { fleets: [lab], deckies: [web, db] };
const running = () => deploy(emptyHost(), { fleets: [lab, corp], deckies: [web, db, ws] }).after;
const text = (o: ObservedState, d: DesiredState, opts: Partial<PlanOptions> = {}) => formatPlan(plan(o, d, { hostId: HOST, ...opts }));
const golden = (name: string) => `./__golden__/${name}.txt`;

describe('plan text (golden)', () => {
  it('empty host -> 2-decky lab fleet', async () => {
    await expect(text(emptyHost(), desired)).toMatchFileSnapshot(golden('empty-to-lab-fleet'));
  });

  it('unchanged re-apply', async () => {
    const t = text(running(), desired);
    expect(t).toBe('No changes.\n');
    await expect(t).toMatchFileSnapshot(golden('unchanged'));
  });

  it('service config change', async () => {
    const web2 = { ...web, services: [makeService('http', { config: { server_header: 'nginx/1.18.0', fake_app: 'wordpress' } }), makeService('ssh')] };
    await expect(text(running(), { fleets: [lab], deckies: [web2, db] })).toMatchFileSnapshot(golden('service-config-change'));
  });

  it('base change cascades to services', async () => {
    await expect(text(running(), { fleets: [lab], deckies: [{ ...web, ip: '10.213.0.50', nmapOS: 'windows' }] })).toMatchFileSnapshot(golden('base-change'));
  });

  it('prune', async () => {
    await expect(text(running(), { fleets: [lab], deckies: [web] }, { prune: true })).toMatchFileSnapshot(golden('prune'));
  });

  it('force network change', async () => {
    const lab2 = { ...lab, network: { ...lab.network, subnet: '10.213.0.0/16' } };
    await expect(text(running(), { fleets: [lab2], deckies: [web, db] }, { force: true })).toMatchFileSnapshot(golden('force-network-change'));
  });

  it('delete fleet', async () => {
    await expect(text(running(), { fleets: [], deckies: [] }, { deleteFleets: ['lab'] })).toMatchFileSnapshot(golden('delete-fleet'));
  });

  it('foreign and other-host containers are never in ops', async () => {
    const o = running();
    const other = encodeDeckyLabels(makeDecky('web-09', 'lab'), { hostId: 'host-b', role: 'base', generation: 3 });
    o.containers.push(
      { id: 'f1', name: 'nginx', image: 'nginx', state: 'exited', labels: {} },
      { id: 'f2', name: 'web-09', image: 'debian:bookworm-slim', state: 'exited', labels: other },
    );
    const t = text(o, { fleets: [lab], deckies: [web] }, { prune: true });
    expect(t).not.toMatch(/nginx|web-09/);
    await expect(t).toMatchFileSnapshot(golden('foreign-and-other-host'));
  });

  it('carrier rule', async () => {
    await expect(text(running(), { fleets: [lab], deckies: [{ ...web, services: [makeService('http')], mutateInterval: 7200 }, db] })).toMatchFileSnapshot(
      golden('carrier-rule'),
    );
  });

  it('conflicts', async () => {
    let o = running();
    const hijacked = o.containers.find((c) => c.name === 'db-01-mysql');
    o = patchContainer(o, 'db-01-mysql', { labels: { ...hijacked?.labels, [LABEL_SPEC_HASH]: '0'.repeat(64) } });
    o.containers.push({ id: 'f1', name: 'app-01-ssh', image: 'x', state: 'running', labels: {} });
    const d: DesiredState = {
      fleets: [lab, { ...corp, network: { ...corp.network, gateway: '10.9.0.254' } }],
      deckies: [
        makeDecky('ws-01', 'lab', { ip: '10.213.0.30' }), // name held by corp
        makeDecky('thief', 'lab', { ip: web.ip }), // IP held by web-01, not submitted
        { ...db, hostname: 'CHANGED' }, // broken labels
        makeDecky('app-01', 'lab', { ip: '10.213.0.31' }), // foreign container name
        makeDecky('twin-a', 'lab', { ip: '10.213.0.40' }),
        makeDecky('twin-b', 'lab', { ip: '10.213.0.40' }), // same IP in one submission
        makeDecky('fine', 'lab', { ip: '10.213.0.41', services: ['ftp'] }), // plannable: shown for context
      ],
    };
    await expect(text(o, d)).toMatchFileSnapshot(golden('conflicts'));
  });
});

describe('summarizePlan', () => {
  it('counts recreations once, and starts only of containers not created by the plan', () => {
    const o = patchContainer(running(), 'ws-01-rdp', { state: 'exited' });
    const p = plan(o, { fleets: [lab, corp], deckies: [{ ...web, hostname: 'X' }, db, ws] }, { hostId: HOST });
    expect(summarizePlan(p)).toEqual({ create: 0, recreate: 3, remove: 0, start: 1, stop: 0 });
    expect(formatPlan(p).trimEnd().split('\n').at(-1)).toBe('Plan: 0 to create, 3 to recreate, 0 to remove, 1 to start.');
  });
});
