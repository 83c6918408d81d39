/**
 * Executing a prepared plan under the host lock, with a progress display, then
 * waiting for readiness. Shared by `apply` and `delete`.
 */
import { canonicalHash, formatPlan, groupObserved, type Plan, type ResolvedDecky, type SecretBundle } from '@decnet/api';
import { execute, opTarget, type Engine, type ExecutionSummary, type ProgressEvent } from '@decnet/engine';
import { isReady } from './view.js';

export interface Progress {
  onProgress(e: ProgressEvent): void;
  end(): void;
}

/** Plain lines when not a terminal (or -o json: nothing on stdout), a one-line live display on a TTY. */
export function progressReporter(plan: Plan, mode: 'tty' | 'lines' | 'quiet'): Progress {
  const total = plan.ops.length;
  let done = 0;
  const write = (s: string) => process.stderr.write(s);
  return {
    onProgress(e) {
      if (e.kind === 'start') return;
      done += 1;
      const what = `${e.op.op} ${opTarget(e.op)}`;
      if (mode === 'quiet') return;
      if (mode === 'lines' || e.kind === 'failed') {
        if (mode === 'tty') write('\r\x1b[2K');
        const tag = e.kind === 'done' ? 'ok' : e.kind;
        write(`[${done}/${total}] ${tag.padEnd(7)} ${what}${e.error ? `: ${e.error.message}` : ''}${e.ms !== undefined ? ` (${Math.round(e.ms)} ms)` : ''}\n`);
      } else {
        const width = 24;
        const filled = Math.round((done / Math.max(total, 1)) * width);
        write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${what}`.slice(0, (process.stderr.columns ?? 100) - 1));
      }
    },
    end() {
      if (mode === 'tty') write('\r\x1b[2K');
    },
  };
}

export interface WaitResult {
  ready: string[];
  notReady: Array<{ name: string; reason: string }>;
}

/** Poll the engine until every decky is Running with the submitted spec, or the timeout passes. */
export async function waitReady(engine: Engine, hostId: string, deckies: ResolvedDecky[], timeoutMs: number): Promise<WaitResult> {
  const want = new Map(deckies.map((d) => [d.name, canonicalHash(d)]));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const g = groupObserved(await engine.observe(hostId));
    const byName = new Map(g.deckies.map((d) => [d.name, d]));
    const notReady: WaitResult['notReady'] = [];
    const ready: string[] = [];
    for (const [name, hash] of want) {
      const d = byName.get(name);
      if (isReady(d, hash)) ready.push(name);
      else notReady.push({ name, reason: d ? (d.errors[0]?.message ?? `not running (${d.containers.map((c) => `${c.container.name}=${c.container.state}`).join(', ')})`) : 'no containers' });
    }
    if (notReady.length === 0 || Date.now() > deadline) return { ready, notReady };
    await new Promise((r) => setTimeout(r, 300));
  }
}

export async function runPlan(engine: Engine, plan: Plan, opts: { parallelism: number; secrets?: SecretBundle; progress: Progress }): Promise<ExecutionSummary> {
  try {
    return await execute(plan, engine, { parallelism: opts.parallelism, secrets: opts.secrets, onProgress: (e) => opts.progress.onProgress(e) });
  } finally {
    opts.progress.end();
  }
}

/** One paragraph naming what failed and why. */
export function failureReport(s: ExecutionSummary): string {
  const lines: string[] = [];
  if (s.aborted) lines.push(`aborted: ${s.aborted.message}`);
  for (const [name, r] of Object.entries({ ...s.fleets, ...s.deckies })) {
    if (r.status === 'failed' && r.failure) lines.push(`  ${name}: ${r.failure.op} ${r.failure.target} failed: ${r.failure.message}${r.skipped ? ` (${r.skipped} later step${r.skipped > 1 ? 's' : ''} skipped)` : ''}`);
  }
  return lines.join('\n');
}

export { formatPlan };
