/**
 * Registry connection strings: `redis://[user[:password]@]host[:port][/db]` and
 * `rediss://...` (TLS). The password never leaves this module except inside the
 * ioredis options; everything printable goes through `redactUrl`.
 */
import { RegistryError } from './errors.js';

export interface ParsedRegistryUrl {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
  /** the URL with the password replaced by `***` (safe to log) */
  redacted: string;
}

/** The URL with any password replaced by `***`; never throws, never returns the password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    // an unparsable string may still contain a secret: keep only the scheme
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    return scheme ? `${scheme}://<unparsable>` : '<unparsable registry url>';
  }
}

export function parseRegistryUrl(url: string): ParsedRegistryUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RegistryError('InvalidRegistryUrl', `invalid registry URL ${redactUrl(url)}`, 'expected redis://[user[:password]@]host[:port][/db] or rediss://... for TLS');
  }
  const redacted = redactUrl(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new RegistryError('InvalidRegistryUrl', `registry URL ${redacted}: scheme must be redis:// or rediss://`);
  }
  if (u.hostname === '') throw new RegistryError('InvalidRegistryUrl', `registry URL ${redacted} has no host`);
  if (u.search !== '' || u.hash !== '') throw new RegistryError('InvalidRegistryUrl', `registry URL ${redacted}: query parameters and fragments are not supported`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) throw new RegistryError('InvalidRegistryUrl', `registry URL ${redacted}: database must be a number (got ${JSON.stringify(path)})`);
  const out: ParsedRegistryUrl = { host: u.hostname.replace(/^\[|\]$/g, ''), port, db, tls: u.protocol === 'rediss:', redacted };
  if (u.username !== '') out.username = decodeURIComponent(u.username);
  if (u.password !== '') out.password = decodeURIComponent(u.password);
  return out;
}
