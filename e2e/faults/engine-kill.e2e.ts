/**
 * Fault: the engine dies (SIGKILL dockerd) in the middle of an apply, then comes back.
 * Runs against a PRIVATE dockerd (e2e/lib/private-dockerd.ts); the main engine is never
 * touched. While it is down, `get deckies` says the engine is unavailable and deletes
 * nothing; after the restart a re-run of apply converges to exactly the expected
 * containers (each once, all running), no decky lost, no orphan, no duplicate.
 * Fleet ef-eng (10.238.1.0/24), host id ef-engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../lib/cli.js';
import { BASE_IMAGE, cleanupFleet, ctlFor, deckyDoc, fleetDoc, manifestFile, show, type DeckyDoc } from '../lib/apply-fixtures.js';
import { HONEYPOT_IMAGE, checked, cleanup, ensureHoneypotImage, expectedNames, stateDir, step } from '../lib/faults.js';
import { PrivateDockerd } from '../lib/private-dockerd.js';

const HOST = 'ef-engine';
const F = 'ef-eng';
const dockerd = new PrivateDockerd();
const ctl = ctlFor(HOST, { ...dockerd.env, DECNET_STATE_DIR: stateDir('ef-eng') });
const mainCtl = ctlFor(HOST);
const SERVICES = [['ssh', 'http'], ['ftp', 'redis'], ['smtp'], ['mysql', 'pop3'], ['telnet', 'http'], ['ssh']];
const DECKIES: DeckyDoc[] = Array.from({ length: 10 }, (_, i) => ({ name: `${F}-${String(i).padStart(2, '0')}`, fleet: F, ip: `10.238.1.${10 + i}`, services: SERVICES[i % SERVICES.length]!, nmapOS: 'linux' }));
const FILE = manifestFile([fleetDoc(F, '10.238.1.0/24', '10.238.1.1'), ...DECKIES.map(deckyDoc)]);
const EXPECTED = expectedNames(DECKIES);

const ours = async () => (await dockerd.containers(`com.decnet.fleet=${F}`)).filter((c) => c.labels['com.decnet.host'] === HOST);

describe('fault: engine SIGKILLed in the middle of an apply (private dockerd, ef-eng)', () => {
  beforeAll(async () => {
    await ensureHoneypotImage(mainCtl);
    await cleanupFleet(ctl, F, HOST).catch(() => undefined);
    await dockerd.destroy(); // leftovers of an interrupted run
    await dockerd.start();
    await dockerd.loadImages([BASE_IMAGE, HONEYPOT_IMAGE]);
  }, 180_000);

  afterAll(async () => {
    await cleanup(`private dockerd ${dockerd.host} (data root ${dockerd.dataRoot}) with fleet ${F}`, async () => {
      if (dockerd.pid() === undefined) await dockerd.start().catch(() => undefined);
      await cleanupFleet(ctl, F, HOST);
      await dockerd.destroy();
    });
  }, 180_000);

  it('kill during apply, unavailable while down, converge after restart', async () => {
    let seenBeforeKill: Array<{ id: string; name: string }> = [];
    const applying = ctl(['apply', '-f', FILE, '--parallelism', '2', '--timeout', '2m']);
    await step('kill dockerd once some containers exist', async () => {
      seenBeforeKill = await until(async () => {
        const cs = await dockerd.containers(`com.decnet.fleet=${F}`).catch(() => []);
        return cs.length >= 6 && cs;
      }, 60_000, 30);
      await dockerd.kill();
    });
    const first = await applying;
    await step('the interrupted apply fails', async () => {
      expect(first.code, show(first)).not.toBe(0);
      expect(first.stderr + first.stdout).toMatch(/unreachable|unavailable|ECONNREFUSED|ENOENT|socket hang up/i);
    });
    checked(`apply interrupted after ${seenBeforeKill.length}/${EXPECTED.length} containers existed; it exited ${first.code} naming the engine`);

    await step('get deckies while the engine is down', async () => {
      const r = await ctl(['get', 'deckies']);
      expect(r.code, show(r)).not.toBe(0);
      expect(r.stderr).toMatch(/docker engine unreachable/);
      expect(r.stderr).toMatch(/nothing was changed/);
      expect(r.stdout).toBe('');
      const j = await ctl(['get', 'deckies', '-o', 'json']);
      expect(j.code, show(j)).not.toBe(0);
      expect(j.stdout, 'no (empty) list on stdout while the engine is unknown').toBe('');
    });
    checked('get deckies (table and json) exits non-zero with "docker engine unreachable ... nothing was changed" and prints no list');

    await step('restart dockerd', () => dockerd.start());
    const afterRestart = await ours();
    await step('nothing deleted while down', async () => {
      const ids = new Set(afterRestart.map((c) => c.id));
      for (const c of seenBeforeKill) expect(ids.has(c.id), `${c.name} (${c.id.slice(0, 12)}) vanished`).toBe(true);
      for (const c of afterRestart) expect(EXPECTED, `unexpected container ${c.name}`).toContain(c.name);
    });
    checked(`after the restart all ${seenBeforeKill.length} containers seen before the kill still exist (${afterRestart.length} in all: ${afterRestart.map((c) => `${c.name}=${c.state}`).join(', ')})`);

    const second = await step('re-run apply', async () => {
      const r = await ctl(['apply', '-f', FILE, '--timeout', '2m']);
      expect(r.code, `${show(r)}\n--- dockerd log ---\n${dockerd.logTail()}`).toBe(0);
      return r;
    });
    const stale = /half-started by an engine crash/.test(second.stderr);
    checked(`re-apply converged: ${second.stdout.trim().split('\n')[0]}${stale ? ' (a container the crash left half-started, with a stale containerd task, was removed and recreated in the same run)' : ''}`);

    await step('exactly the expected containers, each once, all running', async () => {
      const all = await ours();
      expect(all.map((c) => c.name)).toEqual(EXPECTED);
      for (const c of all) expect(c.state, c.name).toBe('running');
      for (const d of DECKIES) {
        const mine = all.filter((c) => c.labels['com.decnet.decky'] === d.name);
        expect(mine.filter((c) => c.labels['com.decnet.role'] === 'base'), `${d.name} base`).toHaveLength(1);
        expect(new Set(mine.map((c) => c.labels['com.decnet.spec-hash'])).size, `${d.name}: containers of different specs`).toBe(1);
      }
      // no orphan at all on the private engine: every container belongs to the fleet
      const every = (await dockerd.docker('ps', '-a', '--format', '{{.Names}}')).split('\n').filter(Boolean).sort();
      expect(every).toEqual(EXPECTED);
      const nets = (await dockerd.docker('network', 'ls', '--format', '{{.Name}}')).split('\n').filter((n) => n.startsWith('decnet-'));
      expect(nets).toEqual([`decnet-${F}`]);
    });
    checked(`${EXPECTED.length} containers (${DECKIES.length} deckies), each name once, all running, one base and one spec hash per decky, no other container, one network`);

    await step('get deckies: every decky Running, none lost', async () => {
      const r = await ctl(['get', 'deckies', '-o', 'json']);
      expect(r.code, show(r)).toBe(0);
      const rows = JSON.parse(r.stdout) as Array<{ name: string; phase: string }>;
      expect(rows.map((x) => `${x.name}=${x.phase}`).sort()).toEqual(DECKIES.map((d) => `${d.name}=Running`).sort());
    });
    checked(`get deckies lists all ${DECKIES.length} deckies Running`);

    await step('a third apply is a no-op', async () => {
      const r = await ctl(['apply', '-f', FILE]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toMatch(/No changes: 10 decky\(s\) already as submitted, 0 engine writes/);
    });
    checked('a further apply finds nothing to do (0 engine writes)');
  });
});
