import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, KeyedBackoff } from './backoff.js';
import { seededRandom } from './clock.js';

describe('backoffDelay', () => {
  it('doubles from the base up to the cap', () => {
    const o = { baseMs: 100, maxMs: 1000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 60, 5000].map((n) => backoffDelay(n, o))).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('jitter stretches by at most the fraction and never passes the cap', () => {
    const o = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
    expect(backoffDelay(0, o, 0.999)).toBe(150);
    expect(backoffDelay(3, o, 0.999)).toBe(1000);
  });

  it('property: within [min(base*2^n, cap), cap] and monotone in n', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.nat(200),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (base, cap, n, r, jitter) => {
          const o = { baseMs: base, maxMs: cap, jitter };
          const d = backoffDelay(n, o, r);
          const floor = Math.round(Math.min(cap, base * 2 ** n));
          expect(d).toBeGreaterThanOrEqual(floor);
          expect(d).toBeLessThanOrEqual(cap);
          expect(backoffDelay(n + 1, { ...o, jitter: 0 })).toBeGreaterThanOrEqual(backoffDelay(n, { ...o, jitter: 0 }));
        },
      ),
    );
  });
});

describe('KeyedBackoff', () => {
  it('grows per key independently and resets on forget', () => {
    const b = new KeyedBackoff({ baseMs: 10, maxMs: 10_000, jitter: 0 });
    expect([b.when('a'), b.when('a'), b.when('a')]).toEqual([10, 20, 40]);
    expect(b.when('b')).toBe(10);
    expect(b.numRequeues('a')).toBe(3);
    expect(b.peek('a')).toBe(80);
    b.forget('a');
    expect(b.numRequeues('a')).toBe(0);
    expect(b.when('a')).toBe(10);
    expect(b.numRequeues('b')).toBe(1);
  });

  it('draws jitter from the injected random source deterministically', () => {
    const mk = () => new KeyedBackoff({ baseMs: 1000, jitter: 0.5, random: seededRandom(7) });
    const a = mk();
    const b = mk();
    const xs = [a.when('k'), a.when('k'), a.when('k')];
    expect(xs).toEqual([b.when('k'), b.when('k'), b.when('k')]);
    expect(xs[0]).toBeGreaterThanOrEqual(1000);
    expect(xs[0]).toBeLessThanOrEqual(1500);
    expect(xs.some((x, i) => x !== 1000 * 2 ** i)).toBe(true);
  });

  it('rejects nonsense options', () => {
    expect(() => new KeyedBackoff({ baseMs: 0 })).toThrow(RangeError);
    expect(() => new KeyedBackoff({ jitter: 2 })).toThrow(RangeError);
    expect(() => new KeyedBackoff({ factor: 0.5 })).toThrow(RangeError);
  });
});
