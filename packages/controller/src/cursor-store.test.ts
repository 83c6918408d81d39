import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CursorStore, CursorTracker, dockerTimeNs, sinceParam } from './cursor-store.js';
import { scratchDir } from '../../../test-scratch.js';



describe('docker timestamps', () => {
  it('parses nanoseconds exactly, with trimmed trailing zeros and offsets', () => {
    expect(dockerTimeNs('2024-05-01T10:00:00.123456789Z')).toBe(1714557600123456789n);
    expect(dockerTimeNs('2024-05-01T10:00:00.12Z')).toBe(1714557600120000000n);
    expect(dockerTimeNs('2024-05-01T10:00:00Z')).toBe(1714557600000000000n);
    expect(dockerTimeNs('2024-05-01T12:00:00.5+02:00')).toBe(1714557600500000000n);
    expect(dockerTimeNs('yesterday')).toBeUndefined();
  });

  it('renders since as seconds.nanoseconds without float loss', () => {
    expect(sinceParam('2024-05-01T10:00:00.000000001Z')).toBe('1714557600.000000001');
    expect(sinceParam('2024-05-01T10:00:00.9Z')).toBe('1714557600.900000000');
    expect(sinceParam('nope')).toBeUndefined();
  });
});

const T1 = '2024-05-01T10:00:00.1Z';
const T2 = '2024-05-01T10:00:00.2Z';
const T3 = '2024-05-01T10:00:00.3Z';

describe('CursorTracker', () => {
  it('without a start cursor takes every line and counts lines sharing a timestamp', () => {
    const t = new CursorTracker(undefined);
    expect([T1, T2, T2, undefined].map((x) => t.accept(x))).toEqual([true, true, true, true]);
    expect(t.cursor).toEqual({ time: T2, count: 2 });
  });

  it('skips what Docker repeats at the boundary and nothing more', () => {
    // a previous stream took T1, T2, T2 (cursor T2 x2); docker resends everything >= T2
    const t = new CursorTracker({ time: T2, count: 2 });
    const resent = [T2, T2, T2, T3];
    expect(resent.map((x) => t.accept(x))).toEqual([false, false, true, true]);
    expect(t.cursor).toEqual({ time: T3, count: 1 });
  });

  it('drops lines older than the cursor and keeps counting a third line at the boundary time', () => {
    const t = new CursorTracker({ time: T2, count: 1 });
    expect([T1, T2, T2].map((x) => t.accept(x))).toEqual([false, false, true]);
    expect(t.cursor).toEqual({ time: T2, count: 2 });
  });

  it('a resumed stream after a resumed stream still loses and repeats nothing', () => {
    const log = [T1, T2, T2, T2, T3, T3];
    const taken: number[] = [];
    let cursor: { time: string; count: number } | undefined;
    // read the log in three sessions that end after 2, 4 and all lines
    for (const end of [2, 4, 6]) {
      const t = new CursorTracker(cursor);
      const since = cursor ? dockerTimeNs(cursor.time)! : -1n;
      log.forEach((ts, i) => {
        if (i >= end || dockerTimeNs(ts)! < since) return;
        if (t.accept(ts)) taken.push(i);
      });
      cursor = t.cursor;
    }
    expect(taken).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('CursorStore', () => {
  it('persists atomically and loads what it saved; ignores broken entries and files', async () => {
    const dir = scratchDir('decnet-h11-cursor-');
    const path = join(dir, 'events', 'cursors.json');
    const a = new CursorStore(path);
    expect(await a.load()).toBe(0);
    a.set('c1', { time: T2, count: 2 }, 'web-ssh');
    a.set('c2', { time: T1, count: 1 });
    expect(a.isDirty).toBe(true);
    await a.save();
    expect(a.isDirty).toBe(false);
    const b = new CursorStore(path);
    expect(await b.load()).toBe(2);
    expect(b.get('c1')).toEqual({ time: T2, count: 2, name: 'web-ssh' });
    b.delete('c2');
    await b.save();
    expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')).containers)).toEqual(['c1']);

    writeFileSync(path, JSON.stringify({ version: 1, containers: { ok: { time: T3, count: 1 }, bad: { time: 'x', count: 1 }, neg: { time: T1, count: -1 } } }));
    const c = new CursorStore(path);
    expect(await c.load()).toBe(1);
    writeFileSync(path, '{"version":1,"contai');
    expect(await new CursorStore(path).load()).toBe(0);
  });
});
