import { createSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { makeFleet, type AttackerEvent } from '@decnet/api';
import { afterEach, describe, expect, it } from 'vitest';
import { SyslogSender, SyslogSink, syslogLine } from './sink-syslog.js';
import { parseOctetCounted } from './syslog.js';

const ev = (i: number, fleet = 'lab'): AttackerEvent => ({
  time: `2024-05-01T10:00:0${i % 10}.000Z`,
  fleet,
  decky: 'web-01',
  service: 'ssh',
  event: 'auth_attempt',
  src_ip: '10.0.0.9',
  principal: `user${i}`,
});

async function until(fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function udpListener(): Promise<{ port: number; lines: string[] }> {
  const sock = createSocket('udp4');
  const lines: string[] = [];
  sock.on('message', (m) => lines.push(m.toString('utf8')));
  cleanup.push(() => new Promise<void>((r) => sock.close(() => r())));
  return new Promise((r) => sock.bind(0, '127.0.0.1', () => r({ port: sock.address().port, lines })));
}

function tcpListener(port = 0): Promise<{ server: Server; port: number; lines: string[]; sockets: Socket[] }> {
  const lines: string[] = [];
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      const r = parseOctetCounted(Buffer.concat([buf, d]));
      lines.push(...r.lines);
      buf = Buffer.from(r.rest);
    });
    s.on('error', () => {});
  });
  cleanup.push(() => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))));
  return new Promise((r) => server.listen(port, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port, lines, sockets })));
}

describe('SyslogSink over UDP', () => {
  it('sends one RFC 5424 datagram per event to the fleet logTarget only', async () => {
    const l = await udpListener();
    const sink = new SyslogSink();
    cleanup.push(() => sink.close());
    sink.setFleets([makeFleet('lab', { logTarget: `udp://127.0.0.1:${l.port}` }), makeFleet('quiet')]);
    expect(sink.targets()).toEqual([`udp://127.0.0.1:${l.port}`]);
    sink.write(ev(1));
    sink.write(ev(2, 'quiet'));
    sink.write(ev(3));
    await until(() => l.lines.length >= 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(l.lines).toHaveLength(2);
    expect(l.lines[0]).toMatch(/^<134>1 2024-05-01T10:00:01\.000Z web-01 ssh - auth_attempt \[relay@55555 fleet="lab" src_ip="10\.0\.0\.9" principal="user1"\] login attempt from 10\.0\.0\.9 user="user1"$/);
    expect(l.lines[1]).toContain('principal="user3"');
    expect(sink.stats().written).toBe(2);
  });

  it('ignores an invalid logTarget and drops senders no fleet uses any more', async () => {
    const sink = new SyslogSink();
    cleanup.push(() => sink.close());
    sink.setFleets([makeFleet('a', { logTarget: 'http://x' }), makeFleet('b', { logTarget: 'udp://127.0.0.1:5999' })]);
    expect(sink.targets()).toEqual(['udp://127.0.0.1:5999']);
    sink.setFleets([makeFleet('b')]);
    expect(sink.targets()).toEqual([]);
  });
});

describe('SyslogSender over TCP', () => {
  it('frames with octet counting', async () => {
    const l = await tcpListener();
    const s = new SyslogSender({ proto: 'tcp', host: '127.0.0.1', port: l.port });
    cleanup.push(() => s.close());
    s.send('<134>1 - a b - c - hello world');
    s.send('<134>1 - a b - c - second ]"\\');
    await until(() => l.lines.length === 2);
    expect(l.lines).toEqual(['<134>1 - a b - c - hello world', '<134>1 - a b - c - second ]"\\']);
  });

  it('queues while the target is down, drops the oldest past the bound, delivers the rest after reconnecting', async () => {
    const probe = await tcpListener();
    const port = probe.port;
    await new Promise<void>((r) => (probe.server.close(() => r())));
    const s = new SyslogSender({ proto: 'tcp', host: '127.0.0.1', port }, { maxQueue: 3, reconnectBaseMs: 20, reconnectMaxMs: 50 });
    cleanup.push(() => s.close());
    for (let i = 1; i <= 5; i++) s.send(`line ${i}`);
    expect(s.stats().dropped).toBe(2);
    expect(s.pending()).toBe(3);
    await until(() => s.stats().errors >= 1);
    const l = await tcpListener(port);
    await until(() => l.lines.length === 3);
    expect(l.lines).toEqual(['line 3', 'line 4', 'line 5']);
    // the connection drops: the sender reconnects by itself
    l.sockets.forEach((x) => x.destroy());
    await until(() => s.pending() === 0 && l.sockets.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    s.send('line 6');
    await until(() => l.lines.includes('line 6'));
    expect(l.sockets.length).toBe(2);
  });

  it('send never blocks or throws, even after close', async () => {
    const s = new SyslogSender({ proto: 'tcp', host: '127.0.0.1', port: 1 }, { maxQueue: 10 });
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) s.send(`x${i}`);
    expect(performance.now() - t0).toBeLessThan(200);
    await s.close();
    expect(() => s.send('late')).not.toThrow();
    expect(s.stats().dropped).toBeGreaterThanOrEqual(991);
  });
});

describe('SyslogSink format', () => {
  it('carries an OCSF or ECS JSON document as MSG when asked, decnet structured data by default', async () => {
    const l = await udpListener();
    const fleets = [makeFleet('lab', { logTarget: `udp://127.0.0.1:${l.port}` })];
    for (const format of ['ocsf', 'ecs', undefined] as const) {
      const sink = new SyslogSink(format ? { format } : {});
      cleanup.push(() => sink.close());
      sink.setFleets(fleets);
      sink.write(ev(1));
    }
    await until(() => l.lines.length >= 3);
    const byKind = (re: RegExp) => l.lines.find((x) => re.test(x))!;
    const ocsf = byKind(/"class_uid"/);
    expect(ocsf).toMatch(/^<134>1 2024-05-01T10:00:01\.000Z web-01 ssh - auth_attempt - \{/);
    expect(JSON.parse(ocsf.slice(ocsf.indexOf('{')))).toMatchObject({ class_uid: 3002, user: { name: 'user1' }, src_endpoint: { ip: '10.0.0.9' } });
    const ecs = byKind(/"@timestamp"/);
    expect(JSON.parse(ecs.slice(ecs.indexOf('{')))).toMatchObject({ event: { category: ['authentication'] }, source: { ip: '10.0.0.9' }, host: { name: 'web-01' } });
    expect(byKind(/\[relay@55555/)).toContain('principal="user1"');
  });

  it('syslogLine keeps one line per event', () => {
    const line = syslogLine({ ...ev(2), principal: 'a\nb' }, 'ecs');
    expect(line).not.toContain('\n');
    expect(syslogLine(ev(2))).toBe(syslogLine(ev(2), 'decnet'));
  });
});
