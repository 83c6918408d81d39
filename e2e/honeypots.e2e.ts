/**
 * Honeypot services against the real stock Debian clients, run from a lab
 * fleet's attacker namespace through the built `decnetctl lab exec`: every client
 * sees the persona configured in the manifest and every interaction shows up in
 * `decnetctl events` / `decnetctl attackers` with the right decky, service,
 * source and credentials.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, decnetctl, run, tempDir, type RunResult } from './lib/cli.js';
import { fleetEvents, type Ev } from './lib/fleet-events.js';
import { labFleet } from './lib/lab-fleet.js';

const FLEET = 'e2hp';
const GATEWAY = '10.230.0.1';
const IP = { shell: '10.230.0.10', www: '10.230.0.11', mail: '10.230.0.12', db: '10.230.0.13' } as const;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = process.env['DECNET_BASE_IMAGE'] ?? `decnet/runtime-base:${VERSION}`;
const ENV = { DECNET_HOST_ID: 'e2e-honeypots', DECNET_STATE_DIR: tempDir('e2hp-state'), DECNET_BASE_IMAGE: IMAGE, DECNET_IMAGE_BASE: process.env['DECNET_IMAGE_BASE'] ?? IMAGE };
const CLIENTS = ['ssh', 'sshpass', 'curl', 'ftp', 'swaks', 'redis-cli', 'mysql', 'nc'];

const P = {
  sshVersion: 'SSH-2.0-OpenSSH_7.4p1 E2hPersona',
  kernel: '4.19.0-e2h-amd64',
  server: 'Apache/2.2.22 (E2hPersona)',
  ftpBanner: '(E2hFTPd 9.9.9)',
  smtpBanner: 'mx.e2h.example ESMTP E2hPersona',
  redisVersion: '5.0.99',
  mysqlVersion: '5.6.99-e2h',
};

const MANIFEST = `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: ${FLEET} }
spec:
  network: { subnet: 10.230.0.0/24, gateway: ${GATEWAY} }
  lab: true
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2h-shell }
spec:
  fleet: ${FLEET}
  ip: ${IP.shell}
  services: [ssh, telnet]
  serviceConfig:
    ssh: { ssh_version: "${P.sshVersion}", kernel_version: "${P.kernel}", users: "root:hunter2" }
    telnet: { kernel_version: "${P.kernel}", users: "admin:tel123" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2h-www }
spec:
  fleet: ${FLEET}
  ip: ${IP.www}
  services: [http, ftp]
  serviceConfig:
    http: { server_header: "${P.server}", fake_app: wordpress }
    ftp: { banner: "${P.ftpBanner}" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2h-mail }
spec:
  fleet: ${FLEET}
  ip: ${IP.mail}
  services: [smtp, pop3]
  serviceConfig:
    smtp: { smtp_banner: "${P.smtpBanner}" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2h-db }
spec:
  fleet: ${FLEET}
  ip: ${IP.db}
  services: [redis, mysql]
  serviceConfig:
    redis: { redis_version: "${P.redisVersion}" }
    mysql: { mysql_version: "${P.mysqlVersion}" }
`;

const ctl = (args: string[], timeoutMs?: number) => decnetctl(args, { env: ENV, timeoutMs });
/** A command run inside the fleet's attacker namespace, as a user would. */
const lab = (...cmd: string[]) => ctl(['lab', 'exec', FLEET, '--', ...cmd], 60_000);
const sh = (script: string) => lab('sh', '-c', script);

const { events, expectEvent } = fleetEvents(ctl, FLEET);

const cred = (principal: string, secret: string) => ({ principal, secret, secret_b64: Buffer.from(secret).toString('base64') });
const out = (r: RunResult) => `${r.stdout}\n${r.stderr}`;
const sshOpts = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PubkeyAuthentication=no', '-o', 'ConnectTimeout=10', '-o', 'NumberOfPasswordPrompts=1'];

