/**
 * The controller against the real engine: `decnetctl controller` runs as a child process
 * and heals what we break with the docker CLI; `decnetctl wait` sees the decky Ready again.
 * Names: fleet e2c-heal, deckies e2c-*, subnet 10.235.1.0/24, host id e2e-controller.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containers, decnetctl, docker, tempDir, until } from './lib/cli.js';
import { BASE_IMAGE, IMAGE_BASE } from './lib/apply-fixtures.js';
import { ControllerProcess } from './lib/controller-process.js';

const HOST = 'e2e-controller';
const state = tempDir('e2c');
const PORT = 19000 + Math.floor(Math.random() * 900);
const env = {
  DECNET_HOST_ID: HOST,
  DECNET_STATE_DIR: state,
  DECNET_BASE_IMAGE: BASE_IMAGE,
  DECNET_IMAGE_BASE: IMAGE_BASE,
};
const DECKIES = ['e2c-a', 'e2c-b', 'e2c-c', 'e2c-d', 'e2c-e'];
const manifest = [
  `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: e2c-heal }
spec:
  network: { mode: macvlan, subnet: 10.235.1.0/24, gateway: 10.235.1.1 }
  lab: true`,
  ...DECKIES.map(
    (d, i) => `apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: ${d} }
spec: { fleet: e2c-heal, ip: 10.235.1.${10 + i}, services: [ssh, http], distro: debian }`,
  ),
].join('\n---\n');

const ctl = new ControllerProcess({ env, port: PORT });
const http = (path: string) => ctl.http(path);

const deckyContainers = (d: string) => containers(`com.decnet.decky=${d}`).then((cs) => cs.filter((c) => c.labels['com.decnet.host'] === HOST));
const startedAt = async (name: string) => (await docker('inspect', '-f', '{{.State.Status}} {{.State.StartedAt}}', name)).trim();

async function allRunning(d: string): Promise<boolean> {
  const cs = await deckyContainers(d);
  return cs.length === 3 && cs.every((c) => c.state === 'running');
}

/** Every service container of the decky joins the network namespace of its current base container. */
async function joinsCurrentBase(d: string): Promise<boolean> {
  const base = (await docker('inspect', '-f', '{{.Id}}', d).catch(() => '')).trim();
  if (base === '') return false;
  const cs = (await deckyContainers(d)).filter((c) => c.name !== d);
  const modes = await Promise.all(cs.map(async (c) => (await docker('inspect', '-f', '{{.HostConfig.NetworkMode}}', c.name).catch(() => '')).trim()));
  return modes.length > 0 && modes.every((m) => m === `container:${base}`);
}

async function waitReady(d: string): Promise<void> {
  const r = await decnetctl(['wait', '--for=condition=Ready', `decky/${d}`, '--timeout', '60s'], { env });
  expect(r.code, `${r.stdout}${r.stderr}\n--- controller log ---\n${ctl.logTail()}`).toBe(0);
}

const foreignName = 'e2c-foreign';
const otherHostName = 'e2c-otherhost';

beforeAll(async () => {
  const dir = tempDir('e2c-m');
  writeFileSync(join(dir, 'fleet.yaml'), manifest);
  const r = await decnetctl(['apply', '-f', join(dir, 'fleet.yaml'), '--timeout', '2m'], { env });
  expect(r.code, r.stderr).toBe(0);
  // a foreign container claiming to be part of e2c-a, and one of another host: both exited
  const sleeper = ['--entrypoint', '/usr/local/bin/node', 'decnet/runtime-base:0.1.0', '-e', 'setTimeout(()=>{},1e9)'];
  await docker('run', '-d', '--name', foreignName, '--label', 'com.decnet.decky=e2c-a', '--label', 'com.decnet.role=service', ...sleeper);
  await docker('run', '-d', '--name', otherHostName, '--label', 'com.decnet.managed=true', '--label', 'com.decnet.host=e2e-other', '--label', 'com.decnet.decky=e2c-a', '--label', 'com.decnet.fleet=e2c-heal', ...sleeper);
  await docker('kill', foreignName, otherHostName);
  ctl.start();
  await ctl.waitReady();
}, 240_000);

