/**
 * Alerts end to end: one lab fleet with an ssh decky and two alert routes (a webhook to
 * a real HTTP receiver and an e-mail route to a real SMTP receiver with STARTTLS and
 * AUTH, both started by this test on loopback), `decnetctl controller` as a child
 * process, and the attacker in the fleet's lab namespace logging in with sshpass + ssh.
 * Names: fleet e2l-alerts, decky e2l-ssh, subnet 10.243.0.0/24, host id e2e-alerts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containers, decnetctl, docker, tempDir, until, writeManifests } from './lib/cli.js';
import { BASE_IMAGE, IMAGE_BASE } from './lib/apply-fixtures.js';
import { ControllerProcess } from './lib/controller-process.js';
import { labFleet } from './lib/lab-fleet.js';

const HOST = 'e2e-alerts';
const FLEET = 'e2l-alerts';
const DECKY = 'e2l-ssh';
const IP = '10.243.0.10';
const GATEWAY = '10.243.0.1';
const state = tempDir('e2l');
const env = { DECNET_HOST_ID: HOST, DECNET_STATE_DIR: state, DECNET_BASE_IMAGE: BASE_IMAGE, DECNET_IMAGE_BASE: IMAGE_BASE };
const HOOK_PORT = 20000 + Math.floor(Math.random() * 900);
const HOOK_SECRET = 'e2l-hmac-key-0123';

/* ------------------------- the receivers (loopback) ------------------------- */

