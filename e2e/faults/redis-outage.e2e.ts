/**
 * Fault: Redis stopped and started during a multi-host apply (`apply --registry`, two
 * `controller --registry`: host ef-rh1 on the main engine, ef-rh2 on a private dockerd,
 * both on the lab fleet ef-reg, 10.238.3.0/24). While Redis is down both controllers
 * keep healing from their labels; Redis comes back empty (no persistence); a re-run of
 * the apply converges with no lost and no duplicated placement: every decky on exactly
 * one engine, Running, unique IPs, the registry's host = the engine that holds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeLab } from '@decnet/engine';
import { startRedisServer, type RedisServer } from '@decnet/registry';
import { containers, decnetctl, docker, until, type RunResult } from '../lib/cli.js';
import { BASE_IMAGE, deckyDoc, fleetDoc, manifestFile, show, type DeckyDoc } from '../lib/apply-fixtures.js';
import { ControllerProcess } from '../lib/controller-process.js';
import { HONEYPOT_IMAGE, checked, cleanup, ensureHoneypotImage, stateDir, step } from '../lib/faults.js';
import { PrivateDockerd } from '../lib/private-dockerd.js';

const F = 'ef-reg';
const H1 = 'ef-rh1';
const H2 = 'ef-rh2';
const CLUSTER = 'ef-reg';
const dockerd = new PrivateDockerd({ name: 'decnet-faults-reg', bridge: 'dnfaultsr0', bridgeCidr: '10.238.254.1/24' });
const state = { [H1]: stateDir('ef-rh1'), [H2]: stateDir('ef-rh2') };
let redis: RedisServer;
const regEnv = () => ({ DECNET_REGISTRY: redis.url, DECNET_CLUSTER: CLUSTER, DECNET_BASE_IMAGE: BASE_IMAGE, DECNET_IMAGE_BASE: BASE_IMAGE });
const hostEnv = (h: string): Record<string, string> => ({ ...regEnv(), DECNET_HOST_ID: h, DECNET_STATE_DIR: state[h]!, ...(h === H2 ? dockerd.env : {}) });
const ctl = (args: string[], env: Record<string, string> = {}): Promise<RunResult> => decnetctl(args, { env: { ...regEnv(), ...env } });
const controllers: Record<string, ControllerProcess> = {};
const CTL_ARGS = ['--registry-poll', '1s', '--heartbeat-ttl', '4s', '--resync', '3s', '--no-events', '--no-mutate'];

const A: DeckyDoc[] = ['a1', 'a2', 'a3', 'a4'].map((n, i) => ({ name: `ef-reg-${n}`, fleet: F, ip: `10.238.3.${10 + i}`, services: ['ssh'] }));
const B: DeckyDoc[] = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'].map((n) => ({ name: `ef-reg-${n}`, fleet: F, services: ['http'] }));
const FLEET = fleetDoc(F, '10.238.3.0/24', '10.238.3.1');

/** this fleet's containers on one host's engine */
const on = async (h: string) => (h === H1 ? await containers(`com.decnet.fleet=${F}`) : await dockerd.containers(`com.decnet.fleet=${F}`)).filter((c) => c.labels['com.decnet.host'] === h);
const dockerOn = (h: string, ...args: string[]) => (h === H1 ? docker(...args) : dockerd.docker(...args));
interface Row { name: string; host: string; ip: string; phase: string }
async function rows(): Promise<Row[]> {
  const r = await ctl(['get', 'deckies', '-o', 'json']);
  if (r.code !== 0) throw new Error(show(r));
  return JSON.parse(r.stdout) as Row[];
}

