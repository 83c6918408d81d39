import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('durations', () => {
  it('parses 30s, 15m, 2h and 1d to seconds', () => {
    expect([parseDuration('30s'), parseDuration('15m'), parseDuration('2h'), parseDuration('1d')]).toEqual([30, 900, 7200, 86400]);
  });
  it('rejects other shapes', () => {
    for (const bad of ['', '30', '0s', '1.5h', '1w', ' 1h', '1h ', '-1m', '1h30m', '01m']) expect(parseDuration(bad)).toBeUndefined();
  });
  it('formats the shortest exact form', () => {
    expect([formatDuration(30), formatDuration(900), formatDuration(7200), formatDuration(86400), formatDuration(90)]).toEqual(['30s', '15m', '2h', '1d', '90s']);
    expect(() => formatDuration(0)).toThrow(RangeError);
  });
  it('round-trips any positive number of seconds', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10_000_000 }), (n) => parseDuration(formatDuration(n)) === n));
  });
});
