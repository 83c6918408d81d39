/**
 * Reading and checking the service config file decnet mounts into a service
 * container (SERVICE_CONFIG_PATH, overridable with DECNET_SERVICE_CONFIG).
 */
import { readFileSync } from 'node:fs';
import { DecnetError, SERVICE_CONFIG_PATH, resolvePersona, type Persona, type ServiceRuntimeConfig } from '@decnet/api';

export const CONFIG_ENV = 'DECNET_SERVICE_CONFIG';
export const QUARANTINE_ENV = 'DECNET_QUARANTINE_DIR';
export const DEFAULT_QUARANTINE_DIR = '/tmp/decnet-quarantine';

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env[CONFIG_ENV] || SERVICE_CONFIG_PATH;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validate parsed JSON as a ServiceRuntimeConfig (shape only; values were coerced by decnet). */
export function parseRuntimeConfig(raw: unknown, source = 'service config'): ServiceRuntimeConfig {
  const bad = (what: string) => new DecnetError('E_SERVICE_CONFIG', `${source}: ${what}`, 'the file is written by decnet; recreate the service container');
  if (!isObj(raw)) throw bad('not a JSON object');
  for (const k of ['decky', 'service'] as const) if (typeof raw[k] !== 'string' || !raw[k]) throw bad(`"${k}" must be a non-empty string`);
  const ports = raw['ports'];
  if (!Array.isArray(ports) || ports.length === 0) throw bad('"ports" must be a non-empty array');
  for (const p of ports) {
    if (!isObj(p) || !Number.isInteger(p['port']) || (p['port'] as number) < 0 || (p['port'] as number) > 65535 || (p['proto'] !== 'tcp' && p['proto'] !== 'udp'))
      throw bad(`bad port entry ${JSON.stringify(p)}`);
  }
  const config = raw['config'] ?? {};
  if (!isObj(config)) throw bad('"config" must be an object');
  const hostname = typeof raw['hostname'] === 'string' && raw['hostname'] ? raw['hostname'] : (raw['decky'] as string);
  const persona = raw['persona'];
  if (persona !== undefined && (!isObj(persona) || typeof persona['netbiosName'] !== 'string' || typeof persona['hostname'] !== 'string')) throw bad('"persona" must be a persona object');
  const tlsIds = raw['tls'];
  if (tlsIds !== undefined && (!isObj(tlsIds) || !Object.values(tlsIds).every((v) => isObj(v) && typeof v['cert'] === 'string' && typeof v['key'] === 'string')))
    throw bad('"tls" must map certificate styles to {cert, key}');
  const hostKeys = raw['sshHostKeys'];
  if (hostKeys !== undefined && (!Array.isArray(hostKeys) || !hostKeys.every((k) => typeof k === 'string'))) throw bad('"sshHostKeys" must be a list of private keys');
  return {
    ...(tlsIds !== undefined ? { tls: tlsIds as ServiceRuntimeConfig['tls'] } : {}),
    ...(hostKeys !== undefined ? { sshHostKeys: hostKeys as string[] } : {}),
    decky: raw['decky'] as string,
    fleet: typeof raw['fleet'] === 'string' ? raw['fleet'] : '',
    service: raw['service'] as string,
    hostname,
    ports: ports as ServiceRuntimeConfig['ports'],
    config: config as ServiceRuntimeConfig['config'],
    // a file written by an older decnet has no persona: derive it from what the file says
    persona: (persona as unknown as Persona | undefined) ?? resolvePersona({ hostname, nmapOS: 'linux', services: [{ name: raw['service'] as string, config: config as ServiceRuntimeConfig['config'] }] }),
  };
}

export function loadRuntimeConfig(path: string): ServiceRuntimeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DecnetError('E_SERVICE_CONFIG', `cannot read ${path}: ${(err as Error).message}`, `mount the service config at ${SERVICE_CONFIG_PATH} or set DECNET_SERVICE_CONFIG`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DecnetError('E_SERVICE_CONFIG', `${path}: invalid JSON: ${(err as Error).message}`);
  }
  return parseRuntimeConfig(raw, path);
}
