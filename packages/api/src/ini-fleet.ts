/** Reading [general] and [custom-<name>] sections into the Fleet's spec. */
import type { IniSection } from './ini-parse.js';
import type { IniCatalog, Report } from './ini-types.js';
import type { ServicePort } from './types.js';
import { type Subnet, intToIp, ipToInt, isIPv4, parseCidr } from './cidr.js';
import { shellSplit } from './ini-util.js';
import { SERVICE_NAME_PATTERN } from './schemas.js';

export const GENERAL_KEYS = ['net', 'gw', 'interface'] as const;
export const CUSTOM_KEYS = ['binary', 'exec', 'ports'] as const;

export interface FleetDraft {
  subnet?: string;
  cidr?: Subnet;
  gateway?: string;
  parent?: string;
}

export function readGeneral(section: IniSection, lab: boolean, report: Report): FleetDraft {
  const draft: FleetDraft = {};
  const at = (key: string, line: number) => ({ line, section: section.name, key });
  for (const entry of section.entries) {
    const where = at(entry.key, entry.line);
    if (entry.key === 'net') {
      const parsed = parseCidr(entry.value);
      if (!parsed.ok) report(where, `net: ${parsed.reason}`);
      else {
        draft.subnet = entry.value;
        draft.cidr = parsed.subnet;
      }
    } else if (entry.key === 'gw') {
      if (!isIPv4(entry.value)) report(where, `gw "${entry.value}" is not an IPv4 address`);
      else draft.gateway = entry.value;
    } else if (entry.key === 'interface') {
      if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(entry.value)) report(where, `interface "${entry.value}" is not a network interface name`);
      else draft.parent = entry.value;
    } else {
      report(where, `unknown key "${entry.key}" in [general]; known keys: ${GENERAL_KEYS.join(', ')}`);
    }
  }
  const where = { line: section.line, section: section.name };
  const net = section.entries.find((e) => e.key === 'net');
  if (!net) report(where, 'net is required in [general] (e.g. net = 192.168.1.0/24): decnet does not guess the LAN from the host');
  if (draft.cidr && draft.gateway !== undefined) {
    const gw = ipToInt(draft.gateway);
    if (gw <= draft.cidr.network || gw >= draft.cidr.broadcast) {
      const line = section.entries.find((e) => e.key === 'gw')?.line;
      report({ line, section: section.name, key: 'gw' }, `gw ${draft.gateway} is not a host address inside net ${draft.subnet}`);
      draft.gateway = undefined;
    }
  } else if (draft.cidr && !section.entries.some((e) => e.key === 'gw')) {
    if (lab) draft.gateway = intToIp(draft.cidr.network + 1);
    else report(where, `gw is required in [general] (the LAN's router, e.g. gw = ${intToIp(draft.cidr.network + 1)})`);
  }
  if (!lab && !section.entries.some((e) => e.key === 'interface')) {
    report(where, 'interface is required in [general] (the host NIC deckies attach to), unless importing as a lab fleet');
  }
  return draft;
}

const CUSTOM_NAME = new RegExp(SERVICE_NAME_PATTERN);

/** A custom service as the Fleet manifest writes it (ports: 8080 for TCP, "53/udp"). */
export interface CustomServiceManifest {
  image: string;
  command?: string[];
  ports: (number | string)[];
}

/** A [custom-<name>] section; returns its name and definition, or undefined when unusable. */
export function readCustom(
  section: IniSection,
  catalog: IniCatalog,
  report: Report,
): { name: string; def: CustomServiceManifest } | undefined {
  const name = section.name.slice('custom-'.length);
  const head = { line: section.line, section: section.name };
  let ok = true;
  if (!CUSTOM_NAME.test(name)) {
    report(head, `custom service name "${name}" must start with a lower-case letter, then lower-case letters, digits, "_" or "-" (at most 31)`);
    ok = false;
  } else if (catalog.services.has(name)) {
    report(head, `custom service "${name}" has the name of a built-in service; pick another name`);
    ok = false;
  }
  const def: CustomServiceManifest = { image: '', ports: [] };
  for (const entry of section.entries) {
    const where = { line: entry.line, section: section.name, key: entry.key };
    if (entry.key === 'binary') {
      if (!/^[a-z0-9][A-Za-z0-9._/:@-]{0,254}$/.test(entry.value)) {
        report(where, `binary must be a container image reference like "myorg/app:1.2", got "${entry.value}"`);
        ok = false;
      } else def.image = entry.value;
    } else if (entry.key === 'exec') {
      const split = shellSplit(entry.value);
      if ('error' in split) {
        report(where, `exec: ${split.error}`);
        ok = false;
      } else if (split.argv.length > 0) def.command = split.argv;
    } else if (entry.key === 'ports') {
      const ports = readPorts(entry.value);
      if ('error' in ports) {
        report(where, ports.error);
        ok = false;
      } else def.ports = ports.ports.map((p) => (p.proto === 'tcp' ? p.port : `${p.port}/udp`));
    } else {
      report(where, `unknown key "${entry.key}" in [${section.name}]; known keys: ${CUSTOM_KEYS.join(', ')}`);
    }
  }
  if (!section.entries.some((e) => e.key === 'binary')) {
    report(head, `[${section.name}] needs binary = <container image>`);
    ok = false;
  }
  if (!section.entries.some((e) => e.key === 'ports')) {
    report(head, `[${section.name}] needs ports = <port>[, <port>/udp ...]: the ports the service listens on`);
    ok = false;
  }
  return ok ? { name, def } : undefined;
}

/** `8080, 53/udp, 443/tcp` -> ports; a bare number is TCP. */
function readPorts(text: string): { ports: ServicePort[] } | { error: string } {
  const ports: ServicePort[] = [];
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(item);
    const port = m ? Number(m[1]) : 0;
    if (!m || port < 1 || port > 65535) return { error: `ports: "${item}" is not a port like 8080 or 53/udp` };
    const proto = (m[2]?.toLowerCase() ?? 'tcp') as ServicePort['proto'];
    if (ports.some((p) => p.port === port && p.proto === proto)) return { error: `ports: ${item} is listed twice` };
    ports.push({ port, proto });
  }
  return ports.length > 0 ? { ports } : { error: 'ports is empty: list at least one port' };
}
