import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LogDemuxer, encodeFrame } from './log-demux.js';

describe('LogDemuxer', () => {
  it('splits frames into lines per stream and parses timestamps', () => {
    const d = new LogDemuxer(true);
    const bytes = Buffer.concat([
      encodeFrame('stdout', '2026-01-01T00:00:00.123456789Z hello\n'),
      encodeFrame('stderr', '2026-01-01T00:00:01Z oops\n'),
    ]);
    expect(d.push(bytes)).toEqual([
      { stream: 'stdout', time: '2026-01-01T00:00:00.123456789Z', line: 'hello' },
      { stream: 'stderr', time: '2026-01-01T00:00:01Z', line: 'oops' },
    ]);
  });
  it('waits for incomplete headers and payloads', () => {
    const d = new LogDemuxer(false);
    const frame = encodeFrame('stdout', 'abc\n');
    expect(d.push(frame.subarray(0, 5))).toEqual([]);
    expect(d.push(frame.subarray(5, 9))).toEqual([]);
    expect(d.push(frame.subarray(9))).toEqual([{ stream: 'stdout', line: 'abc' }]);
  });
  it('joins a line split over frames and flushes a trailing partial line', () => {
    const d = new LogDemuxer(false);
    expect(d.push(Buffer.concat([encodeFrame('stdout', 'ab'), encodeFrame('stdout', 'c\nde')]))).toEqual([{ stream: 'stdout', line: 'abc' }]);
    expect(d.flush()).toEqual([{ stream: 'stdout', line: 'de' }]);
    expect(d.flush()).toEqual([]);
  });
  it('gives the same lines however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.string({ maxLength: 20 })), { maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 50 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.map(([err, s]) => encodeFrame(err ? 'stderr' : 'stdout', `${s.replace(/\n/g, ' ')}\n`)));
          const whole = new LogDemuxer(false).push(bytes);
          const d = new LogDemuxer(false);
          const parts = [];
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const n = cuts[i % cuts.length]!;
            parts.push(...d.push(bytes.subarray(at, at + n)));
            at += n;
          }
          expect(parts).toEqual(whole);
          expect(whole.length).toBe(frames.length);
        },
      ),
    );
  });
});
