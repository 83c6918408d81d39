import type { AttackerEvent } from '@decnet/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventFolder, foldEvents } from './event-fold.js';

const T = Date.parse('2025-01-01T00:00:00.000Z');
function ev(ms: number, event = 'connection', src_ip = '10.0.0.1', extra: Partial<AttackerEvent> = {}): AttackerEvent {
  return { time: new Date(T + ms).toISOString(), decky: 'd1', service: 'ssh', event, src_ip, src_port: 40000 + ms, ...extra };
}
const brief = (es: AttackerEvent[]) => es.map((e) => `${e.event}@${Date.parse(e.time) - T}${e.count !== undefined ? `x${e.count}` : ''}`);

describe('foldEvents', () => {
  it('folds connections from one source within 1 s, keeping the first event', () => {
    const out = foldEvents([ev(0), ev(100), ev(500), ev(999)]);
    expect(out).toEqual([{ ...ev(0), count: 4 }]);
  });

  it('opens a new group at the window boundary', () => {
    expect(brief(foldEvents([ev(0), ev(999), ev(1000), ev(1500), ev(2100)]))).toEqual(['connection@0x2', 'connection@1000x2', 'connection@2100']);
  });

  it('keys on source, decky, service and event type', () => {
    const out = foldEvents([
      ev(0),
      ev(1, 'connection', '10.0.0.2'),
      ev(2, 'disconnect'),
      ev(3, 'connection', '10.0.0.1', { service: 'http' }),
      ev(4, 'connection', '10.0.0.1', { decky: 'd2' }),
      ev(5),
      ev(6, 'disconnect'),
    ]);
    expect(brief(out)).toEqual(['connection@0x2', 'connection@1', 'disconnect@2x2', 'connection@3', 'connection@4']);
  });

  it('passes other events through in order; a group keeps its first position', () => {
    const out = foldEvents([ev(0), ev(100, 'auth_attempt'), ev(200), ev(300, 'command'), ev(400, 'disconnect')]);
    expect(brief(out)).toEqual(['connection@0x2', 'auth_attempt@100', 'command@300', 'disconnect@400']);
    expect(out[1]!.count).toBeUndefined();
  });

  it('never folds events without src_ip or with a bad time', () => {
    const { src_ip: _s, ...noIp } = ev(0);
    const bad = { ...ev(0), time: 'garbage' };
    expect(foldEvents([noIp, noIp, bad, bad])).toHaveLength(4);
  });

  it('adds up counts of already folded input', () => {
    expect(foldEvents([{ ...ev(0), count: 3 }, ev(10), { ...ev(20), count: 2 }])[0]!.count).toBe(6);
  });

  it('property: counts are conserved, other events keep their order, same-key groups are a window apart', () => {
    const arb = fc.array(
      fc.record({
        dt: fc.integer({ min: 0, max: 700 }),
        type: fc.constantFrom('connection', 'disconnect', 'auth_attempt'),
        ip: fc.constantFrom('a', 'b'),
      }),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(arb, (steps) => {
        let ms = 0;
        const input = steps.map((s) => ev((ms += s.dt), s.type, s.ip));
        const out = foldEvents(input);
        const total = (es: AttackerEvent[]) => es.reduce((n, e) => n + (e.count ?? 1), 0);
        expect(total(out)).toBe(total(input));
        const others = (es: AttackerEvent[]) => es.filter((e) => e.event === 'auth_attempt');
        expect(others(out)).toEqual(others(input));
        const lastStart = new Map<string, number>();
        for (const e of out) {
          if (e.event === 'auth_attempt') continue;
          const k = `${e.src_ip}/${e.event}`;
          const t = Date.parse(e.time);
          if (lastStart.has(k)) expect(t - lastStart.get(k)!).toBeGreaterThanOrEqual(1000);
          lastStart.set(k, t);
        }
        // output is in input order of first events
        const times = out.map((e) => Date.parse(e.time));
        expect(times).toEqual([...times].sort((a, b) => a - b));
      }),
    );
  });
  it('an older event for a key with an open group starts its own group and loses nothing', () => {
    const f = new EventFolder();
    expect(f.push(ev(1000))).toEqual([]);
    expect(brief(f.push(ev(0)))).toEqual(['connection@1000']);
    expect(brief(f.flush())).toEqual(['connection@0']);
  });

  it('property: with times out of order, counts are conserved and streaming equals batch', () => {
    const arb = fc.array(fc.record({ ms: fc.integer({ min: 0, max: 5000 }), ip: fc.constantFrom('a', 'b', 'c'), type: fc.constantFrom('connection', 'command') }), {
      maxLength: 80,
    });
    fc.assert(
      fc.property(arb, fc.integer({ min: 1, max: 20 }), (rows, maxBuffered) => {
        const input = rows.map((r) => ev(r.ms, r.type, r.ip));
        const f = new EventFolder({ maxBuffered });
        const streamed = [...input.flatMap((e) => f.push(e)), ...f.flush()];
        expect(streamed).toEqual(foldEvents(input, { maxBuffered }));
        expect(streamed.reduce((n, e) => n + (e.count ?? 1), 0)).toBe(input.length);
        expect(streamed.filter((e) => e.event === 'command')).toEqual(input.filter((e) => e.event === 'command'));
      }),
    );
  });
});

describe('EventFolder streaming', () => {
  it('holds events behind an open group until a later event closes it', () => {
    const f = new EventFolder();
    expect(f.push(ev(0))).toEqual([]);
    expect(f.push(ev(50, 'auth_attempt'))).toEqual([]);
    expect(f.push(ev(60))).toEqual([]);
    expect(f.pending()).toBe(2);
    expect(brief(f.push(ev(1200, 'command')))).toEqual(['connection@0x2', 'auth_attempt@50', 'command@1200']);
    expect(f.pending()).toBe(0);
  });

  it('tick closes idle groups; flush returns everything', () => {
    const f = new EventFolder();
    f.push(ev(0));
    f.push(ev(10));
    expect(f.tick(T + 999)).toEqual([]);
    expect(brief(f.tick(T + 1000))).toEqual(['connection@0x2']);
    f.push(ev(5000, 'disconnect'));
    expect(brief(f.flush())).toEqual(['disconnect@5000']);
    expect(f.flush()).toEqual([]);
  });

  it('force-closes the oldest group past maxBuffered', () => {
    const f = new EventFolder({ maxBuffered: 3 });
    f.push(ev(0));
    f.push(ev(1, 'command'));
    f.push(ev(2, 'command'));
    expect(brief(f.push(ev(3, 'command')))).toEqual(['connection@0', 'command@1', 'command@2', 'command@3']);
  });
});
