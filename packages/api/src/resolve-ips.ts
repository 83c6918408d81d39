/**
 * IP assignment for the deckies of one fleet: explicit IPs are checked (subnet,
 * network/broadcast/gateway, reserved, clashes with each other), deployed deckies
 * keep their IP, the rest is allocated in order around deployed IPs.
 * An explicit IP held by a deployed decky is not a manifest problem but a state
 * conflict: the planner reports it (IpTaken), knowing what --prune removes and
 * which deckies move, and orders a pruned holder before its successor.
 */
import { isIPv4, parseCidr } from './cidr.js';
import { addressProblem, IpAllocator } from './ip-alloc.js';
import type { DeckyEntry } from './resolve-decky.js';
import type { ResolvedDecky, ResolvedFleet } from './types.js';

export interface IpReport {
  (entry: DeckyEntry, code: string, message: string): void;
}

export interface FleetIpInput {
  fleet: ResolvedFleet;
  /** the fleet's spec.reservedIPs (when its manifest is in the submission) */
  fleetReserved: readonly string[];
  /** reserved by the caller (host addresses ...) */
  hostReserved: readonly string[];
  /** entries of this fleet, in submission order */
  entries: readonly DeckyEntry[];
  /** deployed deckies of this fleet */
  observed: readonly ResolvedDecky[];
  describe: (entry: DeckyEntry) => string;
}

/** entry name -> assigned IP (entries with a reported problem are left out). */
export function assignFleetIps(input: FleetIpInput, report: IpReport): Map<string, string> {
  const { fleet, entries, observed } = input;
  const out = new Map<string, string>();
  const cidr = parseCidr(fleet.network.subnet);
  if (!cidr.ok) {
    for (const e of entries) report(e, 'E_FLEET_SUBNET', `fleet ${fleet.name} has an unusable subnet: ${cidr.reason}`);
    return out;
  }
  const subnet = cidr.subnet;
  const gateway = fleet.network.gateway;
  const fleetReserved = new Set(input.fleetReserved);
  const hostReserved = new Set(input.hostReserved);

  const explicitOwner = new Map<string, DeckyEntry>();
  for (const e of entries) {
    const ip = e.spec.ip;
    if (ip === undefined) continue;
    const problem =
      addressProblem(subnet, gateway, ip) ??
      (fleetReserved.has(ip) ? `${ip} is reserved (spec.reservedIPs of fleet ${fleet.name})` : undefined) ??
      (hostReserved.has(ip) ? `${ip} is reserved on this host` : undefined) ??
      (explicitOwner.has(ip) ? `${ip} is already the IP of decky ${input.describe(explicitOwner.get(ip)!)}` : undefined);
    if (problem !== undefined) {
      report(e, 'E_IP', problem);
      continue;
    }
    explicitOwner.set(ip, e);
    out.set(e.name, ip);
  }

  const alloc = new IpAllocator(subnet, gateway, [...fleetReserved, ...hostReserved, ...explicitOwner.keys()]);
  // deployed deckies without an explicit IP keep theirs
  const observedIp = new Map(observed.map((d) => [d.name, d.ip]));
  for (const e of entries) {
    if (e.spec.ip !== undefined) continue;
    const ip = observedIp.get(e.name);
    if (ip !== undefined && isIPv4(ip) && addressProblem(subnet, gateway, ip) === undefined && alloc.take(ip)) out.set(e.name, ip);
  }
  for (const d of observed) alloc.take(d.ip);
  for (const e of entries) {
    if (e.spec.ip !== undefined || out.has(e.name)) continue;
    const r = alloc.next(e.name);
    if (r.ok) out.set(e.name, r.ip);
    else report(e, 'E_IP_EXHAUSTED', r.message);
  }
  return out;
}
