/** The INI import's view of the shared catalogues and config coercion. */
import { ARCHETYPES } from './catalog-archetypes.js';
import { SERVICE_CATALOG } from './catalog-services.js';
import { OS_PROFILE_NAMES } from './os-profiles.js';
import type { IniCatalog } from './ini-types.js';
import type { ConfigValue, ServicePort } from './types.js';

export const defaultIniCatalog: IniCatalog = {
  services: new Map<string, readonly ServicePort[]>(Object.values(SERVICE_CATALOG).map((d) => [d.name, d.ports])),
  archetypes: new Map<string, readonly string[]>(Object.values(ARCHETYPES).map((a) => [a.name, a.services])),
  osProfiles: OS_PROFILE_NAMES,
  coerce(service, raw) {
    const schema = SERVICE_CATALOG[service]?.config ?? {};
    const known = Object.keys(schema);
    const config: Record<string, ConfigValue> = {};
    const errors: { key?: string; message: string }[] = [];
    for (const [key, value] of Object.entries(raw)) {
      if (!Object.hasOwn(schema, key)) {
        errors.push({ key, message: `unknown ${service} config key "${key}"; known: ${known.join(', ') || '(none)'}` });
      } else config[key] = value;
    }
    return { config, errors };
  },
};
