/**
 * Executing a prepared plan under the host lock, with a progress display, then
 * waiting for readiness. Shared by `apply` and `delete`.
 */
import { canonicalHash, groupObserved, type Plan, type ResolvedDecky, type SecretBundle, type AlertSecretBundle } from '@decnet/api';
import { execute, type Engine, type ExecutionSummary } from '@decnet/engine';
import type { Progress } from './progress.js';
import { isReady } from './view.js';


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

export async function runPlan(engine: Engine, plan: Plan, opts: { parallelism: number; secrets?: SecretBundle; alertSecrets?: AlertSecretBundle; progress: Progress }): Promise<ExecutionSummary> {
  try {
    return await execute(plan, engine, { parallelism: opts.parallelism, secrets: opts.secrets, ...(opts.alertSecrets ? { alertSecrets: opts.alertSecrets } : {}), onProgress: (e) => opts.progress.onProgress(e) });
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

