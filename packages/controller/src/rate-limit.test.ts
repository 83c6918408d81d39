import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';
import { controllerRateLimiter, TokenBucket } from './rate-limit.js';

describe('TokenBucket', () => {
  it('allows a burst, then qps', () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 10, burst: 3, clock });
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
    clock.advance(99);
    expect(b.tryTake()).toBe(false);
    clock.advance(1);
    expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
  });

  it('never holds more than burst after idling', () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 100, burst: 2, clock });
    clock.advance(60_000);
    expect(b.available()).toBe(2);
  });

  it('reserve spaces callers by 1/qps once the burst is used', () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 4, burst: 2, clock });
    expect([b.reserve(), b.reserve(), b.reserve(), b.reserve(), b.reserve()]).toEqual([0, 0, 250, 500, 750]);
    clock.advance(500);
    // two tokens came back but three reservations are still outstanding
    expect(b.reserve()).toBe(500);
  });

  it('rejects bad options', () => {
    const clock = new FakeClock();
    expect(() => new TokenBucket({ qps: 0, burst: 1, clock })).toThrow(RangeError);
    expect(() => new TokenBucket({ qps: 1, burst: 0, clock })).toThrow(RangeError);
  });
});

describe('controllerRateLimiter', () => {
  it('takes the max of per-key backoff and the global bucket', () => {
    const clock = new FakeClock();
    const l = controllerRateLimiter({ clock, qps: 1, burst: 2, backoff: { baseMs: 100, jitter: 0 } });
    expect(l.when('a')).toBe(100); // bucket: 0, backoff 100
    expect(l.when('b')).toBe(100); // bucket: 0 (second burst token)
    expect(l.when('c')).toBe(1000); // bucket empty: 1s
    expect(l.when('a')).toBe(2000); // bucket 2s > backoff 200
    expect(l.numRequeues('a')).toBe(2);
    l.forget('a');
    expect(l.numRequeues('a')).toBe(0);
  });
});