interface Hook {
  at: number;
  id: string;
  body: Record<string, unknown>;
}
const hooks: Hook[] = [];
let hookServer: Server | undefined;
async function hookUp(): Promise<void> {
  const srv = createServer((req, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => {
      hooks.push({ at: Date.now(), id: String(req.headers['x-decnet-alert-id']), body: JSON.parse(b) as Record<string, unknown> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => srv.listen(HOOK_PORT, '127.0.0.1', () => r()));
  hookServer = srv;
}
async function hookDown(): Promise<void> {
  const srv = hookServer;
  hookServer = undefined;
  if (srv) await new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r())));
}

const mails: Array<{ data: string; user: string; secure: boolean }> = [];
let smtp: SMTPServer;
let smtpPort = 0;

const manifest = (throttle: string) => `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: ${FLEET} }
spec:
  network: { subnet: 10.243.0.0/24, gateway: ${GATEWAY} }
  lab: true
  alerts:
    - { name: soc, type: webhook, url: "http://127.0.0.1:${HOOK_PORT}/hook", secret: ${HOOK_SECRET}, minSeverity: medium, events: [auth_attempt], throttle: ${throttle} }
    - { name: mail, type: email, url: "smtp://alerts:s3cret-pw@127.0.0.1:${smtpPort}", to: [soc@example.org], from: decnet@example.org, events: [auth_attempt], throttle: 1h, tlsVerify: false }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: ${DECKY} }
spec: { fleet: ${FLEET}, ip: ${IP}, services: [ssh], distro: debian }
`;

const ctl = (args: string[], timeoutMs?: number) => decnetctl(args, { env, timeoutMs });
const lab = (...cmd: string[]) => ctl(['lab', 'exec', FLEET, '--', ...cmd], 90_000);
const sshOpts = '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no -o ConnectTimeout=10 -o NumberOfPasswordPrompts=1 -o PreferredAuthentications=password';
/** n failed password logins from the lab namespace, `par` at a time */
const attempts = (n: number, tag: string, par = 5) =>
  lab('sh', '-c', `for b in $(seq 0 $(( (${n} + ${par} - 1) / ${par} - 1 ))); do for j in $(seq 1 ${par}); do i=$((b * ${par} + j)); [ $i -le ${n} ] && sshpass -p "${tag}-$i" ssh ${sshOpts} root@${IP} true >/dev/null 2>&1 & done; wait; done; true`);

const controller = new ControllerProcess({ env, args: ['--resync', '5s', '--no-mutate'] });
const fleet = labFleet(ctl, FLEET, '', { clients: ['ssh', 'sshpass'], image: BASE_IMAGE, services: 1 });
const soc = () => hooks.filter((h) => h.body['route'] === 'soc');
const alertsJson = async () => JSON.parse((await ctl(['alerts', '-o', 'json'])).stdout) as Array<{ state: string; route: string; attempts: number; detail: string; id: string; count: number }>;

beforeAll(async () => {
  const dir = tempDir('e2l-tls');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  smtp = new SMTPServer({
    key: readFileSync(join(dir, 'k.pem')),
    cert: readFileSync(join(dir, 'c.pem')),
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth: (auth, _s, cb) => (auth.username === 'alerts' && auth.password === 's3cret-pw' ? cb(null, { user: 'alerts' }) : cb(new Error('535 bad credentials'))),
    onData(stream, session, cb) {
      let data = '';
      stream.on('data', (c: Buffer) => (data += c.toString()));
      stream.on('end', () => (mails.push({ data, user: String(session.user), secure: session.secure }), cb()));
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  await hookUp();
  const up = labFleet(ctl, FLEET, manifest('45s'), { clients: ['ssh', 'sshpass'], image: BASE_IMAGE, services: 1 });
  await up.up();
  controller.start();
  await controller.waitReady(60_000);
}, 900_000);

afterAll(async () => {
  await controller.stop('SIGTERM', 60_000);
  await hookDown();
  await new Promise<void>((r) => smtp.close(() => r()));
  await fleet.down();
}, 300_000);

describe('alerts: a touch of a decky pages the team once, whatever happens in between', () => {
  let t0 = 0;
  it('a failed ssh login from the lab namespace: one webhook within 5 s with decky, service, source, principal and severity (HMAC-signed)', async () => {
    t0 = Date.now();
    await attempts(1, 'first', 1);
    await until(async () => soc().length >= 1, 20_000, 100).catch(() => undefined);
    expect(soc(), controller.logTail()).toHaveLength(1);
    const h = soc()[0]!;
    expect(h.at - t0).toBeLessThan(5000);
    expect(h.body).toMatchObject({ fleet: FLEET, decky: DECKY, service: 'ssh', event: 'auth_attempt', src_ip: GATEWAY, principal: 'root', severity: 'medium', count: 1, grouped: false });
    // the URL and the key are secrets: in the state dir, not in labels or the controller's log
    const labels = await docker('inspect', DECKY, `decnet-${FLEET}`);
    const vols = await docker('volume', 'ls', '-q', '--filter', `label=com.decnet.fleet=${FLEET}`);
    const volLabels = await docker('volume', 'inspect', ...vols.trim().split('\n'));
    for (const text of [labels, volLabels, controller.log]) {
      expect(text).not.toContain(HOOK_SECRET);
      expect(text).not.toContain('s3cret-pw');
    }
    expect(statSync(join(state, 'alerts', `${FLEET}.json`)).mode & 0o077).toBe(0);
  });

  it('the e-mail route: delivered through STARTTLS with AUTH to the SMTP receiver', async () => {
    await until(async () => mails.length >= 1, 20_000, 200);
    expect(mails[0]).toMatchObject({ user: 'alerts', secure: true });
    expect(mails[0]!.data).toMatch(/Subject: decnet medium: 10\.243\.0\.1 touched decky e2l-ssh/);
    expect(mails[0]!.data).toMatch(/To: soc@example\.org/);
  });

  it('50 more attempts inside the throttle window: one grouped alert with count 50 when the window closes', async () => {
    await attempts(50, 'flood');
    const grouped = await until(async () => soc().find((h) => h.body['grouped'] === true), 90_000, 250);
    expect(grouped.body).toMatchObject({ decky: DECKY, src_ip: GATEWAY, count: 50 });
    await new Promise((r) => setTimeout(r, 2000));
    expect(soc()).toHaveLength(2);
    expect(mails).toHaveLength(1); // the mail route's window is an hour
  }, 150_000);

  it('a change of the alert routes (throttle 45s -> 8s) recreates no decky and not the network', async () => {
    const before = (await containers(`com.decnet.fleet=${FLEET}`)).map((c) => c.id).sort();
    const net = (await docker('network', 'inspect', '-f', '{{.Id}}', `decnet-${FLEET}`)).trim();
    const file = writeManifests({ 'fleet.yaml': manifest('8s') });
    const d = await ctl(['diff', '-f', file]);
    expect(d.code, d.stderr).toBe(1);
    expect(d.stdout).toMatch(/create settings decnet-e2l-alerts-settings-\w+ \(alerts mail:email,soc:webhook\) \(fleet settings changed: alerts\)/);
    expect(d.stdout).toMatch(/Plan: 1 to create, 0 to recreate, 1 to remove, 0 to start/);
    const r = await ctl(['apply', '-f', file], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect((await containers(`com.decnet.fleet=${FLEET}`)).map((c) => c.id).sort()).toEqual(before);
    expect((await docker('network', 'inspect', '-f', '{{.Id}}', `decnet-${FLEET}`)).trim()).toBe(net);
    const y = await ctl(['get', 'fleets', FLEET, '-o', 'yaml']);
    expect(y.stdout).toMatch(/throttle: 8s/);
    expect(y.stdout).not.toContain(HOOK_SECRET);
    expect((await docker('volume', 'ls', '-q', '--filter', `label=com.decnet.fleet=${FLEET}`)).trim().split('\n')).toHaveLength(1);
  });

  it('the receiver down for 30 s while attacks go on, then up: every alert arrives exactly once', async () => {
    await new Promise((r) => setTimeout(r, 6000)); // the controller's resync picks up the new settings (5 s period)
    await hookDown();
    const seenBefore = soc().length;
    await attempts(1, 'outage-a', 1);
    await new Promise((r) => setTimeout(r, 1000));
    await attempts(6, 'outage-b', 3);
    await until(async () => (await alertsJson()).some((a) => a.state === 'queued' && a.route === 'soc' && a.attempts >= 2 && /ECONNREFUSED/.test(a.detail)), 30_000, 500);
    await new Promise((r) => setTimeout(r, 30_000 - 2000));
    await hookUp();
    // the opening alert and the grouped one of the 8 s window
    await until(async () => soc().length - seenBefore >= 2, 90_000, 250);
    await new Promise((r) => setTimeout(r, 3000));
    const got = soc().slice(seenBefore);
    expect(got.reduce((s, h) => s + Number(h.body['count']), 0)).toBe(7);
    expect(new Set(got.map((h) => h.id)).size).toBe(got.length);
    const st = await alertsJson();
    expect(st.filter((a) => a.state === 'queued')).toEqual([]);
    for (const h of got) expect(st.filter((a) => a.id === h.id && a.state === 'sent')).toHaveLength(1);
  }, 180_000);

  it('the controller SIGKILLed with an alert queued: it arrives after the restart', async () => {
    await new Promise((r) => setTimeout(r, 9000)); // the last 8 s window is closed
    await hookDown();
    const seenBefore = soc().length;
    await attempts(1, 'crash', 1);
    await until(async () => (await alertsJson()).some((a) => a.state === 'queued' && a.route === 'soc'), 30_000, 250);
    await controller.stop('SIGKILL');
    await hookUp();
    controller.start();
    await controller.waitReady(60_000);
    await until(async () => soc().length > seenBefore, 60_000, 250);
    await new Promise((r) => setTimeout(r, 2000));
    expect(soc().length - seenBefore).toBe(1);
    expect(soc().at(-1)!.body).toMatchObject({ principal: 'root', count: 1 });
    const m = (await controller.http('/metrics')).text;
    expect(m).toMatch(/decnet_alerts_total\{route="e2l-alerts\/soc",result="sent"\} [1-9]/);
    expect(m).toMatch(/decnet_alerts_pending 0/);
  }, 120_000);
});
