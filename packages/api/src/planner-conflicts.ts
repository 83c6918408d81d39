/**
 * Refusals the planner finds before building: duplicate or contradictory
 * submissions, names held by another fleet or by foreign containers, IPs held
 * by other deckies of the same fleet, broken labels. Returned as data.
 */
import { labelValue, LABEL_DECKY } from './labels.js';
import { isOwned, type GroupedState } from './group.js';
import { baseContainerName, serviceContainerName } from './naming.js';
import type { PlanConflict } from './plan-types.js';
import type { ObservedState } from './types.js';
import type { DesiredState, PlanOptions } from './planner.js';

export interface DeckyConflict {
  /** absent when the refusal was already reported for another decky (pairs) */
  conflict?: PlanConflict;
  /** the submitted decky that must not be built */
  decky?: string;
}

function duplicates(names: string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) (seen.has(n) ? dup : seen).add(n);
  return [...dup].sort();
}

export function checkSubmission(desired: DesiredState, opts: PlanOptions): PlanConflict[] {
  const out: PlanConflict[] = [];
  for (const n of duplicates(desired.fleets.map((f) => f.name))) out.push({ code: 'DuplicateName', message: `fleet ${n} is submitted more than once` });
  for (const n of duplicates(desired.deckies.map((d) => d.name))) out.push({ code: 'DuplicateName', message: `decky ${n} is submitted more than once` });
  const deckies = new Set(desired.deckies.map((d) => d.name));
  for (const n of opts.deleteDeckies ?? []) {
    if (deckies.has(n)) out.push({ code: 'DeleteSubmitted', message: `decky ${n} is both submitted and deleted` });
  }
  const fleets = new Set([...desired.fleets.map((f) => f.name), ...desired.deckies.map((d) => d.fleet)]);
  for (const n of opts.deleteFleets ?? []) {
    if (fleets.has(n)) out.push({ code: 'DeleteSubmitted', message: `fleet ${n} is both submitted (or used by a submitted decky) and deleted` });
  }
  return out;
}

