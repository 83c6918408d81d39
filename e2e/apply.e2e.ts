/**
 * Issue 3, single-host apply on a real Docker engine, driven through the built
 * decnetctl in lab mode. One fleet (e2a-main, 10.220.0.0/24) lives through the
 * file; each test first converges it to `desired` (a no-op when the previous test
 * passed), then states one intent and checks labels and containers.
 * Foreign containers (similar names, another host's id) are made in beforeAll and
 * checked after every test.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHash, parseManifests, resolveManifests, type ResolvedDecky } from '@decnet/api';
import { DECNET_VERSION } from '@decnet/cli';
import { docker, until } from './lib/cli.js';
import {
  BASE_IMAGE,
  cleanupFleet,
  ctlFor,
  deckyDoc,
  fleetDoc,
  fleetLeftovers,
  manifestFile,
  networkExists,
  networkId,
  removeContainers,
  runForeign,
  show,
  snapshot,
  yamlDocs,
  type DeckyDoc,
} from './lib/apply-fixtures.js';

const HOST = 'e2e-apply';
const OTHER_HOST = 'e2e-apply-other';
const F = 'e2a-main';
const F2 = 'e2a-main2';
const ctl = ctlFor(HOST);
const OURS = `com.decnet.host=${HOST}`;

const fleet = fleetDoc(F, '10.220.0.0/24', '10.220.0.1');
/** what the fleet should look like; tests that change it update it */
const desired: Record<string, DeckyDoc> = {
  web: { name: 'e2a-main-web', fleet: F, ip: '10.220.0.10', services: ['ssh', 'http'], nmapOS: 'linux', distro: 'debian', hostname: 'E2A-WEB-01', serviceConfig: { http: { server_header: 'nginx/1.18.0' } } },
  win: { name: 'e2a-main-win', fleet: F, ip: '10.220.0.11', services: ['smb', 'rdp'], nmapOS: 'windows', hostname: 'E2A-WIN-01' },
  db: { name: 'e2a-main-db', fleet: F, ip: '10.220.0.12', services: ['mysql', 'redis'], nmapOS: 'linux' },
};
const EXTRA: DeckyDoc = { name: 'e2a-main-extra', fleet: F, ip: '10.220.0.13', services: ['ftp'] };
const desiredDocs = (): object[] => [fleet, ...Object.values(desired).map(deckyDoc)];

/** hand-made containers decnet must never touch: name -> labels */
const FOREIGN: Record<string, Record<string, string>> = {
  'e2a-main-web-ssh-backup': {},
  'e2a-main-db-otherhost': {
    'com.decnet.managed': 'true',
    'com.decnet.host': OTHER_HOST,
    'com.decnet.fleet': F,
    'com.decnet.decky': 'e2a-main-db',
    'com.decnet.role': 'base',
    'com.decnet.generation': '1',
  },
};
const foreignIds: Record<string, string> = {};

/** true while the fleet is known to match `desired` (the previous test passed and left it so) */
let converged = false;

/** Applies `desired` unless the previous test left the fleet as desired. */
async function converge(): Promise<void> {
  if (converged) return;
  const r = await ctl(['apply', '-f', manifestFile(desiredDocs())]);
  expect(r.code, show(r)).toBe(0);
  converged = true;
}

/**
 * A test starting from the fleet as `desired`; when it passes, it has left the
 * fleet as `desired` again (tests that change the fleet update `desired`), unless
 * `leavesDesired` is false.
 */
function step(name: string, fn: () => Promise<void>, leavesDesired = true): void {
  it(name, async () => {
    await converge();
    converged = false;
    await fn();
    converged = leavesDesired;
  });
}

/** Engine events (container/network) about fleet F between two instants: the writes that happened. */
async function eventsSince(since: number): Promise<string[]> {
  const to = (Date.now() / 1000).toFixed(3);
  const out = await docker('events', '--since', since.toFixed(3), '--until', to, '--filter', `label=com.decnet.fleet=${F}`, '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}');
  return out.split('\n').filter((l) => l && !/ (exec_|health_status)/.test(l));
}
const now = (): number => Date.now() / 1000;

