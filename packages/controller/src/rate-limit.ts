/**
 * Global token bucket (qps + burst) and the controller's default limiter: the max of a
 * per-key exponential backoff and the bucket, like controller-runtime's default. The
 * bucket protects the Docker engine from retry storms across all deckies at once.
 */
import type { Clock } from './clock.js';
import { KeyedBackoff, type BackoffOptions, type ItemRateLimiter } from './backoff.js';

export interface TokenBucketOptions {
  /** tokens added per second (> 0) */
  qps: number;
  /** bucket size: requests allowed at once after idling (>= 1) */
  burst: number;
  clock: Clock;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;

  constructor(opts: TokenBucketOptions) {
    if (!(opts.qps > 0) || !(opts.burst >= 1)) throw new RangeError('token bucket: qps > 0 and burst >= 1 required');
    this.qps = opts.qps;
    this.burst = opts.burst;
    this.clock = opts.clock;
    this.tokens = opts.burst;
    this.last = opts.clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
      this.last = now;
    }
  }

  /** Takes a token now if one is available. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Reserves a token, possibly in the future: returns how long the caller must wait
   * before using it (0 = now). Reservations queue up, so N callers get spaced delays.
   */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens * 1000) / this.qps);
  }

  /** tokens currently available (may be negative while reservations are outstanding) */
  available(): number {
    this.refill();
    return this.tokens;
  }
}

/** The bucket seen as an item limiter: it keeps no per-key history. */
export class BucketRateLimiter implements ItemRateLimiter {
  constructor(private readonly bucket: TokenBucket) {}
  when(): number {
    return this.bucket.reserve();
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
}

/** Waits as long as the slowest of its limiters says. */
export class MaxOfRateLimiter implements ItemRateLimiter {
  private readonly limiters: ItemRateLimiter[];
  constructor(...limiters: ItemRateLimiter[]) {
    this.limiters = limiters;
  }
  when(key: string): number {
    let d = 0;
    for (const l of this.limiters) d = Math.max(d, l.when(key));
    return d;
  }
  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }
  numRequeues(key: string): number {
    let n = 0;
    for (const l of this.limiters) n = Math.max(n, l.numRequeues(key));
    return n;
  }
}

export interface ControllerRateLimiterOptions {
  clock: Clock;
  backoff?: BackoffOptions;
  /** default 10 */
  qps?: number;
  /** default 100 */
  burst?: number;
}

/** Per-key backoff combined with a global bucket (defaults: 500ms..5min, 10 qps, burst 100). */
export function controllerRateLimiter(opts: ControllerRateLimiterOptions): MaxOfRateLimiter {
  return new MaxOfRateLimiter(
    new KeyedBackoff(opts.backoff),
    new BucketRateLimiter(new TokenBucket({ qps: opts.qps ?? 10, burst: opts.burst ?? 100, clock: opts.clock })),
  );
}
