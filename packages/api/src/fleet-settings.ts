/**
 * A fleet has two parts with different lifetimes:
 * - its network part (name, LAN, lab, custom services), carried by the labels of its
 *   docker network: a change means recreating the network and every decky on it;
 * - its settings (free-form labels, mutateInterval, logTarget, alert routes), carried
 *   by the labels of a small docker volume `decnet-<fleet>-settings-<hash12>`: a
 *   change creates a new volume and removes the old one, and recreates nothing else.
 * Both are labelled objects, so desired state is still rebuilt from labels alone.
 * Alert routes carry no secrets: their URLs and keys live in the state dir
 * (alert-secrets in the engine), and `secretsDigest` ties the two together.
 */
import { canonicalHash } from './canonical.js';
import type { AlertRouteManifest } from './schemas.js';
import type { AlertSecret, AlertSecretBundle, ResolvedAlertRoute, ResolvedFleet } from './types.js';

export interface FleetSettings {
  name: string;
  labels: Record<string, string>;
  mutateInterval?: number;
  logTarget?: string;
  alerts?: ResolvedAlertRoute[];
}

export const SETTINGS_VOLUME_PREFIX = 'decnet-';
export const settingsVolumeName = (fleet: string, hash: string): string => `decnet-${fleet}-settings-${hash.slice(0, 12)}`;

/** The part of a fleet its network's labels carry. */
export function fleetNetworkPart(f: ResolvedFleet): ResolvedFleet {
  const out: ResolvedFleet = { name: f.name, labels: {}, network: { ...f.network }, lab: f.lab };
  if (f.customServices !== undefined) out.customServices = f.customServices;
  return out;
}

/** The part of a fleet its settings volume carries. */
export function fleetSettingsPart(f: ResolvedFleet): FleetSettings {
  const out: FleetSettings = { name: f.name, labels: { ...f.labels } };
  if (f.mutateInterval !== undefined) out.mutateInterval = f.mutateInterval;
  if (f.logTarget !== undefined) out.logTarget = f.logTarget;
  if (f.alerts !== undefined && f.alerts.length > 0) out.alerts = f.alerts;
  return out;
}

/** The effective fleet: a network part with its settings (or, for a network labelled before settings volumes, its own). */
export function withSettings(net: ResolvedFleet, settings: FleetSettings | undefined): ResolvedFleet {
  if (!settings) return net;
  const out: ResolvedFleet = { ...fleetNetworkPart(net), labels: { ...settings.labels } };
  if (settings.mutateInterval !== undefined) out.mutateInterval = settings.mutateInterval;
  if (settings.logTarget !== undefined) out.logTarget = settings.logTarget;
  if (settings.alerts !== undefined) out.alerts = settings.alerts;
  return out;
}

/** Which settings fields differ (for plan causes). */
export function changedSettingsFields(a: FleetSettings | undefined, b: FleetSettings): string {
  if (!a) return 'none recorded';
  const keys = ['labels', 'mutateInterval', 'logTarget', 'alerts'] as const;
  const diff = keys.filter((k) => canonicalHash((a[k] ?? null) as object) !== canonicalHash((b[k] ?? null) as object));
  return diff.length ? diff.join(', ') : 'encoding';
}

const secretOf = (r: Pick<AlertRouteManifest, 'url' | 'secret'>): AlertSecret => (r.secret !== undefined ? { url: r.url, secret: r.secret } : { url: r.url });

/** A manifest route -> the resolved route labels may carry. */
export function resolveAlertRoute(r: AlertRouteManifest): ResolvedAlertRoute {
  const out: ResolvedAlertRoute = {
    name: r.name,
    type: r.type as ResolvedAlertRoute['type'],
    minSeverity: (r.minSeverity ?? 'low') as ResolvedAlertRoute['minSeverity'],
    throttleMs: (r.throttle ?? 60) * 1000,
    maxPerMinute: r.maxPerMinute ?? 30,
    tlsVerify: r.tlsVerify ?? true,
    secretsDigest: canonicalHash(secretOf(r)),
  };
  if (r.events) out.events = [...r.events].sort();
  if (r.services) out.services = [...r.services].sort();
  if (r.deckies) out.deckies = [...r.deckies].sort();
  if (r.to !== undefined) out.to = typeof r.to === 'string' ? [r.to] : [...r.to];
  if (r.from !== undefined) out.from = r.from;
  return out;
}

/** The secrets of a fleet's routes, by route name (empty when it has none). */
export function alertSecretsOf(routes: readonly Pick<AlertRouteManifest, 'name' | 'url' | 'secret'>[] | undefined): Record<string, AlertSecret> {
  return Object.fromEntries((routes ?? []).map((r) => [r.name, secretOf(r)]));
}

/** Does this secret belong to this route (the state dir may hold an older one)? */
export const alertSecretMatches = (route: ResolvedAlertRoute, s: AlertSecret | undefined): boolean => s !== undefined && canonicalHash(s) === route.secretsDigest;

export function mergeAlertSecrets(a: AlertSecretBundle | undefined, b: AlertSecretBundle | undefined): AlertSecretBundle | undefined {
  if (!a && !b) return undefined;
  return { ...(a ?? {}), ...(b ?? {}) };
}