describe('fault: Redis stopped and started during a multi-host apply (ef-reg)', () => {
  beforeAll(async () => {
    await ensureHoneypotImage(ctl);
    await dockerd.destroy();
    await dockerd.start();
    await dockerd.loadImages([BASE_IMAGE, HONEYPOT_IMAGE]);
    redis = await startRedisServer();
    for (const h of [H1, H2]) {
      controllers[h] = new ControllerProcess({ env: hostEnv(h), args: CTL_ARGS });
      controllers[h].start();
    }
    await until(async () => {
      const r = await ctl(['get', 'hosts', '-o', 'json']);
      return r.code === 0 && (JSON.parse(r.stdout) as Array<{ status: string }>).filter((x) => x.status === 'Ready').length === 2;
    }, 60_000, 500);
    const r = await ctl(['apply', '-f', manifestFile([FLEET, ...A.map(deckyDoc)]), '--timeout', '3m']);
    expect(r.code, `${show(r)}\n${controllers[H1]!.logTail()}\n${controllers[H2]!.logTail()}`).toBe(0);
  }, 400_000);

  afterAll(async () => {
    for (const c of Object.values(controllers)) await c.stop('SIGKILL');
    await cleanup(`private dockerd ${dockerd.host}, fleet ${F} on both engines, redis ${redis?.url}`, async () => {
      for (const h of [H1, H2]) await decnetctl(['delete', 'fleet', F, '--force'], { env: { DECNET_HOST_ID: h, DECNET_STATE_DIR: state[h]!, ...(h === H2 ? dockerd.env : {}) } }).catch(() => undefined);
      await dockerd.destroy();
      await removeLab(F).catch(() => undefined);
      await redis?.dispose();
    });
  }, 300_000);

  it('no lost or duplicated placement; controllers heal while Redis is down', async () => {
    const placedA = await rows();
    expect(new Set(placedA.map((d) => d.host)), 'the first apply used both hosts').toEqual(new Set([H1, H2]));
    const victims = [H1, H2].map((h) => placedA.find((d) => d.host === h)!);

    const applying = ctl(['apply', '-f', manifestFile([FLEET, ...A.map(deckyDoc), ...B.map(deckyDoc)]), '--timeout', '60s']);
    await step('stop Redis once the second apply is materialising', async () => {
      await until(async () => (await Promise.all([on(H1), on(H2)])).flat().some((c) => c.name.startsWith('ef-reg-b')), 60_000, 100);
      await redis.stop();
    });
    const killed: Record<string, string> = {};
    await step('while Redis is down, both controllers heal a killed service', async () => {
      for (const v of victims) {
        killed[v.name] = (await dockerOn(v.host, 'inspect', '-f', '{{.State.StartedAt}}', `${v.name}-ssh`)).trim();
        await dockerOn(v.host, 'kill', `${v.name}-ssh`);
      }
      for (const v of victims) {
        await until(async () => {
          const s = (await dockerOn(v.host, 'inspect', '-f', '{{.State.Status}} {{.State.StartedAt}}', `${v.name}-ssh`)).trim();
          return s.startsWith('running') && !s.endsWith(killed[v.name]!);
        }, 60_000, 500);
      }
      expect(redis.running()).toBe(false);
    });
    checked(`Redis stopped mid-apply; ${victims.map((v) => `${v.name}-ssh on ${v.host}`).join(' and ')} killed and restarted by their controllers while Redis was down`);
    const second = await applying;
    await step('Redis back (empty); re-run the apply', async () => {
      await redis.start();
      // an operator re-runs the apply until it is accepted: a refusal for want of Ready hosts
      // (controllers not re-registered yet) is fine, a placement on the wrong host is not
      const file = manifestFile([FLEET, ...A.map(deckyDoc), ...B.map(deckyDoc)]);
      let r: RunResult | undefined;
      for (let i = 0; i < 20; i++) {
        r = await ctl(['apply', '-f', file, '--timeout', '3m']);
        const [c1, c2] = await Promise.all([on(H1), on(H2)]);
        const both = [...A, ...B].map((d) => d.name).filter((n) => c1.some((c) => c.labels['com.decnet.decky'] === n) && c2.some((c) => c.labels['com.decnet.decky'] === n));
        expect(both, `DUPLICATE PLACEMENT after Redis came back empty: these deckies exist on both ${H1} and ${H2} (the re-apply placed the deckies of a host that had not re-registered yet on another host)\n${show(r)}`).toEqual([]);
        if (r.code === 0 || !/NoHostAvailable/.test(r.stderr)) break;
        await new Promise((res) => setTimeout(res, 1_000));
      }
      expect(r!.code, `${show(r!)}\n--- interrupted apply ---\n${show(second)}\n--- ${H1} ---\n${controllers[H1]!.logTail()}\n--- ${H2} ---\n${controllers[H2]!.logTail()}`).toBe(0);
    });
    checked(`the apply running when Redis stopped exited ${second.code}${second.code ? ` (${second.stderr.trim().split('\n').pop()})` : ''}; after Redis came back empty the re-run apply exited 0`);

    await step('every decky placed once, Running, on the engine the registry names', async () => {
      const want = [...A, ...B].map((d) => d.name).sort();
      let last = '';
      await until(async () => {
        const rs = await rows();
        last = rs.map((d) => `${d.name}@${d.host}=${d.phase}`).join(' ');
        return rs.length === want.length && rs.every((d) => d.phase === 'Running');
      }, 90_000, 1_000).catch(() => {
        throw new Error(`not converged: ${last}`);
      });
      const rs = await rows();
      expect(rs.map((d) => d.name).sort()).toEqual(want);
      expect(new Set(rs.map((d) => d.ip)).size, 'unique IPs').toBe(want.length);
      const c1 = await on(H1);
      const c2 = await on(H2);
      for (const d of rs) {
        const where = [H1, H2].filter((h) => (h === H1 ? c1 : c2).some((c) => c.labels['com.decnet.decky'] === d.name));
        expect(where, `${d.name} exists on`).toEqual([d.host]);
      }
      const names = [...c1, ...c2].map((c) => c.name);
      expect(names.length, 'no duplicate container').toBe(new Set(names).size);
      expect(names.length).toBe(A.length * 2 + B.length * 2);
      for (const a of placedA) expect(rs.find((d) => d.name === a.name)?.host, `${a.name} moved`).toBe(a.host);
    });
    checked(`${A.length + B.length} deckies each on exactly one engine (the host the registry names), all Running, unique IPs, ${A.length * 2 + B.length * 2} containers with no duplicate, the first apply's deckies did not move`);
  });
});
