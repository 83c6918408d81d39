/**
 * One decky's fields from its manifest entry: archetype expansion (explicit fields
 * win), services and their config, distro, OS profile and sysctls, hostname, images,
 * mutation interval. The IP is assigned separately (resolve-ips.ts).
 */
import { archetypeDef } from './catalog-archetypes.js';
import { distroDef, DISTRO_NAMES } from './catalog-distros.js';
import { SERVICE_NAMES } from './catalog-services.js';
import { generateHostname, stableHash } from './hostnames.js';
import { osSysctls } from './os-profiles.js';
import { buildService, portClashes, randomServices, servicePorts, withoutClashes } from './resolve-services.js';
import type { DeckyManifest, DeckySetManifest, DeckyTemplate } from './schemas.js';
import type { Labels, OsProfileName, ResolvedDecky, ResolvedFleet, ResolvedService } from './types.js';

/** A decky to resolve: a Decky manifest, or one replica of a DeckySet. */
export interface DeckyEntry {
  name: string;
  fleet: string;
  manifest: DeckyManifest | DeckySetManifest;
  /** spec fields (template fields for replicas) */
  spec: DeckyTemplate & { ip?: string; hostname?: string };
  /** path of `spec` fields inside the manifest: ['spec'] or ['spec', 'template'] */
  base: readonly PropertyKey[];
  /** 1-based replica index for DeckySet entries */
  replica?: number;
  labels: Labels;
}

export type Report = (path: readonly PropertyKey[], code: string, message: string) => void;

export interface DeckyFields {
  decky: Omit<ResolvedDecky, 'ip'>;
  /** service -> key -> secret value */
  secrets: Record<string, Record<string, string>>;
}

function chooseDistro(entry: DeckyEntry, preferred: readonly string[] | undefined): string {
  if (entry.spec.distro !== undefined) return entry.spec.distro;
  const pool = preferred && preferred.length > 0 ? preferred : DISTRO_NAMES;
  const index = entry.replica !== undefined ? (entry.replica - 1) % pool.length : stableHash(entry.name) % pool.length;
  return pool[index]!;
}

function chooseServices(entry: DeckyEntry, fleet: ResolvedFleet, report: Report): string[] | undefined {
  const custom = fleet.customServices ?? {};
  const explicit = entry.spec.services;
  if (explicit === undefined) {
    const archetype = entry.spec.archetype !== undefined ? archetypeDef(entry.spec.archetype) : undefined;
    return archetype ? withoutClashes(archetype.services, custom) : randomServices(entry.name, SERVICE_NAMES);
  }
  let ok = true;
  explicit.forEach((name, i) => {
    if (servicePorts(name, custom) === undefined) {
      const customNames = Object.keys(custom).sort();
      const customText = customNames.length > 0 ? `; custom services of fleet ${fleet.name}: ${customNames.join(', ')}` : '';
      report([...entry.base, 'services', i], 'E_UNKNOWN_SERVICE', `unknown service "${name}"; known services: ${SERVICE_NAMES.join(', ')}${customText}`);
      ok = false;
    }
  });
  if (!ok) return undefined;
  for (const c of portClashes(explicit, custom)) {
    report(
      [...entry.base, 'services', c.index],
      'E_PORT_CLASH',
      `${c.second} claims port ${c.port}, already claimed by ${c.first}; one decky cannot run two services on one port`,
    );
    ok = false;
  }
  return ok ? explicit : undefined;
}

/** Resolve everything but the IP; undefined (with issues reported) when the entry is invalid. */
export function resolveDeckyFields(
  entry: DeckyEntry,
  fleet: ResolvedFleet,
  images: { serviceImage: string; baseImage?: string },
  report: Report,
): DeckyFields | undefined {
  const spec = entry.spec;
  const archetype = spec.archetype !== undefined ? archetypeDef(spec.archetype) : undefined;
  const names = chooseServices(entry, fleet, report);
  if (names === undefined) return undefined;

  const services: ResolvedService[] = [];
  const secrets: Record<string, Record<string, string>> = {};
  let ok = true;
  const rawConfig = spec.serviceConfig ?? {};
  for (const svc of Object.keys(rawConfig).sort()) {
    if (!names.includes(svc)) {
      report([...entry.base, 'serviceConfig', svc], 'E_CONFIG_SERVICE', `service ${svc} is not among this decky's services (${names.join(', ')})`);
      ok = false;
    }
  }
  for (const name of [...names].sort()) {
    const built = buildService(name, rawConfig[name] ?? {}, { serviceImage: images.serviceImage, custom: fleet.customServices ?? {} });
    for (const p of built.problems) {
      report([...entry.base, 'serviceConfig', name, p.key], 'E_SERVICE_CONFIG', p.message);
      ok = false;
    }
    services.push(built.service);
    if (Object.keys(built.secrets).length > 0) secrets[name] = built.secrets;
  }
  if (!ok) return undefined;

  const distro = chooseDistro(entry, archetype?.preferredDistros);
  const distroInfo = distroDef(distro)!;
  const nmapOS: OsProfileName = (spec.nmapOS as OsProfileName | undefined) ?? archetype?.nmapOS ?? 'linux';
  const decky: Omit<ResolvedDecky, 'ip'> = {
    name: entry.name,
    fleet: fleet.name,
    labels: { ...entry.labels },
    hostname: spec.hostname ?? generateHostname(entry.name, distroInfo.family),
    distro,
    baseImage: spec.baseImage ?? images.baseImage ?? distroInfo.image,
    nmapOS,
    sysctls: osSysctls(nmapOS),
    services,
  };
  if (spec.archetype !== undefined) decky.archetype = spec.archetype;
  const mutateInterval = spec.mutateInterval ?? fleet.mutateInterval;
  if (mutateInterval !== undefined) decky.mutateInterval = mutateInterval;
  if (spec.placement !== undefined) decky.placement = structuredClone(spec.placement);
  return { decky, secrets };
}
