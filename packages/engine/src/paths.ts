/** Where decnet keeps host-side files (pure path arithmetic; env read only for the default). */
import { join } from 'node:path';
import { DecnetError } from '@decnet/api';

export const DEFAULT_STATE_DIR = '/var/lib/decnet';

/** The state dir: explicit option, else $DECNET_STATE_DIR, else /var/lib/decnet. */
export function resolveStateDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit ?? (env['DECNET_STATE_DIR'] || DEFAULT_STATE_DIR);
}

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function segment(kind: string, value: string): string {
  if (!SAFE_SEGMENT.test(value) || value.includes('..')) {
    throw new DecnetError('InvalidName', `${kind} name ${JSON.stringify(value)} cannot be used in a file path`);
  }
  return value;
}

/** `<stateDir>/config/<fleet>/<decky>/<service>.json`: the persona config a service container reads. */
export function serviceConfigPath(stateDir: string, fleet: string, decky: string, service: string): string {
  return join(stateDir, 'config', segment('fleet', fleet), segment('decky', decky), `${segment('service', service)}.json`);
}

/** `<stateDir>/quarantine/<fleet>/<decky>/<service>`: where a service stores captured payloads. */
export function quarantinePath(stateDir: string, fleet: string, decky: string, service: string): string {
  return join(stateDir, 'quarantine', segment('fleet', fleet), segment('decky', decky), segment('service', service));
}

/** `<stateDir>/locks/<name>.lock` */
export function lockPath(stateDir: string, name: string): string {
  return join(stateDir, 'locks', `${segment('lock', name)}.lock`);
}

/** `<stateDir>/alerts/<fleet>.json`: the secrets (URLs, keys) of a fleet's alert routes, root-only. */
export function alertSecretsPath(stateDir: string, fleet: string): string {
  return join(stateDir, 'alerts', `${segment('fleet', fleet)}.json`);
}

/** `<stateDir>/alerts`: the alert queue and delivery records live below it too. */
export function alertsDir(stateDir: string): string {
  return join(stateDir, 'alerts');
}
