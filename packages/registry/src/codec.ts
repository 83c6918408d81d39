/**
 * Serialisation of slices to the strings Redis stores, and the compact index
 * (decky -> fleet/ip) stored next to each desired slice so the commit script
 * can release a host's old claims without decoding whole specs.
 */
import { canonicalHash, canonicalJson } from '@decnet/api';
import { CorruptEntry } from './errors.js';
import { ipIndexField } from './keys.js';
import type { DesiredSlice, HostRegistration, ObservedSlice } from './types.js';

/** [decky name, "<fleet>/<ip>"] for every decky of a slice, in slice order. */
export function sliceIndex(slice: Pick<DesiredSlice, 'deckies'>): Array<[string, string]> {
  return slice.deckies.map((d) => [d.spec.name, ipIndexField(d.spec.fleet, d.spec.ip)]);
}

/**
 * Hash of what a slice asks for (not its generation or write time): equal hashes =
 * nothing to write. Deckies count by name, spec hash and generation (each entry's
 * `hash` is canonicalHash of its spec), so specs are not re-serialised.
 */
export function sliceContentHash(slice: Pick<DesiredSlice, 'fleets' | 'deckies' | 'secrets' | 'alertSecrets'>): string {
  const base = { fleets: slice.fleets, deckies: slice.deckies.map((d) => [d.spec.name, d.hash, d.generation]), secrets: slice.secrets ?? {} };
  // without alert secrets the hash is what it was before they existed
  return canonicalHash(slice.alertSecrets && Object.keys(slice.alertSecrets).length > 0 ? { ...base, alertSecrets: slice.alertSecrets } : base);
}

export const encodeSlice = (slice: DesiredSlice | ObservedSlice): string => canonicalJson(slice);

function parse(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CorruptEntry(key, `not JSON (${(e as Error).message})`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodeDesired(key: string, hostId: string, gen: string | null, doc: string | null): DesiredSlice | undefined {
  if (doc === null) return undefined;
  const v = parse(key, doc);
  if (!isObj(v) || !Array.isArray(v.deckies) || !Array.isArray(v.fleets)) throw new CorruptEntry(key, 'not a desired slice');
  const slice = v as unknown as DesiredSlice;
  return { ...slice, hostId, generation: Number(gen ?? slice.generation ?? 0) };
}

export function decodeObserved(key: string, hostId: string, gen: string | null, doc: string | null, at: string | null): ObservedSlice | undefined {
  if (doc === null) return undefined;
  const v = parse(key, doc);
  if (!isObj(v) || !Array.isArray(v.deckies)) throw new CorruptEntry(key, 'not an observed slice');
  const slice = { ...(v as unknown as ObservedSlice), hostId, generation: Number(gen ?? 0) };
  if (at !== null) slice.reportedAt = at;
  return slice;
}

export function encodeHost(h: HostRegistration): Record<string, string> {
  return {
    id: h.id,
    address: h.address,
    labels: canonicalJson(h.labels),
    capacity: String(h.capacity),
    controllerVersion: h.controllerVersion,
    registeredAt: h.registeredAt,
  };
}

export function decodeHost(key: string, f: Record<string, string>): HostRegistration & { lastHeartbeat?: string } {
  let labels: unknown = {};
  try {
    labels = JSON.parse(f.labels ?? '{}');
  } catch {
    throw new CorruptEntry(key, 'labels are not JSON');
  }
  if (!isObj(labels)) throw new CorruptEntry(key, 'labels are not an object');
  const h: HostRegistration & { lastHeartbeat?: string } = {
    id: f.id ?? '',
    address: f.address ?? '',
    labels: labels as Record<string, string>,
    capacity: Number(f.capacity ?? '0'),
    controllerVersion: f.controllerVersion ?? '',
    registeredAt: f.registeredAt ?? '',
  };
  if (f.lastHeartbeat !== undefined) h.lastHeartbeat = f.lastHeartbeat;
  return h;
}
