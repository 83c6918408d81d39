/** The INI import's view of the shared catalogues and config coercion. */
import { ARCHETYPES } from './catalog-archetypes.js';
import { SERVICE_CATALOG, serviceDef } from './catalog-services.js';
import { coerceServiceConfig } from './coerce.js';
import { OS_PROFILE_NAMES } from './os-profiles.js';
import type { IniCatalog } from './ini-types.js';
import type { ConfigValue, ServicePort } from './types.js';

export const defaultIniCatalog: IniCatalog = {
  services: new Map<string, readonly ServicePort[]>(Object.values(SERVICE_CATALOG).map((d) => [d.name, d.ports])),
  archetypes: new Map<string, readonly string[]>(Object.values(ARCHETYPES).map((a) => [a.name, a.services])),
  osProfiles: OS_PROFILE_NAMES,
  /**
   * The shared coercion (same typed rules as manifests). Secret values stay in the
   * manifest's serviceConfig (resolve separates them). Textarea values are checked
   * (e.g. `b64:` payloads) but kept as written, so resolving decodes them exactly once.
   */
  coerce(service, raw) {
    const schema = serviceDef(service)?.config ?? {};
    const { config, secrets, problems } = coerceServiceConfig(service, raw, schema);
    const out: Record<string, ConfigValue> = {};
    for (const key of Object.keys(raw)) {
      if (schema[key]?.type === 'textarea' && key in config) out[key] = raw[key] as string;
      else if (key in config) out[key] = config[key] as ConfigValue;
      else if (key in secrets) out[key] = secrets[key] as string;
    }
    return { config: out, errors: problems };
  },
};
