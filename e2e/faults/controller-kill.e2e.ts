/**
 * Fault: the controller is SIGKILLed at random points while it heals. Each seeded run
 * damages some containers (kill or remove a service, remove a base, stop a whole decky),
 * waits a seeded delay, SIGKILLs the controller (only the process started here), starts
 * a new one, and checks that it converges: every decky Ready, each container once, all
 * running, the same decky set. Main engine, fleet ef-ctl (10.238.2.0/24), host ef-ctl.
 * DECNET_FAULTS_SEEDS=N runs N seeds (default 10); DECNET_FAULTS_SEED=S runs only seed S.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '@decnet/controller';
import { containers, docker, until } from '../lib/cli.js';
import { cleanupFleet, ctlFor, deckyDoc, fleetDoc, manifestFile, show, type DeckyDoc } from '../lib/apply-fixtures.js';
import { ControllerProcess } from '../lib/controller-process.js';
import { checked, cleanup, expectedNames, stateDir, step } from '../lib/faults.js';

const HOST = 'ef-ctl';
const F = 'ef-ctl';
const env = { DECNET_HOST_ID: HOST, DECNET_STATE_DIR: stateDir('ef-ctl') };
const ctl = ctlFor(HOST, env);
const controller = new ControllerProcess({ env, args: ['--resync', '3s', '--no-mutate', '--no-events'] });
const DECKIES: DeckyDoc[] = [
  { name: 'ef-ctl-a', fleet: F, ip: '10.238.2.10', services: ['ssh', 'http'], nmapOS: 'linux' },
  { name: 'ef-ctl-b', fleet: F, ip: '10.238.2.11', services: ['ftp', 'redis'], nmapOS: 'linux' },
  { name: 'ef-ctl-c', fleet: F, ip: '10.238.2.12', services: ['smtp'], nmapOS: 'linux' },
  { name: 'ef-ctl-d', fleet: F, ip: '10.238.2.13', services: ['telnet', 'pop3'], nmapOS: 'linux' },
];
const EXPECTED = expectedNames(DECKIES);
const SEEDS = process.env['DECNET_FAULTS_SEED'] ? [Number(process.env['DECNET_FAULTS_SEED'])] : Array.from({ length: Number(process.env['DECNET_FAULTS_SEEDS'] ?? 10) }, (_, i) => 1000 + i);

const ours = async () => (await containers(`com.decnet.fleet=${F}`)).filter((c) => c.labels['com.decnet.host'] === HOST);

type Damage = { what: string; args: string[] };

/** The seed decides which containers to damage (1-3 actions) and the delay before the SIGKILL. */
function plan(seed: number): { damage: Damage[]; delayMs: number } {
  const rnd = seededRandom(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const damage: Damage[] = [];
  const removed = new Set<string>();
  // removing every container of a decky by hand deletes it (its labels are its only record):
  // that is an operator's decision, not a fault, so at least one container of each stays
  const rm = (name: string, d: DeckyDoc): boolean => {
    if (expectedNames([d]).filter((x) => !removed.has(x) && x !== name).length === 0) return false;
    removed.add(name);
    return true;
  };
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) {
    const d = pick(DECKIES);
    const svc = `${d.name}-${pick(d.services!)}`;
    const kind = pick(['kill-service', 'rm-service', 'rm-base', 'stop-all'] as const);
    if (kind === 'kill-service') damage.push({ what: `kill ${svc}`, args: ['kill', svc] });
    if (kind === 'rm-service' && rm(svc, d)) damage.push({ what: `rm -f ${svc}`, args: ['rm', '-f', svc] });
    if (kind === 'rm-base' && rm(d.name, d)) damage.push({ what: `rm -f ${d.name} (base)`, args: ['rm', '-f', d.name] });
    if (kind === 'stop-all') damage.push({ what: `stop ${d.name} (all)`, args: ['stop', '-t', '1', ...expectedNames([d])] });
  }
  return { damage, delayMs: Math.floor(rnd() * 1500) };
}

