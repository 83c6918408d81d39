/**
 * Issue 5, mutation and event collection on a real Docker engine in lab mode.
 * Fleet e2m (10.236.0.0/24) with a syslog UDP listener of this test as its logTarget:
 * - the event collector (run in-process, as the controller runs it) writes the events
 *   of client sessions made from the lab namespace to the JSONL file, also across a
 *   collector restart (no duplicates, no loss), and forwards them as RFC 5424 syslog;
 * - `decnetctl mutate decky` rotates services, recreating only the containers of
 *   changed services, and the labels, `get -o wide` and the events show it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttackerEvent, ResolvedDecky } from '@decnet/api';
import { EventCollector, JsonlFileSink, SyslogSink, eventsFilePath, pickServices, seededRandom } from '@decnet/controller';
import { DockerEngine } from '@decnet/engine';
import { containers, decnetctl, tempDir, until, type RunResult } from './lib/cli.js';
import { BASE_IMAGE, IMAGE_BASE, cleanupFleet, deckyDoc, manifestFile, show } from './lib/apply-fixtures.js';

const HOST = 'e2e-mutation';
const F = 'e2m';
const WEB = 'e2m-web';
const COL = 'e2m-col';
const stateDir = tempDir('e2m-state');
const env = { DECNET_HOST_ID: HOST, DECNET_BASE_IMAGE: BASE_IMAGE, DECNET_IMAGE_BASE: IMAGE_BASE, DECNET_STATE_DIR: stateDir };
const ctl = (args: string[]): Promise<RunResult> => decnetctl(args, { env });

let syslog: Socket;
let syslogPort = 0;
const syslogLines: string[] = [];

const fleetDoc = () => ({
  apiVersion: 'decnet.io/v1alpha1',
  kind: 'Fleet',
  metadata: { name: F },
  spec: { network: { mode: 'macvlan', subnet: '10.236.0.0/24', gateway: '10.236.0.1' }, lab: true, logTarget: `udp://127.0.0.1:${syslogPort}` },
});
const manifest = (webServices = ['ssh', 'http']) =>
  manifestFile([fleetDoc(), deckyDoc({ name: WEB, fleet: F, ip: '10.236.0.10', services: webServices }), deckyDoc({ name: COL, fleet: F, ip: '10.236.0.11', services: ['http'] })]);

const ours = async (decky: string) => (await containers(`com.decnet.decky=${decky}`)).filter((c) => c.labels['com.decnet.host'] === HOST);
const idsOf = async (decky: string) => Object.fromEntries((await ours(decky)).map((c) => [c.name, c.id]));
const allRunning = async (decky: string, n: number) => {
  const cs = await ours(decky);
  return cs.length === n && cs.every((c) => c.state === 'running');
};
const collected = (): AttackerEvent[] =>
  existsSync(eventsFilePath(stateDir))
    ? readFileSync(eventsFilePath(stateDir), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AttackerEvent)
    : [];
const requests = (path: string) => collected().filter((e) => e.decky === COL && e.event === 'request' && e['path'] === path);

function collector(): EventCollector {
  const engine = new DockerEngine({ stateDir });
  return new EventCollector({ engine, hostId: HOST, stateDir, sinks: [new JsonlFileSink({ path: eventsFilePath(stateDir) }), new SyslogSink()], flushIntervalMs: 200 });
}

async function syncOnce(c: EventCollector): Promise<void> {
  const observed = await new DockerEngine({ stateDir }).observe(HOST);
  c.sync(observed.containers, observed.networks, observed.volumes);
}

const curlOnce = (path: string) => ctl(['lab', 'exec', F, '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', `http://10.236.0.11${path}`]);
/** One answered request: a container that runs may not listen yet (curl says 000 then), so retry until it answers. */
async function curl(path: string) {
  return until(async () => {
    const r = await curlOnce(path);
    return /^[1-5]\d\d$/.test(r.stdout) ? r : undefined;
  }, 60_000, 500);
}

