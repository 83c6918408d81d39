/**
 * Time and randomness behind injected interfaces, so every controller building block
 * is deterministic in tests. `realClock` wraps the process timers; `FakeClock` is a
 * manual clock whose timers fire only when a test advances it.
 */
import { mulberry32 } from '@decnet/api';

/** Opaque handle returned by Clock.setTimeout. */
export type TimerHandle = unknown;

export interface Clock {
  /** milliseconds since the Unix epoch */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** A source of uniformly distributed numbers in [0, 1), like Math.random. */
export type Random = () => number;

/** The process clock. Timers are unref'd so a pending requeue never keeps the process alive. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** Seeded PRNG (mulberry32): same seed, same sequence. For tests and deterministic picks. */
export function seededRandom(seed: number): Random {
  return mulberry32(seed);
}

interface FakeTimer {
  id: number;
  due: number;
  fn: () => void;
}

/**
 * Manual clock. `advance(ms)` moves time forward and fires due timers in order of
 * due time (ties in scheduling order), setting now() to each timer's due time as it
 * fires; timers scheduled by a firing timer fire too if they fall inside the window.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers = new Map<number, FakeTimer>();

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { id, due: this.current + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** number of timers not yet fired or cleared */
  pending(): number {
    return this.timers.size;
  }

  /** due time of the earliest pending timer, if any */
  nextDue(): number | undefined {
    return this.earliest()?.due;
  }

  advance(ms: number): void {
    const target = this.targetOf(ms);
    while (this.fireNext(target));
    this.current = target;
  }

  /** Like advance, but lets promise callbacks run after each fired timer. */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.targetOf(ms);
    do await flushMicrotasks();
    while (this.fireNext(target));
    this.current = target;
    await flushMicrotasks();
  }

  private targetOf(ms: number): number {
    if (ms < 0) throw new RangeError('FakeClock cannot go back in time');
    return this.current + ms;
  }

  /** Fires the earliest timer due by `target`; false when there is none. */
  private fireNext(target: number): boolean {
    const next = this.earliest();
    if (!next || next.due > target) return false;
    this.timers.delete(next.id);
    this.current = Math.max(this.current, next.due);
    next.fn();
    return true;
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers.values()) {
      if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    }
    return best;
  }
}

/** Let queued promise callbacks (and the ones they queue, a few levels deep) run. */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
