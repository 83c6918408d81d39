import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLineParser, parseEventLine, parseEventLines, splitDockerTimestamp } from './event-parse.js';

const src = { host: 'h1', fleet: 'lab', decky: 'web-01', service: 'ssh' };
const ev = { time: '2025-01-01T00:00:00.000Z', decky: 'web-01', service: 'ssh', event: 'connection', src_ip: '10.0.0.9', src_port: 4000, dst_port: 22 };

describe('parseEventLine', () => {
  it('parses a JSON event and enriches host and fleet', () => {
    const r = parseEventLine(JSON.stringify(ev), src);
    expect(r).toEqual({ kind: 'event', event: { ...ev, host: 'h1', fleet: 'lab', severity: 'low' } });
  });

  it('gives every event the collector\'s severity, whatever the service claimed', () => {
    const sev = (o: Record<string, unknown>) => {
      const r = parseEventLine(JSON.stringify({ ...ev, ...o }), src);
      return r.kind === 'event' ? r.event.severity : r.kind;
    };
    expect(sev({ event: 'connection', severity: 'high' })).toBe('low');
    expect(sev({ event: 'name_query' })).toBe('low');
    expect(sev({ event: 'auth_attempt', principal: 'root' })).toBe('medium');
    expect(sev({ event: 'request', service: 'http', method: 'POST' })).toBe('medium');
    expect(sev({ event: 'request', service: 'docker_api', method: 'GET' })).toBe('medium');
    expect(sev({ event: 'request', service: 'docker_api', method: 'POST' })).toBe('high');
    expect(sev({ event: 'request', service: 'k8s', method: 'delete' })).toBe('high');
    expect(sev({ event: 'command', command: 'id' })).toBe('high');
    expect(sev({ event: 'download_attempt' })).toBe('high');
    expect(sev({ event: 'mail' })).toBe('high');
  });

  it('strips a docker timestamp prefix and uses it when the event has no time', () => {
    const { time: _t, ...noTime } = ev;
    const r = parseEventLine(`2025-02-03T04:05:06.123456789Z ${JSON.stringify(noTime)}`, src);
    expect(r.kind === 'event' && r.event.time).toBe('2025-02-03T04:05:06.123Z');
    const r2 = parseEventLine(`2025-02-03T04:05:06.123456789Z ${JSON.stringify(ev)}\r`, src);
    expect(r2.kind === 'event' && r2.event.time).toBe(ev.time);
  });

  it('labels win for host/fleet; decky/service only fill gaps', () => {
    const r = parseEventLine(JSON.stringify({ ...ev, host: 'spoof', fleet: 'x', decky: 'own' }), src);
    expect(r.kind === 'event' && [r.event.host, r.event.fleet, r.event.decky]).toEqual(['h1', 'lab', 'own']);
    const { decky: _d, service: _s, ...bare } = ev;
    const r2 = parseEventLine(JSON.stringify(bare), src);
    expect(r2.kind === 'event' && [r2.event.decky, r2.event.service]).toEqual(['web-01', 'ssh']);
  });

  it('keeps service-specific extra fields', () => {
    const r = parseEventLine(JSON.stringify({ ...ev, event: 'command', command: 'uname -a' }), src);
    expect(r.kind === 'event' && r.event.command).toBe('uname -a');
  });

  it('ignores non-JSON lines, flags JSON that is not an event', () => {
    expect(parseEventLine('listening on 0.0.0.0:22', src)).toEqual({ kind: 'ignored' });
    expect(parseEventLine('{not json', src)).toEqual({ kind: 'ignored' });
    expect(parseEventLine('2025-01-01T00:00:00Z hello', src)).toEqual({ kind: 'ignored' });
    expect(parseEventLine('[1,2]', src)).toEqual({ kind: 'ignored' });
    const bad = parseEventLine(JSON.stringify({ ...ev, src_port: 'x' }), src);
    expect(bad.kind).toBe('invalid');
    expect(bad.kind === 'invalid' && bad.error).toContain('src_port');
    const noTime = parseEventLine(JSON.stringify({ decky: 'd', service: 's', event: 'e' }), {});
    expect(noTime.kind === 'invalid' && noTime.error).toContain('time');
  });

  it('splitDockerTimestamp only takes a real prefix', () => {
    expect(splitDockerTimestamp('2025-01-01T00:00:00+02:00 x')).toEqual({ timestamp: '2025-01-01T00:00:00+02:00', rest: 'x' });
    expect(splitDockerTimestamp('2025-01-01 x')).toEqual({ rest: '2025-01-01 x' });
  });
});

describe('parseEventLines', () => {
  it('counts events, ignored and invalid lines', () => {
    const text = [JSON.stringify(ev), 'banner', '', JSON.stringify({ ...ev, event: 'disconnect' }), '{"decky":1}', ''].join('\n');
    const r = parseEventLines(text, src);
    expect(r.list.map((e) => e.event)).toEqual(['connection', 'disconnect']);
    expect([r.events, r.ignored, r.invalid]).toEqual([2, 1, 1]);
    expect(r.errors).toHaveLength(1);
  });
});

describe('EventLineParser', () => {
  it('property: any chunking of a stream gives the same events as the batch parse', () => {
    const lines = [JSON.stringify(ev), 'noise line', JSON.stringify({ ...ev, event: 'auth_attempt', principal: 'röot€' }), '{"bad":true}', JSON.stringify({ ...ev, event: 'disconnect' })];
    const text = lines.join('\n');
    const bytes = Buffer.from(text);
    const expected = parseEventLines(text, src);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 10 }), (cuts) => {
        const p = new EventLineParser(src);
        const got = [];
        let prev = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          got.push(...p.push(bytes.subarray(prev, c)));
          prev = c;
        }
        got.push(...p.push(bytes.subarray(prev)), ...p.end());
        expect(got).toEqual(expected.list);
        expect(p.stats).toEqual({ events: expected.events, ignored: expected.ignored, invalid: expected.invalid });
      }),
    );
  });

  it('drops over-long lines without buffering them', () => {
    const p = new EventLineParser(src, { maxLineBytes: 100 });
    expect(p.push('x'.repeat(80))).toEqual([]);
    expect(p.push('x'.repeat(80))).toEqual([]);
    expect(p.push('y'.repeat(500))).toEqual([]);
    const out = p.push(`tail\n${JSON.stringify(ev)}\n`);
    expect(out).toHaveLength(1);
    expect(p.stats).toEqual({ events: 1, ignored: 1, invalid: 0 });
  });
});
