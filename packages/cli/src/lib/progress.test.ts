import { describe, expect, it } from 'vitest';
import { makeDecky, makeFleet, plan } from '@decnet/api';
import type { ProgressEvent } from '@decnet/engine';
import { progressReporter } from './progress.js';

const fleet = makeFleet('lab');
const p = plan({ hostId: 'h', containers: [], networks: [], labs: [] }, { fleets: [fleet], deckies: [makeDecky('a-01', 'lab'), makeDecky('b-02', 'lab')] }, { hostId: 'h' });
const events = (): ProgressEvent[] =>
  p.ops.flatMap((op, index) => [
    { kind: 'start' as const, index, op },
    op.op === 'start-container' && 'decky' in op && op.decky === 'b-02'
      ? { kind: 'failed' as const, index, op, error: { code: 'X', message: 'boom' } }
      : { kind: 'done' as const, index, op, ms: 1 },
  ]);

function capture(mode: 'tty' | 'lines' | 'quiet', rows = 40) {
  let text = '';
  const r = progressReporter(p, mode, { write: (s: string) => (text += s), columns: 200, rows });
  for (const e of events()) r.onProgress(e);
  r.end();
  return text;
}

describe('progress display', () => {
  it('prints one plain line per finished op when not a terminal', () => {
    const lines = capture('lines').trim().split('\n');
    expect(lines).toHaveLength(p.ops.length);
    expect(lines[0]).toMatch(/^\[1\/\d+\] ok +ensure-lab lab/);
    expect(lines.some((l) => /failed +start-container b-02: boom/.test(l))).toBe(true);
  });
  it('keeps one live line per decky on a terminal, ending with each decky state', () => {
    const text = capture('tty');
    expect(text).toContain('\x1b[');
    const final = text.split(/\x1b\[\d+A/).pop()!.replace(/\r\x1b\[2K/g, '').trim().split('\n');
    expect(final.find((l) => l.includes('a-01'))).toMatch(/^ok +a-01 +\d+\/\d+/);
    expect(final.find((l) => l.includes('b-02'))).toMatch(/^FAIL b-02 .*start-container b-02(-\w+)?: boom$/);
    expect(final.at(-1)).toBe(`${p.ops.length}/${p.ops.length} operations`);
  });
  it('falls back to a bar when there are more deckies than rows, and is silent for json', () => {
    expect(capture('tty', 3)).toMatch(/\[#+\.*\] \d+\/\d+/);
    expect(capture('quiet')).toBe('');
  });
});