const fleet = labFleet(ctl, FLEET, MANIFEST, { clients: CLIENTS, image: IMAGE, services: 8 });
beforeAll(() => fleet.up(), 900_000);
afterAll(() => fleet.down(), 300_000);

describe('honeypot services against stock clients from the lab namespace', () => {
  it('ssh: the configured banner, a users login runs uname with the persona kernel, both logged', async () => {
    const first = await sh(`nc -w 3 ${IP.shell} 22 </dev/null | head -n 1`);
    expect(first.stdout.trim()).toBe(P.sshVersion);

    const r = await lab('sshpass', '-p', 'hunter2', 'ssh', '-v', ...sshOpts, '-o', 'PreferredAuthentications=password', `root@${IP.shell}`, 'uname -a');
    expect(r.code, out(r)).toBe(0);
    expect(r.stderr).toContain(`remote software version ${P.sshVersion.replace(/^SSH-2\.0-/, '')}`);
    expect(r.stdout).toMatch(new RegExp(`^Linux \\S+ ${P.kernel.replace(/\./g, '\\.')} `));

    const auth = await expectEvent({ decky: 'e2h-shell', service: 'ssh', event: 'auth_attempt', ...cred('root', 'hunter2'), success: true });
    expect(auth).toMatchObject({ src_ip: GATEWAY, dst_port: 22, secret_kind: 'plaintext', fleet: FLEET, host: 'e2e-honeypots' });
    await expectEvent({ decky: 'e2h-shell', service: 'ssh', event: 'command', command: 'uname -a', principal: 'root', src_ip: GATEWAY });
  });

  it('ssh: a failed keyboard-interactive login is refused and logged with its credentials', async () => {
    const r = await lab('sshpass', '-p', 'wrong-kbd', 'ssh', ...sshOpts, '-o', 'PreferredAuthentications=keyboard-interactive', `bob@${IP.shell}`, 'id');
    expect(r.code, out(r)).toBe(255);
    expect(r.stderr).toContain('Permission denied');
    await expectEvent({ decky: 'e2h-shell', service: 'ssh', event: 'auth_attempt', ...cred('bob', 'wrong-kbd'), success: false, src_ip: GATEWAY });
  });

  it('telnet (netcat): login prompt, a users login gets the fake shell with the persona kernel', async () => {
    const r = await sh(`(sleep 1; printf 'admin\\r\\n'; sleep 1; printf 'tel123\\r\\n'; sleep 1; printf 'uname -a\\r\\n'; sleep 1; printf 'exit\\r\\n'; sleep 1) | nc -w 3 ${IP.shell} 23`);
    expect(r.stdout).toMatch(/login: /);
    expect(r.stdout).toMatch(/Password: /);
    expect(r.stdout).toContain(` ${P.kernel} `);
    await expectEvent({ decky: 'e2h-shell', service: 'telnet', event: 'auth_attempt', ...cred('admin', 'tel123'), success: true, src_ip: GATEWAY, dst_port: 23 });
    await expectEvent({ decky: 'e2h-shell', service: 'telnet', event: 'command', command: 'uname -a', principal: 'admin', src_ip: GATEWAY });
  });

  it('http (curl): the configured Server header, WordPress login and basic auth credentials logged', async () => {
    const head = await lab('curl', '-sS', '-I', '--max-time', '10', `http://${IP.www}/wp-login.php`);
    expect(head.code, out(head)).toBe(0);
    expect(head.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(head.stdout).toContain(`Server: ${P.server}\r\n`);

    const page = await lab('curl', '-sS', '--max-time', '10', `http://${IP.www}/wp-login.php`);
    expect(page.stdout).toMatch(/name="log"/);
    const post = await lab('curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', '-d', 'log=wpadmin&pwd=wp-s3cret&wp-submit=Log+In', `http://${IP.www}/wp-login.php`);
    expect(post.code, out(post)).toBe(0);
    const basic = await lab('curl', '-sS', '-o', '/dev/null', '--max-time', '10', '-u', 'basicuser:basic-pw', `http://${IP.www}/admin/`);
    expect(basic.code, out(basic)).toBe(0);

    await expectEvent({ decky: 'e2h-www', service: 'http', event: 'request', method: 'HEAD', path: '/wp-login.php', src_ip: GATEWAY, dst_port: 80 });
    await expectEvent({ decky: 'e2h-www', service: 'http', event: 'request', method: 'POST', path: '/wp-login.php', src_ip: GATEWAY });
    await expectEvent({ decky: 'e2h-www', service: 'http', event: 'auth_attempt', secret_kind: 'http_form', ...cred('wpadmin', 'wp-s3cret'), src_ip: GATEWAY });
    await expectEvent({ decky: 'e2h-www', service: 'http', event: 'auth_attempt', secret_kind: 'http_basic', ...cred('basicuser', 'basic-pw'), src_ip: GATEWAY });
  });

  it('ftp (ftp client, curl): the configured 220 line, USER/PASS logged, anonymous listing', async () => {
    const r = await sh(`printf 'user ftpuser ftp-pw\\nquit\\n' | timeout 20 ftp -n -v ${IP.www}`);
    expect(r.stdout).toMatch(new RegExp(`^220 ${P.ftpBanner.replace(/[().]/g, '\\$&')}$`, 'm'));
    expect(r.stdout).toMatch(/^530 /m);
    await expectEvent({ decky: 'e2h-www', service: 'ftp', event: 'auth_attempt', secret_kind: 'plaintext', ...cred('ftpuser', 'ftp-pw'), success: false, src_ip: GATEWAY, dst_port: 21 });

    const list = await lab('curl', '-sS', '--max-time', '15', '--user', 'anonymous:guest@e2h', `ftp://${IP.www}/`);
    expect(list.code, out(list)).toBe(0);
    expect(list.stdout).toMatch(/^d\S+\s.*\bpub\r?$/m);
    await expectEvent({ decky: 'e2h-www', service: 'ftp', event: 'auth_attempt', ...cred('anonymous', 'guest@e2h'), success: true });
    await expectEvent({ decky: 'e2h-www', service: 'ftp', event: 'command', command: 'LIST', principal: 'anonymous' });
  });

  it('smtp (swaks): the configured 220 banner, AUTH LOGIN credentials and the envelope logged', async () => {
    const r = await lab('swaks', '--server', IP.mail, '--timeout', '15', '--from', 'spy@evil.example', '--to', 'victim@corp.example',
      '--auth', 'LOGIN', '--auth-user', 'mailuser', '--auth-password', 'mail-pw', '--auth-optional');
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout).toContain(`<-  220 ${P.smtpBanner}\n`);
    expect(r.stdout).toMatch(/<-  250 .*queued/);
    await expectEvent({ decky: 'e2h-mail', service: 'smtp', event: 'auth_attempt', secret_kind: 'plaintext', ...cred('mailuser', 'mail-pw'), success: false, src_ip: GATEWAY, dst_port: 25 });
    await expectEvent({ decky: 'e2h-mail', service: 'smtp', event: 'mail', mail_from: 'spy@evil.example', rcpt_to: ['victim@corp.example'], src_ip: GATEWAY });
  });

  it('pop3 (netcat): greeting, USER/PASS logged and refused', async () => {
    const r = await sh(`(sleep 1; printf 'USER popuser\\r\\n'; sleep 1; printf 'PASS pop-pw\\r\\n'; sleep 1; printf 'QUIT\\r\\n'; sleep 1) | nc -w 3 ${IP.mail} 110`);
    const lines = r.stdout.split('\r\n');
    expect(lines[0]).toMatch(/^\+OK /);
    expect(lines[2]).toMatch(/^-ERR /);
    await expectEvent({ decky: 'e2h-mail', service: 'pop3', event: 'auth_attempt', ...cred('popuser', 'pop-pw'), success: false, src_ip: GATEWAY, dst_port: 110 });
  });

  it('redis (redis-cli): INFO shows the configured redis_version, AUTH and SET logged', async () => {
    const info = await lab('redis-cli', '-h', IP.db, 'INFO', 'server');
    expect(info.code, out(info)).toBe(0);
    expect(info.stdout).toMatch(new RegExp(`^redis_version:${P.redisVersion.replace(/\./g, '\\.')}\r?$`, 'm'));
    await lab('redis-cli', '-h', IP.db, '-a', 'redis-pw', '--no-auth-warning', 'PING');
    const set = await lab('redis-cli', '-h', IP.db, 'SET', 'e2h-key', 'e2h-value');
    expect(set.stdout.trim()).toBe('OK');
    await expectEvent({ decky: 'e2h-db', service: 'redis', event: 'auth_attempt', ...cred('default', 'redis-pw'), success: false, src_ip: GATEWAY, dst_port: 6379 });
    await expectEvent({ decky: 'e2h-db', service: 'redis', event: 'command', command: 'SET', argv: ['SET', 'e2h-key', 'e2h-value'], src_ip: GATEWAY });
  });

  it('mysql (mysql client): handshake carries mysql_version, the login is logged then denied', async () => {
    const hello = await sh(`nc -w 2 ${IP.db} 3306 </dev/null | head -c 64`);
    expect(hello.stdout.slice(5)).toMatch(new RegExp(`^${P.mysqlVersion.replace(/\./g, '\\.')}\\0`));

    const r = await lab('mysql', '-h', IP.db, '-u', 'dbuser', '-pdb-pw', '--connect-timeout=10', '-e', 'select 1');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`ERROR 1045 (28000): Access denied for user 'dbuser'@'${GATEWAY}'`);
    const ev = await expectEvent({ decky: 'e2h-db', service: 'mysql', event: 'auth_attempt', principal: 'dbuser', secret_kind: 'mysql_native', success: false, src_ip: GATEWAY, dst_port: 3306 });
    // the logged token is the client's real mysql_native_password answer for "db-pw"
    const sha1 = (...b: Buffer[]) => createHash('sha1').update(Buffer.concat(b)).digest();
    const h1 = sha1(Buffer.from('db-pw'));
    const mask = sha1(Buffer.from(String(ev['scramble_b64']), 'base64'), sha1(h1));
    expect(Buffer.from(String(ev['secret_b64']), 'base64')).toEqual(Buffer.from(h1.map((b, i) => b ^ mask[i]!)));
  });

  it('every event of the fleet comes from the lab namespace, and attackers lists it with the credentials tried', async () => {
    const all = await events();
    expect(all.length).toBeGreaterThan(20);
    expect(new Set(all.map((e) => e.src_ip))).toEqual(new Set([GATEWAY]));
    const r = await ctl(['attackers', '--fleet', FLEET, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ ip: string; deckies: string[]; services: string[]; credentials: Array<{ principal: string; secret?: string; accepted: number }>; commands: Array<{ command: string }> }>;
    expect(rows.map((a) => a.ip)).toEqual([GATEWAY]);
    const a = rows[0]!;
    expect(a.deckies).toEqual(['e2h-db', 'e2h-mail', 'e2h-shell', 'e2h-www']);
    expect(a.services).toEqual(['ftp', 'http', 'mysql', 'pop3', 'redis', 'smtp', 'ssh', 'telnet']);
    const creds = a.credentials.map((c) => `${c.principal}:${c.secret ?? ''}`);
    for (const c of ['root:hunter2', 'bob:wrong-kbd', 'admin:tel123', 'wpadmin:wp-s3cret', 'basicuser:basic-pw', 'ftpuser:ftp-pw', 'anonymous:guest@e2h', 'mailuser:mail-pw', 'popuser:pop-pw', 'default:redis-pw']) expect(creds).toContain(c);
    expect(a.credentials.some((c) => c.principal === 'dbuser')).toBe(true);
    expect(a.credentials.find((c) => c.principal === 'root' && c.secret === 'hunter2')?.accepted).toBe(1);
    expect(a.credentials.every((c) => c.secret !== undefined)).toBe(true);
    expect(a.commands.map((c) => c.command)).toContain('uname -a');
  });
});
