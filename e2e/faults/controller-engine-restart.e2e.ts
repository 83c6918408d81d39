/**
 * Fault: the engine stops while the controller runs, then starts again (issue 5: "stopping
 * dockerd while the controller runs, then starting it again: no containers deleted, the
 * fleet converges"). Runs against a PRIVATE dockerd (e2e/lib/private-dockerd.ts); the
 * machine's main engine is never touched. Two outages under one controller process:
 *  1. graceful stop (SIGTERM): the daemon stops the containers with it; on its start the
 *     restart policy (unless-stopped) and the controller bring them back. The controller
 *     must not act while the daemon shuts down: dockerd keeps serving kept-alive
 *     connections then, and a start slipped in leaves a containerd task behind that makes
 *     Docker refuse every later start of that container (found by this test; the engine
 *     now opens one connection per call, see oneConnectionPerCall in docker-engine.ts);
 *  2. crash (SIGKILL) with a heal pending: a service container is killed and the daemon
 *     SIGKILLed as soon as that container is down. Its containerd dies with it, the
 *     containers' shims and processes survive; the restarted daemon stops them and the
 *     controller starts them again.
 * While the engine is down the controller keeps running, /readyz says not ready, its
 * status file says engine unreachable with every decky Unknown, and `get deckies` fails
 * naming the engine. After the start every decky is Ready again, with the same
 * containers (same ids), each once.
 * Fleet ef-cer (10.238.40.0/24), host id ef-cer, daemon bridge dncer0 (10.238.253.1/24).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatusFile } from '@decnet/controller';
import { removeLab } from '@decnet/engine';
import { run, until } from '../lib/cli.js';
import { BASE_IMAGE, IMAGE_BASE, cleanupFleet, ctlFor, deckyDoc, fleetDoc, manifestFile, show, type DeckyDoc } from '../lib/apply-fixtures.js';
import { ControllerProcess } from '../lib/controller-process.js';
import { HONEYPOT_IMAGE, checked, cleanup, ensureHoneypotImage, expectedNames, stateDir, step } from '../lib/faults.js';
import { PrivateDockerd } from '../lib/private-dockerd.js';

const HOST = 'ef-cer';
const F = 'ef-cer';
const dockerd = new PrivateDockerd({ name: 'decnet-faults-cer', bridge: 'dncer0', bridgeCidr: '10.238.253.1/24' });
const STATE = stateDir('ef-cer');
const env = { DECNET_HOST_ID: HOST, DECNET_STATE_DIR: STATE, DECNET_BASE_IMAGE: BASE_IMAGE, DECNET_IMAGE_BASE: IMAGE_BASE, ...dockerd.env };
const ctl = ctlFor(HOST, env);
const mainCtl = ctlFor(HOST);
const controller = new ControllerProcess({ env, args: ['--resync', '2s', '--no-mutate'] });
const DECKIES: DeckyDoc[] = [
  { name: 'ef-cer-a', fleet: F, ip: '10.238.40.10', services: ['ssh', 'http'], nmapOS: 'linux' },
  { name: 'ef-cer-b', fleet: F, ip: '10.238.40.11', services: ['ftp', 'redis'], nmapOS: 'linux' },
  { name: 'ef-cer-c', fleet: F, ip: '10.238.40.12', services: ['telnet', 'pop3'], nmapOS: 'linux' },
];
const FILE = manifestFile([fleetDoc(F, '10.238.40.0/24', '10.238.40.1'), ...DECKIES.map(deckyDoc)]);
const EXPECTED = expectedNames(DECKIES);
/** the service container killed just before the SIGKILL of the daemon */
const VICTIM = 'ef-cer-b-ftp';

const ours = async () => (await dockerd.containers(`com.decnet.fleet=${F}`)).filter((c) => c.labels['com.decnet.host'] === HOST);
const withLogs = (msg: string) => `${msg}\n--- controller log ---\n${controller.logTail(4000)}\n--- dockerd log ---\n${dockerd.logTail(2000)}`;

async function waitAllReady(what: string): Promise<void> {
  for (const d of DECKIES) {
    const r = await ctl(['wait', '--for=condition=Ready', `decky/${d.name}`, '--timeout', '60s']);
    expect(r.code, withLogs(`${what}: ${show(r)}`)).toBe(0);
  }
}