beforeAll(async () => {
  syslog = createSocket('udp4');
  syslog.on('message', (m) => syslogLines.push(m.toString('utf8')));
  await new Promise<void>((r) => syslog.bind(0, '127.0.0.1', () => r()));
  syslogPort = syslog.address().port;
  await cleanupFleet(ctl, F, HOST);
  const r = await ctl(['apply', '-f', manifest()]);
  expect(r.code, show(r)).toBe(0);
}, 300_000);

afterAll(async () => {
  await cleanupFleet(ctl, F, HOST);
  await new Promise<void>((r) => syslog.close(() => r()));
}, 120_000);

describe('event collection', () => {
  it('collects a lab client session into the JSONL file and syslog, across a collector restart, with no duplicates', async () => {
    const first = collector();
    await first.start();
    await syncOnce(first);
    expect((await curl('/first')).stdout).toMatch(/^\d{3}$/);
    await until(async () => requests('/first').length > 0, 30_000);
    await first.stop();

    // an event made while nothing collects
    expect((await curl('/second')).stdout).toMatch(/^\d{3}$/);

    const second = collector();
    await second.start();
    try {
      await syncOnce(second);
      await until(async () => requests('/second').length > 0, 30_000);
      expect((await curl('/third')).stdout).toMatch(/^\d{3}$/);
      await until(async () => requests('/third').length > 0, 30_000);

      // `decnetctl events` reads the collected stream while a collector runs (pid file of this process)
      const ev = await ctl(['events', '--decky', COL, '-o', 'json']);
      expect(ev.code, show(ev)).toBe(0);
      const paths = (JSON.parse(ev.stdout) as AttackerEvent[]).filter((e) => e.event === 'request').map((e) => e['path']);
      expect(paths).toEqual(['/first', '/second', '/third']);
    } finally {
      await second.stop();
    }

    for (const p of ['/first', '/second', '/third']) expect(requests(p), p).toHaveLength(1);
    const all = collected().filter((e) => e.decky === COL);
    const keys = all.map((e) => JSON.stringify(e));
    expect(new Set(keys).size).toBe(keys.length);
    expect(all.every((e) => e.fleet === F && e.service === 'http' && e.host === HOST)).toBe(true);
    expect(all.some((e) => e.event === 'connection' && e.src_ip !== undefined)).toBe(true);

    await until(async () => syslogLines.some((l) => l.includes('/third')), 10_000);
    const req = syslogLines.find((l) => l.includes(`${COL} http - request`) && l.includes('/first'));
    expect(req, syslogLines.join('\n')).toMatch(new RegExp(`^<134>1 \\S+Z ${COL} http - request \\[relay@55555 [^\\]]*fleet="${F}"[^\\]]*\\] request from 10\\.236\\.0\\.\\d+:\\d+: GET /first$`));
  });
});

