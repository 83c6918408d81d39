/**
 * Drain (pure): plan moving every decky of one host to other Ready hosts. A moved
 * decky keeps its spec (so its IP and generation); the target must match its
 * hostSelector, serve its fleet (host label `decnet.io/fleets`, absent = any
 * fleet: hosts that declare it are the ones whose NIC reaches that LAN) and have
 * room. A decky pinned to the drained host cannot move: a conflict (change its
 * placement.host first). The drained host keeps an empty slice, so its controller
 * removes what it ran when it sees it.
 */
import { sliceContentHash } from './codec.js';
import { currentPlacement, HostPicker, type PlacementRequest, type PlacementResult } from './placement.js';
import type { SliceContent } from './registry.js';
import type { DesiredDecky } from './types.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function drain(req: Pick<PlacementRequest, 'hosts' | 'current'>, hostId: string): PlacementResult {
  const result: PlacementResult = { assignments: {}, moves: [], removed: [], slices: {}, changed: [], conflicts: [], warnings: [] };
  const source = req.current[hostId];
  if (!source || source.deckies.length === 0) {
    result.warnings.push(`host ${hostId} has no deckies to drain`);
    return result;
  }
  const picker = new HostPicker(req.hosts);
  for (const [, at] of currentPlacement(req.current)) if (at.host !== hostId) picker.add(at.host);
  const moved = new Map<string, DesiredDecky[]>();
  const staying: DesiredDecky[] = [];
  for (const entry of [...source.deckies].sort((a, b) => cmp(a.spec.name, b.spec.name))) {
    const d = entry.spec;
    if (d.placement?.host === hostId) {
      result.conflicts.push({ code: 'PinnedToDrainedHost', decky: d.name, message: `decky ${d.name} is pinned to host ${hostId}`, hint: 'change or remove its spec.placement.host and re-apply, then drain' });
      staying.push(entry);
      continue;
    }
    const r = picker.pick(d, hostId);
    if ('why' in r) {
      result.conflicts.push({ code: 'NoHostAvailable', decky: d.name, message: `decky ${d.name} cannot leave ${hostId}: ${r.why}`, hint: 'register more hosts, raise capacity, or relax placement.hostSelector' });
      staying.push(entry);
      continue;
    }
    picker.add(r.host);
    result.assignments[d.name] = r.host;
    result.moves.push({ decky: d.name, from: hostId, to: r.host });
    moved.set(r.host, [...(moved.get(r.host) ?? []), entry]);
  }
  const fleetOf = (name: string) => Object.values(req.current).flatMap((s) => s.fleets).find((f) => f.name === name);
  const build = (deckies: DesiredDecky[], secretsFrom: Array<Record<string, Record<string, Record<string, string>>> | undefined>): SliceContent => {
    deckies.sort((a, b) => cmp(a.spec.name, b.spec.name));
    const fleets = [...new Set(deckies.map((d) => d.spec.fleet))].sort(cmp).flatMap((n) => fleetOf(n) ?? []);
    const slice: SliceContent = { fleets, deckies };
    const secrets: Record<string, Record<string, Record<string, string>>> = {};
    for (const d of deckies) for (const src of secretsFrom) if (src?.[d.spec.name]) secrets[d.spec.name] = src[d.spec.name]!;
    if (Object.keys(secrets).length > 0) slice.secrets = secrets;
    const alertSecrets: NonNullable<SliceContent['alertSecrets']> = {};
    for (const f of fleets) {
      const sec = Object.values(req.current).map((s) => s.alertSecrets?.[f.name]).find((x) => x !== undefined);
      if (sec && f.alerts?.length) alertSecrets[f.name] = sec;
    }
    if (Object.keys(alertSecrets).length > 0) slice.alertSecrets = alertSecrets;
    return slice;
  };
  for (const [host, entries] of moved) {
    const cur = req.current[host];
    const deckies = [...(cur?.deckies ?? []), ...entries];
    // a target's own fleets come from its slice, moved ones from the source
    result.slices[host] = build(deckies, [cur?.secrets, source.secrets]);
  }
  result.slices[hostId] = build(staying, [source.secrets]);
  for (const host of Object.keys(result.slices).sort(cmp)) {
    const before = req.current[host];
    if (!before || sliceContentHash(before) !== sliceContentHash(result.slices[host]!)) result.changed.push(host);
  }
  return result;
}
