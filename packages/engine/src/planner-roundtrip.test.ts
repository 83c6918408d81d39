/**
 * The api planner and this engine together on a real Docker: plan from an empty
 * observation, execute, observe again, and the next plan is empty; then delete.
 * Fleet t4p (10.240.44.0/24), containers t4p-*, host id unique per run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDecky, makeFleet, plan, type ResolvedDecky, type ResolvedFleet } from '@decnet/api';
import { DockerEngine } from './docker-engine.js';
import { execute } from './executor.js';
import { labExec } from './lab.js';
import { cleanup, poll, runtimeImage } from './test-support.js';

const HOST = `t4-${randomBytes(4).toString('hex')}`;
let stateDir = '';
let engine: DockerEngine;
let fleet: ResolvedFleet;
let deckies: ResolvedDecky[];

beforeAll(async () => {
  const image = await runtimeImage();
  stateDir = await mkdtemp(join(tmpdir(), 't4-rt-'));
  engine = new DockerEngine({ stateDir });
  await cleanup(HOST, 't4p', ['t4p']);
  fleet = makeFleet('t4p', { network: { mode: 'macvlan', subnet: '10.240.44.0/24', gateway: '10.240.44.1' }, lab: true });
  const svc = (port: number) => ({
    name: 'tcp', image, ports: [{ port, proto: 'tcp' as const }], config: {}, secretKeys: [],
    command: ['node', '-e', `require('net').createServer(s=>s.end('up\\n')).listen(${port})`],
  });
  deckies = [10, 11, 12].map((n) => makeDecky(`t4p-d${n}`, 't4p', { ip: `10.240.44.${n}`, baseImage: image, services: [svc(2000 + n)] }));
}, 120_000);

afterAll(async () => {
  await cleanup(HOST, 't4p', ['t4p']);
  await rm(stateDir, { recursive: true, force: true });
}, 120_000);

describe('planner + executor round trip', () => {
  it('converges: apply, observe, and the next plan has nothing to do', async () => {
    const first = plan(await engine.observe(HOST), { fleets: [fleet], deckies }, { hostId: HOST });
    expect(first.conflicts).toEqual([]);
    const s = await execute(first, engine);
    expect(s.ok).toBe(true);
    expect(s.writes).toBe(first.ops.length);
    const again = plan(await engine.observe(HOST), { fleets: [fleet], deckies }, { hostId: HOST });
    expect(again).toMatchObject({ ops: [], conflicts: [] });
    for (const n of [10, 11, 12]) {
      const probe = `require('net').connect(${2000 + n},'10.240.44.${n}').on('data',()=>process.exit(0)).on('error',()=>process.exit(1))`;
      expect(await poll(async () => ((await labExec('t4p', [process.execPath, '-e', probe], { stdio: 'ignore' })) === 0 ? true : undefined))).toBe(true);
    }
  }, 90_000);

  it('heals a removed service container and nothing else', async () => {
    await engine.removeContainer('t4p-d11-tcp');
    const heal = plan(await engine.observe(HOST), { fleets: [fleet], deckies }, { hostId: HOST });
    expect(heal.ops.every((op) => 'decky' in op && op.decky === 't4p-d11')).toBe(true);
    expect((await execute(heal, engine)).ok).toBe(true);
    expect(plan(await engine.observe(HOST), { fleets: [fleet], deckies }, { hostId: HOST }).ops).toEqual([]);
  }, 60_000);

  it('deletes the fleet completely', async () => {
    const del = plan(await engine.observe(HOST), { fleets: [], deckies: [] }, { hostId: HOST, deleteFleets: ['t4p'] });
    expect(del.conflicts).toEqual([]);
    const s = await execute(del, engine);
    if (!s.ok) console.log(JSON.stringify({ s, ops: del.ops.map((o) => `${o.wave} ${o.op} ${"name" in o ? o.name : o.fleet}`) }, null, 1));
    expect({ ok: s.ok, deckies: s.deckies, fleets: s.fleets, ops: del.ops.map((o) => `${o.wave} ${o.op} ${'name' in o ? o.name : o.fleet}`) }).toMatchObject({ ok: true });
    const after = await engine.observe(HOST);
    expect(after).toMatchObject({ containers: [], networks: [] });
    expect(after.labs).not.toContain('t4p');
  }, 60_000);
});
