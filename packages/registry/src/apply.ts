/**
 * The optimistic placement loop `apply --registry` and `drain host` run: read a
 * consistent snapshot, place (pure), commit the changed slices against the
 * snapshot's epoch; if another writer committed in between (StaleGeneration or
 * PlacementCollision), read again and re-place. Conflicts are returned, never
 * written.
 */
import { PlacementCollision, StaleGeneration } from './errors.js';
import { drain } from './drain.js';
import { place, placementCommit, type PlacementRequest, type PlacementResult } from './placement.js';
import type { CommitResult, Registry } from './registry.js';
import type { ClusterSnapshot } from './types.js';

export interface PlacementOutcome {
  result: PlacementResult;
  snapshot: ClusterSnapshot;
  /** absent when nothing was written (conflicts, no change, dry run) */
  commit?: CommitResult;
  attempts: number;
}

export interface PlacementLoopOptions {
  /** compute and return, write nothing */
  dryRun?: boolean;
  /** default 8 */
  maxAttempts?: number;
}

export async function commitPlacement(
  registry: Registry,
  compute: (snapshot: ClusterSnapshot) => PlacementResult,
  opts: PlacementLoopOptions = {},
): Promise<PlacementOutcome> {
  const max = opts.maxAttempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    const snapshot = await registry.readAll();
    const result = compute(snapshot);
    if (result.conflicts.length > 0 || result.changed.length === 0 || opts.dryRun) return { result, snapshot, attempts: attempt };
    const { entries, expectedEpoch } = placementCommit(result, snapshot);
    try {
      const commit = await registry.commit(entries, { expectedEpoch });
      return { result, snapshot, commit, attempts: attempt };
    } catch (e) {
      if (!(e instanceof StaleGeneration || e instanceof PlacementCollision) || attempt >= max) throw e;
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 10 * attempt)));
    }
  }
}

/** Place a submission (see `place`) and commit it. */
export function applyToRegistry(registry: Registry, req: Omit<PlacementRequest, 'hosts' | 'current'>, opts?: PlacementLoopOptions): Promise<PlacementOutcome> {
  return commitPlacement(registry, (s) => place({ ...req, hosts: s.hosts, current: s.desired }), opts);
}

/** Move every decky of hostId elsewhere (see `drain`) and commit it. */
export function drainHost(registry: Registry, hostId: string, opts?: PlacementLoopOptions): Promise<PlacementOutcome> {
  return commitPlacement(registry, (s) => drain({ hosts: s.hosts, current: s.desired }, hostId), opts);
}
