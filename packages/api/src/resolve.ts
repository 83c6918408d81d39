/**
 * resolve: validated manifests -> Resolution (resolved fleets, deckies, secrets).
 * Cross-document rules are checked here and reported as positioned issues:
 * duplicate names, unknown fleets, overlapping subnets, IP problems, unknown
 * services, port clashes, persona config. Deterministic: the same input gives a
 * byte-identical canonicalJson of the Resolution.
 */
import { canonicalHash } from './canonical.js';
import { parseCidr, subnetsOverlap } from './cidr.js';
import { formatPath, ManifestError, type ManifestIssue } from './errors.js';
import { sourceOf } from './parse.js';
import { resolveDeckyFields, type DeckyEntry } from './resolve-decky.js';
import { assignFleetIps } from './resolve-ips.js';
import { assignFleetMacs } from './resolve-macs.js';
import type { DeckyManifest, DeckySetManifest, FleetManifest, Manifest } from './schemas.js';
import type { AlertSecretBundle, Resolution, ResolvedDecky, ResolvedFleet, SecretBundle } from './types.js';
import { alertSecretsOf, resolveAlertRoute } from './fleet-settings.js';

export interface ResolveOptions {
  /** decnet version: the default service image is decnet/honeypot:<version> */
  version: string;
  /** base image for every decky without spec.baseImage (default: its distro's image) */
  baseImage?: string;
  /** image of catalogue services (default decnet/honeypot:<version>) */
  serviceImage?: string;
  /** fleets already on the host: deckies may reference them without their Fleet manifest */
  knownFleets?: readonly ResolvedFleet[];
  /** deckies already deployed: they keep their IP unless given another, and their IPs are taken */
  observedDeckies?: readonly ResolvedDecky[];
  /** addresses never allocated (e.g. the host's own) */
  reservedIPs?: readonly string[];
}

export interface ResolveResult {
  /** best effort when there are issues: never apply it then */
  resolution: Resolution;
  issues: ManifestIssue[];
  /** things that resolve but look wrong (W_ codes): printed by validate and apply, never fatal */
  warnings: ManifestIssue[];
}

function origin(m: Manifest): string {
  const src = sourceOf(m);
  if (src?.doc !== undefined) return src.file !== undefined ? `${src.file} document ${src.doc}` : `document ${src.doc}`;
  return src?.file ?? 'this submission';
}

function issueFor(m: Manifest, path: readonly PropertyKey[], code: string, message: string): ManifestIssue {
  const src = sourceOf(m);
  const issue: ManifestIssue = { code, message, kind: m.kind, name: m.metadata.name, path: formatPath(path) };
  if (src?.file !== undefined) issue.file = src.file;
  if (src?.doc !== undefined) issue.doc = src.doc;
  const pos = src?.locate(path);
  if (pos) Object.assign(issue, pos);
  return issue;
}

function toResolvedFleet(m: FleetManifest): ResolvedFleet {
  const s = m.spec;
  const fleet: ResolvedFleet = {
    name: m.metadata.name,
    labels: { ...(m.metadata.labels ?? {}) },
    network: { mode: s.network.mode ?? 'macvlan', subnet: s.network.subnet, gateway: s.network.gateway },
    lab: s.lab ?? false,
  };
  if (s.network.parent !== undefined) fleet.network.parent = s.network.parent;
  if (s.mutateInterval !== undefined) fleet.mutateInterval = s.mutateInterval;
  if (s.logTarget !== undefined) fleet.logTarget = s.logTarget;
  if (s.alerts !== undefined && s.alerts.length > 0) fleet.alerts = s.alerts.map(resolveAlertRoute).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (s.customServices !== undefined) {
    fleet.customServices = Object.fromEntries(
      Object.entries(s.customServices)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, c]) => [name, c.command ? { image: c.image, command: [...c.command], ports: c.ports } : { image: c.image, ports: c.ports }]),
    );
  }
  return fleet;
}

function expand(m: DeckyManifest | DeckySetManifest): DeckyEntry[] {
  if (m.kind === 'Decky') {
    const { fleet, ...spec } = m.spec;
    return [{ name: m.metadata.name, fleet, manifest: m, spec, base: ['spec'], labels: m.metadata.labels ?? {} }];
  }
  const out: DeckyEntry[] = [];
  for (let i = 1; i <= m.spec.replicas; i++) {
    out.push({
      name: `${m.metadata.name}-${String(i).padStart(2, '0')}`,
      fleet: m.spec.fleet,
      manifest: m,
      spec: m.spec.template,
      base: ['spec', 'template'],
      replica: i,
      labels: m.metadata.labels ?? {},
    });
  }
  return out;
}

