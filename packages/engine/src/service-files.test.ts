import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDecky, makeService } from '@decnet/api';
import type { CreateContainerOp } from './engine.js';
import { prepareServiceFiles } from './service-files.js';
import { SERVICE_USER } from './mappers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't4-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const svc = makeService('smtp_relay', { config: { smtp_banner: 'ESMTP' }, secretKeys: ['relay_password'] });
const spec = makeDecky('mail-01', 'lab', { services: [svc] });
const op: CreateContainerOp = {
  op: 'create-container',
  wave: 2,
  cause: 'c',
  decky: 'mail-01',
  fleet: 'lab',
  role: 'service',
  service: 'smtp_relay',
  name: 'lab-mail-01-smtp_relay',
  labels: {},
  container: { role: 'service', image: 'x', baseName: 'lab-mail-01', service: svc, hasSecrets: true },
  spec,
};

describe('prepareServiceFiles', () => {
  it('writes the runtime config with secrets and creates the quarantine dir', async () => {
    const path = await prepareServiceFiles(dir, op, { 'mail-01': { smtp_relay: { relay_password: 'hunter2' } } });
    expect(path).toBe(join(dir, 'config/lab/mail-01/smtp_relay.json'));
    const content = JSON.parse(await readFile(path, 'utf8'));
    expect(content).toEqual({
      decky: 'mail-01',
      fleet: 'lab',
      service: 'smtp_relay',
      hostname: spec.hostname,
      ports: svc.ports,
      config: { smtp_banner: 'ESMTP', relay_password: 'hunter2' },
      persona: expect.objectContaining({ hostname: spec.hostname, os: spec.nmapOS }),
      tls: { 'debian-snakeoil': { cert: expect.stringContaining('-----BEGIN CERTIFICATE'), key: expect.stringContaining('PRIVATE KEY') } },
    });
    // readable by the unprivileged service's group only: secrets stay away from others
    const st = await stat(path);
    expect(st.mode & 0o777).toBe(0o640);
    expect(st.gid).toBe(SERVICE_USER.gid);
    expect(st.uid).toBe(process.getuid!());
    expect((await stat(join(dir, 'config/lab'))).mode & 0o777).toBe(0o700);
    // the quarantine dir belongs to the service's user, closed to everyone else
    const q = await stat(join(dir, 'quarantine/lab/mail-01/smtp_relay'));
    expect(q.isDirectory()).toBe(true);
    expect({ uid: q.uid, gid: q.gid, mode: q.mode & 0o777 }).toEqual({ uid: SERVICE_USER.uid, gid: SERVICE_USER.gid, mode: 0o700 });
  });
  it('preserves secret values from the existing file when healing without secrets', async () => {
    const changed = { ...op, container: { ...op.container, service: { ...svc, config: { smtp_banner: 'NEW' } } } } as CreateContainerOp;
    const path = await prepareServiceFiles(dir, changed);
    const content = JSON.parse(await readFile(path, 'utf8'));
    expect(content.config).toEqual({ smtp_banner: 'NEW', relay_password: 'hunter2' });
  });
  it('fails with SecretUnavailable when neither the bundle nor a file has the value', async () => {
    const other = { ...op, decky: 'mail-02', name: 'lab-mail-02-smtp_relay' };
    await expect(prepareServiceFiles(dir, other, {})).rejects.toMatchObject({ code: 'SecretUnavailable' });
  });
  it('writes nothing for a base container', async () => {
    expect(await prepareServiceFiles(dir, { ...op, role: 'base', container: { role: 'base', image: 'i', hostname: 'h', network: 'n', ip: '1.2.3.4', sysctls: {} } })).toBe('');
  });
});

describe('TLS identities made at apply time', () => {
  const opFor = (service: string, config: Record<string, string> = {}, decky = 'web-01'): CreateContainerOp => {
    const s = makeService(service, { config });
    const sp = makeDecky(decky, 'lab', { services: [s] });
    return {
      ...op,
      decky,
      service,
      name: `lab-${decky}-${service}`,
      container: { role: 'service', image: 'x', baseName: `lab-${decky}`, service: s, hasSecrets: false },
      spec: sp,
    };
  };
  const read = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

  it('keeps one certificate per decky and request: the same across re-applies, shared by services the product shares it with', async () => {
    const [a, b] = await Promise.all([prepareServiceFiles(dir, opFor('https')), prepareServiceFiles(dir, opFor('imap'))]);
    const https = (await read(a)).tls['debian-snakeoil'];
    expect((await read(b)).tls['debian-snakeoil'].cert).toBe(https.cert);
    const again = await read(await prepareServiceFiles(dir, opFor('https')));
    expect(again.tls['debian-snakeoil'].cert).toBe(https.cert);
    const x = new X509Certificate(https.cert);
    expect(x.subject).toBe(`CN=${(await read(a)).persona.fqdn}`);
    const files = await readdir(join(dir, 'config/lab/web-01/tls'));
    expect(files).toHaveLength(1);
    expect((await stat(join(dir, 'config/lab/web-01/tls', files[0]!))).mode & 0o777).toBe(0o600);
  });

  it('keeps the ssh host keys of a decky (RSA, ECDSA, Ed25519, 0600) across re-applies; other services get none', async () => {
    const first = (await read(await prepareServiceFiles(dir, opFor('ssh', {}, 'ssh-01')))).sshHostKeys as string[];
    expect(first).toHaveLength(3);
    for (const k of first) expect(k).toContain('-----BEGIN OPENSSH PRIVATE KEY-----');
    const again = (await read(await prepareServiceFiles(dir, opFor('ssh', { users: 'root:toor' }, 'ssh-01')))).sshHostKeys;
    expect(again).toEqual(first);
    expect((await stat(join(dir, 'config/lab/ssh-01/ssh/host-keys.json'))).mode & 0o777).toBe(0o600);
    const other = (await read(await prepareServiceFiles(dir, opFor('ssh', {}, 'ssh-02')))).sshHostKeys;
    expect(other).not.toEqual(first);
    expect((await read(await prepareServiceFiles(dir, opFor('telnet', {}, 'ssh-01')))).sshHostKeys).toBeUndefined();
  });

  it('makes a new one when the names change, none for services without TLS or with the operator certificate', async () => {
    const named = await read(await prepareServiceFiles(dir, opFor('https', { tls_cn: 'portal.example.com' })));
    expect(new X509Certificate(named.tls['debian-snakeoil'].cert).subject).toBe('CN=portal.example.com');
    expect((await read(await prepareServiceFiles(dir, opFor('ssh')))).tls).toBeUndefined();
    const own = named.tls['debian-snakeoil'];
    const withOwn = opFor('https', { tls_cert: own.cert, tls_key: own.key }, 'web-02');
    expect((await read(await prepareServiceFiles(dir, withOwn))).tls).toBeUndefined();
  });

  it("puts the decky's address in the Kubernetes apiserver certificate", async () => {
    const k = opFor('k8s', {}, 'cp-01');
    const content = await read(await prepareServiceFiles(dir, k));
    const x = new X509Certificate(content.tls['kubeadm-apiserver'].cert);
    expect(x.subjectAltName).toContain(`IP Address:${k.spec.ip}`);
    expect(x.issuer).toBe('CN=kubernetes');
  });
});

describe('prepareServiceFiles on an unusable state dir', () => {
  it('fails with a typed StateDirError', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'x');
    await expect(prepareServiceFiles(join(blocker, 'state'), op, { 'mail-01': { smtp_relay: { relay_password: 'x' } } })).rejects.toMatchObject({
      code: 'StateDirError',
    });
  });
});