export function checkDeckyConflicts(
  g: GroupedState,
  observed: ObservedState,
  desired: DesiredState,
  opts: PlanOptions,
  leaving: ReadonlyMap<string, string>,
  recreated: ReadonlySet<string>,
): DeckyConflict[] {
  const out: DeckyConflict[] = [];
  const obs = new Map(g.deckies.map((d) => [d.name, d]));
  const submitted = new Map(desired.deckies.map((d) => [d.name, d]));
  const submittedFleets = new Set(desired.fleets.map((f) => f.name));
  const knownFleets = new Set([...submittedFleets, ...g.fleets.map((f) => f.name)]);
  const foreignNames = new Set(observed.foreignNames ?? []);
  const sorted = [...desired.deckies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const containersByName = new Map(observed.containers.map((c) => [c.name, c]));
  const key = (fleet: string | undefined, ip: string | undefined) => `${fleet ?? ''}|${ip ?? ''}`;
  const submittedByIp = new Map<string, string[]>();
  for (const E of sorted) submittedByIp.set(key(E.fleet, E.ip), [...(submittedByIp.get(key(E.fleet, E.ip)) ?? []), E.name]);
  const observedByIp = new Map<string, typeof g.deckies>();
  for (const X of g.deckies) {
    const xs = submitted.get(X.name);
    const current = recreated.has(X.fleet ?? '') ? undefined : (X.spec?.ip ?? X.containers.find((c) => c.role === 'base')?.container.ip);
    for (const ip of new Set([current, xs ? xs.ip : X.spec?.ip])) {
      if (ip !== undefined) observedByIp.set(key(X.fleet, ip), [...(observedByIp.get(key(X.fleet, ip)) ?? []), X]);
    }
  }

  for (const D of sorted) {
    if (!knownFleets.has(D.fleet)) {
      out.push({ decky: D.name, conflict: { code: 'UnknownFleet', message: `decky ${D.name}: fleet ${D.fleet} is neither submitted nor present on this host`, hint: `submit the Fleet ${D.fleet} with it` } });
      continue;
    }
    const O = obs.get(D.name);
    if (O && O.fleet !== undefined && O.fleet !== D.fleet && !leaving.has(O.name)) {
      out.push({
        decky: D.name,
        conflict: {
          code: 'NameTaken',
          message: `decky ${D.name} (fleet ${D.fleet}): the name is held by decky ${O.name} of fleet ${O.fleet ?? '(unknown)'} on this host`,
          hint: `decky names are unique per host: rename it, or delete ${O.name} from fleet ${O.fleet ?? '(unknown)'} first`,
        },
      });
      continue;
    }
    if (O && O.errors.length > 0 && opts.force !== true) {
      const first = O.errors.slice(0, 3).map((e) => `${e.container}: ${e.code} (${e.message})`).join('; ');
      out.push({
        decky: D.name,
        conflict: {
          code: 'InvalidLabels',
          message: `decky ${D.name}: will not change it, its labels are invalid: ${first}`,
          hint: `inspect them with \`decnetctl labels ${O.containers[0]?.container.name ?? D.name}\`; re-run with --force to replace its containers`,
        },
      });
      continue;
    }
    let blocked = false;
    for (const name of [baseContainerName(D.name), ...D.services.map((s) => serviceContainerName(D.name, s.name))]) {
      const holder = containersByName.get(name);
      if ((holder && !isOwned(holder.labels, opts.hostId)) || foreignNames.has(name)) {
        out.push({
          decky: D.name,
          conflict: {
            code: 'ForeignNameConflict',
            message: `decky ${D.name}: container name ${name} is taken by a container decnet does not manage on this host`,
            hint: 'decnet never touches it: remove or rename that container, or rename the decky',
          },
        });
        blocked = true;
        break;
      }
      const owner = holder ? labelValue(holder.labels, LABEL_DECKY) : undefined;
      if (holder && owner !== D.name && !(owner !== undefined && leaving.has(owner))) {
        out.push({
          decky: D.name,
          conflict: { code: 'NameTaken', message: `decky ${D.name}: container name ${name} is used by ${owner === undefined ? 'a stray decnet container' : `decky ${owner}`}`, hint: 'rename the decky' },
        });
        blocked = true;
        break;
      }
    }
    if (blocked) continue;

    // IPs: unique within a fleet
    for (const E of (submittedByIp.get(key(D.fleet, D.ip)) ?? []).map((n) => submitted.get(n)!)) {
      if (E.name !== D.name) {
        // reported once per pair (by the first in name order), both are blocked
        const conflict = { code: 'IpTaken', message: `deckies ${[D.name, E.name].sort().join(' and ')} (fleet ${D.fleet}) are both submitted with IP ${D.ip}`, hint: 'give one of them another IP' };
        out.push(D.name < E.name ? { decky: D.name, conflict } : { decky: D.name });
        blocked = true;
        break;
      }
    }
    if (blocked) continue;
    for (const X of observedByIp.get(key(D.fleet, D.ip)) ?? []) {
      if (X.name === D.name || leaving.has(X.name)) continue;
      const xs = submitted.get(X.name);
      const current = recreated.has(D.fleet) ? undefined : (X.spec?.ip ?? X.containers.find((c) => c.role === 'base')?.container.ip);
      const after = xs ? xs.ip : X.spec?.ip;
      if (current !== D.ip && after !== D.ip) continue;
      const moving = xs !== undefined && after !== D.ip;
      out.push({
        decky: D.name,
        conflict: {
          code: 'IpTaken',
          message: `decky ${D.name} (fleet ${D.fleet}) wants IP ${D.ip}, held by decky ${X.name}${moving ? ` (which moves to ${after} in this plan)` : ''}`,
          hint: moving
            ? `apply in two steps: first move ${X.name}, then ${D.name}`
            : submittedFleets.has(D.fleet) && !xs && opts.prune !== true
              ? `${X.name} is not in the submission: re-run with --prune to remove it, or give ${D.name} another IP`
              : `give ${D.name} another IP, or delete ${X.name}`,
        },
      });
      break;
    }
  }
  return out;
}

/** Is an IPv4 address inside a CIDR? (false on anything unparsable) */
export function ipInSubnet(ip: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const a = ipv4(ip);
  const b = net === undefined ? undefined : ipv4(net);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

function ipv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}
