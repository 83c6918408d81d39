/**
 * Two hosts on one machine, one real Redis: a second dockerd (own socket, data root,
 * exec root, no bridge, no iptables) next to the machine's engine, a controller per
 * engine (host ids e2mh-h1 and e2mh-h2) and `decnetctl apply --registry` placing one lab
 * fleet (e2mh, 10.237.0.0/24) over both.
 *
 * The shared LAN: the lab's veth pair is per kernel, so both engines find it (listLabs
 * sees it) and each creates its own MACVLAN docker network on the same parent veth end.
 * Two daemons on one parent work because every decky has an explicit IP (resolved
 * cluster-wide, so no two deckies share one) and each daemon's IPAM only hands out those;
 * the kernel gives every MACVLAN endpoint its own MAC, and the attacker namespace at
 * the veth's other end reaches deckies of both engines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeLab } from '@decnet/engine';
import { startRedisServer, type RedisServer } from '@decnet/registry';
import { CLI, decnetctl, run, tempDir, until, type RunResult } from './lib/cli.js';

const D2_DIR = '/run/decnet-e2e';
const D2_BRIDGE = 'dnmh0';
const D2_SOCK = `unix://${D2_DIR}/d2.sock`;
const D2_DATA = '/var/lib/decnet-e2e/d2';
const D2_EXEC = `${D2_DIR}/d2-exec`;
const D2_PID = `${D2_DIR}/d2.pid`;
const D2_LOG = join(tempDir('e2mh-d2'), 'dockerd.log');
const IMAGE = 'decnet/runtime-base:0.1.0';
const FLEET = 'e2mh';
const NETNS = `decnet-lab-${FLEET}`;
const CLUSTER = 'e2mh';
const H1 = 'e2mh-h1';
const H2 = 'e2mh-h2';
const TTL_MS = 4_000;
const state = { [H1]: tempDir('e2mh-h1'), [H2]: tempDir('e2mh-h2') };
const engineEnv = (host: string): Record<string, string> => (host === H2 ? { DOCKER_HOST: D2_SOCK } : {});

let dockerd: ChildProcess | undefined;
let redis: RedisServer | undefined;
const ctl: Record<string, ChildProcess | undefined> = {};
const logs: Record<string, string> = { [H1]: '', [H2]: '' };

const baseEnv = () => {
  const env = { ...process.env, DECNET_BASE_IMAGE: IMAGE, DECNET_IMAGE_BASE: IMAGE, DECNET_REGISTRY: redis!.url, DECNET_CLUSTER: CLUSTER };
  delete env.DOCKER_HOST;
  delete env.DECNET_HOST_ID;
  delete env.DECNET_STATE_DIR;
  return env as Record<string, string>;
};

/** decnetctl with the registry settings in the environment. */
const ctlRun = (args: string[], extra: Record<string, string> = {}): Promise<RunResult> => decnetctl(args, { env: { ...baseEnv(), ...extra } });
const show = (r: RunResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** docker CLI against one of the two engines. */
async function dockerOn(host: string, ...args: string[]): Promise<string> {
  const r = await run('docker', args, { env: { ...baseEnv(), ...engineEnv(host) } });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} on ${host}: ${r.stderr}`);
  return r.stdout;
}

/** name -> id of this fleet's containers on one engine. */
async function idsOn(host: string): Promise<Record<string, string>> {
  const out = await dockerOn(host, 'ps', '-a', '--no-trunc', '--filter', `label=com.decnet.fleet=${FLEET}`, '--format', '{{.Names}} {{.ID}}');
  return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

function startController(host: string): void {
  const args = [CLI, 'controller', '--host-id', host, '--state-dir', state[host]!, '--heartbeat-ttl', `${TTL_MS / 1000}s`, '--registry-poll', '1s', '--resync', '5s', '--metrics-addr', 'off', '--no-mutate', '--host-label', `engine=${host}`];
  const child = spawn(process.execPath, args, { env: { ...baseEnv(), ...engineEnv(host), DECNET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (logs[host] += d.toString()));
  ctl[host] = child;
}

async function stopController(host: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const c = ctl[host];
  ctl[host] = undefined;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill(signal);
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

interface HostRowJson {
  id: string;
  status: string;
  deckies: number;
}
interface DeckyRowJson {
  name: string;
  host: string;
  ip: string;
  phase: string;
  hostStatus: string;
}
async function getJson<T>(kind: 'hosts' | 'deckies'): Promise<T[]> {
  const r = await ctlRun(['get', kind, '-o', 'json']);
  if (r.code !== 0) throw new Error(show(r));
  return JSON.parse(r.stdout) as T[];
}

async function startDockerd(): Promise<void> {
  mkdirSync(D2_DIR, { recursive: true });
  mkdirSync(D2_DATA, { recursive: true });
  const fd = openSync(D2_LOG, 'w');
  // its own default bridge: `--bridge=none` makes a second daemon delete the host's docker0
  await run('ip', ['link', 'del', D2_BRIDGE]);
  for (const args of [['link', 'add', D2_BRIDGE, 'type', 'bridge'], ['addr', 'add', '10.237.255.1/24', 'dev', D2_BRIDGE], ['link', 'set', D2_BRIDGE, 'up']]) {
    const r = await run('ip', args);
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }
  const args = [`--host=${D2_SOCK}`, `--data-root=${D2_DATA}`, `--exec-root=${D2_EXEC}`, `--pidfile=${D2_PID}`, `--bridge=${D2_BRIDGE}`, '--iptables=false', '--ip-masq=false', '--ip-forward=false'];
  dockerd = spawn('dockerd', args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  await until(async () => (await run('docker', ['info', '--format', '{{.ServerVersion}}'], { env: { DOCKER_HOST: D2_SOCK } })).code === 0, 60_000, 500);
}

async function stopDockerd(): Promise<void> {
  const d = dockerd;
  dockerd = undefined;
  if (d && d.exitCode === null && d.signalCode === null) {
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  }
  // mounts a killed daemon may leave behind, then its directories
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(D2_DATA) || m.startsWith(D2_EXEC));
  for (const m of mounts.reverse()) await run('umount', ['-l', m]);
  rmSync(D2_DATA, { recursive: true, force: true });
  rmSync(D2_DIR, { recursive: true, force: true });
  rmSync('/var/lib/decnet-e2e', { recursive: true, force: true });
  await run('ip', ['link', 'del', D2_BRIDGE]);
}

async function ensureImages(): Promise<void> {
  // the runtime image travels by save | load (no registry, no internet); the honeypot image is built there
  const save = spawn('docker', ['save', IMAGE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const load = spawn('docker', ['load'], { env: { ...process.env, DOCKER_HOST: D2_SOCK }, stdio: ['pipe', 'ignore', 'inherit'] });
  save.stdout!.pipe(load.stdin!);
  await new Promise((resolve, reject) => load.on('exit', (code) => (code === 0 ? resolve(undefined) : reject(new Error(`docker load exited ${code}`)))));
  const b = await decnetctl(['images', 'build'], { env: { DOCKER_HOST: D2_SOCK, DECNET_IMAGE_BASE: IMAGE }, timeoutMs: 600_000 });
  if (b.code !== 0) throw new Error(`images build on the second engine: ${show(b)}`);
}

/* a webhook receiver on loopback: the cluster's alerts */
const HOOK_PORT = 20900 + Math.floor(Math.random() * 90);
const hooks: Array<{ id: string; body: Record<string, unknown> }> = [];
let hookServer: Server | undefined;
const ALERTS = `\n  alerts:\n    - { name: soc, type: webhook, url: "http://127.0.0.1:${HOOK_PORT}/hook", minSeverity: medium, events: [auth_attempt], throttle: 4s }`;

const manifest = (deckies: Array<{ name: string; ip?: string }>, withFleet = true) =>
  [
    ...(withFleet ? [`apiVersion: decnet.io/v1alpha1\nkind: Fleet\nmetadata: { name: ${FLEET} }\nspec:\n  network: { mode: macvlan, subnet: 10.237.0.0/24, gateway: 10.237.0.1 }\n  lab: true${ALERTS}`] : []),
    ...deckies.map((d) => `apiVersion: decnet.io/v1alpha1\nkind: Decky\nmetadata: { name: ${d.name} }\nspec: { fleet: ${FLEET}, ${d.ip ? `ip: ${d.ip}, ` : ''}services: [ssh], distro: debian }`),
  ].join('\n---\n');

const FIRST = [{ name: 'e2mh-a', ip: '10.237.0.10' }, { name: 'e2mh-b', ip: '10.237.0.11' }, { name: 'e2mh-c' }, { name: 'e2mh-d' }];

async function teardown(): Promise<void> {
  const srv = hookServer;
  hookServer = undefined;
  if (srv) await new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r())));
  await stopController(H1);
  await stopController(H2);
  if (dockerd) await ctlRun(['delete', 'fleet', FLEET, '--force', '--host-id', H2, '--state-dir', state[H2]!], engineEnv(H2)).catch(() => undefined);
  await ctlRun(['delete', 'fleet', FLEET, '--force', '--host-id', H1, '--state-dir', state[H1]!]).catch(() => undefined);
  await stopDockerd().catch(() => undefined);
  await removeLab(FLEET).catch(() => undefined);
  await redis?.dispose();
  for (const dir of Object.values(state)) rmSync(dir, { recursive: true, force: true });
}

beforeAll(async () => {
  try {
    if (existsSync(`${D2_DIR}/d2.sock`)) throw new Error(`${D2_DIR}/d2.sock exists: another run is using the second engine`);
    await startDockerd();
    await ensureImages();
    redis = await startRedisServer();
    hookServer = createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => (hooks.push({ id: String(req.headers['x-decnet-alert-id']), body: JSON.parse(b) as Record<string, unknown> }), res.writeHead(204).end()));
    });
    await new Promise<void>((r) => hookServer!.listen(HOOK_PORT, '127.0.0.1', () => r()));
    startController(H1);
    startController(H2);
    await until(async () => (await getJson<HostRowJson>('hosts')).filter((h) => h.status === 'Ready').length === 2, 60_000, 500);
  } catch (err) {
    await teardown();
    throw err;
  }
}, 900_000);

afterAll(async () => {
  await teardown();
}, 300_000);

async function labReach(ip: string): Promise<boolean> {
  const ping = await run('ip', ['netns', 'exec', NETNS, 'ping', '-c', '1', '-W', '2', ip]);
  const tcp = await run('ip', ['netns', 'exec', NETNS, 'timeout', '5', 'bash', '-c', `exec 3<>/dev/tcp/${ip}/22 && head -c 4 <&3`]);
  return ping.code === 0 && tcp.code === 0 && tcp.stdout.startsWith('SSH-');
}

describe('multi-host fleet over two engines and one registry', () => {
  let placed: DeckyRowJson[] = [];

  it('apply spreads a fleet over both hosts; get shows both slices; the lab reaches every decky', async () => {
    const file = join(state[H1]!, 'fleet.yaml');
    writeFileSync(file, manifest(FIRST));
    const a = await ctlRun(['apply', '-f', file, '--timeout', '5m']);
    expect(a.code, show(a) + logs[H1] + logs[H2]).toBe(0);
    expect(a.stdout).toMatch(/4 decky\(s\) Running on 2 host\(s\)/);
    placed = await getJson<DeckyRowJson>('deckies');
    expect(placed.map((d) => d.name)).toEqual(FIRST.map((d) => d.name));
    expect(placed.every((d) => d.phase === 'Running')).toBe(true);
    expect(new Set(placed.map((d) => d.host))).toEqual(new Set([H1, H2]));
    expect(new Set(placed.map((d) => d.ip)).size).toBe(4);
    for (const host of [H1, H2]) {
      const names = Object.keys(await idsOn(host)).sort();
      const mine = placed.filter((d) => d.host === host).flatMap((d) => [d.name, `${d.name}-ssh`]).sort();
      expect(names, host).toEqual(mine);
    }
    for (const d of placed) expect(await until(() => labReach(d.ip), 30_000, 1_000), `${d.name} ${d.ip}`).toBe(true);
  });

  it('a dead controller makes its host NotReady and its deckies Unknown; back, it recreates nothing', async () => {
    const before = await idsOn(H2);
    await stopController(H2, 'SIGKILL');
    await until(async () => (await getJson<HostRowJson>('hosts')).find((h) => h.id === H2)?.status === 'NotReady', TTL_MS + 30_000, 500);
    const rows = await getJson<DeckyRowJson>('deckies');
    for (const d of rows) expect(d.phase, d.name).toBe(d.host === H2 ? 'Unknown' : 'Running');
    expect((await getJson<HostRowJson>('hosts')).find((h) => h.id === H1)?.status).toBe('Ready');
    startController(H2);
    await until(async () => (await getJson<DeckyRowJson>('deckies')).every((d) => d.phase === 'Running'), 60_000, 500);
    expect((await getJson<HostRowJson>('hosts')).every((h) => h.status === 'Ready')).toBe(true);
    expect(await idsOn(H2)).toEqual(before);
  });

  it('without Redis both hosts keep healing; when Redis is back the views converge', async () => {
    const victims = placed.filter((d) => d.host === H1).slice(0, 1).concat(placed.filter((d) => d.host === H2).slice(0, 1));
    const startedAt = async (host: string, name: string) => (await dockerOn(host, 'inspect', '-f', '{{.State.Status}} {{.State.StartedAt}}', name)).trim();
    await redis!.stop();
    const before: Record<string, string> = {};
    for (const d of victims) {
      before[d.name] = await startedAt(d.host, `${d.name}-ssh`);
      await dockerOn(d.host, 'kill', `${d.name}-ssh`);
    }
    for (const d of victims) {
      await until(async () => {
        const now = await startedAt(d.host, `${d.name}-ssh`);
        return now.startsWith('running') && now !== before[d.name];
      }, 60_000, 500);
    }
    await redis!.start(); // no persistence: the registry comes back empty
    await until(async () => {
      const hosts = await getJson<HostRowJson>('hosts');
      const rows = await getJson<DeckyRowJson>('deckies');
      return hosts.filter((h) => h.status === 'Ready').length === 2 && rows.length === 4 && rows.every((d) => d.phase === 'Running');
    }, 90_000, 1_000);
    const rows = await getJson<DeckyRowJson>('deckies');
    expect(rows.map((d) => [d.name, d.host, d.ip])).toEqual(placed.map((d) => [d.name, d.host, d.ip]));
  });

  it('one event stream for the cluster: both hosts\' events in `events --registry`, one alert per touch; Redis down 30 s: nothing lost, nothing doubled', async () => {
    const sshOpts = '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no -o ConnectTimeout=10 -o NumberOfPasswordPrompts=1 -o PreferredAuthentications=password';
    const touch = (ip: string, tag: string, n: number) =>
      run('ip', ['netns', 'exec', NETNS, 'sh', '-c', `for i in $(seq 1 ${n}); do sshpass -p "${tag}-$i" ssh ${sshOpts} root@${ip} true >/dev/null 2>&1; done; true`], { timeoutMs: 120_000 });
    const two = [placed.find((d) => d.host === H1)!, placed.find((d) => d.host === H2)!];
    type Ev = { host?: string; decky: string; event: string; secret?: string };
    const clusterEvents = async (): Promise<Ev[]> => {
      const r = await ctlRun(['events', '--registry', redis!.url, '--fleet', FLEET, '-o', 'json']);
      if (r.code !== 0) throw new Error(show(r));
      return JSON.parse(r.stdout) as Ev[];
    };
    const tagged = (evs: Ev[], tag: string) => evs.filter((e) => e.event === 'auth_attempt' && e.secret?.startsWith(`${tag}-`));
    const alertCount = (decky: string, from: number) => hooks.slice(from).filter((h) => h.body['decky'] === decky).reduce((s, h) => s + Number(h.body['count']), 0);

    // phase 1: one touch per host, Redis up
    const h0 = hooks.length;
    for (const d of two) await touch(d.ip, `mh1-${d.name}`, 1);
    const evs = await until(async () => {
      const all = await clusterEvents();
      return two.every((d) => tagged(all, `mh1-${d.name}`).length === 1) ? all : undefined;
    }, 60_000, 1_000);
    for (const d of two) expect(tagged(evs, `mh1-${d.name}`)[0]!.host, d.name).toBe(d.host);
    await until(async () => two.every((d) => alertCount(d.name, h0) === 1), 30_000, 250);
    await new Promise((r) => setTimeout(r, 5_000)); // the 4 s windows close: nothing more comes
    for (const d of two) expect(alertCount(d.name, h0), d.name).toBe(1);
    expect(new Set(hooks.slice(h0).map((h) => h.id)).size).toBe(hooks.length - h0);

    // phase 2: Redis stopped for 30 s while both deckies are attacked
    const h1 = hooks.length;
    await redis!.stop();
    const t0 = Date.now();
    for (const d of two) await touch(d.ip, `mh2-${d.name}`, 5);
    // alerts do not depend on Redis: each host pages for its own deckies
    await until(async () => two.every((d) => alertCount(d.name, h1) >= 1), 30_000, 250);
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - t0))));
    await redis!.start(); // empty again: the spooled events are appended once it is back
    await until(async () => (await getJson<HostRowJson>('hosts')).filter((h) => h.status === 'Ready').length === 2, 90_000, 1_000);
    const after = await until(async () => {
      const all = await clusterEvents().catch(() => [] as Ev[]);
      return two.every((d) => tagged(all, `mh2-${d.name}`).length >= 5) ? all : undefined;
    }, 90_000, 1_000);
    await new Promise((r) => setTimeout(r, 3_000));
    const final = await clusterEvents();
    for (const d of two) {
      expect(tagged(final, `mh2-${d.name}`).map((e) => e.secret).sort(), d.name).toEqual([1, 2, 3, 4, 5].map((i) => `mh2-${d.name}-${i}`).sort());
      expect(tagged(after, `mh2-${d.name}`).every((e) => e.host === d.host)).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 5_000));
    for (const d of two) expect(alertCount(d.name, h1), d.name).toBe(5);
  }, 300_000);

  it('two applies racing from two processes place every decky once', async () => {
    const f1 = join(state[H1]!, 'race-1.yaml');
    const f2 = join(state[H1]!, 'race-2.yaml');
    writeFileSync(f1, manifest([{ name: 'e2mh-r1' }, { name: 'e2mh-r2' }, { name: 'e2mh-shared' }]));
    writeFileSync(f2, manifest([{ name: 'e2mh-r3' }, { name: 'e2mh-r4' }, { name: 'e2mh-shared' }]));
    const [a, b] = await Promise.all([ctlRun(['apply', '-f', f1, '--timeout', '5m']), ctlRun(['apply', '-f', f2, '--timeout', '5m'])]);
    expect(a.code, show(a)).toBe(0);
    expect(b.code, show(b)).toBe(0);
    const rows = await getJson<DeckyRowJson>('deckies');
    const names = rows.map((d) => d.name);
    expect(names).toEqual([...new Set(names)]);
    expect(names).toEqual(expect.arrayContaining(['e2mh-r1', 'e2mh-r2', 'e2mh-r3', 'e2mh-r4', 'e2mh-shared']));
    expect(new Set(rows.map((d) => d.ip)).size).toBe(rows.length);
    const on1 = await idsOn(H1);
    const on2 = await idsOn(H2);
    for (const d of rows) {
      expect([d.name in on1, d.name in on2].filter(Boolean), d.name).toHaveLength(1);
      expect(d.name in (d.host === H1 ? on1 : on2), d.name).toBe(true);
    }
  });

  it('delete host refuses a host with deckies; drain moves them keeping their IPs; then the empty host can go', async () => {
    const refused = await ctlRun(['delete', 'host', H2]);
    expect(refused.code, show(refused)).not.toBe(0);
    expect(refused.stderr).toMatch(/HostNotEmpty|still has/);
    const before = await getJson<DeckyRowJson>('deckies');
    const moving = before.filter((d) => d.host === H2);
    expect(moving.length).toBeGreaterThan(0);
    const dr = await ctlRun(['drain', 'host', H2]);
    expect(dr.code, show(dr)).toBe(0);
    for (const d of moving) expect(dr.stdout).toContain(`decky ${d.name}: ${H2} -> ${H1}`);
    await until(async () => {
      const rows = await getJson<DeckyRowJson>('deckies');
      return rows.length === before.length && rows.every((d) => d.host === H1 && d.phase === 'Running');
    }, 120_000, 1_000);
    const after = await getJson<DeckyRowJson>('deckies');
    expect(after.map((d) => [d.name, d.ip])).toEqual(before.map((d) => [d.name, d.ip]));
    await until(async () => Object.keys(await idsOn(H2)).length === 0, 60_000, 500);
    // the lab is shared by both engines: emptying h2 must not have taken it from h1's deckies
    for (const d of moving) expect(await until(() => labReach(d.ip), 30_000, 1_000), d.name).toBe(true);
    const del = await ctlRun(['delete', 'host', H2]);
    expect(del.code, show(del)).toBe(0);
    await stopController(H2);
  });
});
