/**
 * Placement (pure): which host runs which decky, computed from a registry
 * snapshot and a submission, before anything is written.
 *
 * - `spec.placement.host` pins a decky to a registered host (a NotReady one too:
 *   a warning; it runs there when the host is back).
 * - Otherwise a decky already placed stays on its host across re-applies (even a
 *   NotReady one: nothing is rescheduled silently) unless that host is gone, no
 *   longer matches its hostSelector, or no longer serves its fleet.
 * - New (or displaced) deckies go, in name order, to the Ready host that matches
 *   `placement.hostSelector` (all labels equal), serves the fleet (host label
 *   `decnet.io/fleets`: comma list; absent = any fleet) and has room (load <
 *   capacity), least loaded first: load/capacity, then load, then host id.
 * - Refused before any write (conflicts, data): a decky name held in the cluster by
 *   another fleet, an IP of a fleet held by another decky, a duplicate name in the
 *   submission, an unknown fleet or pinned host, no host available.
 * - A fleet spans hosts: every host with a decky of a fleet gets the fleet spec.
 */
import { canonicalHash, type AlertSecret, type AlertSecretBundle, type ResolvedDecky, type ResolvedFleet, type SecretBundle } from '@decnet/api';
import { sliceContentHash } from './codec.js';
import { ipIndexField } from './keys.js';
import type { CommitEntry, SliceContent } from './registry.js';
import { FLEETS_LABEL, type ClusterSnapshot, type DesiredDecky, type DesiredSlice, type HostInfo } from './types.js';

export type PlacementHost = Pick<HostInfo, 'id' | 'labels' | 'capacity' | 'status'>;

export interface PlacementConflict {
  code: 'DuplicateDecky' | 'NameTaken' | 'IpTaken' | 'UnknownFleet' | 'UnknownHost' | 'NoHostAvailable' | 'PinnedToDrainedHost';
  decky: string;
  message: string;
  hint?: string;
}

export interface PlacementResult {
  /** host of every submitted (or moved) decky */
  assignments: Record<string, string>;
  /** deckies that change host */
  moves: Array<{ decky: string; from: string; to: string }>;
  /** deckies taken out of the cluster (delete/prune) */
  removed: Array<{ decky: string; host: string }>;
  /** new content of every host that has or had a slice */
  slices: Record<string, SliceContent>;
  /** hosts whose slice content changes (sorted); only these are written */
  changed: string[];
  conflicts: PlacementConflict[];
  warnings: string[];
}

export interface PlacementRequest {
  hosts: readonly PlacementHost[];
  /** current desired slices (snapshot.desired) */
  current: Readonly<Record<string, DesiredSlice>>;
  /** fleets of the submission (and known fleets its deckies reference) */
  fleets: readonly ResolvedFleet[];
  deckies: readonly ResolvedDecky[];
  secrets?: SecretBundle;
  /** secrets of the submitted fleets' alert routes */
  alertSecrets?: AlertSecretBundle;
  /** remove deckies of `fleets` that are not submitted */
  prune?: boolean;
  deleteDeckies?: readonly string[];
  deleteFleets?: readonly string[];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function selectorMatches(host: Pick<PlacementHost, 'labels'>, selector: Readonly<Record<string, string>> | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => host.labels[k] === v);
}

export function servesFleet(host: Pick<PlacementHost, 'labels'>, fleet: string): boolean {
  const list = host.labels[FLEETS_LABEL];
  if (list === undefined) return true;
  return list.split(',').map((s) => s.trim()).includes(fleet);
}

/** Where every decky of the cluster is now: name -> host and its desired entry. */
export function currentPlacement(current: Readonly<Record<string, DesiredSlice>>): Map<string, { host: string; entry: DesiredDecky }> {
  const out = new Map<string, { host: string; entry: DesiredDecky }>();
  for (const host of Object.keys(current).sort(cmp)) {
    for (const entry of current[host]!.deckies) if (!out.has(entry.spec.name)) out.set(entry.spec.name, { host, entry });
  }
  return out;
}

