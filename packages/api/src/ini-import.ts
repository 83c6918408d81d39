/**
 * Import of the original DECNET's INI fleet files into decnet manifests (pure, no I/O).
 *
 *  [general]        net, gw, interface                -> one Fleet
 *  [custom-<name>]  binary, exec, ports               -> Fleet spec.customServices[<name>]
 *  [<decky>]        ip, services, archetype, nmap_os / nmap-os, mutate_interval (minutes), amount
 *                   -> a Decky, or a DeckySet of `amount` replicas when amount > 1
 *  [<decky>.<svc>]  persona config of service <svc> for that decky (or every replica of that set)
 *
 * Every problem becomes an issue naming file, line and section; the manifests are a
 * best effort and must not be applied while there are issues.
 */
import { ipToInt } from './cidr.js';
import { defaultIniCatalog } from './ini-catalog.js';
import { readDecky } from './ini-decky.js';
import { type CustomServiceManifest, type FleetDraft, readCustom, readGeneral } from './ini-fleet.js';
import { parseIniText, type IniSection } from './ini-parse.js';
import { applyPersona } from './ini-persona.js';
import type { DeckyDraft, IniImportOptions, IniImportResult, IniIssue, Report } from './ini-types.js';
import { dnsLabelProblem } from './ini-util.js';
import { API_VERSION } from './types.js';

export type { IniImportOptions, IniImportResult, IniIssue } from './ini-types.js';

export function importIni(text: string, options: IniImportOptions = {}): IniImportResult {
  const file = options.file ?? '<ini>';
  const fleetName = options.fleetName ?? 'default';
  const lab = options.lab ?? false;
  const catalog = defaultIniCatalog;
  const issues: IniIssue[] = [];
  const report: Report = (where, message) => issues.push(clean({ file, ...where, message }));

  const doc = parseIniText(text);
  for (const issue of doc.issues) issues.push(clean({ file, ...issue }));
  const fleetProblem = dnsLabelProblem(fleetName);
  if (fleetProblem) report({}, `fleet name "${fleetName}" is not a DNS label: ${fleetProblem}`);

  const general = doc.sections.find((s) => s.name === 'general');
  const customs = doc.sections.filter((s) => s.name.startsWith('custom-'));
  const personas = doc.sections.filter((s) => s !== general && !customs.includes(s) && s.name.includes('.'));
  const deckySections = doc.sections.filter((s) => s !== general && !customs.includes(s) && !personas.includes(s));

  const customServices: Record<string, CustomServiceManifest> = {};
  // names a decky may list (a custom section reusing a built-in name is reported, not added)
  const customNames = new Set(customs.map((s) => s.name.slice('custom-'.length)).filter((n) => !catalog.services.has(n)));
  for (const section of customs) {
    const custom = readCustom(section, catalog, report);
    if (custom) customServices[custom.name] = custom.def;
  }

  const manifests: Record<string, unknown>[] = [];
  const fleet = general ? readGeneral(general, lab, report) : undefined;
  if (fleet) manifests.push(fleetManifest(fleetName, fleet, lab, customServices));
  else if (customs.length > 0) report({ line: customs[0]?.line, section: customs[0]?.name }, 'custom services need a [general] section: they are defined on the Fleet');

  const deckies = new Map<string, DeckyDraft>();
  for (const section of deckySections) deckies.set(section.name, readDecky(section, { catalog, customServices: customNames, report }));
  for (const section of personas) applyPersona(section, deckies, catalog, customNames, report);
  checkNames([...deckies.values()], report);
  checkIps([...deckies.values()], general, fleet, report);

  for (const draft of deckies.values()) manifests.push(deckyManifest(draft, fleetName));
  // stable sort: by line, issues without a line (whole file) first
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { manifests, issues };
}

