import { describe, expect, it } from 'vitest';
import { settleDelayMs } from './settle.js';
import type { ClusterSnapshot, HostInfo } from './types.js';

const host = (id: string, ttl?: number) => ({ id, status: 'Ready', heartbeatTtlMs: ttl }) as unknown as HostInfo;
const snap = (initializedAt: string | undefined, hosts: HostInfo[]): ClusterSnapshot => ({ cluster: 'c', epoch: 0, rev: 0, hosts, desired: {}, observed: {}, ...(initializedAt ? { initializedAt } : {}) });
const T = Date.parse('2026-01-01T00:00:00.000Z');

describe('settleDelayMs', () => {
  it('waits two heartbeat TTLs from the start of the registry state', () => {
    expect(settleDelayMs(snap('2026-01-01T00:00:00.000Z', [host('a', 5_000), host('b', 8_000)]), T + 1_000)).toBe(15_000);
    expect(settleDelayMs(snap('2026-01-01T00:00:00.000Z', [host('a', 5_000)]), T + 10_000)).toBe(0);
  });
  it('uses the default TTL when hosts report none, and never waits without a start time', () => {
    expect(settleDelayMs(snap('2026-01-01T00:00:00.000Z', [host('a')]), T)).toBe(20_000);
    expect(settleDelayMs(snap(undefined, [host('a', 5_000)]), T)).toBe(0);
    expect(settleDelayMs(snap('garbage', []), T)).toBe(0);
  });
});
