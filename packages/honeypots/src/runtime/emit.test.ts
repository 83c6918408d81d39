import { describe, expect, it } from 'vitest';
import { attackerEventSchema } from '@decnet/api';
import { createEmitter, MAX_FIELD_CHARS } from './emit.js';

describe('createEmitter', () => {
  it('writes one schema-valid JSON line per event with decky, service and time', () => {
    const lines: string[] = [];
    const emit = createEmitter({ decky: 'd1', service: 'ssh', write: (l) => lines.push(l), now: () => new Date(0) });
    emit({ event: 'auth_attempt', src_ip: '10.0.0.1', principal: 'root', secret: 'x', success: false });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const ev = attackerEventSchema.parse(JSON.parse(lines[0]!));
    expect(ev).toMatchObject({ time: '1970-01-01T00:00:00.000Z', decky: 'd1', service: 'ssh', principal: 'root', success: false });
  });
  it('never throws, even when the sink or a field does', () => {
    const emit = createEmitter({ decky: 'd', service: 's', write: () => { throw new Error('boom'); } });
    expect(() => emit({ event: 'x' })).not.toThrow();
    const ok: string[] = [];
    const emit2 = createEmitter({ decky: 'd', service: 's', write: (l) => ok.push(l) });
    expect(() => emit2({ event: 'x', big: 1n } as never)).not.toThrow();
  });
  it('clips oversized string fields and cannot be overridden on decky/service', () => {
    const lines: string[] = [];
    const emit = createEmitter({ decky: 'd', service: 's', write: (l) => lines.push(l) });
    emit({ event: 'command', command: 'a'.repeat(MAX_FIELD_CHARS * 2), decky: 'evil' } as never);
    const ev = JSON.parse(lines[0]!);
    expect(ev.decky).toBe('d');
    expect(ev.command.length).toBeLessThan(MAX_FIELD_CHARS + 100);
  });
});