/** Exactly the declared containers, each once (by name and by decky/role/service), all running. */
async function assertFleetExact(): Promise<Record<string, string>> {
  const all = await ours();
  expect(all.map((c) => c.name), 'containers of the fleet').toEqual(EXPECTED);
  const slots = all.map((c) => `${c.labels['com.decnet.decky']}/${c.labels['com.decnet.role']}/${c.labels['com.decnet.service'] ?? ''}`);
  expect(new Set(slots).size, `duplicate slots: ${slots.join(', ')}`).toBe(all.length);
  for (const c of all) expect(c.state, `${c.name} state`).toBe('running');
  const every = (await dockerd.docker('ps', '-a', '--format', '{{.Names}}')).split('\n').filter(Boolean).sort();
  expect(every, 'no other container on the private engine').toEqual(EXPECTED);
  return Object.fromEntries(all.map((c) => [c.name, c.id]));
}

/** While the engine is down: the controller lives, says not ready and Unknown; the CLI refuses. */
async function assertDownBehaviour(pid: number): Promise<void> {
  await step('controller /readyz says not ready', async () => {
    const r = await until(async () => {
      const h = await controller.http('/readyz');
      return h.status === 503 && h;
    }, 20_000, 200).catch(async (e: Error) => {
      throw new Error(withLogs(`${e.message}; last /readyz: ${JSON.stringify(await controller.http('/readyz').catch((x: Error) => x.message))}`));
    });
    expect(r.text).toMatch(/not ready: container engine unreachable/);
  });
  await step('controller status file: engine unreachable, every decky Unknown', async () => {
    await until(async () => {
      const f = await readStatusFile(STATE, HOST);
      if (!f || f.engineReachable) return false;
      const phases = DECKIES.map((d) => f.deckies[d.name]?.status.phase);
      return phases.every((p) => p === 'Unknown');
    }, 20_000, 200).catch(async (e: Error) => {
      throw new Error(withLogs(`${e.message}; status file: ${JSON.stringify(await readStatusFile(STATE, HOST))}`));
    });
  });
  await step('get deckies fails naming the engine', async () => {
    const r = await ctl(['get', 'deckies']);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stderr, show(r)).toMatch(/docker engine unreachable/);
    expect(r.stdout, 'no list while the engine is unknown').toBe('');
  });
  // a few resync periods with the engine gone: the controller must neither crash nor act
  await new Promise((r) => setTimeout(r, 5_000));
  await step('controller still running (same process) and answering /healthz', async () => {
    expect(controller.pid, withLogs('controller exited while the engine was down')).toBe(pid);
    expect((await controller.http('/healthz')).status).toBe(200);
    expect((await controller.http('/readyz')).status).toBe(503);
  });
}

/**
 * After the start: every decky Ready, the fleet exactly as declared, and every container
 * the same one as before the outage. The only replacement tolerated: a container the crash
 * left with a stale containerd task that Docker then refuses to start forever. The engine
 * removes such a container only when it never ran ('created') and says so ("half-started
 * by an engine crash"); the controller recreates it from the decky's labels. Then its
 * name must be back (no decky lost) and the controller log must name it.
 */
async function assertConverged(before: Record<string, string>, what: string): Promise<{ replaced: string[] }> {
  await step(`${what}: every decky Ready again`, () => waitAllReady(what));
  await step(`${what}: controller ready again`, () => controller.waitReady(30_000).catch((e: Error) => { throw new Error(withLogs(e.message)); }));
  const after = await step(`${what}: exactly the declared containers, each once, all running`, () =>
    until(async () => {
      try {
        return await assertFleetExact();
      } catch {
        return false;
      }
    }, 30_000, 500).catch(async () => assertFleetExact()),
  );
  const replaced = Object.keys(before).filter((n) => after[n] !== before[n]);
  await step(`${what}: no container deleted`, async () => {
    for (const n of replaced) {
      const staleLine = controller.log.split('\n').find((l) => l.includes('half-started by an engine crash') && (l.includes(n) || l.includes(before[n]!)));
      expect(staleLine, withLogs(`${n} was replaced (${before[n]!.slice(0, 12)} -> ${after[n]?.slice(0, 12)}) and the controller log gives no stale-task reason`)).toBeDefined();
    }
  });
  return { replaced };
}

