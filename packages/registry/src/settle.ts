/**
 * After Redis restarts empty, live controllers notice that the registry forgot their
 * host, re-register, write their slices back, and mark the cluster as recovering for
 * two heartbeat TTLs (Registry.markRecovering). Placing during that window would see
 * the deckies of hosts that have not re-registered yet as unplaced and put them on
 * another host: a silent duplicate. Apply waits for the window to pass.
 */
import type { ClusterSnapshot } from './types.js';

/** How long a controller marks the cluster as recovering: two heartbeat TTLs. */
export const RECOVERY_TTL_FACTOR = 2;

/** Milliseconds to wait before placing on this snapshot (0: not recovering). */
export function settleDelayMs(snap: ClusterSnapshot, nowMs: number): number {
  return snap.recoveringUntil ? Math.max(0, snap.recoveringUntil - nowMs) : 0;
}
