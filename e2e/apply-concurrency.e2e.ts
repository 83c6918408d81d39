/**
 * Issue 3: two `apply` runs on one host at once must not create duplicates or
 * half-made deckies. Fleet e2a-conc (10.221.0.0/24), host e2e-apply-conc.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containers } from './lib/cli.js';
import { cleanupFleet, ctlFor, deckyDoc, fleetDoc, manifestFile, show, type DeckyDoc } from './lib/apply-fixtures.js';

const HOST = 'e2e-apply-conc';
const F = 'e2a-conc';
const ctl = ctlFor(HOST);
const fleet = fleetDoc(F, '10.221.0.0/24', '10.221.0.1');

const d = (name: string, octet: number, services: string[]): DeckyDoc => ({ name: `${F}-${name}`, fleet: F, ip: `10.221.0.${octet}`, services, nmapOS: 'linux' });
const A = [d('a1', 10, ['ssh', 'http']), d('a2', 11, ['ftp'])];
const B = [d('b1', 20, ['ssh']), d('b2', 21, ['redis', 'http'])];
const C = [d('c1', 30, ['ssh'])];

const expectedNames = (ds: DeckyDoc[]) => ds.flatMap((x) => [x.name, ...(x.services ?? []).map((s) => `${x.name}-${s}`)]).sort();

/** Every decky of the list has exactly its base + services, all running; nothing else of the fleet exists. */
async function expectExactly(ds: DeckyDoc[]): Promise<void> {
  const all = (await containers(`com.decnet.fleet=${F}`)).filter((c) => c.labels['com.decnet.host'] === HOST);
  expect(all.map((c) => c.name).sort()).toEqual(expectedNames(ds));
  for (const c of all) expect(c.state, c.name).toBe('running');
  for (const x of ds) {
    const base = all.filter((c) => c.labels['com.decnet.decky'] === x.name && c.labels['com.decnet.role'] === 'base');
    expect(base.length, `${x.name} base containers`).toBe(1);
    // every container of a decky carries the same spec hash: no half-made decky
    const hashes = new Set(all.filter((c) => c.labels['com.decnet.decky'] === x.name).map((c) => c.labels['com.decnet.spec-hash']));
    expect(hashes.size, `${x.name} has containers of different specs`).toBe(1);
  }
  const get = await ctl(['get', 'deckies', '--fleet', F, '-o', 'json']);
  expect(get.code, show(get)).toBe(0);
  const rows = JSON.parse(get.stdout) as Array<{ name: string; phase: string }>;
  expect(rows.map((r) => [r.name, r.phase]).sort()).toEqual(ds.map((x) => [x.name, 'Running']).sort());
}

describe('concurrent apply on one host (e2a-conc)', () => {
  beforeAll(async () => {
    await cleanupFleet(ctl, F, HOST);
  });

  afterAll(async () => {
    await cleanupFleet(ctl, F, HOST);
  });

  it('two applies of different manifests for the same new fleet: one network, every decky whole and Running', async () => {
    const [ra, rb] = await Promise.all([
      ctl(['apply', '-f', manifestFile([fleet, ...A.map(deckyDoc)])]),
      ctl(['apply', '-f', manifestFile([fleet, ...B.map(deckyDoc)])]),
    ]);
    expect(ra.code, show(ra)).toBe(0);
    expect(rb.code, show(rb)).toBe(0);
    await expectExactly([...A, ...B]);
    const fleets = await ctl(['get', 'fleets', '-o', 'json']);
    expect((JSON.parse(fleets.stdout) as Array<{ name: string }>).filter((f) => f.name === F)).toHaveLength(1);
  });

  it('the same manifest applied twice at once: one run creates, the other finds nothing to do', async () => {
    const file = manifestFile([fleet, ...C.map(deckyDoc)]);
    const runs = await Promise.all([ctl(['apply', '-f', file]), ctl(['apply', '-f', file])]);
    for (const r of runs) expect(r.code, show(r)).toBe(0);
    const noOps = runs.filter((r) => /No changes: 1 decky\(s\) already as submitted, 0 engine writes/.test(r.stdout));
    expect(noOps, runs.map(show).join('\n')).toHaveLength(1);
    await expectExactly([...A, ...B, ...C]);
  });
});