describe('fault: engine stopped and started while the controller runs (private dockerd, ef-cer)', () => {
  beforeAll(async () => {
    await ensureHoneypotImage(mainCtl);
    await dockerd.destroy(); // leftovers of an interrupted run
    await removeLab(F).catch(() => undefined);
    await dockerd.start();
    await dockerd.loadImages([BASE_IMAGE, HONEYPOT_IMAGE]);
    const r = await ctl(['apply', '-f', FILE, '--timeout', '2m']);
    expect(r.code, `${show(r)}\n--- dockerd log ---\n${dockerd.logTail()}`).toBe(0);
    controller.start();
    await controller.waitReady(30_000).catch((e: Error) => { throw new Error(withLogs(e.message)); });
    await waitAllReady('after apply');
  }, 240_000);

  afterAll(async () => {
    await controller.stop('SIGKILL');
    writeFileSync(`${STATE}/controller.log`, controller.log);
    await cleanup(`private dockerd ${dockerd.host} (data root ${dockerd.dataRoot}, log ${dockerd.logFile}) with fleet ${F}, lab of ${F}, state dir ${STATE} (controller log in it)`, async () => {
      if (dockerd.pid() === undefined) await dockerd.start().catch(() => undefined);
      await cleanupFleet(ctl, F, HOST).catch(() => undefined);
      await dockerd.destroy();
      await removeLab(F).catch(() => undefined);
      rmSync(STATE, { recursive: true, force: true });
    });
  }, 240_000);

  it('graceful stop (SIGTERM), then start: no container deleted, the fleet converges', async () => {
    const before = await step('fleet before the outage', () => assertFleetExact());
    const pid = controller.pid!;
    const logFrom = controller.log.length;
    await step('stop dockerd (SIGTERM)', async () => {
      await dockerd.stop();
      expect(dockerd.pid(), 'daemon still running').toBeUndefined();
    });
    checked(`private dockerd stopped gracefully with ${EXPECTED.length} containers of ${DECKIES.length} deckies (controller pid ${pid} running)`);
    await assertDownBehaviour(pid);
    checked('engine down: controller alive, /readyz 503 "container engine unreachable", status file engineReachable=false and every decky Unknown, get deckies exits non-zero naming the engine');

    await step('no heal attempted while the daemon stopped or was down', async () => {
      // the fleet was converged: the only thing to "heal" was the shutdown itself
      const heals = controller.log.slice(logFrom).split('\n').filter((l) => /"msg":"heal(ed)? /.test(l));
      expect(heals, withLogs('the controller acted on a daemon that was shutting down (a start then leaves a stale containerd task)')).toEqual([]);
    });
    checked('the controller attempted no heal while the daemon shut down and was down');

    await step('start dockerd again', () => dockerd.start());
    const { replaced } = await assertConverged(before, 'after SIGTERM');
    expect(controller.pid, 'the same controller process throughout').toBe(pid);
    checked(`after the start every decky Ready, ${EXPECTED.length} containers each once and running, ${EXPECTED.length - replaced.length} with the same id${replaced.length ? `, replaced after a stale containerd task: ${replaced.join(', ')}` : ''}`);
  });

  it('crash (SIGKILL) with a heal pending, then start: no container deleted, the fleet converges', async () => {
    const before = await step('fleet before the crash', () => assertFleetExact());
    const pid = controller.pid!;
    await step(`kill ${VICTIM}, then SIGKILL dockerd as soon as it is down`, async () => {
      await dockerd.docker('kill', VICTIM);
      await until(async () => (await dockerd.docker('inspect', '-f', '{{.State.Running}}', VICTIM)).trim() === 'false' || dockerd.pid() === undefined, 10_000, 10).catch(() => undefined);
      await dockerd.kill();
    });
    // the daemon takes its containerd with it; the containers' shims (and processes) stay
    const shims = await step('the containers outlive the daemon', async () => {
      const r = await run('pgrep', ['-f', `containerd-shim.*${dockerd.execRoot}/`]);
      const n = r.stdout.split('\n').filter(Boolean).length;
      expect(n, 'container shims left running').toBeGreaterThanOrEqual(EXPECTED.length - 1);
      return n;
    });
    checked(`private dockerd SIGKILLed right after docker kill ${VICTIM}: ${shims} container shims outlive it`);
    await assertDownBehaviour(pid);
    checked('engine down: controller alive, /readyz 503, status file Unknown, get deckies exits non-zero naming the engine');

    await step('start dockerd again', () => dockerd.start());
    const { replaced } = await assertConverged(before, 'after SIGKILL');
    expect(controller.pid, 'the same controller process throughout').toBe(pid);
    checked(`after the start every decky Ready (${VICTIM} running again), ${EXPECTED.length} containers each once, ${EXPECTED.length - replaced.length} with the same id${replaced.length ? `, replaced after a stale containerd task: ${replaced.join(', ')}` : ''}`);

    await step('a re-apply finds nothing to do', async () => {
      const r = await ctl(['apply', '-f', FILE]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toMatch(/No changes: 3 decky\(s\) already as submitted, 0 engine writes/);
    });
    checked('a further apply is a no-op (0 engine writes)');
  });
});
