/**
 * The planner: observed state + desired specs -> Plan (pure). Only this host's
 * managed objects ever appear in ops. Refusals are returned as conflicts, never
 * thrown; a plan with conflicts must not be executed (its ops are shown for context).
 */
import { canonicalHash } from './canonical.js';
import { changedSettingsFields, fleetNetworkPart, fleetSettingsPart, settingsVolumeName } from './fleet-settings.js';
import { encodeFleetLabels, encodeSettingsLabels, LABEL_SPEC_HASH } from './labels.js';
import { currentSettings, groupObserved, isOwned, type GroupedState, type ObservedDecky } from './group.js';
import { networkName } from './naming.js';
import { planDecky, removalOps } from './planner-decky.js';
import { checkDeckyConflicts, checkSubmission, ipInSubnet } from './planner-conflicts.js';
import type { Op, Plan, PlanConflict } from './plan-types.js';
import type { ObservedState, ResolvedDecky, ResolvedFleet } from './types.js';

export interface DesiredState {
  fleets: ResolvedFleet[];
  deckies: ResolvedDecky[];
}

export interface PlanOptions {
  hostId: string;
  /** remove deckies of the submitted fleets that are not in the submission */
  prune?: boolean;
  /** recreate a fleet whose network spec changed (and all its deckies); replace containers with broken labels */
  force?: boolean;
  deleteDeckies?: string[];
  deleteFleets?: string[];
  /** accepted for callers that pass it; the plan itself does not depend on it */
  stateDir?: string;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sortByName = <T extends { name: string }>(xs: T[]) => [...xs].sort((a, b) => cmp(a.name, b.name));

export function plan(observed: ObservedState, desired: DesiredState, opts: PlanOptions): Plan {
  const g: GroupedState = groupObserved({ ...observed, hostId: opts.hostId });
  const conflicts: PlanConflict[] = [...checkSubmission(desired, opts)];
  const force = opts.force === true;
  const obsDecky = new Map(g.deckies.map((d) => [d.name, d]));
  const desiredFleets = new Map(desired.fleets.map((f) => [f.name, f]));
  const desiredDeckies = new Map(desired.deckies.map((d) => [d.name, d]));
  const ownedNets = new Map(g.fleets.map((f) => [f.network.name, f]));

  // --- deckies leaving this host (wave 1) ---
  const leaving = new Map<string, string>();
  const deleteFleets = new Set(opts.deleteFleets ?? []);
  for (const name of opts.deleteDeckies ?? []) if (obsDecky.has(name) && !desiredDeckies.has(name)) leaving.set(name, 'deleted');
  for (const d of g.deckies) {
    if (d.fleet !== undefined && deleteFleets.has(d.fleet) && !desiredDeckies.has(d.name)) leaving.set(d.name, `fleet ${d.fleet} deleted`);
    else if (opts.prune && d.fleet !== undefined && desiredFleets.has(d.fleet) && !desiredDeckies.has(d.name)) {
      leaving.set(d.name, `pruned: not in the submission of fleet ${d.fleet}`);
    }
  }

  // --- fleets (wave 0) ---
  const wave0: Op[] = [];
  const recreated = new Set<string>();
  for (const F of sortByName(desired.fleets)) {
    const netName = networkName(F.name);
    const foreignNet = observed.networks.find((n) => n.name === netName && !isOwned(n.labels, opts.hostId));
    if (foreignNet) {
      conflicts.push({
        code: 'ForeignNameConflict',
        message: `fleet ${F.name}: network ${netName} exists but is not managed by this host`,
        hint: 'remove or rename that network, or rename the fleet',
      });
      continue;
    }
    const have = ownedNets.get(netName);
    const N = fleetNetworkPart(F);
    // only the network part decides about the network (older labels carry settings too)
    const sameNetwork = have?.spec !== undefined && canonicalHash(fleetNetworkPart(have.spec)) === canonicalHash(N);
    const labOp = (cause: string): Op => ({ wave: 0, op: 'ensure-lab', fleet: F.name, subnet: F.network.subnet, gateway: F.network.gateway, cause });
    const createNet = (cause: string): Op => ({ wave: 0, op: 'create-network', fleet: F.name, name: netName, spec: N, labels: encodeFleetLabels(N, opts.hostId), cause });
    if (have && sameNetwork) {
      if (F.lab && !g.labs.includes(F.name)) wave0.push(labOp('lab plumbing missing'));
      wave0.push(...settingsOps(F, g, opts.hostId));
      continue;
    }
    if (have) {
      const live = g.deckies.filter((d) => d.fleet === F.name);
      const what = have.spec ? changedFleetFields(have.spec, N) : `labels unreadable: ${have.error?.code ?? '?'}`;
      if (!force) {
        conflicts.push({
          code: 'NetworkChanged',
          message: `fleet ${F.name}: network ${netName} was created from a different fleet spec (changed: ${what}); recreating it would remove ${
            live.length === 0 ? 'no deckies' : `its live deckies: ${live.map((d) => d.name).join(', ')}`
          }`,
          hint: 'labels are immutable: re-run with --force to remove the fleet containers, recreate the network and all its deckies',
        });
        continue;
      }
      recreated.add(F.name);
      for (const d of live) wave0.push(...removalOps(d, 0, `network of fleet ${F.name} recreated, --force`));
      wave0.push({ wave: 0, op: 'remove-network', fleet: F.name, name: netName, id: have.network.id, cause: `fleet spec changed: ${what}, --force` });
      if (F.lab && !g.labs.includes(F.name)) wave0.push(labOp('lab plumbing missing'));
      wave0.push(createNet(`fleet spec changed: ${what}, --force`));
      wave0.push(...settingsOps(F, g, opts.hostId));
      continue;
    }
    if (F.lab && !g.labs.includes(F.name)) wave0.push(labOp('new lab fleet'));
    wave0.push(createNet('network missing'));
    wave0.push(...settingsOps(F, g, opts.hostId));
  }

  // --- which deckies to build (wave 2) ---
  const builds: Array<{ D: ResolvedDecky; O?: ObservedDecky; submitted: boolean }> = [];
  const blocked = new Set<string>();
  for (const c of checkDeckyConflicts(g, observed, desired, opts, leaving, recreated)) {
    if (c.conflict) conflicts.push(c.conflict);
    if (c.decky !== undefined) blocked.add(c.decky);
  }
  for (const D of sortByName(desired.deckies)) {
    if (blocked.has(D.name)) continue;
    const O = obsDecky.get(D.name);
    builds.push(O ? { D, O, submitted: true } : { D, submitted: true });
  }
  // a recreated fleet's other deckies come back from their own labels, unless they leave
  for (const d of g.deckies) {
    if (d.fleet === undefined || !recreated.has(d.fleet) || desiredDeckies.has(d.name) || leaving.has(d.name)) continue;
    const F = desiredFleets.get(d.fleet);
    if (!d.spec || d.errors.length > 0) continue; // already removed in wave 0; nothing to rebuild from
    if (F && !ipInSubnet(d.spec.ip, F.network.subnet)) {
      conflicts.push({
        code: 'IpOutsideSubnet',
        message: `decky ${d.name} (fleet ${d.fleet}) has IP ${d.spec.ip}, outside the new subnet ${F.network.subnet}`,
        hint: 'submit it with a new IP, delete it, or re-run with --prune',
      });
      continue;
    }
    builds.push({ D: d.spec, O: d, submitted: false });
  }

  // --- wave 1: teardown of leaving deckies ---
  const wave1: Op[] = [];
  for (const name of [...leaving.keys()].sort(cmp)) {
    const d = obsDecky.get(name);
    if (!d) continue;
    if (d.fleet !== undefined && recreated.has(d.fleet)) continue; // gone in wave 0
    if (d.errors.length > 0 && !force) {
      conflicts.push(invalidLabels(d, 'remove'));
      continue;
    }
    wave1.push(...removalOps(d, 1, leaving.get(name) ?? 'removed'));
  }

  // --- wave 2 ---
  const wave2: Op[] = [];
  const generations: Record<string, number> = {};
  for (const { D, O, submitted } of builds.sort((a, b) => cmp(a.D.name, b.D.name))) {
    const hash = canonicalHash(D);
    const generation = O?.generation === undefined ? 1 : O.hash === hash ? O.generation : O.generation + 1;
    if (submitted) generations[D.name] = generation;
    const gone = recreated.has(D.fleet) ? `network of fleet ${D.fleet} recreated, --force` : undefined;
    wave2.push(
      ...planDecky({
        desired: D,
        generation,
        desiredHash: hash,
        hostId: opts.hostId,
        replaceBroken: force,
        ...(O ? { observed: O } : {}),
        ...(gone !== undefined ? { containersGone: gone } : {}),
      }),
    );
  }

  // --- wave 3: fleets left without deckies by deletions ---
  const wave3: Op[] = [];
  const touched = new Set<string>(deleteFleets);
  for (const name of leaving.keys()) {
    const f = obsDecky.get(name)?.fleet;
    if (f !== undefined && leaving.get(name) === 'deleted') touched.add(f);
  }
  const submittedFleets = new Set([...desiredFleets.keys(), ...desired.deckies.map((d) => d.fleet)]);
  const removedNames = new Set(wave1.filter((o) => o.op === 'remove-container').map((o) => (o as { decky: string }).decky));
  for (const f of [...touched].sort(cmp)) {
    if (submittedFleets.has(f)) continue;
    const remaining = g.deckies.filter((d) => d.fleet === f && !removedNames.has(d.name));
    if (remaining.length > 0) continue;
    const net = g.fleets.find((x) => x.name === f && x.network.name === networkName(f));
    if (net) wave3.push({ wave: 3, op: 'remove-network', fleet: f, name: net.network.name, id: net.network.id, cause: deleteFleets.has(f) ? 'fleet deleted' : 'no deckies left' });
    if (net?.spec?.lab || g.labs.includes(f)) wave3.push({ wave: 3, op: 'remove-lab', fleet: f, cause: deleteFleets.has(f) ? 'fleet deleted' : 'no deckies left' });
    for (const st of g.settings) if (st.fleet === f) wave3.push({ wave: 3, op: 'remove-settings', fleet: f, name: st.volume.name, cause: deleteFleets.has(f) ? 'fleet deleted' : 'no deckies left' });
  }

  return { ops: [...wave0, ...wave1, ...wave2, ...wave3], conflicts, generations };
}

function invalidLabels(d: ObservedDecky, action: string): PlanConflict {
  const first = d.errors.slice(0, 3).map((e) => `${e.container}: ${e.code} (${e.message})`).join('; ');
  return {
    code: 'InvalidLabels',
    message: `decky ${d.name}: will not ${action} it, its labels are invalid: ${first}`,
    hint: `inspect them with \`decnetctl labels ${d.containers[0]?.container.name ?? d.name}\`; re-run with --force to replace its containers`,
  };
}

/**
 * The settings volume of a fleet: created when none carries the desired settings, and
 * every other settings volume of the fleet removed after it (a crash in between
 * leaves two; the newest is in force and the next apply removes the rest).
 */
function settingsOps(F: ResolvedFleet, g: GroupedState, hostId: string): Op[] {
  const want = fleetSettingsPart(F);
  const labels = encodeSettingsLabels(want, hostId);
  const hash = labels[LABEL_SPEC_HASH] ?? '';
  const mine = g.settings.filter((s) => s.fleet === F.name);
  const ops: Op[] = [];
  const current = currentSettings(g.settings, F.name);
  const name = settingsVolumeName(F.name, hash);
  if (!mine.some((s) => s.hash === hash && s.volume.name === name)) {
    const cause = current ? `fleet settings changed: ${changedSettingsFields(current.spec, want)}` : 'fleet settings missing';
    ops.push({ wave: 0, op: 'create-settings', fleet: F.name, name, settings: want, labels, cause });
  }
  for (const s of mine) if (s.volume.name !== name) ops.push({ wave: 0, op: 'remove-settings', fleet: F.name, name: s.volume.name, cause: s.error ? `settings volume unreadable: ${s.error.code}` : 'replaced by the current settings' });
  return ops;
}

function changedFleetFields(a: ResolvedFleet, b: ResolvedFleet): string {
  const keys = ['lab', 'customServices'] as const;
  const net = ['mode', 'parent', 'subnet', 'gateway'] as const;
  const changed = [
    ...net.filter((k) => a.network[k] !== b.network[k]).map((k) => `network.${k}`),
    ...keys.filter((k) => canonicalHash(a[k] ?? null) !== canonicalHash(b[k] ?? null)),
  ];
  return changed.length === 0 ? 'no field' : changed.join(', ');
}
