/**
 * Resolved specs back to manifests with every choice explicit (ip, hostname,
 * distro, nmapOS, services, config, ...), so resolving them again gives the same
 * resolved specs. Backs `get fleets|deckies -o yaml`.
 */
import { distroDef } from './catalog-distros.js';
import { serviceDef } from './catalog-services.js';
import { formatDuration } from './duration.js';
import type { DeckyManifestInput, FleetManifestInput } from './schemas.js';
import { API_VERSION, type AlertSecret, type AlertSecretBundle, type ConfigValue, type ResolvedAlertRoute, type ResolvedDecky, type ResolvedFleet, type SecretBundle } from './types.js';

function metadata(name: string, labels: Record<string, string>): { name: string; labels?: Record<string, string> } {
  return Object.keys(labels).length > 0 ? { name, labels: { ...labels } } : { name };
}

/** Written instead of an alert route's URL when its secrets are not given (re-applying it is refused as not a URL). */
export const REDACTED_URL = '<secret: kept in the state dir>';

function alertRouteToManifest(r: ResolvedAlertRoute, secret: AlertSecret | undefined): NonNullable<FleetManifestInput['spec']['alerts']>[number] {
  const out: NonNullable<FleetManifestInput['spec']['alerts']>[number] = { name: r.name, type: r.type, url: secret?.url ?? REDACTED_URL, minSeverity: r.minSeverity };
  if (secret?.secret !== undefined) out.secret = secret.secret;
  if (r.events) out.events = [...r.events];
  if (r.services) out.services = [...r.services];
  if (r.deckies) out.deckies = [...r.deckies];
  if (r.throttleMs >= 1000 && r.throttleMs % 1000 === 0) out.throttle = formatDuration(r.throttleMs / 1000);
  out.maxPerMinute = r.maxPerMinute;
  if (r.to) out.to = [...r.to];
  if (r.from !== undefined) out.from = r.from;
  if (!r.tlsVerify) out.tlsVerify = false;
  return out;
}

export function fleetToManifest(fleet: ResolvedFleet, alertSecrets?: Record<string, AlertSecret>): FleetManifestInput {
  const { mode, parent, subnet, gateway } = fleet.network;
  const network: FleetManifestInput['spec']['network'] = parent !== undefined ? { mode, parent, subnet, gateway } : { mode, subnet, gateway };
  const spec: FleetManifestInput['spec'] = { network, lab: fleet.lab };
  if (fleet.mutateInterval !== undefined) spec.mutateInterval = formatDuration(fleet.mutateInterval);
  if (fleet.logTarget !== undefined) spec.logTarget = fleet.logTarget;
  if (fleet.alerts?.length) spec.alerts = fleet.alerts.map((r) => alertRouteToManifest(r, alertSecrets?.[r.name]));
  if (fleet.customServices !== undefined) {
    spec.customServices = Object.fromEntries(
      Object.entries(fleet.customServices).map(([name, c]) => [
        name,
        { image: c.image, ...(c.command ? { command: [...c.command] } : {}), ports: c.ports.map((p) => `${p.port}/${p.proto}`) },
      ]),
    );
  }
  return { apiVersion: API_VERSION, kind: 'Fleet', metadata: metadata(fleet.name, fleet.labels), spec };
}

/** A config value as written so that coercing it again gives it back (b64: text is re-encoded). */
function writable(service: string, key: string, value: ConfigValue): ConfigValue {
  const type = serviceDef(service)?.config[key]?.type;
  if (type === 'textarea' && typeof value === 'string' && value.startsWith('b64:')) return `b64:${Buffer.from(value, 'utf8').toString('base64')}`;
  return Array.isArray(value) ? [...value] : value;
}

/** A decky as a Decky manifest; secret values are included only when `secrets` is given. */
export function deckyToManifest(decky: ResolvedDecky, secrets?: SecretBundle): DeckyManifestInput {
  const spec: DeckyManifestInput['spec'] = {
    fleet: decky.fleet,
    ip: decky.ip,
    hostname: decky.hostname,
  };
  if (decky.archetype !== undefined) spec.archetype = decky.archetype;
  spec.services = decky.services.map((s) => s.name);
  spec.nmapOS = decky.nmapOS;
  spec.distro = decky.distro;
  const serviceConfig: Record<string, Record<string, ConfigValue>> = {};
  for (const s of decky.services) {
    const entries: [string, ConfigValue][] = Object.entries(s.config).map(([k, v]) => [k, writable(s.name, k, v)]);
    const secretValues = secrets?.[decky.name]?.[s.name] ?? {};
    for (const key of s.secretKeys) if (secretValues[key] !== undefined) entries.push([key, secretValues[key]]);
    if (entries.length > 0) serviceConfig[s.name] = Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  if (Object.keys(serviceConfig).length > 0) spec.serviceConfig = serviceConfig;
  if (decky.mutateInterval !== undefined) spec.mutateInterval = formatDuration(decky.mutateInterval);
  if (decky.placement !== undefined) spec.placement = structuredClone(decky.placement);
  if (decky.baseImage !== distroDef(decky.distro)?.image) spec.baseImage = decky.baseImage;
  return { apiVersion: API_VERSION, kind: 'Decky', metadata: metadata(decky.name, decky.labels), spec };
}

/** Fleets then deckies, each sorted by name. */
export function toManifests(
  fleets: readonly ResolvedFleet[],
  deckies: readonly ResolvedDecky[],
  secrets?: SecretBundle,
  alertSecrets?: AlertSecretBundle,
): (FleetManifestInput | DeckyManifestInput)[] {
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return [...[...fleets].sort(byName).map((f) => fleetToManifest(f, alertSecrets?.[f.name])), ...[...deckies].sort(byName).map((d) => deckyToManifest(d, secrets))];
}
