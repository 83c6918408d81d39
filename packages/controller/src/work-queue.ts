/**
 * A controller-runtime style work queue of string keys (decky names).
 *
 * Guarantees (the same as client-go's workqueue):
 *  - a key sits in the queue at most once (`add` deduplicates);
 *  - a key is handed to at most one worker at a time: adding a key that is being
 *    processed marks it dirty, and it is queued again only when that worker calls
 *    `done(key)`;
 *  - FIFO order among queued keys; waiting workers are served in arrival order.
 * Delays (`addAfter`, `addRateLimited`) run on the injected clock; a key waiting with
 * a delay keeps only its earliest ready time.
 */
import { realClock, type Clock, type TimerHandle } from './clock.js';
import type { ItemRateLimiter } from './backoff.js';
import { controllerRateLimiter } from './rate-limit.js';

export interface WorkQueueOptions {
  clock?: Clock;
  /** delay policy for addRateLimited (default: controllerRateLimiter on the same clock) */
  rateLimiter?: ItemRateLimiter;
}

interface Waiting {
  due: number;
  handle: TimerHandle;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly limiter: ItemRateLimiter;
  private readonly queue: string[] = [];
  /** keys that need processing (queued, or re-added while processing) */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, Waiting>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private readonly drainers: Array<() => void> = [];
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? controllerRateLimiter({ clock: this.clock });
  }

  /** Marks `key` for processing. No-op when it is already queued or after shutdown. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds `key` after `ms` (immediately when ms <= 0). An earlier pending time wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const due = this.clock.now() + ms;
    const existing = this.waiting.get(key);
    if (existing) {
      if (existing.due <= due) return;
      this.clock.clearTimeout(existing.handle);
    }
    const handle = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { due, handle });
  }

  /** Adds `key` after the delay its rate limiter gives (records one more failure). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.addAfter(key, this.limiter.when(key));
  }

  /** Clears `key`'s failure history (call after a successful reconcile). */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  /**
   * Waits for the next key and marks it as being processed. Resolves `undefined` once
   * the queue is shut down (workers should then exit).
   */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.startProcessing(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** The worker finished `key`; if it was re-added meanwhile, it is queued again. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
    if (this.processing.size === 0) for (const d of this.drainers.splice(0)) d();
  }

  /** Stops handing out keys: waiting getters get `undefined`, delayed adds are dropped. */
  shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const w of this.waiting.values()) this.clock.clearTimeout(w.handle);
    this.waiting.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }

  /** shutdown(), then resolves once every key being processed is done. */
  shutdownWithDrain(): Promise<void> {
    this.shutdown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainers.push(resolve));
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** keys ready to be handed out */
  len(): number {
    return this.queue.length;
  }

  /** keys waiting for a delay to pass */
  delayed(): number {
    return this.waiting.size;
  }

  /** keys being processed by workers right now */
  inFlight(): number {
    return this.processing.size;
  }

  private enqueue(key: string): void {
    const getter = this.getters.shift();
    if (getter) getter(this.startProcessing(key));
    else this.queue.push(key);
  }

  private startProcessing(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