function clean(issue: IniIssue): IniIssue {
  const out: IniIssue = { file: issue.file, message: issue.message };
  if (issue.line !== undefined) out.line = issue.line;
  if (issue.section !== undefined) out.section = issue.section;
  if (issue.key !== undefined) out.key = issue.key;
  return out;
}

function fleetManifest(name: string, draft: FleetDraft, lab: boolean, custom: Record<string, CustomServiceManifest>): Record<string, unknown> {
  const network: Record<string, unknown> = { mode: 'macvlan' };
  if (!lab && draft.parent !== undefined) network.parent = draft.parent;
  if (draft.subnet !== undefined) network.subnet = draft.subnet;
  if (draft.gateway !== undefined) network.gateway = draft.gateway;
  const spec: Record<string, unknown> = { network };
  if (lab) spec.lab = true;
  if (Object.keys(custom).length > 0) spec.customServices = custom;
  return { apiVersion: API_VERSION, kind: 'Fleet', metadata: { name }, spec };
}

function deckyManifest(draft: DeckyDraft, fleet: string): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (draft.ip !== undefined) body.ip = draft.ip;
  if (draft.archetype !== undefined) body.archetype = draft.archetype;
  if (draft.services !== undefined) body.services = draft.services;
  if (draft.nmapOS !== undefined) body.nmapOS = draft.nmapOS;
  if (Object.keys(draft.serviceConfig).length > 0) body.serviceConfig = draft.serviceConfig;
  if (draft.mutateInterval !== undefined) body.mutateInterval = draft.mutateInterval;
  const metadata = { name: draft.name };
  if (draft.replicas === undefined) return { apiVersion: API_VERSION, kind: 'Decky', metadata, spec: { fleet, ...body } };
  return { apiVersion: API_VERSION, kind: 'DeckySet', metadata, spec: { fleet, replicas: draft.replicas, template: body } };
}

/** Names of the deckies a draft stands for (a set expands to name-01 .. name-NN). */
function expandedNames(draft: DeckyDraft): string[] {
  if (draft.replicas === undefined) return [draft.name];
  return Array.from({ length: draft.replicas }, (_, i) => `${draft.name}-${String(i + 1).padStart(2, '0')}`);
}

function checkNames(drafts: DeckyDraft[], report: Report): void {
  const owner = new Map<string, DeckyDraft>();
  for (const draft of drafts) {
    for (const name of expandedNames(draft)) {
      const first = owner.get(name);
      if (first) {
        const what = (d: DeckyDraft) => (d.replicas ? `a replica of [${d.name}] (amount = ${d.replicas})` : `[${d.name}]`);
        report({ line: draft.section.line, section: draft.name }, `decky "${name}" would be defined twice: by ${what(first)} on line ${first.section.line} and by ${what(draft)}`);
        break;
      }
      owner.set(name, draft);
    }
  }
}

function checkIps(drafts: DeckyDraft[], general: IniSection | undefined, fleet: FleetDraft | undefined, report: Report): void {
  const used = new Map<string, DeckyDraft>();
  for (const draft of drafts) {
    if (draft.ip === undefined) continue;
    const line = draft.section.entries.find((e) => e.key === 'ip')?.line;
    const where = { line, section: draft.name, key: 'ip' };
    const first = used.get(draft.ip);
    if (first) report(where, `ip ${draft.ip} is already used by [${first.name}]`);
    else used.set(draft.ip, draft);
    const subnet = fleet?.cidr;
    if (!subnet) continue;
    const ip = ipToInt(draft.ip);
    if (ip < subnet.network || ip > subnet.broadcast) report(where, `ip ${draft.ip} is outside net ${subnet.text} of [${general?.name}]`);
    else if (ip === subnet.network || ip === subnet.broadcast) report(where, `ip ${draft.ip} is the network or broadcast address of ${subnet.text}`);
    else if (fleet.gateway === draft.ip) report(where, `ip ${draft.ip} is the gateway (gw) of the fleet`);
  }
}
