/**
 * The secrets of a fleet's alert routes (webhook URLs, HMAC keys, SMTP credentials),
 * kept in `<stateDir>/alerts/<fleet>.json` (0600 in a 0700 dir), never in labels, env
 * or logs. Written by the executor when it creates a fleet's settings volume; read by
 * the controller's alerter, which uses a route only when the stored secret matches the
 * route's `secretsDigest` (an older file never sends to an old URL by mistake).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { alertSecretMatches, DecnetError, type AlertSecret, type FleetSettings } from '@decnet/api';
import { alertSecretsPath } from './paths.js';

export async function readAlertSecrets(stateDir: string, fleet: string): Promise<Record<string, AlertSecret>> {
  try {
    const raw = JSON.parse(await readFile(alertSecretsPath(stateDir, fleet), 'utf8')) as unknown;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
    const out: Record<string, AlertSecret> = {};
    for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
      const s = v as { url?: unknown; secret?: unknown };
      if (s && typeof s.url === 'string') out[name] = typeof s.secret === 'string' ? { url: s.url, secret: s.secret } : { url: s.url };
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * Writes the secrets of every route of `settings`: the given ones, else the stored ones
 * when they still match the route. A route whose secret is neither is an error (nothing written).
 */
export async function writeAlertSecrets(stateDir: string, settings: FleetSettings, given: Record<string, AlertSecret> | undefined): Promise<void> {
  const routes = settings.alerts ?? [];
  const path = alertSecretsPath(stateDir, settings.name);
  const stored = await readAlertSecrets(stateDir, settings.name);
  const out: Record<string, AlertSecret> = {};
  const missing: string[] = [];
  for (const r of routes) {
    const s = [given?.[r.name], stored[r.name]].find((x) => alertSecretMatches(r, x));
    if (s) out[r.name] = s;
    else missing.push(r.name);
  }
  if (missing.length > 0) {
    throw new DecnetError(
      'SecretUnavailable',
      `alert route(s) ${missing.join(', ')} of fleet ${settings.name} need their URL, which is neither given nor in ${path}`,
      'apply the Fleet manifest again with its alert URLs (decnetctl apply -f ...)',
    );
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await chmod(dirname(path), 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(out, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}
