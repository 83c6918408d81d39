/**
 * Real-engine test: build the honeypot image from the local runtime base,
 * run it as decky services run (its unprivileged user, no capability at all, low
 * ports through ip_unprivileged_port_start, read-only rootfs,
 * config mounted read-only), log in over ssh and read the events back from
 * `docker logs`. Also measures the idle memory of the container.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_CONFIG_PATH, type AttackerEvent } from '@decnet/api';
import { buildHoneypotImage, honeypotImageTag } from './image.js';
// @ts-expect-error plain JS build script without type declarations
import { bundle } from '../scripts/bundle.mjs';

/**
 * The runtime base the test command builds ($DECNET_BASE_IMAGE), else the same build
 * script's default tag (built offline when missing): never a tag left by earlier work.
 */
function runtimeBase(): string {
  const script = new URL('../../../scripts/build-runtime-base.sh', import.meta.url).pathname;
  const want = process.env['DECNET_BASE_IMAGE'];
  const out = execFileSync('bash', [script, ...(want ? [want] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop() ?? '';
}
let BASE = '';
const PREFIX = 'decnet-hpimg-test';
const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
const suffix = randomBytes(4).toString('hex');
const tag = honeypotImageTag(`test-${suffix}`);

/** stdout lines from a non-tty container's multiplexed log stream. */
function stdoutLines(raw: Buffer): string[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 8 <= raw.length; ) {
    const len = raw.readUInt32BE(i + 4);
    if (raw[i] === 1) out.push(raw.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(out).toString('utf8').split('\n').filter(Boolean);
}

async function events(c: Dockerode.Container): Promise<AttackerEvent[]> {
  const raw = (await c.logs({ stdout: true, stderr: false, follow: false })) as unknown as Buffer;
  return stdoutLines(raw).map((l) => JSON.parse(l) as AttackerEvent);
}

async function poll<T>(fn: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function memoryBytes(c: Dockerode.Container): Promise<{ usage: number; workingSet: number }> {
  const s = (await c.stats({ stream: false })) as unknown as { memory_stats: { usage: number; stats?: Record<string, number> } };
  const m = s.memory_stats;
  const inactive = m.stats?.['inactive_file'] ?? m.stats?.['total_inactive_file'] ?? 0;
  return { usage: m.usage, workingSet: m.usage - inactive };
}

describe('honeypot image', () => {
  let dir: string;
  let bundlePath: string;
  const containers: Dockerode.Container[] = [];
  beforeAll(async () => {
    BASE = runtimeBase();
    dir = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
    chmodSync(dir, 0o755);
    bundlePath = await bundle(join(dir, 'honeypot.mjs'));
  }, 180_000);
  afterAll(async () => {
    for (const c of containers) await c.remove({ force: true }).catch(() => undefined);
    await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('reports a missing bundle clearly', async () => {
    await expect(buildHoneypotImage(docker, { baseImage: BASE, tag, bundlePath: join(dir, 'nope.mjs') })).rejects.toMatchObject({ code: 'E_HONEYPOT_BUILD_INPUT' });
  });

  it('refuses to build without a local base image (never pulls)', async () => {
    await expect(buildHoneypotImage(docker, { baseImage: `decnet/does-not-exist:${suffix}`, tag: `${tag}-never`, bundlePath })).rejects.toMatchObject({ code: 'E_BASE_IMAGE_MISSING' });
  });

  it('builds, runs hardened and serves ssh with JSON events in docker logs', async () => {
    const progress: string[] = [];
    const id = await buildHoneypotImage(docker, { baseImage: BASE, tag, bundlePath, onProgress: (l) => progress.push(l) });
    expect(id).toMatch(/^sha256:/);
    expect(progress.join('\n')).toMatch(/Successfully (built|tagged)/);

    const cfgPath = join(dir, 'service.json');
    writeFileSync(cfgPath, JSON.stringify({ decky: 'img-decky', fleet: 'lab', service: 'ssh', hostname: 'SRV-IMG-77', ports: [{ port: 22, proto: 'tcp' }], config: { users: 'root:letmein', kernel_version: '5.10.0-28-amd64' } }));
    chmodSync(cfgPath, 0o644);
    const c = await docker.createContainer({
      name: `${PREFIX}-${suffix}`,
      Image: tag,
      ExposedPorts: { '22/tcp': {} },
      HostConfig: {
        Binds: [`${cfgPath}:${SERVICE_CONFIG_PATH}:ro`],
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
        SecurityOpt: ['no-new-privileges'],
        Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=16m' },
        PortBindings: { '22/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        Memory: 128 * 1024 * 1024,
      },
    });
    containers.push(c);
    await c.start();
    const start = await poll(async () => (await events(c)).find((e) => e.event === 'service_start'), 'service_start');
    expect(start).toMatchObject({ decky: 'img-decky', service: 'ssh', ports: [22] });
    const hostPort = Number((await c.inspect()).NetworkSettings.Ports['22/tcp']?.[0]?.HostPort);
    expect(hostPort).toBeGreaterThan(0);

    await new Promise((r) => setTimeout(r, 2000));
    const idle = await memoryBytes(c);

    const client = new ssh2.Client();
    const bad = new Promise<void>((resolve, reject) => {
      client.once('ready', () => reject(new Error('wrong password accepted')));
      client.once('error', () => resolve());
    });
    client.connect({ host: '127.0.0.1', port: hostPort, username: 'root', password: 'nope', readyTimeout: 15_000 });
    await bad;
    client.end();

    const ok = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      ok.once('ready', () => resolve());
      ok.once('error', reject);
      ok.connect({ host: '127.0.0.1', port: hostPort, username: 'root', password: 'letmein', readyTimeout: 15_000 });
    });
    const out = await new Promise<string>((resolve, reject) =>
      ok.exec('uname -a', (err, stream) => {
        if (err) return reject(err);
        let s = '';
        stream.on('data', (d: Buffer) => (s += d.toString()));
        stream.on('close', () => resolve(s));
      }),
    );
    ok.end();
    expect(out).toMatch(/^Linux SRV-IMG-77 5\.10\.0-28-amd64 /);

    const evs = await poll(async () => {
      const e = await events(c);
      return e.some((x) => x.event === 'command') ? e : undefined;
    }, 'command event');
    const attempts = evs.filter((e) => e.event === 'auth_attempt');
    expect(attempts.map((e) => [e.principal, e.secret, e.success])).toEqual([
      ['root', 'nope', false],
      ['root', 'letmein', true],
    ]);
    expect(evs.find((e) => e.event === 'command')).toMatchObject({ command: 'uname -a', decky: 'img-decky', service: 'ssh', dst_port: 22 });
    const busy = await memoryBytes(c);
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    console.log(`[honeypot image] idle memory: usage ${mib(idle.usage)}, working set ${mib(idle.workingSet)}; after ssh sessions: working set ${mib(busy.workingSet)}`);
    expect(idle.workingSet).toBeLessThan(96 * 1024 * 1024);

    await c.stop({ t: 5 });
    expect((await c.inspect()).State.ExitCode).toBe(0);
  }, 120_000);
});
