/**
 * Fault: tampered labels. Next to a running fleet (controller on), containers are made
 * by hand (`docker create --label ...`) copying a real decky's labels with the spec
 * truncated, a spec chunk removed, the hash altered, and the labels of another host id.
 * `decnetctl labels` reports each, the controller marks the deckies Degraded
 * (InvalidLabels), `apply` refuses them without --force, and nothing is destroyed or
 * touched: ids, labels and states of every container of the fleet (ours and foreign)
 * are the same before and after. Main engine, fleet ef-lbl (10.238.4.0/24), host ef-lbl.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, until } from '../lib/cli.js';
import { cleanupFleet, createWithLabels, ctlFor, deckyDoc, fleetDoc, manifestFile, removeContainers, show, snapshot, type DeckyDoc } from '../lib/apply-fixtures.js';
import { ControllerProcess } from '../lib/controller-process.js';
import { checked, cleanup, stateDir, step } from '../lib/faults.js';

const HOST = 'ef-lbl';
const OTHER = 'ef-lbl-other';
const F = 'ef-lbl';
const env = { DECNET_HOST_ID: HOST, DECNET_STATE_DIR: stateDir('ef-lbl') };
const ctl = ctlFor(HOST, env);
const controller = new ControllerProcess({ env, args: ['--resync', '2s', '--no-mutate', '--no-events'] });
const BODY = Array.from({ length: 180 }, (_, i) => `<p>ef line ${i} of the decoy page</p>`).join('\n');
const small: DeckyDoc = { name: 'ef-lbl-small', fleet: F, ip: '10.238.4.10', services: ['ssh'], nmapOS: 'linux' };
const big: DeckyDoc = { name: 'ef-lbl-big', fleet: F, ip: '10.238.4.11', services: ['http'], nmapOS: 'linux', serviceConfig: { http: { custom_body: BODY } } };
const hashd: DeckyDoc = { name: 'ef-lbl-hash', fleet: F, ip: '10.238.4.12', services: ['ftp'], nmapOS: 'linux' };
const clean: DeckyDoc = { name: 'ef-lbl-clean', fleet: F, ip: '10.238.4.13', services: ['redis'], nmapOS: 'linux' };
const FILE = manifestFile([fleetDoc(F, '10.238.4.0/24', '10.238.4.1'), ...[small, big, hashd, clean].map(deckyDoc)]);

/** hand-made container -> what was done to it, the decky it claims, the verdict `labels` must give */
const TAMPERED = {
  'ef-lbl-t-trunc': { decky: small.name, what: 'spec label truncated', verdict: /Verdict: +INVALID \(HashMismatch\)/ },
  'ef-lbl-t-chunk': { decky: big.name, what: 'spec chunk 1 removed', verdict: /Verdict: +INVALID \(ChunkMissing\)/ },
  'ef-lbl-t-hash': { decky: hashd.name, what: 'spec-hash altered', verdict: /Verdict: +INVALID \(HashMismatch\)/ },
} as const;
const FOREIGN = 'ef-lbl-small-otherhost';
const HAND_MADE = [...Object.keys(TAMPERED), FOREIGN];

async function labelsOf(name: string): Promise<Record<string, string>> {
  const [c] = JSON.parse(await docker('inspect', name)) as Array<{ Config: { Labels: Record<string, string> } }>;
  return c!.Config.Labels;
}
const without = (l: Record<string, string>, key: string) => Object.fromEntries(Object.entries(l).filter(([k]) => k !== key));
/** every container claiming the fleet, whatever its host: name -> id, state, labels */
const everything = () => snapshot(`com.decnet.fleet=${F}`);

