import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attackerEventSchema, serviceDef, type AttackerEvent } from '@decnet/api';
import { rawConnect } from './test-client.js';
import { parseRuntimeConfig } from './config.js';
import { startFromConfig } from './runner.js';
import { registry } from '../services/index.js';
// @ts-expect-error plain JS build script without type declarations
import { bundle } from '../../scripts/bundle.mjs';

describe('parseRuntimeConfig', () => {
  const good = { decky: 'd', fleet: 'f', service: 'ftp', hostname: 'h', ports: [{ port: 21, proto: 'tcp' }], config: { banner: 'x' } };
  it('accepts the file decnet writes', () => {
    const persona = { hostname: 'h', netbiosName: 'H', netbiosDomain: 'CORP', dnsDomain: 'corp.local', fqdn: 'h.corp.local', joined: true, domainController: false, baseDn: 'DC=corp,DC=local', os: 'windows' };
    expect(parseRuntimeConfig({ ...good, persona })).toEqual({ ...good, persona });
    // a file without a persona (an older decnet wrote it): derived from what the file says
    expect(parseRuntimeConfig(good)).toEqual({ ...good, persona: expect.objectContaining({ hostname: 'h', netbiosName: 'H', os: 'linux' }) });
    expect(parseRuntimeConfig({ ...good, hostname: undefined, config: undefined }).hostname).toBe('d');
    expect(() => parseRuntimeConfig({ ...good, persona: { hostname: 1 } })).toThrow(/persona/);
    expect(parseRuntimeConfig({ ...good, sshHostKeys: ['-----BEGIN OPENSSH PRIVATE KEY-----'] }).sshHostKeys).toEqual(['-----BEGIN OPENSSH PRIVATE KEY-----']);
  });
  it('rejects malformed files with a typed error', () => {
    for (const bad of [null, [], { ...good, decky: '' }, { ...good, ports: [] }, { ...good, ports: [{ port: 70000, proto: 'tcp' }] }, { ...good, ports: [{ port: 1, proto: 'sctp' }] }, { ...good, config: [] }, { ...good, sshHostKeys: 'k' }, { ...good, sshHostKeys: [1] }]) {
      expect(() => parseRuntimeConfig(bad)).toThrow(expect.objectContaining({ code: 'E_SERVICE_CONFIG' }));
    }
  });
});

describe('startFromConfig', () => {
  it('starts the named service and emits service_start with the bound ports', async () => {
    const lines: string[] = [];
    const { running } = await startFromConfig(
      { decky: 'd9', fleet: 'f', service: 'ftp', hostname: 'H9', ports: [{ port: 0, proto: 'tcp' }], config: { banner: '220 hi' } },
      { bindHost: '127.0.0.1', write: (l) => lines.push(l), logWrite: () => undefined, env: { DECNET_QUARANTINE_DIR: join(tmpdir(), 'decnet-hp-q-test') } },
    );
    try {
      const start = attackerEventSchema.parse(JSON.parse(lines[0]!));
      expect(start).toMatchObject({ event: 'service_start', decky: 'd9', service: 'ftp', ports: running.ports });
      const c = await rawConnect(running.ports[0]!);
      expect(await c.expect('\r\n')).toBe('220 hi\r\n');
      c.close();
    } finally {
      await running.close();
      rmSync(join(tmpdir(), 'decnet-hp-q-test'), { recursive: true, force: true });
    }
  });
  it('falls back to the generic listener for unknown services, or fails clearly without one', async () => {
    const cfg = { decky: 'd', fleet: 'f', service: 'no-such-svc', hostname: 'h', ports: [{ port: 0, proto: 'tcp' as const }], config: {} };
    const opts = { bindHost: '127.0.0.1', write: () => undefined, logWrite: () => undefined };
    if (!registry['generic']) {
      await expect(startFromConfig(cfg, opts)).rejects.toThrow(/no implementation for service "no-such-svc"/);
      return;
    }
    const { running } = await startFromConfig(cfg, opts);
    expect(running.ports[0]).toBeGreaterThan(0);
    await running.close();
  });
});

describe('bundled entrypoint (dist/honeypot.mjs)', () => {
  let dir: string;
  let bundlePath: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'decnet-hp-main-'));
    bundlePath = await bundle(join(dir, 'honeypot.mjs'));
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(config: unknown) {
    const cfgPath = join(dir, `svc-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(cfgPath, typeof config === 'string' ? config : JSON.stringify(config));
    const child = spawn(process.execPath, ['--max-old-space-size=48', bundlePath], {
      env: { PATH: process.env['PATH'], DECNET_SERVICE_CONFIG: cfgPath, DECNET_BIND_HOST: '127.0.0.1', DECNET_QUARANTINE_DIR: join(dir, 'q') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: AttackerEvent[] = [];
    let stderr = '';
    let buf = '';
    const waiters: (() => void)[] = [];
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buf.slice(0, i)) as AttackerEvent);
        buf = buf.slice(i + 1);
        waiters.splice(0).forEach((w) => w());
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const until = async (pred: (e: AttackerEvent) => boolean) => {
      for (;;) {
        const hit = events.find(pred);
        if (hit) return hit;
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    return { child, events, exited, until, stderr: () => stderr };
  }

  it('serves from the config file, emits JSON events and stops cleanly on SIGTERM', async () => {
    const p = run({ decky: 'bx', fleet: 'lab', service: 'telnet', hostname: 'BOX-1', ports: [{ port: 0, proto: 'tcp' }], config: { users: 'u:p' } });
    const start = await p.until((e) => e.event === 'service_start');
    const port = (start['ports'] as number[])[0]!;
    const c = await rawConnect(port);
    await c.expect('BOX-1 login: ');
    c.send('u\r\np\r\n');
    await c.expect('u@BOX-1:~$ ');
    c.close();
    expect(await p.until((e) => e.event === 'auth_attempt')).toMatchObject({ decky: 'bx', service: 'telnet', principal: 'u', success: true });
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toContain('SIGTERM: shutting down');
  });

  it('every registered service (and an unknown name, via the fallback) starts from the bundle', async () => {
    for (const service of [...Object.keys(registry), 'not-in-catalogue']) {
      // the catalogue's ports (tcp and udp) on ephemeral port numbers
      const ports = (serviceDef(service)?.ports ?? [{ port: 0, proto: 'tcp' as const }]).map((p) => ({ port: 0, proto: p.proto }));
      const p = run({ decky: 'bx', fleet: 'lab', service, hostname: 'BOX-2', ports, config: {} });
      const start = await Promise.race([p.until((e) => e.event === 'service_start'), p.exited.then((code) => ({ exited: code, stderr: p.stderr() }))]);
      expect(start, service).toMatchObject({ event: 'service_start', service });
      const bound = (start as AttackerEvent)['ports'] as number[];
      expect(bound, service).toHaveLength(ports.length);
      const tcpAt = ports.findIndex((x) => x.proto === 'tcp');
      if (tcpAt >= 0) (await rawConnect(bound[tcpAt]!)).close();
      p.child.kill('SIGTERM');
      expect(await p.exited, `${service}: ${p.stderr()}`).toBe(0);
    }
  }, 60_000);

  it('exits 2 with a clear message on a bad config', async () => {
    const p = run('{ not json');
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/E_SERVICE_CONFIG.*invalid JSON/);
  });
});