/** undefined when the fleet is exactly as declared and every decky Ready; else what differs. */
async function divergence(): Promise<string | undefined> {
  const all = await ours();
  const names = all.map((c) => c.name);
  if (JSON.stringify(names) !== JSON.stringify(EXPECTED)) return `containers ${names.join(',')}`;
  const down = all.filter((c) => c.state !== 'running');
  if (down.length > 0) return `not running: ${down.map((c) => `${c.name}=${c.state}`).join(',')}`;
  const r = await ctl(['get', 'deckies', '-o', 'json']);
  if (r.code !== 0) return `get deckies: ${show(r)}`;
  const rows = JSON.parse(r.stdout) as Array<{ name: string; phase: string; status?: { conditions?: Array<{ type: string; status: string }> } }>;
  const got = rows.map((x) => `${x.name}=${x.phase}`).sort().join(',');
  const want = DECKIES.map((d) => `${d.name}=Running`).join(',');
  return got === want ? undefined : `deckies ${got}`;
}

describe('fault: controller SIGKILLed at random points while healing (ef-ctl)', () => {
  beforeAll(async () => {
    await cleanupFleet(ctl, F, HOST);
    const r = await ctl(['apply', '-f', manifestFile([fleetDoc(F, '10.238.2.0/24', '10.238.2.1'), ...DECKIES.map(deckyDoc)])]);
    expect(r.code, show(r)).toBe(0);
    controller.start();
    await controller.waitReady();
  }, 180_000);

  afterAll(async () => {
    await controller.stop('SIGKILL');
    await cleanup(`fleet ${F} (host ${HOST}) on the main engine`, () => cleanupFleet(ctl, F, HOST));
  }, 120_000);

  it.each(SEEDS)('seed %i: damage, SIGKILL mid-heal, restart, converge', async (seed) => {
    const { damage, delayMs } = plan(seed);
    const before = await step('fleet converged before the damage', async () => {
      const d = await until(async () => ((await divergence()) === undefined ? 'ok' : undefined), 60_000, 300).catch(async () => divergence());
      expect(d).toBe('ok');
      return ours();
    });
    await step(`damage: ${damage.map((d) => d.what).join('; ')}`, async () => {
      for (const d of damage) await docker(...d.args).catch(() => undefined); // an earlier action may have removed it already
    });
    await new Promise((r) => setTimeout(r, delayMs));
    const pid = controller.pid;
    await step(`SIGKILL the controller (pid ${pid}) after ${delayMs} ms`, () => controller.stop('SIGKILL'));
    let mid: string[] = [];
    try {
      mid = (await ours()).map((c) => `${c.name}=${c.state}`);
    } finally {
      controller.start(); // whatever the look at the engine said, the next seeds need a controller
    }
    await step('converge after the restart', async () => {
      let last: string | undefined = 'not checked';
      try {
        await until(async () => ((last = await divergence()) === undefined ? true : undefined), 90_000, 300);
      } catch {
        throw new Error(`not converged: ${last}\nstate when killed: ${mid.join(', ')}\n--- controller log ---\n${controller.logTail()}`);
      }
    });
    await step('same decky set, one base per decky, each decky of one spec', async () => {
      const after = await ours();
      expect(new Set(after.map((c) => c.labels['com.decnet.decky']))).toEqual(new Set(before.map((c) => c.labels['com.decnet.decky'])));
      for (const d of DECKIES) {
        const mine = after.filter((c) => c.labels['com.decnet.decky'] === d.name);
        expect(mine.filter((c) => c.labels['com.decnet.role'] === 'base'), `${d.name} bases`).toHaveLength(1);
        expect(new Set(mine.map((c) => c.labels['com.decnet.spec-hash'])).size, `${d.name} spec hashes`).toBe(1);
      }
    });
    checked(`seed ${seed}: [${damage.map((d) => d.what).join('; ')}], SIGKILL after ${delayMs} ms with ${mid.length}/${EXPECTED.length} containers (${mid.filter((m) => !m.endsWith('=running')).join(',') || 'all running'}); restarted controller converged: ${EXPECTED.length} containers once each, all running, ${DECKIES.length} deckies Running`);
  });
});
