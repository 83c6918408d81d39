/**
 * The host-side files a service container mounts: its persona config (the only place
 * secret values are written) and its quarantine directory. Written by the executor
 * right before the container is created.
 */
import { chmod, chown, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { DecnetError, type SecretBundle, type ServiceRuntimeConfig } from '@decnet/api';
import type { CertRequest, TlsIdentity } from '@decnet/honeypots/tls-cert';

// node-forge is loaded only when a certificate is planned (not on every CLI start)
const certs = () => import('@decnet/honeypots/tls-cert');
import type { CreateContainerOp } from './engine.js';
import { SERVICE_USER, serviceRuntimeConfig } from './mappers.js';
import { quarantinePath, serviceConfigPath } from './paths.js';

async function readExisting(path: string): Promise<ServiceRuntimeConfig | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as ServiceRuntimeConfig;
    return parsed && typeof parsed === 'object' && parsed.config && typeof parsed.config === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Secret values for a service: from the bundle when given, else preserved from the file
 * the previous container used (healing from labels alone). Missing ones are an error.
 */
export async function resolveSecrets(path: string, op: CreateContainerOp, secrets?: SecretBundle): Promise<Record<string, string>> {
  const c = op.container;
  if (c.role !== 'service' || (!c.hasSecrets && c.service.secretKeys.length === 0)) return {};
  const given = secrets?.[op.decky]?.[c.service.name] ?? {};
  const out: Record<string, string> = {};
  let existing: ServiceRuntimeConfig | undefined;
  const missing: string[] = [];
  for (const key of [...c.service.secretKeys].sort()) {
    let value: unknown = given[key];
    if (value === undefined) {
      existing ??= await readExisting(path);
      value = existing?.config[key];
    }
    if (typeof value === 'string') out[key] = value;
    else missing.push(key);
  }
  if (missing.length > 0) {
    throw new DecnetError(
      'SecretUnavailable',
      `service ${c.service.name} of decky ${op.decky} needs secret value(s) ${missing.join(', ')} that are neither given nor in ${path}`,
      'apply the manifest again with its secrets (decnetctl apply -f ...)',
    );
  }
  return out;
}

/** Writes `<stateDir>/config/.../<service>.json` atomically and makes the quarantine dir. */
export async function prepareServiceFiles(stateDir: string, op: CreateContainerOp, secrets?: SecretBundle): Promise<string> {
  try {
    return await writeServiceFiles(stateDir, op, secrets);
  } catch (err) {
    if (err instanceof DecnetError) throw err;
    throw new DecnetError(
      'StateDirError',
      `cannot write the files of ${op.name} under ${stateDir}: ${(err as Error).message}`,
      'decnet needs a writable state dir (DECNET_STATE_DIR, default /var/lib/decnet)',
    );
  }
}

async function writeServiceFiles(stateDir: string, op: CreateContainerOp, secrets?: SecretBundle): Promise<string> {
  const c = op.container;
  if (c.role !== 'service') return '';
  const path = serviceConfigPath(stateDir, op.fleet, op.decky, c.service.name);
  const content = serviceRuntimeConfig(op, await resolveSecrets(path, op, secrets));
  // parents are root-only (the bind mount of the file works regardless); the file itself is
  // 0640 with the service's group, so the unprivileged service reads it and nobody else does
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tls = await applyTimeIdentity(dirname(path), op, content);
  if (tls) content.tls = tls;
  if (content.service === 'ssh') content.sshHostKeys = await keptSshHostKeys(join(dirname(path), 'ssh'));
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
  await giveTo(tmp, process.getuid?.() ?? 0, SERVICE_USER.gid);
  await chmod(tmp, 0o640);
  await rename(tmp, path);
  // the quarantine dir belongs to the service's user: it writes there, nobody else reads it
  const q = quarantinePath(stateDir, op.fleet, op.decky, c.service.name);
  await mkdir(q, { recursive: true, mode: 0o700 });
  await giveTo(q, SERVICE_USER.uid, SERVICE_USER.gid);
  await chmod(q, 0o700);
  return path;
}

/** chown, with a clear error when decnet lacks the right to hand files to the service's user. */
async function giveTo(path: string, uid: number, gid: number): Promise<void> {
  try {
    await chown(path, uid, gid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    throw new DecnetError(
      'StateDirError',
      `cannot give ${path} to the honeypot user ${SERVICE_USER.uid}:${SERVICE_USER.gid}: ${(err as Error).message}`,
      'service containers run unprivileged and read their files as that uid/gid: run decnet as root (next to dockerd)',
    );
  }
}

const isPem = (v: unknown) => typeof v === 'string' && v.includes('-----BEGIN');

/**
 * The certificate the service presents, made once per decky and request (style and
 * names) and kept in `<decky config dir>/tls/`: a decky shows the same certificate
 * across restarts and healing, and services of one decky that the real product
 * would give the same certificate (Debian's snakeoil for Apache, Dovecot, Postfix,
 * PostgreSQL) share it. None when the operator gave tls_cert/tls_key.
 */
async function applyTimeIdentity(deckyDir: string, op: CreateContainerOp, content: ServiceRuntimeConfig): Promise<Record<string, TlsIdentity> | undefined> {
  if (isPem(content.config['tls_cert']) && isPem(content.config['tls_key'])) return undefined;
  if (!content.persona) return undefined;
  const request = (await certs()).certRequestFor(content.service, content.persona, content.config, op.spec.ip);
  if (!request) return undefined;
  return { [request.style]: await keptIdentity(join(deckyDir, 'tls'), request) };
}

/** Identities being made, by file: services of one decky prepared at once share one. */
const making = new Map<string, Promise<TlsIdentity>>();

async function keptIdentity(dir: string, request: CertRequest): Promise<TlsIdentity> {
  const key = (await certs()).requestKey(request);
  const file = join(dir, `${request.style}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}.json`);
  let p = making.get(file);
  if (!p) {
    p = readOrMake(file, key, request).finally(() => making.delete(file));
    making.set(file, p);
  }
  return p;
}

async function readOrMake(file: string, key: string, request: CertRequest): Promise<TlsIdentity> {
  const dir = dirname(file);
  try {
    const kept = JSON.parse(await readFile(file, 'utf8')) as { request?: string; cert?: unknown; key?: unknown };
    if (kept.request === key && isPem(kept.cert) && isPem(kept.key)) return { cert: kept.cert as string, key: kept.key as string };
  } catch {
    /* none yet, or unreadable: make one */
  }
  const made = (await certs()).selfSignedIdentity(request);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify({ request: key, ...made }) + '\n', { mode: 0o600 });
  await rename(tmp, file);
  return made;
}

/**
 * The decky's ssh host keys: made once (as ssh-keygen -A would) and kept in
 * `<decky config dir>/ssh/host-keys.json` (0600), so they survive restarts, heals and
 * re-applies, as a real server's /etc/ssh keys do.
 */
async function keptSshHostKeys(dir: string): Promise<string[]> {
  const file = join(dir, 'host-keys.json');
  let p = makingKeys.get(file);
  if (!p) {
    p = readOrMakeKeys(file).finally(() => makingKeys.delete(file));
    makingKeys.set(file, p);
  }
  return p;
}

const makingKeys = new Map<string, Promise<string[]>>();

async function readOrMakeKeys(file: string): Promise<string[]> {
  const { makeSshHostKeys, usableHostKeys } = await import('@decnet/honeypots/ssh-host-keys');
  try {
    const kept = JSON.parse(await readFile(file, 'utf8')) as { keys?: unknown[] };
    const usable = usableHostKeys(kept.keys);
    if (usable.length > 0 && usable.length === kept.keys?.length) return usable;
  } catch {
    /* none yet, or unreadable: make them */
  }
  const keys = await makeSshHostKeys();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify({ keys }) + '\n', { mode: 0o600 });
  await rename(tmp, file);
  return keys;
}
