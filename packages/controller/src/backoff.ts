/**
 * Per-key exponential backoff: delay(n) = min(cap, base * factor^n), stretched by up
 * to `jitter` (a fraction) using an injected random source. A success resets the key
 * (`forget`). Used by the work queue (failed reconciles) and crash-loop detection.
 */
import type { Random } from './clock.js';

export interface BackoffOptions {
  /** delay after the first failure, ms (default 500) */
  baseMs?: number;
  /** growth per failure (default 2) */
  factor?: number;
  /** ceiling, ms (default 5 minutes) */
  maxMs?: number;
  /** extra random stretch as a fraction of the delay, 0..1 (default 0.1) */
  jitter?: number;
  /** random source in [0,1) (default Math.random) */
  random?: Random;
}

export const DEFAULT_BACKOFF = { baseMs: 500, factor: 2, maxMs: 5 * 60_000, jitter: 0.1 } as const;

/** Delay for the given zero-based attempt (pure, no jitter unless r is given). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, r = 0): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const factor = opts.factor ?? DEFAULT_BACKOFF.factor;
  const max = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const jitter = opts.jitter ?? DEFAULT_BACKOFF.jitter;
  // factor^attempt overflows to Infinity for large attempts; min() keeps it at the cap
  const raw = Math.min(max, base * Math.pow(factor, Math.max(0, attempt)));
  return Math.round(Math.min(max, raw * (1 + jitter * r)));
}

/** Anything that says how long to wait before retrying a key. */
export interface ItemRateLimiter {
  /** records one more failure of `key` and returns the delay before its retry, ms */
  when(key: string): number;
  /** the key succeeded: reset its history */
  forget(key: string): void;
  /** failures recorded for `key` since it was last forgotten */
  numRequeues(key: string): number;
}

export class KeyedBackoff implements ItemRateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly random: Random;

  constructor(private readonly opts: BackoffOptions = {}) {
    const jitter = opts.jitter ?? DEFAULT_BACKOFF.jitter;
    if ((opts.baseMs ?? 1) <= 0 || (opts.factor ?? 2) < 1 || jitter < 0 || jitter > 1) {
      throw new RangeError('backoff: baseMs > 0, factor >= 1 and 0 <= jitter <= 1 required');
    }
    this.random = opts.random ?? Math.random;
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return backoffDelay(n, this.opts, this.random());
  }

  /** the delay the next failure would get, without recording it or drawing randomness */
  peek(key: string): number {
    return backoffDelay(this.failures.get(key) ?? 0, this.opts, 0);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}
