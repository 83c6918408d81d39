/**
 * Choosing and building a decky's services: archetype lists without port clashes,
 * seeded-random picks, and ResolvedService construction (image, ports, coerced
 * config, secrets split out and digested).
 */
import { canonicalHash } from './canonical.js';
import { portKey, serviceDef, SERVICE_NAMES, sharedPort } from './catalog-services.js';
import { coerceServiceConfig, type CoerceProblem } from './coerce.js';
import { seededRandom } from './hostnames.js';
import type { ConfigValue, CustomServiceDef, ResolvedService, ServicePort } from './types.js';

/** Ports of a catalogue or custom service, or undefined when the name is unknown. */
export function servicePorts(name: string, custom: Readonly<Record<string, CustomServiceDef>> = {}): readonly ServicePort[] | undefined {
  if (Object.hasOwn(custom, name)) return custom[name]!.ports;
  return serviceDef(name)?.ports;
}

/** A clash between two services of one decky: `second` claims `port`, already claimed by `first`. */
export interface PortClash {
  first: string;
  second: string;
  /** index of `second` in the list */
  index: number;
  port: string;
}

/** Every service that claims a port already claimed by an earlier service of the list. */
export function portClashes(services: readonly string[], custom: Readonly<Record<string, CustomServiceDef>> = {}): PortClash[] {
  const owner = new Map<string, string>();
  const clashes: PortClash[] = [];
  services.forEach((name, index) => {
    const ports = servicePorts(name, custom) ?? [];
    const clash = ports.find((p) => owner.has(portKey(p)));
    if (clash) {
      clashes.push({ first: owner.get(portKey(clash))!, second: name, index, port: portKey(clash) });
      return;
    }
    for (const p of ports) owner.set(portKey(p), name);
  });
  return clashes;
}

/**
 * A list with every service dropped that clashes with an earlier one. Used for
 * archetype lists (industrial-control: conpot already answers snmp on 161/udp).
 */
export function withoutClashes(services: readonly string[], custom: Readonly<Record<string, CustomServiceDef>> = {}): string[] {
  const dropped = new Set(portClashes(services, custom).map((c) => c.index));
  return services.filter((_, i) => !dropped.has(i));
}

/**
 * 1-3 services drawn from `pool` by a PRNG seeded with `seed` (the decky name), no two
 * sharing a port. Deterministic for a given seed and pool.
 */
export function randomServices(seed: string, pool: readonly string[] = SERVICE_NAMES): string[] {
  const rand = seededRandom(`services:${seed}`);
  const count = 1 + Math.floor(rand() * 3);
  const shuffled = [...pool];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const chosen: string[] = [];
  for (const name of shuffled) {
    if (chosen.length >= count) break;
    const ports = servicePorts(name) ?? [];
    if (chosen.some((c) => sharedPort(servicePorts(c) ?? [], ports))) continue;
    chosen.push(name);
  }
  return chosen;
}

export interface BuiltService {
  service: ResolvedService;
  secrets: Record<string, string>;
  problems: CoerceProblem[];
}

/** Build one resolved service from its name and raw persona config. */
export function buildService(
  name: string,
  raw: Readonly<Record<string, unknown>>,
  opts: { serviceImage: string; custom: Readonly<Record<string, CustomServiceDef>> },
): BuiltService {
  const custom = Object.hasOwn(opts.custom, name) ? opts.custom[name] : undefined;
  if (custom) {
    // custom services have no typed schema: their config passes through as written
    const config: Record<string, ConfigValue> = {};
    for (const [k, v] of Object.entries(raw)) config[k] = v as ConfigValue;
    const service: ResolvedService = { name, image: custom.image, ports: [...custom.ports], config, secretKeys: [] };
    if (custom.command) service.command = [...custom.command];
    return { service, secrets: {}, problems: [] };
  }
  const def = serviceDef(name);
  if (!def) throw new RangeError(`unknown service ${name}`);
  const coerced = coerceServiceConfig(name, raw, def.config);
  const secretKeys = Object.keys(coerced.secrets).sort();
  const service: ResolvedService = {
    name,
    image: opts.serviceImage,
    ports: def.ports.map((p) => ({ ...p })),
    config: coerced.config,
    secretKeys,
  };
  if (secretKeys.length > 0) service.secretsDigest = canonicalHash(coerced.secrets);
  return { service, secrets: coerced.secrets, problems: coerced.problems };
}
