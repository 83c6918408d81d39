/**
 * `apply --registry`: validate, resolve against the whole cluster (every decky of every
 * host is an observed decky, so automatic IPs skip IPs used anywhere), place (pins,
 * hostSelector, least loaded, stable), refuse conflicts before any write, commit the
 * changed desired slices atomically, then wait until every affected host has observed
 * its new slice generation and the submitted deckies are Running. A racing apply makes
 * the commit stale: the submission is resolved and placed again on a fresh snapshot.
 */
import { Flags } from '@oclif/core';
import { DecnetError, formatIssue, resolveManifests, type Manifest, type ManifestIssue, type ResolvedDecky, type ResolvedFleet, type Resolution } from '@decnet/api';
import {
  Registry,
  commitPlacement,
  place,
  rolloutProgress,
  settleDelayMs,
  type ClusterSnapshot,
  type PlacementConflict,
  type PlacementOutcome,
  type RolloutProgress,
} from '@decnet/registry';
import { InvalidSubmissionError } from './apply.js';
import { DECNET_VERSION } from './version.js';

export const registryFlags = {
  registry: Flags.string({ description: 'shard registry for multi-host fleets: redis://[user:pass@]host:port[/db] or rediss://', env: 'DECNET_REGISTRY' }),
  cluster: Flags.string({ description: 'cluster name inside the registry', env: 'DECNET_CLUSTER', default: 'default' }),
};

export async function connectRegistry(flags: { registry?: string; cluster?: string }, opts: { waitReady?: boolean } = {}): Promise<Registry> {
  if (!flags.registry) throw new DecnetError('NoRegistry', 'this command needs --registry URL (or $DECNET_REGISTRY)');
  return Registry.connect({ url: flags.registry, cluster: flags.cluster ?? 'default', connectionName: 'decnetctl', ...(opts.waitReady === false ? { waitReady: false } : {}) });
}

/** Fleets and deckies every desired slice of the cluster holds (a fleet spans hosts: first spec wins). */
export function clusterKnown(s: ClusterSnapshot): { fleets: ResolvedFleet[]; deckies: ResolvedDecky[] } {
  const fleets = new Map<string, ResolvedFleet>();
  const deckies: ResolvedDecky[] = [];
  for (const host of Object.keys(s.desired).sort()) {
    const slice = s.desired[host]!;
    for (const f of slice.fleets) if (!fleets.has(f.name)) fleets.set(f.name, f);
    for (const d of slice.deckies) deckies.push(d.spec);
  }
  return { fleets: [...fleets.values()], deckies };
}

export interface RegistryApplyOptions {
  /** diagnostics (default: stderr) */
  log?: (msg: string) => void;
  prune?: boolean;
  dryRun?: boolean;
  baseImage?: string;
}

export interface RegistryApplyResult extends PlacementOutcome {
  resolution: Resolution;
}