/** The resolved specs apply should have written, computed here from the submitted documents. */
function resolveLocally(docs: object[]): { deckies: Map<string, ResolvedDecky>; fleet: unknown } {
  const parsed = parseManifests([{ file: 'desired.yaml', text: yamlDocs(docs) }]);
  expect(parsed.issues).toEqual([]);
  const { resolution, issues } = resolveManifests(parsed.manifests, { version: DECNET_VERSION, baseImage: BASE_IMAGE });
  expect(issues).toEqual([]);
  return { deckies: new Map(resolution.deckies.map((d) => [d.name, d])), fleet: resolution.fleets[0] };
}

const labExec = (...cmd: string[]) => ctl(['lab', 'exec', F, '--', ...cmd]);

describe('single-host apply in lab mode (e2a-main)', () => {
  beforeAll(async () => {
    await cleanupFleet(ctl, F, HOST);
    await cleanupFleet(ctl, F2, HOST);
    await removeContainers(Object.keys(FOREIGN));
    for (const [name, labels] of Object.entries(FOREIGN)) foreignIds[name] = await runForeign(name, labels);
  });

  afterEach(async () => {
    // foreign containers survive every operation untouched (same id, running, same labels)
    const seen = JSON.parse(await docker('inspect', ...Object.keys(FOREIGN))) as Array<{ Id: string; Name: string; State: { Status: string }; Config: { Labels: Record<string, string> | null } }>;
    for (const c of seen) {
      const name = c.Name.replace(/^\//, '');
      expect(c.Id, `${name} was recreated`).toBe(foreignIds[name]);
      expect(c.State.Status, `${name} was stopped`).toBe('running');
      expect(c.Config.Labels ?? {}, `${name} labels changed`).toEqual(FOREIGN[name]);
    }
  });

  afterAll(async () => {
    await cleanupFleet(ctl, F, HOST);
    await cleanupFleet(ctl, F2, HOST);
    await removeContainers([...Object.keys(FOREIGN), 'e2a-main-ghost']);
  });

  it('applies a multi-decky lab fleet: every decky Running with base + one container per service', async () => {
    const r = await ctl(['apply', '-f', manifestFile(desiredDocs())]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/3 decky\(s\) Running/);
    const snap = await snapshot(OURS);
    const expected = Object.values(desired).flatMap((d) => [d.name, ...(d.services ?? []).map((s) => `${d.name}-${s}`)]).sort();
    expect(Object.keys(snap).sort()).toEqual(expected);
    for (const [name, c] of Object.entries(snap)) {
      expect(c.state, name).toBe('running');
      expect(c.labels['com.decnet.managed']).toBe('true');
      expect(c.labels['com.decnet.fleet']).toBe(F);
      const d = Object.values(desired).find((x) => name === x.name || name.startsWith(`${x.name}-`))!;
      expect(c.labels['com.decnet.decky']).toBe(d.name);
      expect(c.labels['com.decnet.role']).toBe(name === d.name ? 'base' : 'service');
      if (name !== d.name) expect(c.labels['com.decnet.service']).toBe(name.slice(d.name.length + 1));
    }
    expect(await networkExists(`decnet-${F}`)).toBe(true);
    expect(await fleetLeftovers(F, HOST)).toEqual(expect.arrayContaining([`netns decnet-lab-${F}`]));
    converged = true;
  });

  step('each decky answers on its IP from the lab namespace', async () => {
    const web = desired.web!.ip!;
    const http = await until(async () => {
      const r = await labExec('curl', '-sS', '-I', '--max-time', '3', `http://${web}/`);
      return r.code === 0 && r.stdout;
    }, 30_000);
    expect(http).toMatch(/^HTTP\/1\.[01] \d{3}/);
    expect(http).toMatch(/^Server: nginx\/1\.18\.0\r?$/m);
    const ssh = await until(async () => {
      const r = await labExec('nc', '-w', '3', web, '22');
      return r.stdout.startsWith('SSH-2.0-') && r.stdout;
    }, 30_000);
    expect(ssh).toMatch(/^SSH-2\.0-/);
    for (const [d, ports] of [[desired.win!, [445, 3389]], [desired.db!, [3306, 6379]]] as const) {
      for (const port of ports) {
        const ok = await until(async () => (await labExec('nc', '-z', '-w', '3', d.ip!, String(port))).code === 0, 30_000).catch(() => false);
        expect(ok, `${d.name} ${d.ip}:${port} does not answer`).toBe(true);
      }
    }
  });

  step('the TTL seen from the lab namespace matches nmapOS (128 windows, 64 linux)', async () => {
    for (const d of Object.values(desired)) {
      const r = await until(async () => {
        const p = await labExec('ping', '-c1', '-W2', d.ip!);
        return p.code === 0 && p;
      }, 20_000);
      const ttl = Number(/ttl=(\d+)/.exec(r.stdout)?.[1]);
      expect(ttl, `${d.name} (${d.nmapOS}): ${r.stdout}`).toBe(d.nmapOS === 'windows' ? 128 : 64);
    }
  });

  step('labels decode to the resolved spec, agree with `get`, and the hash check passes', async () => {
    const local = resolveLocally(desiredDocs());
    for (const d of Object.values(desired)) {
      const get = await ctl(['get', 'deckies', d.name, '-o', 'json']);
      expect(get.code, show(get)).toBe(0);
      const rows = JSON.parse(get.stdout) as Array<{ name: string; spec: ResolvedDecky }>;
      expect(rows.map((x) => x.name)).toEqual([d.name]);
      const getSpec = rows[0]!.spec;
      // base and its first service container decode to the same, valid, decky spec
      for (const obj of [d.name, `${d.name}-${d.services![0]}`]) {
        const r = await ctl(['labels', obj, '-o', 'json']);
        expect(r.code, show(r)).toBe(0);
        const rep = JSON.parse(r.stdout) as { object: string; result: { ok: boolean }; checks: Array<{ name: string; ok: boolean }>; storedHash: string; computedHash: string; spec: ResolvedDecky; foreignHost: boolean };
        expect(rep.object).toBe(obj);
        expect(rep.result.ok).toBe(true);
        expect(rep.checks.filter((c) => !c.ok)).toEqual([]);
        expect(rep.checks.map((c) => c.name)).toContain('hash');
        expect(rep.storedHash).toBe(rep.computedHash);
        expect(rep.foreignHost).toBe(false);
        expect(rep.spec).toEqual(getSpec);
        expect(rep.spec).toEqual(local.deckies.get(d.name));
        expect(rep.storedHash).toBe(canonicalHash(local.deckies.get(d.name)));
      }
      // every container of the decky carries that spec and hash
      const all = Object.values(await snapshot(`com.decnet.decky=${d.name}`)).filter((c) => c.labels['com.decnet.host'] === HOST);
      expect(all).toHaveLength(1 + d.services!.length);
      for (const c of all) {
        expect(c.labels['com.decnet.spec-hash']).toBe(canonicalHash(local.deckies.get(d.name)));
        expect(JSON.parse(c.labels['com.decnet.spec']!)).toEqual(getSpec);
      }
      // and the spec holds what was submitted
      expect(getSpec.ip).toBe(d.ip);
      expect(getSpec.nmapOS).toBe(d.nmapOS);
      expect(getSpec.services.map((s) => s.name).sort()).toEqual([...(d.services ?? [])].sort());
      if (d.hostname) expect(getSpec.hostname).toBe(d.hostname);
      if (d.distro) expect(getSpec.distro).toBe(d.distro);
      for (const [svc, cfg] of Object.entries(d.serviceConfig ?? {})) expect(getSpec.services.find((s) => s.name === svc)?.config).toMatchObject(cfg);
    }
    const net = await ctl(['labels', `decnet-${F}`, '-o', 'json']);
    expect(net.code, show(net)).toBe(0);
    const netRep = JSON.parse(net.stdout) as { kind: string; spec: unknown; result: { ok: boolean } };
    expect(netRep.kind).toBe('fleet');
    expect(netRep.result.ok).toBe(true);
    expect(netRep.spec).toEqual(local.fleet);
  });

  step('re-applying an unchanged manifest makes zero engine writes and says so', async () => {
    const before = await snapshot(OURS);
    const t0 = now();
    const text = await ctl(['apply', '-f', manifestFile(desiredDocs())]);
    expect(text.code, show(text)).toBe(0);
    expect(text.stdout).toMatch(/No changes: 3 decky\(s\) already as submitted, 0 engine writes/);
    const json = await ctl(['apply', '-f', manifestFile(desiredDocs()), '-o', 'json']);
    expect(json.code, show(json)).toBe(0);
    expect((JSON.parse(json.stdout) as { writes: number; ok: boolean }).writes).toBe(0);
    expect(await eventsSince(t0)).toEqual([]);
    expect(await snapshot(OURS)).toEqual(before);
    const diff = await ctl(['diff', '-f', manifestFile(desiredDocs())]);
    expect(diff.code, show(diff)).toBe(0);
  });

  step('diff exits 0 without changes, 1 with changes, >1 on an invalid file, and changes nothing', async () => {
    const before = await snapshot(OURS);
    const t0 = now();
    expect((await ctl(['diff', '-f', manifestFile(desiredDocs())])).code).toBe(0);
    const changed = desiredDocs().concat(deckyDoc({ name: 'e2a-main-new', fleet: F, ip: '10.220.0.20', services: ['ftp'] }));
    const one = await ctl(['diff', '-f', manifestFile(changed)]);
    expect(one.code, show(one)).toBe(1);
    expect(one.stdout).toContain('e2a-main-new');
    const bad = desiredDocs().concat(deckyDoc({ name: 'e2a-main-new', fleet: F, ip: '10.230.0.20', services: ['ftp'] }));
    const invalid = await ctl(['diff', '-f', manifestFile(bad)]);
    expect(invalid.code, show(invalid)).toBeGreaterThan(1);
    const garbage = await ctl(['diff', '-f', manifestFile('kind: Decky\nmetadata: [unclosed\n')]);
    expect(garbage.code, show(garbage)).toBeGreaterThan(1);
    expect(await eventsSince(t0)).toEqual([]);
    expect(await snapshot(OURS)).toEqual(before);
  });

  step('apply --dry-run prints the plan and changes nothing', async () => {
    const before = await snapshot(OURS);
    const netBefore = await networkId(`decnet-${F}`);
    const t0 = now();
    const docs = [fleet, deckyDoc({ ...desired.web!, services: ['ssh', 'http', 'ftp'] }), deckyDoc({ ...desired.win!, hostname: 'E2A-WIN-DRY' }), deckyDoc(desired.db!), deckyDoc({ name: 'e2a-main-dry', fleet: F, ip: '10.220.0.21', services: ['ssh'] })];
    const r = await ctl(['apply', '--dry-run', '--prune', '-f', manifestFile(docs)]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('e2a-main-dry');
    expect(r.stdout).toContain('e2a-main-web-ftp');
    expect(r.stdout).toMatch(/Plan: \d+ to create/);
    expect(await eventsSince(t0)).toEqual([]);
    expect(await snapshot(OURS)).toEqual(before);
    expect(await networkId(`decnet-${F}`)).toBe(netBefore);
  });

  step('a validation error anywhere in a multi-document submission applies nothing', async () => {
    const before = await snapshot(OURS);
    const t0 = now();
    // valid changes first (a new decky, a changed one), the invalid document last
    const docs = [
      fleet,
      deckyDoc({ name: 'e2a-main-ok', fleet: F, ip: '10.220.0.22', services: ['ssh'] }),
      deckyDoc({ ...desired.db!, hostname: 'E2A-DB-CHANGED' }),
      deckyDoc({ name: 'e2a-main-broken', fleet: F, ip: '10.220.0.23', services: ['ssh', 'no-such-service'] }),
    ];
    const file = manifestFile(docs, 'mixed.yaml');
    const r = await ctl(['apply', '-f', file]);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stderr).toContain('mixed.yaml');
    expect(r.stderr).toContain('e2a-main-broken');
    expect(r.stderr).toMatch(/spec\.services/);
    expect(r.stderr).toMatch(/nothing was applied/);
    expect(await eventsSince(t0)).toEqual([]);
    expect(await snapshot(OURS)).toEqual(before);
    expect(await snapshot('com.decnet.decky=e2a-main-ok')).toEqual({});
  });

  step('an additive apply of just a Decky joins the existing fleet and leaves the other containers untouched', async () => {
    const before = await snapshot(OURS);
    const netBefore = await networkId(`decnet-${F}`);
    const t0 = now();
    const extra = EXTRA;
    const r = await ctl(['apply', '-f', manifestFile([deckyDoc(extra)], 'extra.yaml')]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/1 decky\(s\) Running/);
    const after = await snapshot(OURS);
    expect(Object.keys(after).filter((n) => !(n in before)).sort()).toEqual(['e2a-main-extra', 'e2a-main-extra-ftp']);
    for (const [name, c] of Object.entries(before)) expect(after[name], `${name} changed`).toEqual(c);
    const touched = (await eventsSince(t0)).filter((e) => !/ e2a-main-extra(-ftp)?$/.test(e));
    expect(touched).toEqual([]);
    expect(await networkId(`decnet-${F}`)).toBe(netBefore);
    const ping = await labExec('ping', '-c1', '-W2', extra.ip!);
    expect(ping.code, show(ping)).toBe(0);
    desired.extra = extra;
  });

  step('an IP held by another decky is refused, naming both deckies, with nothing changed', async () => {
    const before = await snapshot(OURS);
    const t0 = now();
    const r = await ctl(['apply', '-f', manifestFile([deckyDoc({ name: 'e2a-main-dup', fleet: F, ip: desired.web!.ip!, services: ['ssh'] })])]);
    expect(r.code, show(r)).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toContain('e2a-main-dup');
    expect(out).toContain('e2a-main-web');
    expect(out).toContain(desired.web!.ip!);
    expect(await eventsSince(t0)).toEqual([]);
    expect(await snapshot(OURS)).toEqual(before);
  });

  step('a decky name held in another fleet is refused, naming both, with nothing changed (not even the new fleet)', async () => {
    const before = await snapshot(OURS);
    const t0 = now();
    const docs = [fleetDoc(F2, '10.224.0.0/24', '10.224.0.1'), deckyDoc({ name: desired.web!.name, fleet: F2, ip: '10.224.0.10', services: ['ssh'] })];
    const r = await ctl(['apply', '-f', manifestFile(docs)]);
    expect(r.code, show(r)).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(new RegExp(`${desired.web!.name}.*${F2}`));
    expect(out).toMatch(new RegExp(`${desired.web!.name} of fleet ${F}\\b`));
    expect(await eventsSince(t0)).toEqual([]);
    expect(await snapshot(OURS)).toEqual(before);
    expect(await fleetLeftovers(F2, HOST)).toEqual([]);
  });

  step('a renamed decky reusing the IP of one left out is refused with a hint to --prune', async () => {
    const before = await snapshot(OURS);
    const t0 = now();
    const docs = [fleet, ...Object.values({ ...desired, db: { ...desired.db!, name: 'e2a-main-db2' } }).map(deckyDoc)];
    const r = await ctl(['apply', '-f', manifestFile(docs)]);
    expect(r.code, show(r)).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toContain('e2a-main-db2');
    expect(out).toMatch(/e2a-main-db\b(?!2)/);
    expect(out).toContain('--prune');
    expect(await eventsSince(t0)).toEqual([]);
    expect(await snapshot(OURS)).toEqual(before);
  });

  step('with --prune the left-out decky goes first and the renamed one takes its IP', async () => {
    const before = await snapshot(OURS);
    const db2: DeckyDoc = { ...desired.db!, name: 'e2a-main-db2' };
    const docs = [fleet, ...Object.values({ ...desired, db: db2 }).map(deckyDoc)];
    const r = await ctl(['apply', '--prune', '-f', manifestFile(docs)]);
    expect(r.code, show(r)).toBe(0);
    const after = await snapshot(OURS);
    const untouched = Object.keys(before).filter((n) => !n.startsWith('e2a-main-db'));
    for (const n of untouched) expect(after[n], `${n} changed`).toEqual(before[n]);
    expect(Object.keys(after).filter((n) => n.startsWith('e2a-main-db')).sort()).toEqual(['e2a-main-db2', 'e2a-main-db2-mysql', 'e2a-main-db2-redis']);
    const [base] = JSON.parse(await docker('inspect', 'e2a-main-db2')) as Array<{ NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }>;
    expect(base?.NetworkSettings.Networks[`decnet-${F}`]?.IPAddress).toBe(db2.ip);
    desired.db = db2;
  });

  step('a foreign container named like a planned decky makes apply refuse with a clear error', async () => {
    const ghost = await runForeign('e2a-main-ghost');
    try {
      const before = await snapshot(OURS);
      const t0 = now();
      const r = await ctl(['apply', '-f', manifestFile([deckyDoc({ name: 'e2a-main-ghost', fleet: F, ip: '10.220.0.30', services: ['ssh'] })])]);
      expect(r.code, show(r)).not.toBe(0);
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/e2a-main-ghost.*(taken|in use|not manage)/);
      expect(await eventsSince(t0)).toEqual([]);
      expect(await snapshot(OURS)).toEqual(before);
      const still = JSON.parse(await docker('inspect', 'e2a-main-ghost')) as Array<{ Id: string; State: { Status: string } }>;
      expect(still[0]?.Id).toBe(ghost);
      expect(still[0]?.State.Status).toBe('running');
    } finally {
      await removeContainers(['e2a-main-ghost']);
    }
  });

  step('a changed service config recreates only that service container', async () => {
    const before = await snapshot(OURS);
    desired.web = { ...desired.web!, serviceConfig: { http: { server_header: 'Apache/2.4.41 (Ubuntu)' } } };
    const t0 = now();
    const r = await ctl(['apply', '-f', manifestFile(desiredDocs())]);
    expect(r.code, show(r)).toBe(0);
    // the engine saw writes to that one container only
    const events = await eventsSince(t0);
    expect(events).toEqual(expect.arrayContaining(['container destroy e2a-main-web-http', 'container create e2a-main-web-http', 'container start e2a-main-web-http']));
    expect(events.filter((e) => !e.endsWith(' e2a-main-web-http'))).toEqual([]);
    const after = await snapshot(OURS);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    const changed = Object.keys(before).filter((n) => after[n]!.id !== before[n]!.id);
    expect(changed).toEqual(['e2a-main-web-http']);
    const http = await until(async () => {
      const c = await labExec('curl', '-sS', '-I', '--max-time', '3', `http://${desired.web!.ip}/`);
      return c.code === 0 && c.stdout;
    }, 30_000);
    expect(http).toMatch(/^Server: Apache\/2\.4\.41 \(Ubuntu\)\r?$/m);
    // the decky as read back from labels is the new one
    const get = JSON.parse((await ctl(['get', 'deckies', desired.web!.name, '-o', 'json'])).stdout) as Array<{ spec: ResolvedDecky; phase: string }>;
    expect(get[0]?.spec.services.find((s) => s.name === 'http')?.config).toMatchObject({ server_header: 'Apache/2.4.41 (Ubuntu)' });
    expect(get[0]?.phase).toBe('Running');
    expect((await ctl(['diff', '-f', manifestFile(desiredDocs())])).code).toBe(0);
  });

  step("a changed base field recreates the decky's base and its services, and no other decky", async () => {
    const before = await snapshot(OURS);
    const win = desired.win!;
    desired.win = { ...win, hostname: 'E2A-WIN-02' };
    const t0 = now();
    const r = await ctl(['apply', '-f', manifestFile(desiredDocs())]);
    expect(r.code, show(r)).toBe(0);
    const touched = new Set((await eventsSince(t0)).map((e) => e.split(' ')[2]));
    expect([...touched].sort()).toEqual([win.name, ...win.services!.map((s) => `${win.name}-${s}`)].sort());
    const after = await snapshot(OURS);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    const mine = [win.name, ...win.services!.map((s) => `${win.name}-${s}`)].sort();
    const changed = Object.keys(before).filter((n) => after[n]!.id !== before[n]!.id).sort();
    expect(changed).toEqual(mine);
    for (const n of mine) expect(after[n]!.state).toBe('running');
    const [base] = JSON.parse(await docker('inspect', win.name)) as Array<{ Config: { Hostname: string } }>;
    expect(base?.Config.Hostname).toBe('E2A-WIN-02');
    expect(Number(after[win.name]!.labels['com.decnet.generation'])).toBeGreaterThan(Number(before[win.name]!.labels['com.decnet.generation']));
  });

  step('`get deckies -o yaml` round-trips: applying its output changes nothing', async () => {
    const before = await snapshot(OURS);
    const get = await ctl(['get', 'deckies', '--fleet', F, '-o', 'yaml']);
    expect(get.code, show(get)).toBe(0);
    const file = manifestFile(get.stdout, 'exported.yaml');
    expect(readFileSync(file, 'utf8')).toContain(`name: ${F}`);
    const diff = await ctl(['diff', '-f', file]);
    expect(diff.code, show(diff)).toBe(0);
    const t0 = now();
    const r = await ctl(['apply', '-f', file]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/No changes: .* 0 engine writes/);
    expect(await eventsSince(t0)).toEqual([]);
    expect(await snapshot(OURS)).toEqual(before);
  });

  step('--prune removes exactly the deckies of the fleet missing from the submission', async () => {
    // more than one decky to prune, whether or not the additive test passed
    if (!desired.extra) {
      desired.extra = EXTRA;
      await converge();
    }
    const before = await snapshot(OURS);
    const keep = [desired.web!, desired.win!];
    const r = await ctl(['apply', '--prune', '-f', manifestFile([fleet, ...keep.map(deckyDoc)])]);
    expect(r.code, show(r)).toBe(0);
    const after = await snapshot(OURS);
    const kept = Object.keys(before).filter((n) => keep.some((k) => n === k.name || n.startsWith(`${k.name}-`)));
    expect(Object.keys(after).sort()).toEqual(kept.sort());
    for (const n of kept) expect(after[n]).toEqual(before[n]);
    expect(Object.keys(before).length - kept.length).toBe(5); // db (3) + extra (2)
    expect(await networkExists(`decnet-${F}`)).toBe(true);
    delete desired.db;
    delete desired.extra;
  });

  step('delete decky removes its base and service containers and nothing else', async () => {
    const before = await snapshot(OURS);
    const win = desired.win!;
    const r = await ctl(['delete', 'decky', win.name]);
    expect(r.code, show(r)).toBe(0);
    const after = await snapshot(OURS);
    expect(await snapshot(`com.decnet.decky=${win.name}`).then((s) => Object.values(s).filter((c) => c.labels['com.decnet.host'] === HOST))).toEqual([]);
    const others = Object.keys(before).filter((n) => n !== win.name && !n.startsWith(`${win.name}-`));
    expect(Object.keys(after).sort()).toEqual(others.sort());
    for (const n of others) expect(after[n]).toEqual(before[n]);
    expect(await networkExists(`decnet-${F}`)).toBe(true);
    delete desired.win;
  });

  step(
    'deleting the last decky of a fleet by name removes the network and lab plumbing too',
    async () => {
      expect(Object.keys(desired)).toEqual(['web']);
      const r = await ctl(['delete', 'decky', desired.web!.name]);
      expect(r.code, show(r)).toBe(0);
      expect(await fleetLeftovers(F, HOST)).toEqual([]);
    },
    false,
  );

  step(
    'delete fleet leaves nothing behind: containers, network, lab netns, veth',
    async () => {
      expect((await fleetLeftovers(F, HOST)).length).toBeGreaterThan(0);
      const r = await ctl(['delete', 'fleet', F]);
      expect(r.code, show(r)).toBe(0);
      expect(await fleetLeftovers(F, HOST)).toEqual([]);
      expect(await snapshot(OURS)).toEqual({});
    },
    false,
  );
});