describe('mutation', () => {
  it('mutate decky --seed 1 rotates services, recreating only the changed service containers', async () => {
    const before = await idsOf(WEB);
    const lbl = await ctl(['labels', WEB, '-o', 'json']);
    const spec = (JSON.parse(lbl.stdout) as { spec: ResolvedDecky; generation: number }).spec;
    const gen0 = (JSON.parse(lbl.stdout) as { generation: number }).generation;
    const expected = pickServices(spec, seededRandom(1)).services;

    const r = await ctl(['mutate', 'decky', WEB, '--seed', '1', '-o', 'json']);
    expect(r.code, show(r)).toBe(0);
    const out = JSON.parse(r.stdout) as { previous: string[]; services: string[]; event: AttackerEvent };
    expect(out.previous).toEqual(['http', 'ssh']);
    expect(out.services).toEqual(expected);
    expect(out.event).toMatchObject({ event: 'decky_mutated', service: 'decnet', decky: WEB, fleet: F, host: HOST, previous_services: ['http', 'ssh'], services: expected });

    await until(() => allRunning(WEB, expected.length + 1), 60_000);
    const after = await idsOf(WEB);
    expect(Object.keys(after).sort()).toEqual([WEB, ...expected.map((s) => `${WEB}-${s}`)].sort());
    expect(after[WEB]).toBe(before[WEB]);
    for (const s of ['ssh', 'http']) {
      const name = `${WEB}-${s}`;
      if (!expected.includes(s)) expect(after[name], `${name} removed`).toBeUndefined();
    }
    // a kept service keeps its container unless it had to carry the new generation (no new service)
    const kept = expected.filter((s) => ['ssh', 'http'].includes(s));
    const added = expected.filter((s) => !['ssh', 'http'].includes(s));
    if (added.length > 0) for (const s of kept) expect(after[`${WEB}-${s}`], `${s} kept`).toBe(before[`${WEB}-${s}`]);
    for (const s of added) expect(before[`${WEB}-${s}`]).toBeUndefined();
    // the other decky was not touched
    expect(await ours(COL)).toHaveLength(2);

    // the new generation lives on the recreated service containers (the base keeps its labels: it was not recreated)
    const lbl2 = JSON.parse((await ctl(['labels', `${WEB}-${expected[0]}`, '-o', 'json'])).stdout) as { spec: ResolvedDecky; generation: number; result: { ok: boolean } };
    expect(lbl2.result.ok).toBe(true);
    expect(lbl2.spec.services.map((s) => s.name)).toEqual(expected);
    expect(lbl2.spec.mutation).toEqual({ lastMutated: out.event.time, previousServices: ['http', 'ssh'], declaredHash: expect.any(String) });
    expect(Number(lbl2.generation)).toBe(Number(gen0) + 1);
    expect(lbl2.spec.ip).toBe(spec.ip);
    expect(lbl2.spec.nmapOS).toBe(spec.nmapOS);

    const wide = await ctl(['get', 'deckies', WEB, '-o', 'wide']);
    expect(wide.code, show(wide)).toBe(0);
    expect(wide.stdout).toContain(expected.join(','));
    expect(wide.stdout).toContain('was http,ssh');

    // the mutation is in the collected stream and went to the fleet's syslog target
    const evs = await ctl(['events', '--source', 'collected', '--decky', WEB, '-o', 'json']);
    expect((JSON.parse(evs.stdout) as AttackerEvent[]).filter((e) => e.event === 'decky_mutated')).toEqual([out.event]);
    await until(async () => syslogLines.some((l) => l.includes(`${WEB} decnet - decky_mutated`)), 10_000);

    // the same seed on the new set gives a different set again; the decky stays healthy
    const again = await ctl(['mutate', 'decky', WEB, '--seed', '1', '-o', 'json']);
    expect(again.code, show(again)).toBe(0);
    expect((JSON.parse(again.stdout) as { previous: string[] }).previous).toEqual(expected);
  });

  it('an unchanged re-apply keeps the rotated services; a changed declaration wins, the base and the IP stay', async () => {
    const rotated = await idsOf(WEB);
    const same = await ctl(['apply', '-f', manifest()]);
    expect(same.code, show(same)).toBe(0);
    expect(same.stdout).toContain('No changes');
    expect(await idsOf(WEB)).toEqual(rotated);

    const r = await ctl(['apply', '-f', manifest(['ssh', 'telnet'])]);
    expect(r.code, show(r)).toBe(0);
    await until(() => allRunning(WEB, 3), 60_000);
    const after = await idsOf(WEB);
    expect(Object.keys(after).sort()).toEqual([WEB, `${WEB}-ssh`, `${WEB}-telnet`]);
    expect(after[WEB]).toBe(rotated[WEB]);
    const lbl = JSON.parse((await ctl(['labels', WEB, '-o', 'json'])).stdout) as { spec: ResolvedDecky; result: { ok: boolean } };
    expect(lbl.result.ok).toBe(true);
    expect(lbl.spec.services.map((s) => s.name)).toEqual(['ssh', 'telnet']);
    expect(lbl.spec.mutation).toBeUndefined();
    const again = await ctl(['apply', '-f', manifest(['ssh', 'telnet'])]);
    expect(again.stdout).toContain('No changes');
  });

  it('refuses an unknown decky with a clear error', async () => {
    const r = await ctl(['mutate', 'decky', 'e2m-nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('e2m-nope not found');
  });
});