/** Resolve against each snapshot, place, commit (re-placing after a racing commit). Throws InvalidSubmissionError on invalid manifests. */
export async function registryApply(registry: Registry, manifests: readonly Manifest[], opts: RegistryApplyOptions = {}): Promise<RegistryApplyResult> {
  // a registry state that just began (Redis restarted empty, or a new cluster): let live
  // hosts re-register and write their slices back first, or their deckies look unplaced
  const wait = settleDelayMs(await registry.readAll(), Date.now());
  if (wait > 0 && !opts.dryRun) {
    (opts.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(`registry state began moments ago: waiting ${Math.ceil(wait / 1000)} s for live hosts to report their slices before placing`);
    await new Promise((r) => setTimeout(r, wait));
  }
  let resolution: Resolution | undefined;
  let warnings: ManifestIssue[] = [];
  const outcome = await commitPlacement(
    registry,
    (snap) => {
      const known = clusterKnown(snap);
      const r = resolveManifests(manifests, { version: DECNET_VERSION, baseImage: opts.baseImage, knownFleets: known.fleets, observedDeckies: known.deckies });
      if (r.issues.length > 0) throw new InvalidSubmissionError(r.issues);
      resolution = r.resolution;
      warnings = r.warnings;
      const fleets = [...r.resolution.fleets];
      for (const d of r.resolution.deckies) {
        if (fleets.some((f) => f.name === d.fleet)) continue;
        const k = known.fleets.find((f) => f.name === d.fleet);
        if (k) fleets.push(k);
      }
      return place({ hosts: snap.hosts, current: snap.desired, fleets, deckies: r.resolution.deckies, secrets: r.resolution.secrets, ...(r.resolution.alertSecrets ? { alertSecrets: r.resolution.alertSecrets } : {}), prune: opts.prune });
    },
    { dryRun: opts.dryRun },
  );
  for (const w of warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
  return { ...outcome, resolution: resolution! };
}

/** Conflicts in the same shape as the single-host planner's. */
export function formatConflicts(conflicts: readonly PlacementConflict[]): string {
  const out = [`Conflicts (${conflicts.length}):`];
  for (const c of conflicts) {
    out.push(`  ! ${c.code}: ${c.message}`);
    if (c.hint) out.push(`    hint: ${c.hint}`);
  }
  out.push('', `Refused: ${conflicts.length} conflict(s); nothing was written to the registry.`);
  return `${out.join('\n')}\n`;
}

/** The placement as text (dry run, and the summary of a real apply). */
export function formatPlacement(r: RegistryApplyResult): string {
  const before = new Map<string, string>();
  for (const [host, s] of Object.entries(r.snapshot.desired)) for (const d of s.deckies) before.set(d.spec.name, host);
  const lines: string[] = [];
  for (const [name, host] of Object.entries(r.result.assignments).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const was = before.get(name);
    const d = r.resolution.deckies.find((x) => x.name === name);
    const how = was === undefined ? 'new' : was === host ? 'stays' : `moves from ${was}`;
    lines.push(`decky ${name} -> host ${host} (${how}${d ? `, ${d.ip}` : ''})`);
  }
  for (const x of r.result.removed) lines.push(`decky ${x.decky} removed from host ${x.host}`);
  for (const w of r.result.warnings) lines.push(`warning: ${w}`);
  lines.push(r.result.changed.length === 0 ? 'No changes: every desired slice is already as submitted.' : `Slices to write: ${r.result.changed.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** Hosts whose slice holds the given deckies, at their current desired generation. */
export function generationsOf(s: ClusterSnapshot, deckies: readonly string[]): Record<string, number> {
  const want = new Set(deckies);
  const out: Record<string, number> = {};
  for (const [host, slice] of Object.entries(s.desired)) if (slice.deckies.some((d) => want.has(d.spec.name))) out[host] = slice.generation;
  return out;
}

/** Poll the registry until the rollout is done or the timeout passes. */
export async function waitRollout(
  registry: Registry,
  generations: Record<string, number>,
  deckies: readonly string[],
  timeoutMs: number,
  onProgress?: (p: RolloutProgress) => void,
): Promise<RolloutProgress> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    let p: RolloutProgress | undefined;
    try {
      p = rolloutProgress(await registry.readAll(), generations, deckies);
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (p) {
      const fp = JSON.stringify(p);
      if (fp !== last) onProgress?.(p);
      last = fp;
      if (p.done || Date.now() > deadline) return p;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function formatNotReady(p: RolloutProgress): string {
  return [
    ...p.hostsBehind.map((h) => `host ${h.host} (${h.status}) has observed generation ${h.have ?? 'none'} of ${h.want}`),
    ...p.notReady.map((d) => `${d.name} on ${d.host}: ${d.phase} (${d.reason})`),
  ].join('; ');
}

export interface ApplyFlags extends RegistryApplyOptions {
  registry?: string;
  cluster?: string;
  wait: boolean;
  timeoutMs: number;
  timeoutText: string;
  json: boolean;
}

/** The whole `apply --registry` run: prints results, returns the exit status (0 ok, 1 refused/not ready). */
export async function applyWithRegistry(manifests: readonly Manifest[], f: ApplyFlags): Promise<number> {
  const registry = await connectRegistry(f);
  const say = (s: string) => (f.json ? undefined : process.stderr.write(s));
  try {
    const r = await registryApply(registry, manifests, f);
    if (r.result.conflicts.length > 0) {
      process.stderr.write(formatConflicts(r.result.conflicts));
      if (f.json) process.stdout.write(`${JSON.stringify({ ok: false, conflicts: r.result.conflicts }, null, 2)}\n`);
      return 1;
    }
    const names = r.resolution.deckies.map((d) => d.name);
    if (f.dryRun) {
      process.stdout.write(f.json ? `${JSON.stringify({ dryRun: true, assignments: r.result.assignments, moves: r.result.moves, removed: r.result.removed, changed: r.result.changed, warnings: r.result.warnings }, null, 2)}\n` : formatPlacement(r));
      return 0;
    }
    const generations = r.commit ? Object.fromEntries(Object.entries(r.commit.generations).filter(([, g]) => g > 0)) : generationsOf(r.snapshot, names);
    if (!f.json) process.stdout.write(formatPlacement(r) + (r.commit ? `Committed: ${Object.entries(generations).map(([h, g]) => `${h} generation ${g}`).join(', ')} (cluster ${registry.cluster}).\n` : ''));
    let progress: RolloutProgress | undefined;
    if (f.wait && Object.keys(generations).length > 0) {
      say(`waiting for ${Object.keys(generations).length} host(s) to observe their slice and ${names.length} decky(s) to be Running ...\n`);
      progress = await waitRollout(registry, generations, names, f.timeoutMs, (p) => !p.done && say(`  pending: ${formatNotReady(p)}\n`));
      if (!f.json) process.stdout.write(progress.done ? `${names.length} decky(s) Running on ${Object.keys(generations).length} host(s).\n` : `Not ready after ${f.timeoutText}: ${formatNotReady(progress)}\n`);
    }
    if (f.json) process.stdout.write(`${JSON.stringify({ ok: progress?.done ?? true, assignments: r.result.assignments, moves: r.result.moves, removed: r.result.removed, generations, progress }, null, 2)}\n`);
    return progress && !progress.done ? 1 : 0;
  } finally {
    await registry.close();
  }
}

/** `delete host H...`: refuses a host whose desired slice still has deckies unless force (they are forgotten, not moved). */
export async function deleteHosts(ids: readonly string[], f: { registry?: string; cluster?: string; force?: boolean }): Promise<string> {
  if (ids.length === 0) throw new DecnetError('InvalidArgument', 'name the host(s) to delete');
  const registry = await connectRegistry(f);
  try {
    const out: string[] = [];
    for (const id of ids) {
      if (!(await registry.getHost(id)) && !(await registry.readDesired(id))) throw new DecnetError('NotFound', `host ${id} is not in cluster ${registry.cluster}`);
      const { deckies } = await registry.deleteHost(id, { force: f.force === true });
      out.push(`host ${id} deleted from cluster ${registry.cluster}${deckies.length > 0 ? `; its ${deckies.length} decky(s) were forgotten (not moved): ${deckies.join(', ')}` : ''}`);
    }
    return `${out.join('\n')}\n`;
  } finally {
    await registry.close();
  }
}
