import { describe, expect, it } from 'vitest';
import { FakeClock, realClock, seededRandom } from './clock.js';

describe('FakeClock', () => {
  it('fires timers in due order and sets now() to each due time', () => {
    const c = new FakeClock(1000);
    const seen: Array<[string, number]> = [];
    c.setTimeout(() => seen.push(['b', c.now()]), 50);
    c.setTimeout(() => seen.push(['a', c.now()]), 10);
    c.setTimeout(() => seen.push(['c', c.now()]), 50);
    c.advance(49);
    expect(seen).toEqual([['a', 1010]]);
    expect(c.now()).toBe(1049);
    c.advance(1);
    expect(seen).toEqual([['a', 1010], ['b', 1050], ['c', 1050]]);
    expect(c.pending()).toBe(0);
  });

  it('fires timers scheduled by timers when they fall inside the window', () => {
    const c = new FakeClock();
    const seen: number[] = [];
    c.setTimeout(() => {
      seen.push(c.now());
      c.setTimeout(() => seen.push(c.now()), 5);
    }, 5);
    c.advance(9);
    expect(seen).toEqual([5]);
    c.advance(1);
    expect(seen).toEqual([5, 10]);
  });

  it('clearTimeout cancels', () => {
    const c = new FakeClock();
    let fired = false;
    const h = c.setTimeout(() => (fired = true), 1);
    c.clearTimeout(h);
    c.advance(10);
    expect(fired).toBe(false);
    expect(() => c.advance(-1)).toThrow(RangeError);
  });

  it('advanceAsync lets promise chains run between timers', async () => {
    const c = new FakeClock();
    const seen: string[] = [];
    c.setTimeout(() => {
      void Promise.resolve().then(() => {
        seen.push(`then@${c.now()}`);
        c.setTimeout(() => seen.push(`t2@${c.now()}`), 1);
      });
    }, 1);
    await c.advanceAsync(5);
    expect(seen).toEqual(['then@1', 't2@2']);
  });
});

describe('seededRandom', () => {
  it('is deterministic per seed and in [0,1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
    expect(seededRandom(43)()).not.toBe(seededRandom(42)());
  });
});

describe('realClock', () => {
  it('fires real timers', async () => {
    const t0 = realClock.now();
    await new Promise<void>((r) => realClock.setTimeout(r, 5));
    expect(realClock.now()).toBeGreaterThanOrEqual(t0 + 4);
  });
});
