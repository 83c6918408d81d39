import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFrameReader } from './frames.js';
import { ReplyBudget } from './udp.js';

/** 2-byte big-endian length prefix including itself */
const len16 = (b: Buffer) => (b.length < 2 ? undefined : b.readUInt16BE(0) < 2 ? -1 : b.readUInt16BE(0));

describe('frame reader', () => {
  it('reassembles frames split at any point', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 7 })), (bodies, cuts) => {
        const frames = bodies.map((b) => Buffer.concat([Buffer.from([0, b.length + 2]), Buffer.from(b)]));
        const stream = Buffer.concat(frames);
        const got: Buffer[] = [];
        const r = createFrameReader({ frameLength: len16, maxFrame: 64, onFrame: (f) => got.push(f), onError: () => expect.fail('error') });
        let i = 0;
        for (const c of [...cuts, stream.length]) {
          r.push(stream.subarray(i, i + c));
          i += c;
          if (i >= stream.length) break;
        }
        if (i < stream.length) r.push(stream.subarray(i));
        expect(Buffer.concat(got).equals(stream)).toBe(true);
        expect(got.length).toBe(frames.length);
      }),
    );
  });
  it('stops on an oversized or invalid frame and buffers nothing', () => {
    const errs: string[] = [];
    const r = createFrameReader({ frameLength: len16, maxFrame: 64, onFrame: () => expect.fail('frame'), onError: (e) => errs.push(e) });
    r.push(Buffer.from([0xff, 0xff, 1, 2, 3]));
    r.push(Buffer.from([0, 4, 0, 0]));
    expect(errs).toEqual(['overflow']);
    expect(r.buffered).toBe(0);
    const r2 = createFrameReader({ frameLength: len16, maxFrame: 64, onFrame: () => undefined, onError: (e) => errs.push(e) });
    r2.push(Buffer.from([0, 1]));
    expect(errs).toEqual(['overflow', 'invalid']);
    const r3 = createFrameReader({ frameLength: () => undefined, maxFrame: 8, onFrame: () => undefined, onError: (e) => errs.push(e) });
    r3.push(Buffer.alloc(9));
    expect(errs.at(-1)).toBe('overflow');
  });
});

describe('udp reply budget', () => {
  it('allows N replies per source per second and forgets old windows', () => {
    let t = 0;
    const b = new ReplyBudget(3, 2, () => t);
    expect([1, 2, 3, 4].map(() => b.take('a'))).toEqual([true, true, true, false]);
    expect(b.take('b')).toBe(true);
    t = 1000;
    expect(b.take('a')).toBe(true);
    expect(b.take('c')).toBe(true); // table full: reset, never unbounded
  });
  it('answers a burst, then refills at the rate (a flood gets the rate, no more)', () => {
    let t = 0;
    const b = new ReplyBudget(10, 100, () => t, 30);
    expect(Array.from({ length: 40 }, () => b.take('a')).filter(Boolean).length).toBe(30);
    t = 500; // half a second: five more
    expect(Array.from({ length: 40 }, () => b.take('a')).filter(Boolean).length).toBe(5);
    let ok = 0;
    for (t = 1000; t < 11_000; t += 10) if (b.take('a')) ok++;
    expect(ok).toBeGreaterThanOrEqual(99);
    expect(ok).toBeLessThanOrEqual(106); // the rate plus what refilled between the bursts
  });
});