afterAll(async () => {
  await ctl.stop('SIGKILL');
  await docker('rm', '-f', foreignName, otherHostName).catch(() => undefined);
  await decnetctl(['delete', 'fleet', 'e2c-heal'], { env });
  rmSync(state, { recursive: true, force: true });
}, 240_000);

describe('decnetctl controller heals', () => {
  it('answers /healthz, /readyz and /metrics', async () => {
    expect((await http('/healthz')).status).toBe(200);
    expect((await http('/readyz')).text).toMatch(/^ready/);
    const m = await until(async () => {
      const t = (await http('/metrics')).text;
      return /decnet_deckies\{phase="Running"\} 5/.test(t) && t;
    }, 20_000);
    expect(m).toMatch(/decnet_reconciles_total\{result="noop"\} \d+/);
    expect(m).toMatch(/decnet_engine_call_duration_seconds_count\{call="observe"\} \d+/);
  });

  it('restarts a killed service container', async () => {
    const before = await startedAt('e2c-a-ssh');
    await docker('kill', 'e2c-a-ssh');
    await until(async () => {
      const now = await startedAt('e2c-a-ssh');
      return now.startsWith('running') && now !== before;
    }, 30_000);
    await waitReady('e2c-a');
  });

  it('recreates a removed service container', async () => {
    await docker('rm', '-f', 'e2c-b-http');
    await until(() => allRunning('e2c-b'), 30_000);
    await waitReady('e2c-b');
  });

  it('recreates a removed base container and its services', async () => {
    const old = await deckyContainers('e2c-c');
    await docker('rm', '-f', 'e2c-c');
    await until(async () => (await allRunning('e2c-c')) && (await deckyContainers('e2c-c')).every((c) => !old.some((o) => o.id === c.id)), 45_000);
    await waitReady('e2c-c');
  });

  it('starts a fully stopped decky', async () => {
    await docker('stop', 'e2c-d-ssh', 'e2c-d-http', 'e2c-d');
    await until(() => allRunning('e2c-d'), 45_000);
    await waitReady('e2c-d');
  });

  it('leaves a foreign container and another host\'s container alone', async () => {
    await new Promise((r) => setTimeout(r, 6_000)); // more than one resync period
    for (const n of [foreignName, otherHostName]) expect((await startedAt(n)).split(' ')[0]).toBe('exited');
    expect(ctl.log).not.toContain(foreignName);
    expect(ctl.log).not.toContain(otherHostName);
  });

  it('converges with no duplicates after kill -9 in the middle of a heal', async () => {
    await docker('rm', '-f', 'e2c-e');
    // kill the controller as soon as it started rebuilding the decky
    await until(async () => (await docker('ps', '-a', '--format', '{{.Names}}', '--filter', 'name=^e2c-e$')).trim() === 'e2c-e', 30_000, 20);
    await ctl.stop('SIGKILL');
    const mid = (await deckyContainers('e2c-e')).map((c) => `${c.name}=${c.state}`);
    ctl.start();
    await ctl.waitReady(60_000); // the new controller's first resync is done
    // converged: three running containers, every service in the namespace of the base that exists now
    // (services left in the namespace of a replaced base are running too, until the heal replaces them)
    await until(async () => (await allRunning('e2c-e')) && (await joinsCurrentBase('e2c-e')), 60_000);
    await waitReady('e2c-e');
    const names = (await deckyContainers('e2c-e')).map((c) => c.name);
    expect(names, `state when killed: ${mid.join(', ')}`).toEqual(['e2c-e', 'e2c-e-http', 'e2c-e-ssh']);
    // nothing else of the fleet was disturbed
    const all = await Promise.all(DECKIES.map(async (d) => `${d}: ${(await deckyContainers(d)).map((c) => `${c.name}=${c.state}`).join(',')}`));
    expect(all).toEqual(DECKIES.map((d) => `${d}: ${d}=running,${d}-http=running,${d}-ssh=running`));
  });

  it('stops gracefully on SIGTERM', async () => {
    const inTime = await ctl.stop('SIGTERM', 30_000);
    expect(inTime, `not stopped 30 s after SIGTERM\n--- controller log ---\n${ctl.logTail(6000)}`).toBe(true);
    expect(ctl.log, ctl.logTail()).toContain('controller stopped');
  });
});
