/**
 * The apply pipeline shared by `apply`, `diff` and `delete`:
 * observe (all engine reads up front) -> resolve -> plan (pure) -> execute -> wait.
 * Validation and planning happen before any write; a refusal changes nothing.
 */
import {
  DecnetError,
  formatIssues,
  groupObserved,
  plan as makePlan,
  resolveManifests,
  type GroupedState,
  type Manifest,
  type ManifestIssue,
  type ObservedState,
  type Plan,
  type PlanOptions,
  type ResolvedDecky,
  type ResolvedFleet,
  type SecretBundle, type AlertSecretBundle,
} from '@decnet/api';
import type { Engine } from '@decnet/engine';
import { DECNET_VERSION } from './version.js';

export interface PrepareOptions {
  hostId: string;
  prune?: boolean;
  force?: boolean;
  /** base image for deckies without spec.baseImage (flag --base-image / $DECNET_BASE_IMAGE) */
  baseImage?: string;
  deleteDeckies?: string[];
  deleteFleets?: string[];
}

export interface Prepared {
  observed: ObservedState;
  grouped: GroupedState;
  /** submitted deckies (resolved) */
  deckies: ResolvedDecky[];
  fleets: ResolvedFleet[];
  secrets: SecretBundle;
  /** secrets of the submitted fleets' alert routes */
  alertSecrets?: AlertSecretBundle;
  plan: Plan;
  /** W_ findings of resolve (a persona telling two stories ...): printed, never fatal */
  warnings: ManifestIssue[];
}

/** Thrown when manifests do not validate/resolve against this host: nothing was changed. */
export class InvalidSubmissionError extends DecnetError {
  constructor(readonly issues: ManifestIssue[]) {
    super('InvalidManifests', `${issues.length} problem${issues.length === 1 ? '' : 's'} in the submission; nothing was applied:\n${formatIssues(issues)}`);
  }
}

/** Fleets already on the host (from network labels) and deckies already deployed (from container labels). */
export function knownState(grouped: GroupedState): { fleets: ResolvedFleet[]; deckies: ResolvedDecky[] } {
  return {
    fleets: grouped.fleets.flatMap((f) => (f.spec ? [f.spec] : [])),
    deckies: grouped.deckies.flatMap((d) => (d.spec ? [d.spec] : [])),
  };
}

/** Observe, resolve and plan. Pure after the single observe call. */
export async function prepare(engine: Engine, manifests: readonly Manifest[], opts: PrepareOptions): Promise<Prepared> {
  const observed = await engine.observe(opts.hostId);
  const grouped = groupObserved(observed);
  const known = knownState(grouped);
  const { resolution, issues, warnings } = resolveManifests(manifests, {
    version: DECNET_VERSION,
    baseImage: opts.baseImage,
    knownFleets: known.fleets,
    observedDeckies: known.deckies,
  });
  if (issues.length > 0) throw new InvalidSubmissionError(issues);
  // deckies may belong to a fleet that exists on the host but was not submitted
  const fleets = [...resolution.fleets];
  for (const d of resolution.deckies) {
    if (!fleets.some((f) => f.name === d.fleet)) {
      const k = known.fleets.find((f) => f.name === d.fleet);
      if (k) fleets.push(k);
    }
  }
  const planOpts: PlanOptions = { hostId: opts.hostId, prune: opts.prune, force: opts.force, deleteDeckies: opts.deleteDeckies, deleteFleets: opts.deleteFleets };
  const plan = makePlan(observed, { fleets, deckies: resolution.deckies }, planOpts);
  return { observed, grouped, deckies: resolution.deckies, fleets, secrets: resolution.secrets, ...(resolution.alertSecrets ? { alertSecrets: resolution.alertSecrets } : {}), plan, warnings };
}

/** Plan a deletion (no submission): deckies by name and/or whole fleets. */
export async function prepareDelete(engine: Engine, hostId: string, target: { deckies?: string[]; fleets?: string[] }, opts: { force?: boolean } = {}): Promise<Prepared> {
  const observed = await engine.observe(hostId);
  const grouped = groupObserved(observed);
  const missing = [
    ...(target.deckies ?? []).filter((n) => !grouped.deckies.some((d) => d.name === n)).map((n) => `decky ${n}`),
    ...(target.fleets ?? []).filter((n) => !grouped.fleets.some((f) => f.name === n) && !grouped.deckies.some((d) => d.fleet === n)).map((n) => `fleet ${n}`),
  ];
  if (missing.length > 0) throw new DecnetError('NotFound', `not found on host ${hostId}: ${missing.join(', ')}`, 'see `decnetctl get deckies` and `decnetctl get fleets`');
  // a fleet whose deckies all go away loses its network: the planner decides that from deleteFleets;
  // for deckies deleted by name, their fleet goes too when nothing of it is left.
  const fleets = new Set(target.fleets ?? []);
  for (const name of target.deckies ?? []) {
    const fleet = grouped.deckies.find((d) => d.name === name)?.fleet;
    if (fleet && grouped.deckies.filter((d) => d.fleet === fleet).every((d) => target.deckies!.includes(d.name))) fleets.add(fleet);
  }
  // --force: the planner then also removes deckies whose labels do not decode (its InvalidLabels hint says so)
  const plan = makePlan(observed, { fleets: [], deckies: [] }, { hostId, force: opts.force, deleteDeckies: target.deckies, deleteFleets: [...fleets] });
  return { observed, grouped, deckies: [], fleets: [], secrets: {}, plan, warnings: [] };
}

/** Images that create-container ops need. */
export function imagesNeeded(plan: Plan): string[] {
  const set = new Set<string>();
  for (const op of plan.ops) if (op.op === 'create-container') set.add(op.container.image);
  return [...set].sort();
}