/** Resolve manifests, collecting every issue instead of throwing. */
export function resolveManifests(manifests: readonly Manifest[], options: ResolveOptions): ResolveResult {
  const issues: ManifestIssue[] = [];
  const warnings: ManifestIssue[] = [];
  const serviceImage = options.serviceImage ?? `decnet/honeypot:${options.version}`;

  // fleets: submitted ones override known ones of the same name
  const fleetDocs = new Map<string, FleetManifest>();
  for (const m of manifests) {
    if (m.kind !== 'Fleet') continue;
    const first = fleetDocs.get(m.metadata.name);
    if (first) issues.push(issueFor(m, ['metadata', 'name'], 'E_DUPLICATE_NAME', `duplicate Fleet name ${m.metadata.name} (also in ${origin(first)})`));
    else fleetDocs.set(m.metadata.name, m);
  }
  const submittedFleets = [...fleetDocs.values()].map(toResolvedFleet);
  const fleets = new Map<string, ResolvedFleet>();
  for (const f of options.knownFleets ?? []) fleets.set(f.name, f);
  for (const f of submittedFleets) fleets.set(f.name, f);
  checkOverlaps(fleetDocs, fleets, issues);

  // deckies: expand sets, reject duplicate names
  const entries: DeckyEntry[] = [];
  const byName = new Map<string, DeckyEntry>();
  const setNames = new Map<string, DeckySetManifest>();
  for (const m of manifests) {
    if (m.kind === 'Fleet') continue;
    if (m.kind === 'DeckySet') {
      const first = setNames.get(m.metadata.name);
      if (first) {
        issues.push(issueFor(m, ['metadata', 'name'], 'E_DUPLICATE_NAME', `duplicate DeckySet name ${m.metadata.name} (also in ${origin(first)})`));
        continue;
      }
      setNames.set(m.metadata.name, m);
    }
    for (const e of expand(m)) {
      const first = byName.get(e.name);
      if (first) {
        issues.push(issueFor(m, ['metadata', 'name'], 'E_DUPLICATE_NAME', duplicateMessage(e, first)));
        continue;
      }
      byName.set(e.name, e);
      entries.push(e);
    }
  }

  // per-decky fields
  const resolvedFields = new Map<string, Omit<ResolvedDecky, 'ip'>>();
  const secrets: SecretBundle = {};
  const byFleet = new Map<string, DeckyEntry[]>();
  const reportedFleetRefs = new Set<Manifest>();
  const seenTemplateIssues = new Set<string>();
  for (const e of entries) {
    const fleet = fleets.get(e.fleet);
    if (!fleet) {
      if (!reportedFleetRefs.has(e.manifest)) {
        reportedFleetRefs.add(e.manifest);
        issues.push(issueFor(e.manifest, ['spec', 'fleet'], 'E_UNKNOWN_FLEET', unknownFleetMessage(e.fleet, submittedFleets, options.knownFleets ?? [])));
      }
      continue;
    }
    // a template problem is the same for every replica: report it once
    const report = (path: readonly PropertyKey[], code: string, message: string) => {
      const issue = issueFor(e.manifest, path, code, message);
      const key = `${e.manifest.kind}/${e.manifest.metadata.name}|${issue.path}|${message}`;
      if (seenTemplateIssues.has(key)) return;
      seenTemplateIssues.add(key);
      issues.push(issue);
    };
    const fields = resolveDeckyFields(e, fleet, { serviceImage, ...(options.baseImage !== undefined ? { baseImage: options.baseImage } : {}) }, report, (path, code, message) => {
      const w = issueFor(e.manifest, path, code, message);
      if (!warnings.some((x) => x.path === w.path && x.message === w.message && x.name === w.name)) warnings.push(w);
    });
    if (!fields) continue;
    resolvedFields.set(e.name, fields.decky);
    if (Object.keys(fields.secrets).length > 0) secrets[e.name] = fields.secrets;
    const list = byFleet.get(fleet.name) ?? [];
    list.push(e);
    byFleet.set(fleet.name, list);
  }

  // IPs, fleet by fleet
  const deckies: ResolvedDecky[] = [];
  for (const [fleetName, list] of [...byFleet].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const fleet = fleets.get(fleetName)!;
    const ips = assignFleetIps(
      {
        fleet,
        fleetReserved: fleetDocs.get(fleetName)?.spec.reservedIPs ?? [],
        hostReserved: options.reservedIPs ?? [],
        entries: list,
        observed: (options.observedDeckies ?? []).filter((d) => d.fleet === fleetName),
        describe: (e) => `${e.name} (${origin(e.manifest)})`,
      },
      (e, code, message) => {
        const path = e.manifest.kind === 'Decky' ? (e.spec.ip !== undefined ? ['spec', 'ip'] : ['spec']) : ['spec', 'replicas'];
        issues.push(issueFor(e.manifest, path, code, message));
      },
    );
    const macs = assignFleetMacs(
      {
        entries: list.map((e) => ({ entry: e, decky: resolvedFields.get(e.name)! })),
        observed: (options.observedDeckies ?? []).filter((d) => d.fleet === fleetName),
        describe: (e) => `${e.name} (${origin(e.manifest)})`,
      },
      (e, code, message) => issues.push(issueFor(e.manifest, ['spec', 'mac'], code, message)),
    );
    for (const e of list) {
      const ip = ips.get(e.name);
      const mac = macs.get(e.name);
      if (ip !== undefined && mac !== undefined) deckies.push({ ...resolvedFields.get(e.name)!, ip, mac });
    }
  }

  keepMutations(deckies, options.observedDeckies ?? []);
  deckies.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  submittedFleets.sort((a, b) => (a.name < b.name ? -1 : 1));
  const alertSecrets: AlertSecretBundle = {};
  for (const m of fleetDocs.values()) if (m.spec.alerts?.length) alertSecrets[m.metadata.name] = alertSecretsOf(m.spec.alerts);
  const resolution: Resolution = { fleets: submittedFleets, deckies, secrets: pruneSecrets(secrets, deckies) };
  if (Object.keys(alertSecrets).length > 0) resolution.alertSecrets = alertSecrets;
  return { resolution, issues: sortIssues(issues, manifests), warnings: sortIssues(warnings, manifests) };
}

