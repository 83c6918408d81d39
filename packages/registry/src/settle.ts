/**
 * After the registry's state begins afresh (a Redis restart without persistence, or
 * a new cluster), live hosts re-register and write their slices back within about a
 * heartbeat period. Placing before they have would treat their deckies as unplaced
 * and put them on another host: a silent duplicate. Apply therefore waits until the
 * state is older than two heartbeat TTLs of the registered hosts.
 */
import type { ClusterSnapshot } from './types.js';

export const DEFAULT_SETTLE_TTL_MS = 10_000;

/** Milliseconds to wait before placing on this snapshot (0: settled). */
export function settleDelayMs(snap: ClusterSnapshot, nowMs: number, factor = 2): number {
  if (!snap.initializedAt) return 0;
  const began = Date.parse(snap.initializedAt);
  if (!Number.isFinite(began)) return 0;
  const ttl = Math.max(0, ...snap.hosts.map((h) => h.heartbeatTtlMs ?? 0)) || DEFAULT_SETTLE_TTL_MS;
  return Math.max(0, began + factor * ttl - nowMs);
}
