import { describe, expect, it } from 'vitest';
import { settleDelayMs } from './settle.js';
import type { ClusterSnapshot } from './types.js';

const snap = (recoveringUntil?: number): ClusterSnapshot => ({ cluster: 'c', epoch: 0, rev: 0, hosts: [], desired: {}, observed: {}, ...(recoveringUntil ? { recoveringUntil } : {}) });

describe('settleDelayMs', () => {
  it('waits until the recovery window a controller marked has passed', () => {
    expect(settleDelayMs(snap(20_000), 5_000)).toBe(15_000);
    expect(settleDelayMs(snap(20_000), 20_001)).toBe(0);
  });
  it('never waits on a cluster that is not recovering (a new cluster included)', () => {
    expect(settleDelayMs(snap(), 5_000)).toBe(0);
  });
});