describe('fault: tampered and foreign labels (ef-lbl)', () => {
  beforeAll(async () => {
    await removeContainers(HAND_MADE);
    await cleanupFleet(ctl, F, HOST);
    const r = await ctl(['apply', '-f', FILE]);
    expect(r.code, show(r)).toBe(0);
    const s = await labelsOf(small.name);
    const b = await labelsOf(big.name);
    const h = await labelsOf(hashd.name);
    expect(Number(b['com.decnet.spec-chunks']), 'the big spec is chunked').toBeGreaterThanOrEqual(2);
    await createWithLabels('ef-lbl-t-trunc', { ...s, 'com.decnet.spec': s['com.decnet.spec']!.slice(0, 150) });
    await createWithLabels('ef-lbl-t-chunk', without(b, 'com.decnet.spec.1'));
    await createWithLabels('ef-lbl-t-hash', { ...h, 'com.decnet.spec-hash': 'f'.repeat(64) });
    await createWithLabels(FOREIGN, { ...s, 'com.decnet.host': OTHER });
  }, 180_000);

  afterAll(async () => {
    await controller.stop('SIGKILL');
    await cleanup(`fleet ${F} and the hand-made containers ${HAND_MADE.join(', ')}`, async () => {
      await removeContainers(HAND_MADE);
      await cleanupFleet(ctl, F, HOST);
    });
  }, 120_000);

  it('reported, Degraded, refused without --force, nothing destroyed, nothing foreign touched', async () => {
    const before = await everything();
    expect(Object.keys(before).sort()).toEqual(['ef-lbl-big', 'ef-lbl-big-http', 'ef-lbl-clean', 'ef-lbl-clean-redis', 'ef-lbl-hash', 'ef-lbl-hash-ftp', 'ef-lbl-small', 'ef-lbl-small-ssh', ...HAND_MADE].sort());

    for (const [name, t] of Object.entries(TAMPERED)) {
      await step(`labels ${name} (${t.what})`, async () => {
        const r = await ctl(['labels', name]);
        expect(r.code, show(r)).not.toBe(0);
        expect(r.stdout).toMatch(t.verdict);
      });
    }
    checked(`labels reports each tampered copy INVALID (${Object.entries(TAMPERED).map(([n, t]) => `${n}: ${t.what}`).join('; ')}) and exits non-zero`);
    await step(`labels ${FOREIGN} (another host's labels)`, async () => {
      const r = await ctl(['labels', FOREIGN, '-o', 'json']);
      const rep = JSON.parse(r.stdout) as { hostId: string; foreignHost: boolean; thisHost: string };
      expect(rep).toMatchObject({ hostId: OTHER, foreignHost: true, thisHost: HOST });
      const t = await ctl(['labels', FOREIGN]);
      expect(t.stdout).toContain(`(NOT this host ${HOST}: never touched from here)`);
    });
    checked(`labels names ${FOREIGN} as host ${OTHER}, "NOT this host ${HOST}: never touched from here"`);

    controller.start();
    await controller.waitReady();
    await step('controller marks the tampered deckies Degraded (InvalidLabels), the clean one Running', async () => {
      let last = '';
      const want = [`${big.name}=Degraded/InvalidLabels`, `${clean.name}=Running/-`, `${hashd.name}=Degraded/InvalidLabels`, `${small.name}=Degraded/InvalidLabels`].join(' ');
      const seen = async () => {
        const r = await ctl(['get', 'deckies', '-o', 'json']);
        const rows = JSON.parse(r.stdout) as Array<{ name: string; phase: string; statusSource?: string; status: { conditions: Array<{ type: string; status: string; reason?: string }> } }>;
        last = rows.map((d) => `${d.name}=${d.phase}/${d.status.conditions.find((c) => c.type === 'Degraded' && c.status === 'True')?.reason ?? '-'}`).sort().join(' ');
        return last === want && rows.every((d) => d.statusSource === 'controller') ? rows : undefined;
      };
      await until(seen, 30_000, 500).catch(() => {
        throw new Error(`want ${want}, got ${last}\n--- controller log ---\n${controller.logTail()}`);
      });
    });
    checked('the controller reports ef-lbl-small, ef-lbl-big and ef-lbl-hash Degraded with reason InvalidLabels, ef-lbl-clean Running');

    await step('apply without --force refuses and changes nothing', async () => {
      const r = await ctl(['apply', '-f', FILE]);
      expect(r.code, show(r)).not.toBe(0);
      for (const [name, t] of Object.entries(TAMPERED)) expect(r.stderr).toMatch(new RegExp(`InvalidLabels: decky ${t.decky}: .*${name}`));
      expect(r.stderr + r.stdout).not.toContain(FOREIGN);
    });
    checked('apply without --force exits non-zero naming InvalidLabels for each tampered decky and its container; the other host\'s copy is not mentioned');

    await step('after several controller resyncs: every container as before (ids, labels, states)', async () => {
      await new Promise((r) => setTimeout(r, 5_000)); // > 2 resync periods
      const after = await everything();
      expect(after).toEqual(before);
      expect(controller.log).not.toContain(FOREIGN);
      expect(controller.log).not.toMatch(/"op":"(remove|create)-container"/);
    });
    checked(`all ${Object.keys(before).length} containers of the fleet (ours, tampered, another host's) have the same id, labels and state after labels/controller/apply; the controller logged no create/remove and never named ${FOREIGN}`);
  });
});