/** Picks hosts and tracks their load while a placement is computed. */
export class HostPicker {
  readonly load = new Map<string, number>();
  private readonly byId: Map<string, PlacementHost>;

  constructor(readonly hosts: readonly PlacementHost[]) {
    this.byId = new Map(hosts.map((h) => [h.id, h]));
    for (const h of hosts) this.load.set(h.id, 0);
  }

  get(id: string): PlacementHost | undefined {
    return this.byId.get(id);
  }

  add(id: string, n = 1): void {
    this.load.set(id, (this.load.get(id) ?? 0) + n);
  }

  /** The least-loaded Ready host for a decky, or why there is none. */
  pick(d: ResolvedDecky, exclude?: string): { host: string } | { why: string } {
    const selector = d.placement?.hostSelector;
    const ready = this.hosts.filter((h) => h.status === 'Ready' && h.id !== exclude);
    const matching = ready.filter((h) => selectorMatches(h, selector) && servesFleet(h, d.fleet));
    const room = matching.filter((h) => (this.load.get(h.id) ?? 0) < h.capacity);
    if (room.length === 0) {
      const why =
        ready.length === 0
          ? 'no Ready host'
          : matching.length === 0
            ? `no Ready host matches${selector ? ` hostSelector ${JSON.stringify(selector)} and` : ''} serves fleet ${d.fleet}`
            : `every matching Ready host is full (${matching.map((h) => `${h.id} ${this.load.get(h.id) ?? 0}/${h.capacity}`).join(', ')})`;
      return { why };
    }
    let best = room[0]!;
    for (const h of room.slice(1)) if (better(h, best, this.load)) best = h;
    return { host: best.id };
  }
}

/** a before b: lower load/capacity (cross-multiplied, exact), then lower load, then id. */
function better(a: PlacementHost, b: PlacementHost, load: Map<string, number>): boolean {
  const la = load.get(a.id) ?? 0;
  const lb = load.get(b.id) ?? 0;
  const ra = la * b.capacity;
  const rb = lb * a.capacity;
  if (ra !== rb) return ra < rb;
  if (la !== lb) return la < lb;
  return a.id < b.id;
}

