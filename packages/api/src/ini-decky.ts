/** Reading one decky section of an INI file into a draft. */
import type { IniSection } from './ini-parse.js';
import type { DeckyDraft, IniCatalog, Report } from './ini-types.js';
import { isIPv4 } from './cidr.js';
import { dnsLabelProblem, seededRandom, suggestDnsLabel } from './ini-util.js';

export const DECKY_KEYS = ['ip', 'services', 'archetype', 'nmap_os', 'nmap-os', 'mutate_interval', 'amount'] as const;
export const MAX_AMOUNT = 100;

export interface DeckyContext {
  catalog: IniCatalog;
  /** names of [custom-*] services defined in the file */
  customServices: ReadonlySet<string>;
  report: Report;
}

export function readDecky(section: IniSection, ctx: DeckyContext): DeckyDraft {
  const { catalog, report } = ctx;
  const at = (key: string, line: number) => ({ line, section: section.name, key });
  const draft: DeckyDraft = { section, name: section.name, randomServices: false, serviceConfig: {} };

  const amountEntry = section.entries.find((e) => e.key === 'amount');
  const amount = amountEntry ? parseAmount(amountEntry.value) : 1;
  if (amountEntry && amount === undefined) {
    report(at('amount', amountEntry.line), `amount must be a whole number from 1 to ${MAX_AMOUNT}, got "${amountEntry.value}"`);
  }
  if (amount !== undefined && amount > 1) draft.replicas = amount;

  // expanded names get a "-NN" suffix (3 characters, 4 for 100)
  const suffix = draft.replicas ? (draft.replicas >= 100 ? 4 : 3) : 0;
  const problem = dnsLabelProblem(section.name, 63 - suffix);
  if (problem) {
    const suggestion = suggestDnsLabel(section.name).slice(0, 63 - suffix);
    report(
      { line: section.line, section: section.name },
      `section [${section.name}] cannot name a decky${suffix ? ' set' : ''}: ${problem}` +
        (suggestion ? `; rename the section, e.g. [${suggestion}]` : ''),
    );
  }

  for (const entry of section.entries) {
    const where = at(entry.key, entry.line);
    switch (entry.key) {
      case 'amount':
        break;
      case 'ip':
        if (!isIPv4(entry.value)) report(where, `ip "${entry.value}" is not an IPv4 address`);
        else if (draft.replicas) {
          report(where, `ip cannot be set together with amount = ${draft.replicas}: every decky needs its own address; drop ip to auto-allocate them`);
        } else draft.ip = entry.value;
        break;
      case 'services':
        draft.services = readServices(entry.value, ctx, where);
        break;
      case 'archetype':
        if (catalog.archetypes.has(entry.value)) draft.archetype = entry.value;
        else report(where, `unknown archetype "${entry.value}"; known: ${[...catalog.archetypes.keys()].join(', ')}`);
        break;
      case 'nmap_os':
      case 'nmap-os':
        if (draft.nmapOS !== undefined) report(where, 'nmap_os and nmap-os are the same setting; give it once');
        else if (catalog.osProfiles.includes(entry.value)) draft.nmapOS = entry.value;
        else report(where, `unknown ${entry.key} "${entry.value}"; known: ${catalog.osProfiles.join(', ')}`);
        break;
      case 'mutate_interval': {
        const interval = parseMinutes(entry.value);
        if (interval) draft.mutateInterval = interval;
        else report(where, `mutate_interval must be a positive number of minutes (or a duration like 2h), got "${entry.value}"`);
        break;
      }
      default:
        report(where, `unknown key "${entry.key}" in decky section [${section.name}]; known keys: ${DECKY_KEYS.join(', ')}`);
    }
  }

  const explicit = section.entries.some((e) => e.key === 'services' || e.key === 'archetype');
  if (!explicit) {
    draft.services = randomServices(section.name, catalog);
    draft.randomServices = true;
  }
  return draft;
}

function parseAmount(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= MAX_AMOUNT ? n : undefined;
}

/** The original counts minutes; a duration with a unit is passed through. */
function parseMinutes(text: string): string | undefined {
  if (/^\d+$/.test(text)) return Number(text) > 0 ? `${Number(text)}m` : undefined;
  const m = /^(\d+)([smhd])$/.exec(text);
  return m && Number(m[1]) > 0 ? `${Number(m[1])}${m[2]}` : undefined;
}

function readServices(value: string, ctx: DeckyContext, where: { line: number; section: string; key: string }): string[] {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) ctx.report(where, 'services is empty; list at least one service or drop the key');
  const out: string[] = [];
  for (const name of names) {
    if (!ctx.catalog.services.has(name) && !ctx.customServices.has(name)) {
      const custom = ctx.customServices.size ? `; custom: ${[...ctx.customServices].join(', ')}` : '';
      ctx.report(where, `unknown service "${name}"; known: ${[...ctx.catalog.services.keys()].join(', ')}${custom}`);
    } else if (out.includes(name)) {
      ctx.report(where, `service "${name}" is listed twice`);
    } else out.push(name);
  }
  return out;
}

/**
 * The original gave a decky with neither services nor archetype 1-3 random services.
 * Here the pick is seeded by the section name, so re-importing gives the same result,
 * and never combines services that claim the same port.
 */
export function randomServices(seed: string, catalog: IniCatalog): string[] {
  const rand = seededRandom(seed);
  const pool = [...catalog.services.keys()].sort();
  const count = 1 + Math.floor(rand() * 3);
  const picked: string[] = [];
  const used = new Set<string>();
  while (picked.length < count && pool.length > 0) {
    const [name] = pool.splice(Math.floor(rand() * pool.length), 1) as [string];
    const ports = (catalog.services.get(name) ?? []).map((p) => `${p.port}/${p.proto}`);
    if (ports.some((p) => used.has(p))) continue;
    ports.forEach((p) => used.add(p));
    picked.push(name);
  }
  return picked.sort();
}
