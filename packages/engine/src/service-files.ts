/**
 * The host-side files a service container mounts: its persona config (the only place
 * secret values are written) and its quarantine directory. Written by the executor
 * right before the container is created.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DecnetError, type SecretBundle, type ServiceRuntimeConfig } from '@decnet/api';
import type { CreateContainerOp } from './engine.js';
import { serviceRuntimeConfig } from './mappers.js';
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
  // parents are root-only; the file itself must be readable by the service's user
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(content, null, 2) + '\n', { mode: 0o644 });
  await chmod(tmp, 0o644);
  await rename(tmp, path);
  const q = quarantinePath(stateDir, op.fleet, op.decky, c.service.name);
  await mkdir(q, { recursive: true, mode: 0o700 });
  await chmod(q, 0o777);
  return path;
}
