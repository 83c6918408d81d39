/**
 * The ioredis client behind a Registry: built from a parsed URL, reconnecting
 * forever with capped backoff, failing commands at once while disconnected (no
 * offline queue: a caller learns "unavailable" now instead of hanging), and
 * mapping every client error to a typed RegistryError without secrets in it.
 */
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { RegistryAuthError, RegistryError, RegistryUnavailable } from './errors.js';
import { parseRegistryUrl, type ParsedRegistryUrl } from './url.js';

/** pino-compatible subset. Only redacted targets and error messages are ever passed. */
export interface RegistryLogger {
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentRegistryLogger: RegistryLogger = { info() {}, warn() {} };

export interface ClientOptions {
  /** extra TLS options for rediss:// (ca, cert, key, servername, rejectUnauthorized) */
  tls?: ConnectionOptions;
  /** default 5000 */
  connectTimeoutMs?: number;
  /** a command without a reply after this long fails as unavailable (default 5000) */
  commandTimeoutMs?: number;
  connectionName?: string;
}

export function clientOptions(p: ParsedRegistryUrl, o: ClientOptions): RedisOptions {
  const opts: RedisOptions = {
    host: p.host,
    port: p.port,
    db: p.db,
    connectTimeout: o.connectTimeoutMs ?? 5000,
    commandTimeout: o.commandTimeoutMs ?? 5000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    connectionName: o.connectionName ?? 'decnet',
    disableClientInfo: true,
  };
  if (p.username !== undefined) opts.username = p.username;
  if (p.password !== undefined) opts.password = p.password;
  if (p.tls) opts.tls = { ...(o.tls ?? {}) };
  return opts;
}

const AUTH = /^(WRONGPASS|NOAUTH|NOPERM|ERR AUTH|ERR invalid password|ERR Client sent AUTH)|\bNOPERM\b/i;

export function isAuthMessage(message: string): boolean {
  return AUTH.test(message);
}

/** Remove every secret from a message (ioredis does not put passwords in errors, but be sure). */
export function scrub(message: string, secrets: readonly (string | null | undefined)[]): string {
  let out = message;
  for (const s of secrets) if (typeof s === 'string' && s.length > 0) out = out.split(s).join('***');
  return out;
}

/** Any error thrown by ioredis -> a typed RegistryError. */
export function mapError(err: unknown, target: string, secrets: readonly (string | undefined)[]): RegistryError {
  if (err instanceof RegistryError) return err;
  const e = err as { name?: string; message?: string; previousErrors?: Array<{ message?: string }> } | undefined;
  // a discarded MULTI says why in its previous errors (e.g. NOPERM)
  const cause = e?.previousErrors?.find((p) => typeof p?.message === 'string')?.message;
  const message = scrub(cause !== undefined ? `${cause} (${String(e?.message)})` : String(e?.message ?? err), secrets);
  if (e?.name === 'ReplyError') {
    if (isAuthMessage(message)) return new RegistryAuthError(message, target);
    return new RegistryError('RegistryCommandFailed', `registry ${target}: ${message}`);
  }
  return new RegistryUnavailable(message, target);
}

export function createClient(p: ParsedRegistryUrl, o: ClientOptions, log: RegistryLogger): Redis {
  const client = new Redis(clientOptions(p, o));
  let up = false;
  let lastError = '';
  // an 'error' listener must exist, or ioredis errors become unhandled events
  client.on('error', (err: Error) => {
    const message = scrub(err.message, [p.password]);
    if (up || message !== lastError) log.warn({ target: p.redacted, err: message }, 'registry connection error');
    up = false;
    lastError = message;
  });
  client.on('close', () => {
    if (up) log.warn({ target: p.redacted }, 'registry connection lost; reconnecting');
    up = false;
  });
  client.on('ready', () => {
    if (!up) log.info({ target: p.redacted }, 'registry connected');
    up = true;
    lastError = '';
  });
  return client;
}

/** Resolve when the client is ready; reject (typed) on an auth error or after timeoutMs. */
export function waitReady(client: Redis, target: string, timeoutMs: number, secrets: readonly (string | undefined)[]): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let lastError = 'no connection yet';
    const done = (err?: RegistryError) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onError = (err: Error) => {
      lastError = scrub(err.message, secrets);
      if (isAuthMessage(lastError)) done(new RegistryAuthError(lastError, target));
    };
    const timer = setTimeout(() => done(new RegistryUnavailable(`not connected after ${timeoutMs} ms (${lastError})`, target)), timeoutMs);
    client.on('ready', onReady);
    client.on('error', onError);
  });
}

export interface OpenOptions extends ClientOptions {
  url: string;
  logger?: RegistryLogger;
  /** true (default): wait until Redis answers (the client is closed when it does not); false: connect in the background */
  waitReady?: boolean;
  readyTimeoutMs?: number;
}

/** A client for a registry URL: parsed, created and (unless waitReady is false) ready. */
export async function openClient(opts: OpenOptions, log: RegistryLogger): Promise<{ client: Redis; parsed: ParsedRegistryUrl }> {
  const parsed = parseRegistryUrl(opts.url);
  const client = createClient(parsed, opts, log);
  if (opts.waitReady !== false) {
    try {
      await waitReady(client, parsed.redacted, opts.readyTimeoutMs ?? 5000, [parsed.password]);
    } catch (e) {
      client.disconnect();
      throw e;
    }
  }
  return { client, parsed };
}
