/**
 * Mutation (DOMAIN.md "Mutation"): a decky with a mutation interval periodically gets
 * a new random set of 1-3 services from its archetype's pool (or all services),
 * different from its current set and without two services claiming one port. IP and
 * OS never change. Pure: randomness comes from an injected source.
 */
import type { ServicePort } from '@decnet/api';
import type { Random } from './clock.js';

export interface PickMutationOptions {
  /** the ports a service claims; services sharing a port/proto never go together */
  portsOf?: (service: string) => readonly ServicePort[];
  /** default 1 */
  minServices?: number;
  /** default 3 */
  maxServices?: number;
}

function combinations(items: readonly string[], k: number, emit: (c: string[]) => void): void {
  const pick: string[] = [];
  const rec = (start: number) => {
    if (pick.length === k) return emit([...pick]);
    for (let i = start; i <= items.length - (k - pick.length); i++) {
      pick.push(items[i]!);
      rec(i + 1);
      pick.pop();
    }
  };
  rec(0);
}

function collides(set: readonly string[], portsOf: PickMutationOptions['portsOf']): boolean {
  if (!portsOf) return false;
  const seen = new Set<string>();
  for (const s of set) {
    for (const p of portsOf(s)) {
      const key = `${p.port}/${p.proto}`;
      if (seen.has(key)) return true;
      seen.add(key);
    }
  }
  return false;
}

function index(random: Random, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.floor(random() * n)));
}

/**
 * Every service set a mutation may pick, grouped by size: sorted, deduplicated,
 * port-conflict free and different from `current`.
 */
export function mutationCandidates(current: readonly string[], pool: readonly string[], opts: PickMutationOptions = {}): string[][][] {
  const items = [...new Set(pool)].sort();
  const currentKey = [...new Set(current)].sort().join(',');
  const min = Math.max(1, opts.minServices ?? 1);
  const max = Math.min(items.length, opts.maxServices ?? 3);
  const bySize: string[][][] = [];
  for (let k = min; k <= max; k++) {
    const sets: string[][] = [];
    combinations(items, k, (c) => {
      if (c.join(',') !== currentKey && !collides(c, opts.portsOf)) sets.push(c);
    });
    if (sets.length > 0) bySize.push(sets);
  }
  return bySize;
}

/**
 * A new service set: the size is drawn uniformly among the sizes that have candidates,
 * then a set of that size uniformly. Returns the current set (sorted) unchanged when
 * the pool allows no different set; callers can compare to detect that.
 */
export function pickMutation(
  current: readonly string[],
  pool: readonly string[],
  random: Random,
  opts: PickMutationOptions = {},
): string[] {
  const bySize = mutationCandidates(current, pool, opts);
  if (bySize.length === 0) return [...new Set(current)].sort();
  const sets = bySize[index(random, bySize.length)]!;
  return sets[index(random, sets.length)]!;
}

function toMs(t: string | number | Date): number {
  return t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
}

/** When the next mutation is due (epoch ms), or undefined when the decky does not mutate. */
export function nextMutationAt(since: string | number | Date, intervalSeconds: number | undefined): number | undefined {
  if (intervalSeconds === undefined || !(intervalSeconds > 0)) return undefined;
  const start = toMs(since);
  return Number.isNaN(start) ? Number.NEGATIVE_INFINITY : start + intervalSeconds * 1000;
}

/**
 * Whether a decky is due for mutation: `since` is its last mutation time, or its
 * creation time when it never mutated. No interval (or <= 0) = never. An unparsable
 * `since` counts as due, so the mutation records a valid time.
 */
export function isMutationDue(since: string | number | Date, intervalSeconds: number | undefined, now: string | number | Date): boolean {
  const at = nextMutationAt(since, intervalSeconds);
  return at !== undefined && toMs(now) >= at;
}
