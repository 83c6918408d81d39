/**
 * Progress of a plan run. On a terminal: one live line per decky (and per fleet
 * setup), redrawn in place, with a bar when there are more deckies than rows.
 * Not a terminal: one plain line per finished op. -o json: nothing.
 */
import type { Plan } from '@decnet/api';
import { opTarget, type ProgressEvent } from '@decnet/engine';

export interface Progress {
  onProgress(e: ProgressEvent): void;
  end(): void;
}

type Out = { write(s: string): unknown; columns?: number; rows?: number };

interface Row {
  total: number;
  done: number;
  state: 'waiting' | 'working' | 'done' | 'failed';
  note: string;
}

const keyOf = (e: ProgressEvent): string => ('decky' in e.op && e.op.decky ? e.op.decky : `fleet ${e.op.fleet}`);

/** The text of one decky's live line. */
export function rowText(name: string, r: Row, width: number): string {
  const mark = r.state === 'done' ? 'ok  ' : r.state === 'failed' ? 'FAIL' : r.state === 'working' ? '..  ' : '    ';
  return `${mark} ${name.padEnd(width)} ${r.done}/${r.total} ${r.note}`;
}

export function progressReporter(plan: Plan, mode: 'tty' | 'lines' | 'quiet', out: Out = process.stderr): Progress {
  const total = plan.ops.length;
  let done = 0;
  const rows = new Map<string, Row>();
  for (const op of plan.ops) {
    const k = 'decky' in op && op.decky ? op.decky : `fleet ${op.fleet}`;
    const r = rows.get(k) ?? { total: 0, done: 0, state: 'waiting' as const, note: '' };
    r.total += 1;
    rows.set(k, r);
  }
  const width = Math.max(0, ...[...rows.keys()].map((k) => k.length));
  const live = mode === 'tty' && rows.size + 1 < (out.rows ?? 24);
  let drawn = 0;
  const cols = (out.columns ?? 100) - 1;
  const redraw = () => {
    let s = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const [k, r] of rows) s += `\r\x1b[2K${rowText(k, r, width).slice(0, cols)}\n`;
    s += `\r\x1b[2K${done}/${total} operations\n`;
    drawn = rows.size + 1;
    out.write(s);
  };
  return {
    onProgress(e) {
      if (mode === 'quiet') return;
      const r = rows.get(keyOf(e));
      const what = `${e.op.op} ${opTarget(e.op)}`;
      if (e.kind === 'start') {
        if (r && r.state !== 'failed') Object.assign(r, { state: 'working', note: what });
        if (live) redraw();
        return;
      }
      done += 1;
      if (r) {
        r.done += 1;
        if (e.kind === 'failed') Object.assign(r, { state: 'failed', note: `${what}: ${e.error?.message ?? 'failed'}` });
        else if (r.state !== 'failed') Object.assign(r, { state: r.done === r.total ? 'done' : 'working', note: r.done === r.total ? '' : what });
      }
      if (live) return redraw();
      if (mode === 'lines' || e.kind === 'failed') {
        if (mode === 'tty') out.write('\r\x1b[2K');
        const tag = e.kind === 'done' ? 'ok' : e.kind;
        out.write(`[${done}/${total}] ${tag.padEnd(7)} ${what}${e.error ? `: ${e.error.message}` : ''}${e.ms !== undefined ? ` (${Math.round(e.ms)} ms)` : ''}\n`);
      } else {
        const barWidth = 24;
        const filled = Math.round((done / Math.max(total, 1)) * barWidth);
        out.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${done}/${total} ${what}`.slice(0, cols));
      }
    },
    end() {
      if (mode === 'tty' && !live) out.write('\r\x1b[2K');
    },
  };
}
