/** `[X.Y]` sections: persona config of service Y for decky X (or every decky of set X). */
import type { IniSection } from './ini-parse.js';
import type { DeckyDraft, IniCatalog, Report } from './ini-types.js';

export function applyPersona(
  section: IniSection,
  deckies: ReadonlyMap<string, DeckyDraft>,
  catalog: IniCatalog,
  customServices: ReadonlySet<string>,
  report: Report,
): void {
  const dot = section.name.indexOf('.');
  const target = section.name.slice(0, dot);
  const service = section.name.slice(dot + 1);
  const head = { line: section.line, section: section.name };

  if (customServices.has(service)) {
    report(head, `custom service "${service}" takes no persona config; configure its image instead`);
    return;
  }
  if (!catalog.services.has(service)) {
    report(head, `[${section.name}] is not persona config: "${service}" is not a known service (known: ${[...catalog.services.keys()].join(', ')}); a decky name cannot contain "."`);
    return;
  }
  const draft = deckies.get(target);
  if (!draft && (target === 'general' || target.startsWith('custom-'))) {
    report(head, `[${section.name}]: persona config applies to deckies, not to [${target}]`);
    return;
  }
  if (!draft) {
    report(head, `[${section.name}] configures ${service} for decky "${target}", but there is no section [${target}]${replicaHint(target, service, deckies)}`);
    return;
  }
  const effective = draft.services ?? (draft.archetype ? catalog.archetypes.get(draft.archetype) : undefined);
  if (effective && !effective.includes(service)) {
    const why = draft.randomServices ? 'its randomly picked services' : 'its services';
    report(head, `[${section.name}] configures ${service}, but ${why} are ${effective.join(', ')}; add ${service} to services of [${target}]`);
    return;
  }

  const raw: Record<string, string> = {};
  for (const entry of section.entries) raw[entry.key] = entry.value;
  const { config, errors } = catalog.coerce(service, raw);
  for (const error of errors) {
    const line = error.key === undefined ? section.line : (section.entries.find((e) => e.key === error.key)?.line ?? section.line);
    const message = error.key === undefined || error.message.includes(`"${error.key}"`) ? error.message : `${error.key}: ${error.message}`;
    report({ line, section: section.name, key: error.key }, message);
  }
  if (Object.keys(config).length > 0) draft.serviceConfig[service] = config;
}

/** When `web-02.http` is given but `[web]` expands to web-01..NN, say so. */
function replicaHint(target: string, service: string, deckies: ReadonlyMap<string, DeckyDraft>): string {
  const m = /^(.+)-(\d{2,3})$/.exec(target);
  const set = m ? deckies.get(m[1] as string) : undefined;
  if (!set?.replicas) return '';
  return `; "${target}" is a replica of [${set.name}] (amount = ${set.replicas}) and replicas share one config: use [${set.name}.${service}]`;
}
