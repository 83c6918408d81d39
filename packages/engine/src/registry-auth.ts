/**
 * Registry credentials from Docker's own client config ($DOCKER_CONFIG/config.json or
 * ~/.docker/config.json): `auths[host].auth` (base64 user:pass) or username/password,
 * and credential helpers (credsStore / credHelpers) when their binary is on PATH.
 * Parsing is pure; credentials never go into messages, labels or logs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** Registry host of an image ref: the part before the first `/` when it has a `.` or `:` or is localhost, else docker.io. */
export function registryHost(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return DOCKER_HUB;
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : DOCKER_HUB;
}

/** The keys an `auths` entry for this host may have been written under (docker login writes several forms). */
export function authKeys(host: string): string[] {
  if (host === DOCKER_HUB || host === 'index.docker.io' || host === 'registry-1.docker.io') return [DOCKER_HUB_AUTH_KEY, 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1'];
  return [host, `https://${host}`, `http://${host}`, `https://${host}/`, `http://${host}/`, `https://${host}/v1/`, `https://${host}/v2/`];
}

export function serverAddress(host: string): string {
  return host === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : host;
}

/** Where Docker's client config lives. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  return join(env['DOCKER_CONFIG'] ?? join(home, '.docker'), 'config.json');
}

export type AuthLookup =
  | { kind: 'auth'; auth: RegistryAuth }
  | { kind: 'helper'; helper: string; server: string }
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string };

/** Pure: what the config says about credentials for `host` (an inline entry beats a helper, as in docker). */
export function lookupAuth(config: DockerConfig, host: string): AuthLookup {
  const server = serverAddress(host);
  const helper = config.credHelpers?.[host] ?? (host === DOCKER_HUB ? config.credHelpers?.[DOCKER_HUB_AUTH_KEY] : undefined);
  if (helper) return { kind: 'helper', helper, server };
  for (const key of authKeys(host)) {
    const e = config.auths?.[key];
    if (!e) continue;
    if (typeof e.auth === 'string' && e.auth !== '') {
      const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) return { kind: 'invalid', reason: `auths entry for ${host} in the docker config is not base64 of user:password` };
      return { kind: 'auth', auth: { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: server } };
    }
    if (typeof e.username === 'string' && typeof e.password === 'string') return { kind: 'auth', auth: { username: e.username, password: e.password, serveraddress: server } };
  }
  if (config.credsStore) return { kind: 'helper', helper: config.credsStore, server };
  return { kind: 'none' };
}

/** Pure: the JSON a docker-credential-* helper prints for `get`. */
export function parseHelperOutput(out: string, server: string): RegistryAuth | undefined {
  try {
    const j = JSON.parse(out) as { Username?: string; Secret?: string };
    if (typeof j.Username === 'string' && typeof j.Secret === 'string' && j.Secret !== '') return { username: j.Username, password: j.Secret, serveraddress: server };
  } catch {
    // not JSON: no credentials
  }
  return undefined;
}

function onPath(bin: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

export interface ResolvedAuth {
  auth?: RegistryAuth;
  /** why no credentials were used (never contains a credential) */
  hint?: string;
}

/** Credentials for pulling `ref`, read from Docker's config; never throws. */
export function authForImage(ref: string, env: NodeJS.ProcessEnv = process.env): ResolvedAuth {
  const host = registryHost(ref);
  const path = dockerConfigPath(env);
  let config: DockerConfig;
  try {
    if (!existsSync(path)) return {};
    config = JSON.parse(readFileSync(path, 'utf8')) as DockerConfig;
  } catch {
    return { hint: `cannot read ${path} (not JSON?): pulling ${host} without credentials` };
  }
  const l = lookupAuth(config ?? {}, host);
  if (l.kind === 'auth') return { auth: l.auth };
  if (l.kind === 'invalid') return { hint: l.reason };
  if (l.kind === 'none') return {};
  const bin = `docker-credential-${l.helper}`;
  const full = onPath(bin, env);
  if (!full) return { hint: `the docker config names credential helper ${l.helper} for ${host} but ${bin} is not on PATH: pulling without credentials (install it, or put an auths entry in ${path})` };
  try {
    const out = execFileSync(full, ['get'], { input: l.server, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'], timeout: 15_000, env });
    const auth = parseHelperOutput(out, l.server);
    return auth ? { auth } : { hint: `${bin} has no credentials for ${host}: pulling without credentials` };
  } catch {
    return { hint: `${bin} get failed for ${host}: pulling without credentials` };
  }
}
