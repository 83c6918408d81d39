/**
 * The part of a decky spec that each container embodies. A container is up to
 * date when the part computed from its own labelled spec (possibly an older
 * generation) equals the part of the desired spec. A base change recreates the
 * base and, because service containers hold its network namespace, all of them.
 */
import { canonicalJson } from './canonical.js';
import type { Role } from './plan-types.js';
import type { ResolvedDecky, ResolvedService } from './types.js';

export interface BasePart {
  fleet: string;
  name: string;
  ip: string;
  hostname: string;
  baseImage: string;
  nmapOS: string;
  sysctls: Record<string, string>;
}

export function basePart(spec: ResolvedDecky): BasePart {
  const { fleet, name, ip, hostname, baseImage, nmapOS, sysctls } = spec;
  return { fleet, name, ip, hostname, baseImage, nmapOS, sysctls };
}

export function servicePart(spec: ResolvedDecky, service: string): ResolvedService | undefined {
  return spec.services.find((s) => s.name === service);
}

/** Canonical text of a container's part, or undefined when the spec has no such container. */
export function partKey(spec: ResolvedDecky, role: Role, service?: string): string | undefined {
  if (role === 'base') return canonicalJson(basePart(spec));
  if (service === undefined) return undefined;
  const part = servicePart(spec, service);
  return part === undefined ? undefined : canonicalJson(part);
}

/** Does a container labelled with `current` embody the same part of `desired`? */
export function partUpToDate(current: ResolvedDecky, desired: ResolvedDecky, role: Role, service?: string): boolean {
  const want = partKey(desired, role, service);
  return want !== undefined && partKey(current, role, service) === want;
}

/** Which fields of the base part differ (for causes). */
export function baseDiff(current: ResolvedDecky, desired: ResolvedDecky): string[] {
  const a = basePart(current) as unknown as Record<string, unknown>;
  const b = basePart(desired) as unknown as Record<string, unknown>;
  return Object.keys(b).filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]));
}

/** Which fields of a service part differ (for causes). */
export function serviceDiff(current: ResolvedDecky, desired: ResolvedDecky, service: string): string[] {
  const a = (servicePart(current, service) ?? {}) as Record<string, unknown>;
  const b = (servicePart(desired, service) ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]));
}

/** Top-level spec fields that differ (for the carrier rule's cause). */
export function specDiff(current: ResolvedDecky, desired: ResolvedDecky): string[] {
  const a = current as unknown as Record<string, unknown>;
  const b = desired as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]));
}