/** Resolve manifests; throws ManifestError listing every issue. */
export function resolve(manifests: readonly Manifest[], options: ResolveOptions): Resolution {
  const { resolution, issues } = resolveManifests(manifests, options);
  if (issues.length > 0) throw new ManifestError(issues);
  return resolution;
}

/** Issues in manifest order, then by position inside the document. */
function sortIssues(issues: ManifestIssue[], manifests: readonly Manifest[]): ManifestIssue[] {
  const rank = (i: ManifestIssue) => manifests.findIndex((m) => m.kind === i.kind && m.metadata.name === i.name && sourceOf(m)?.doc === i.doc && sourceOf(m)?.file === i.file);
  const keyed = issues.map((issue, n) => ({ issue, n, r: rank(issue) }));
  keyed.sort((a, b) => a.r - b.r || (a.issue.line ?? 0) - (b.issue.line ?? 0) || (a.issue.col ?? 0) - (b.issue.col ?? 0) || a.n - b.n);
  return keyed.map((k) => k.issue);
}

function pruneSecrets(secrets: SecretBundle, deckies: readonly ResolvedDecky[]): SecretBundle {
  const names = new Set(deckies.map((d) => d.name));
  return Object.fromEntries(Object.entries(secrets).filter(([name]) => names.has(name)));
}

function duplicateMessage(e: DeckyEntry, first: DeckyEntry): string {
  if (first.replica === undefined && e.replica === undefined) return `duplicate Decky name ${e.name} (also in ${origin(first.manifest)})`;
  const subject = e.replica !== undefined ? `replica ${e.name}` : `decky name ${e.name}`;
  const owner = first.replica !== undefined ? `a replica of DeckySet ${first.manifest.metadata.name}` : `Decky ${first.name}`;
  return `${subject} is already taken by ${owner} (${origin(first.manifest)})`;
}

function unknownFleetMessage(name: string, submitted: readonly ResolvedFleet[], known: readonly ResolvedFleet[]): string {
  const parts: string[] = [];
  if (submitted.length > 0) parts.push(`fleets in this submission: ${submitted.map((f) => f.name).sort().join(', ')}`);
  const onHost = known.map((f) => f.name).filter((n) => !submitted.some((f) => f.name === n));
  if (onHost.length > 0) parts.push(`fleets on this host: ${onHost.sort().join(', ')}`);
  if (parts.length === 0) parts.push('no Fleet is defined in this submission or deployed on this host');
  return `unknown fleet "${name}"; ${parts.join('; ')}`;
}

function checkOverlaps(docs: Map<string, FleetManifest>, fleets: Map<string, ResolvedFleet>, issues: ManifestIssue[]): void {
  const seen: { name: string; doc?: FleetManifest }[] = [];
  const all = [...fleets.values()].map((f) => ({ name: f.name, doc: docs.get(f.name) }));
  // known fleets first so submitted ones are the ones reported
  all.sort((a, b) => Number(a.doc !== undefined) - Number(b.doc !== undefined));
  for (const cur of all) {
    const subnet = parseCidr(fleets.get(cur.name)!.network.subnet);
    if (!subnet.ok) continue;
    for (const prev of seen) {
      const other = parseCidr(fleets.get(prev.name)!.network.subnet);
      if (!other.ok || !subnetsOverlap(subnet.subnet, other.subnet) || !cur.doc) continue;
      const where = prev.doc ? origin(prev.doc) : 'deployed on this host';
      issues.push(
        issueFor(cur.doc, ['spec', 'network', 'subnet'], 'E_SUBNET_OVERLAP', `${subnet.subnet.text} overlaps ${other.subnet.text} of fleet ${prev.name} (${where})`),
      );
      break;
    }
    seen.push(cur);
  }
}

/**
 * A deployed decky whose services were rotated keeps its rotated set (and mutation record)
 * while the submission declares the same services it declared when rotation began, so an
 * unchanged re-apply never undoes a mutation; a changed declaration replaces them.
 */
function keepMutations(deckies: ResolvedDecky[], observed: readonly ResolvedDecky[]): void {
  const byName = new Map(observed.map((d) => [d.name, d]));
  for (let i = 0; i < deckies.length; i++) {
    const d = deckies[i]!;
    const o = byName.get(d.name);
    if (o?.mutation?.declaredHash !== undefined && o.fleet === d.fleet && o.mutation.declaredHash === canonicalHash(d.services)) {
      deckies[i] = { ...d, services: o.services, mutation: o.mutation };
    }
  }
}