export function place(req: PlacementRequest): PlacementResult {
  const conflicts: PlacementConflict[] = [];
  const warnings: string[] = [];
  const where = currentPlacement(req.current);
  const picker = new HostPicker(req.hosts);
  const submittedFleets = new Map(req.fleets.map((f) => [f.name, f]));

  // --- what leaves the cluster ---
  const submitted = new Map<string, ResolvedDecky>();
  for (const d of [...req.deckies].sort((a, b) => cmp(a.name, b.name))) {
    if (submitted.has(d.name)) conflicts.push({ code: 'DuplicateDecky', decky: d.name, message: `decky ${d.name} is submitted twice` });
    else submitted.set(d.name, d);
  }
  const removing = new Set<string>();
  const delDeckies = new Set(req.deleteDeckies ?? []);
  const delFleets = new Set(req.deleteFleets ?? []);
  for (const [name, { entry }] of where) {
    if (submitted.has(name)) continue;
    if (delDeckies.has(name) || delFleets.has(entry.spec.fleet) || (req.prune && submittedFleets.has(entry.spec.fleet))) removing.add(name);
  }

  // --- collisions ---
  const ipHolder = new Map<string, string>();
  for (const [name, { entry }] of where) if (!removing.has(name)) ipHolder.set(ipIndexField(entry.spec.fleet, entry.spec.ip), name);
  const knownFleets = new Set([...submittedFleets.keys(), ...Object.values(req.current).flatMap((s) => s.fleets.map((f) => f.name))]);
  const blocked = new Set<string>();
  for (const d of submitted.values()) {
    const cur = where.get(d.name);
    if (!knownFleets.has(d.fleet)) conflicts.push({ code: 'UnknownFleet', decky: d.name, message: `decky ${d.name}: fleet ${d.fleet} is neither submitted nor in the registry`, hint: 'submit the Fleet manifest too' });
    else if (cur && cur.entry.spec.fleet !== d.fleet) {
      conflicts.push({ code: 'NameTaken', decky: d.name, message: `decky ${d.name} already exists in fleet ${cur.entry.spec.fleet} on host ${cur.host}`, hint: 'decky names are unique in the cluster: rename it, or delete the other one first' });
    } else continue;
    blocked.add(d.name);
  }
  // IPs, to a fixpoint: a blocked decky keeps its old IP, which may block another one
  const keyOf = (x: ResolvedDecky) => ipIndexField(x.fleet, x.ip);
  for (let again = true; again; ) {
    again = false;
    const claimed = new Map<string, string>();
    for (const d of submitted.values()) {
      if (blocked.has(d.name)) continue;
      const key = keyOf(d);
      const holder = ipHolder.get(key);
      const h = holder === undefined ? undefined : submitted.get(holder);
      const released = holder === undefined || holder === d.name || (h !== undefined && !blocked.has(holder) && keyOf(h) !== key);
      const twin = claimed.get(key);
      if (released && twin === undefined) {
        claimed.set(key, d.name);
        continue;
      }
      const by = twin ?? holder!;
      conflicts.push({
        code: 'IpTaken',
        decky: d.name,
        message: `decky ${d.name}: IP ${d.ip} of fleet ${d.fleet} is ${twin !== undefined ? `also claimed by submitted decky ${by}` : `held by decky ${by} (host ${where.get(by)?.host ?? '?'})`}`,
        hint: 'choose another IP or leave spec.ip out to allocate one',
      });
      blocked.add(d.name);
      again = true;
      break;
    }
  }

  // --- who stays, who (re)moves ---
  const assignments: Record<string, string> = {};
  const moves: PlacementResult['moves'] = [];
  const kept = new Map<string, { host: string; entry: DesiredDecky }>();
  for (const [name, at] of where) {
    if (removing.has(name)) continue;
    const d = submitted.get(name);
    if (d && !blocked.has(name)) {
      const host = picker.get(at.host);
      const pin = d.placement?.host;
      const stays = host !== undefined && (pin === undefined || pin === at.host) && (pin !== undefined || (selectorMatches(host, d.placement?.hostSelector) && servesFleet(host, d.fleet)));
      if (!stays) continue;
      assignments[name] = at.host;
    }
    kept.set(name, at);
    picker.add(at.host);
  }
  for (const d of submitted.values()) {
    if (blocked.has(d.name) || assignments[d.name] !== undefined) continue;
    const pin = d.placement?.host;
    let host: string | undefined;
    if (pin !== undefined) {
      const h = picker.get(pin);
      if (!h) {
        conflicts.push({ code: 'UnknownHost', decky: d.name, message: `decky ${d.name} is pinned to host ${pin}, which is not registered`, hint: 'start its controller with --registry, or change spec.placement.host' });
        continue;
      }
      if (h.status !== 'Ready') warnings.push(`decky ${d.name} is pinned to host ${pin}, which is NotReady: it runs when the host is back`);
      if ((picker.load.get(pin) ?? 0) >= h.capacity) warnings.push(`host ${pin} is over its capacity (${h.capacity}) with pinned decky ${d.name}`);
      host = pin;
    } else {
      const r = picker.pick(d);
      if ('why' in r) {
        conflicts.push({ code: 'NoHostAvailable', decky: d.name, message: `decky ${d.name}: ${r.why}`, hint: 'register more hosts, raise capacity, or relax placement.hostSelector' });
        continue;
      }
      host = r.host;
    }
    assignments[d.name] = host;
    picker.add(host);
    const was = where.get(d.name);
    if (was && was.host !== host) moves.push({ decky: d.name, from: was.host, to: host });
  }

  // --- new slices ---
  const anyFleet = new Map<string, ResolvedFleet>();
  for (const s of Object.values(req.current)) for (const f of s.fleets) if (!anyFleet.has(f.name)) anyFleet.set(f.name, f);
  const anyAlertSecrets = new Map<string, Record<string, AlertSecret>>();
  for (const s of Object.values(req.current)) for (const [f, sec] of Object.entries(s.alertSecrets ?? {})) if (!anyAlertSecrets.has(f)) anyAlertSecrets.set(f, sec);
  const fleetSpec = (name: string, host: string): ResolvedFleet | undefined =>
    submittedFleets.get(name) ?? req.current[host]?.fleets.find((f) => f.name === name) ?? anyFleet.get(name);
  const content = new Map<string, { deckies: DesiredDecky[]; secrets: SecretBundle }>();
  const slot = (h: string) => content.get(h) ?? (content.set(h, { deckies: [], secrets: {} }), content.get(h)!);
  for (const h of Object.keys(req.current)) slot(h);
  for (const [name, at] of kept) {
    if (assignments[name] !== undefined && submitted.has(name) && !blocked.has(name)) continue;
    const s = slot(at.host);
    s.deckies.push(at.entry);
    const sec = req.current[at.host]?.secrets?.[name];
    if (sec) s.secrets[name] = sec;
  }
  for (const [name, host] of Object.entries(assignments)) {
    const d = submitted.get(name)!;
    const prev = where.get(name)?.entry;
    const hash = canonicalHash(d);
    const generation = prev === undefined ? 1 : prev.hash === hash ? prev.generation : prev.generation + 1;
    const s = slot(host);
    s.deckies.push(prev !== undefined && prev.hash === hash ? prev : { spec: d, generation, hash });
    const sec = req.secrets?.[name];
    if (sec && Object.keys(sec).length > 0) s.secrets[name] = sec;
  }
  const slices: Record<string, SliceContent> = {};
  const changed: string[] = [];
  for (const host of [...content.keys()].sort(cmp)) {
    const c = content.get(host)!;
    c.deckies.sort((a, b) => cmp(a.spec.name, b.spec.name));
    const names = [...new Set(c.deckies.map((d) => d.spec.fleet))].sort(cmp);
    const fleets = names.map((n) => fleetSpec(n, host)).filter((f): f is ResolvedFleet => f !== undefined);
    const slice: SliceContent = { fleets, deckies: c.deckies };
    if (Object.keys(c.secrets).length > 0) slice.secrets = c.secrets;
    // every host with a decky of a fleet alerts for its own deckies: each gets the fleet's route secrets
    const alertSecrets: AlertSecretBundle = {};
    for (const f of fleets) {
      const sec = (submittedFleets.has(f.name) ? req.alertSecrets?.[f.name] : undefined) ?? req.current[host]?.alertSecrets?.[f.name] ?? anyAlertSecrets.get(f.name);
      if (sec && f.alerts?.length) alertSecrets[f.name] = sec;
    }
    if (Object.keys(alertSecrets).length > 0) slice.alertSecrets = alertSecrets;
    slices[host] = slice;
    const before = req.current[host];
    if (!before || sliceContentHash(before) !== sliceContentHash(slice)) changed.push(host);
  }
  const removed = [...removing].sort(cmp).map((decky) => ({ decky, host: where.get(decky)!.host }));
  return { assignments, moves, removed, slices, changed, conflicts, warnings };
}

/** The commit entries of a placement: its changed slices, each expected at the snapshot's generation. */
export function placementCommit(result: PlacementResult, snapshot: Pick<ClusterSnapshot, 'desired' | 'epoch'>): { entries: CommitEntry[]; expectedEpoch: number } {
  return {
    expectedEpoch: snapshot.epoch,
    entries: result.changed.map((hostId) => ({ hostId, expectedGeneration: snapshot.desired[hostId]?.generation ?? 0, slice: result.slices[hostId]! })),
  };
}
