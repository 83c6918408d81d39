/**
 * One decky's fields from its manifest entry: archetype expansion (explicit fields
 * win), services and their config, distro, OS profile and sysctls, hostname, images,
 * mutation interval. The IP is assigned separately (resolve-ips.ts).
 */
import { archetypeDef } from './catalog-archetypes.js';
import { distroDef, DISTRO_NAMES } from './catalog-distros.js';
import { SERVICE_NAMES } from './catalog-services.js';
import { generateHostname, stableHash, windowsDesktopHostname } from './hostnames.js';
import { osSysctls } from './os-profiles.js';
import { buildService, portClashes, randomServices, servicePorts, withoutClashes } from './resolve-services.js';
import type { DeckyManifest, DeckySetManifest, DeckyTemplate } from './schemas.js';
import { bannerStory, platformDefaults, platformOf, platformStory } from './catalog-builds.js';
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
  warn: Report = () => undefined,
): DeckyFields | undefined {
  const spec = entry.spec;
  const archetype = spec.archetype !== undefined ? archetypeDef(spec.archetype) : undefined;
  const names = chooseServices(entry, fleet, report);
  if (names === undefined) return undefined;
  const distro = chooseDistro(entry, archetype?.preferredDistros);
  const distroInfo = distroDef(distro)!;
  const nmapOS: OsProfileName = (spec.nmapOS as OsProfileName | undefined) ?? archetype?.nmapOS ?? 'linux';
  // a Windows workstation is named as Windows names it; everything else by its distro's habits
  const hostname = spec.hostname ?? (nmapOS === 'windows' ? windowsDesktopHostname(entry.name) : generateHostname(entry.name, distroInfo.family));
  const platform = platformOf(distro, nmapOS);

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
    const explicit = rawConfig[name] ?? {};
    // the platform's product builds, unless the manifest says otherwise (custom services get none)
    const raw = Object.hasOwn(fleet.customServices ?? {}, name) ? explicit : { ...platformDefaults(platform, name, hostname), ...explicit };
    const built = buildService(name, raw, { serviceImage: images.serviceImage, custom: fleet.customServices ?? {} });
    for (const p of built.problems) {
      report([...entry.base, 'serviceConfig', name, p.key], 'E_SERVICE_CONFIG', p.message);
      ok = false;
    }
    services.push(built.service);
    if (Object.keys(built.secrets).length > 0) secrets[name] = built.secrets;
  }
  if (!ok) return undefined;
  storyWarnings(entry, rawConfig, distro, nmapOS, spec.nmapOS !== undefined, warn);

  const decky: Omit<ResolvedDecky, 'ip'> = {
    name: entry.name,
    fleet: fleet.name,
    labels: { ...entry.labels },
    hostname,
    distro,
    baseImage: spec.baseImage ?? images.baseImage ?? distroInfo.image,
    nmapOS,
    sysctls: osSysctls(nmapOS),
    services,
  };
  if (spec.archetype !== undefined) decky.archetype = spec.archetype;
  // the fleet's default interval is not copied in: a change of it must not recreate deckies
  // (the mutation runner falls back to the fleet's settings)
  if (spec.mutateInterval !== undefined) decky.mutateInterval = spec.mutateInterval;
  if (spec.placement !== undefined) decky.placement = structuredClone(spec.placement);
  return { decky, secrets };
}

/** Config keys whose values name the platform a product was built for. */
const STORY_KEYS = ['ssh_version', 'kernel_version', 'server_header', 'banner', 'smtp_banner', 'mysql_version', 'mysql_banner', 'bind_version', 'os_string'];

const STORY_NAMES: Record<string, string> = { windows: 'Windows', debian: 'Debian', ubuntu: 'Ubuntu', rhel: 'RHEL', freebsd: 'FreeBSD' };

/** Warn (never fail) when explicit config tells another story than the decky's OS profile and distro, or than other explicit config. */
function storyWarnings(
  entry: DeckyEntry,
  rawConfig: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
  distro: string,
  nmapOS: OsProfileName,
  explicitOs: boolean,
  warn: Report,
): void {
  const own = platformStory(distro, nmapOS);
  const ownField = nmapOS === 'windows' || nmapOS === 'windows_server' || nmapOS === 'bsd' ? `nmapOS ${nmapOS}${explicitOs ? '' : ' (from the archetype)'}` : `distro ${distro}`;
  let first: { story: string; field: string } | undefined;
  for (const svc of Object.keys(rawConfig).sort()) {
    for (const key of STORY_KEYS) {
      const v = rawConfig[svc]?.[key];
      if (typeof v !== 'string') continue;
      const story = bannerStory(v);
      if (story === undefined) continue;
      const field = `serviceConfig.${svc}.${key}`;
      if (own !== undefined && story !== own) {
        warn([...entry.base, 'serviceConfig', svc, key], 'W_PERSONA', `"${v}" says ${STORY_NAMES[story]}, but ${ownField} says ${STORY_NAMES[own]}: the decky tells two stories`);
      } else if (first !== undefined && first.story !== story) {
        warn([...entry.base, 'serviceConfig', svc, key], 'W_PERSONA', `"${v}" says ${STORY_NAMES[story]}, but ${first.field} says ${STORY_NAMES[first.story]}: the decky tells two stories`);
      }
      first ??= { story, field };
    }
  }
}
