/**
 * MAC assignment for the deckies of one fleet (one LAN): explicit `spec.mac` values
 * are checked (shape, unicast, outside Docker's 02:42, unique on the LAN), deployed
 * deckies keep the MAC they have, the rest get their derived vendor MAC (the next
 * candidate of the same class when one is taken). Pure: no I/O.
 */
import { deriveMac, macClassFor, macProblem, normaliseMac } from './mac-vendors.js';
import type { DeckyEntry } from './resolve-decky.js';
import type { ResolvedDecky } from './types.js';

export interface FleetMacInput {
  /** entries of this fleet, in submission order, with their resolved fields */
  entries: readonly { entry: DeckyEntry; decky: Pick<ResolvedDecky, 'name' | 'fleet' | 'nmapOS' | 'archetype'> }[];
  /** deployed deckies of this fleet */
  observed: readonly ResolvedDecky[];
  describe: (entry: DeckyEntry) => string;
}

/** entry name -> MAC (entries with a reported problem are left out). */
export function assignFleetMacs(input: FleetMacInput, report: (entry: DeckyEntry, code: string, message: string) => void): Map<string, string> {
  const out = new Map<string, string>();
  const owner = new Map<string, string>(); // mac -> decky name
  const submitted = new Set(input.entries.map((x) => x.entry.name));
  // deployed deckies that are not re-submitted keep their MAC on the LAN
  for (const d of input.observed) if (d.mac !== undefined && !submitted.has(d.name)) owner.set(normaliseMac(d.mac), d.name);
  const explicit = new Map<string, DeckyEntry>();
  for (const { entry } of input.entries) {
    const raw = entry.manifest.kind === 'Decky' ? entry.manifest.spec.mac : undefined;
    if (raw === undefined) continue;
    const mac = normaliseMac(raw);
    const problem =
      macProblem(mac) ??
      (explicit.has(mac) ? `${mac} is already the MAC of decky ${input.describe(explicit.get(mac)!)}` : undefined) ??
      (owner.has(mac) ? `${mac} is already the MAC of deployed decky ${owner.get(mac)} on this LAN` : undefined);
    if (problem !== undefined) {
      report(entry, 'E_MAC', problem);
      continue;
    }
    explicit.set(mac, entry);
    out.set(entry.name, mac);
  }
  for (const [mac, e] of explicit) owner.set(mac, e.name);
  const observedMac = new Map(input.observed.filter((d) => d.mac !== undefined).map((d) => [d.name, normaliseMac(d.mac!)]));
  // deployed deckies without an explicit MAC keep theirs (when still free)
  for (const { entry } of input.entries) {
    if (out.has(entry.name)) continue;
    const mac = observedMac.get(entry.name);
    if (mac !== undefined && macProblem(mac) === undefined && !owner.has(mac)) {
      owner.set(mac, entry.name);
      out.set(entry.name, mac);
    }
  }
  for (const { entry, decky } of input.entries) {
    if (out.has(entry.name)) continue;
    const cls = macClassFor(decky.nmapOS, decky.archetype);
    let mac = deriveMac(decky.fleet, decky.name, cls);
    for (let attempt = 1; owner.has(mac); attempt++) mac = deriveMac(decky.fleet, decky.name, cls, attempt);
    owner.set(mac, entry.name);
    out.set(entry.name, mac);
  }
  return out;
}
