import { DecnetError } from '@decnet/api';

/** Docker could not be reached: the state is *unknown*, so nothing destructive may follow. */
export class EngineUnavailableError extends DecnetError {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(
      'EngineUnavailable',
      message,
      'is dockerd running and DOCKER_HOST right? (scripts/ensure-engine.sh starts a local engine); nothing was changed',
    );
    this.name = 'EngineUnavailableError';
  }
}

/** An engine call that reached Docker and was refused. */
export class EngineError extends DecnetError {
  constructor(
    code: string,
    message: string,
    readonly statusCode?: number,
    hint?: string,
  ) {
    super(code, message, hint);
    this.name = 'EngineError';
  }
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'ENOTSOCK',
  'EACCES',
]);

/** True when an error from the Docker client means "could not talk to the engine". */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof EngineUnavailableError) return true;
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof e.statusCode === 'number') return false;
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  return /socket hang up|timeout|timed out/i.test(msg);
}

/** Maps a Docker client error to a typed DecnetError (never throws). */
export function toEngineError(err: unknown, what: string): DecnetError {
  if (err instanceof DecnetError) return err;
  if (isUnavailable(err)) {
    const detail = err instanceof Error ? err.message : String(err);
    return new EngineUnavailableError(`docker engine unreachable while trying to ${what}: ${detail}`, err);
  }
  const e = (err ?? {}) as { statusCode?: number; json?: { message?: string }; message?: string };
  const detail = (e.json?.message ?? e.message ?? String(err)).trim();
  const status = e.statusCode;
  if (status === 404 && /no such image/i.test(detail)) {
    return new EngineError(
      'ImageNotFound',
      `cannot ${what}: ${detail}`,
      404,
      'build or load it first (scripts/build-runtime-base.sh for the runtime base), or let apply pull it (--pull missing|always)',
    );
  }
  if (status === 404) return new EngineError('NotFound', `cannot ${what}: ${detail}`, 404);
  if (status === 409) return new EngineError('Conflict', `cannot ${what}: ${detail}`, 409);
  return new EngineError('EngineError', `cannot ${what}: ${detail}`, status);
}
