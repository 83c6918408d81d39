import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { encodeDeckyLabels, groupObserved, makeDecky, type ObservedContainer } from '@decnet/api';
import { StatusStore, computeDeckyStatus } from '@decnet/controller';
import { deckyViews, withControllerStatus } from './view.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'decnet-view-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const spec = makeDecky('web-01', 'lab', { services: ['ssh'] });
const container = (name: string, role: 'base' | 'service', state: ObservedContainer['state']): ObservedContainer => ({
  id: name,
  name,
  image: 'x',
  state,
  labels: encodeDeckyLabels(spec, { hostId: 'h1', role, generation: 1, ...(role === 'service' ? { service: 'ssh' } : {}) }),
});
const views = (sshState: ObservedContainer['state']) =>
  deckyViews(groupObserved({ hostId: 'h1', containers: [container('web-01', 'base', 'running'), container('web-01-ssh', 'service', sshState)], networks: [], labs: [] }));

async function writeControllerStatus(phase: 'crashloop' | 'running', at: number): Promise<void> {
  const s = new StatusStore({ stateDir: dir, hostId: 'h1', resyncMs: 30_000, now: () => at });
  const now = new Date(at).toISOString();
  const status =
    phase === 'crashloop'
      ? computeDeckyStatus({ generation: 1, base: { state: 'running' }, services: { ssh: { state: 'running', restartCount: 9 } }, crashLooping: ['ssh'], engineReachable: true, now })
      : computeDeckyStatus({ generation: 1, base: { state: 'running' }, services: { ssh: { state: 'running' } }, engineReachable: true, now });
  s.set('web-01', 'lab', status);
  await s.flush();
}

it('shows what the controller knows (a crash loop) while its file is fresh', async () => {
  const now = Date.now();
  await writeControllerStatus('crashloop', now);
  const [v] = await withControllerStatus(views('running'), dir, 'h1', now + 1000);
  expect(v?.phase).toBe('Degraded');
  expect(v?.statusSource).toBe('controller');
  expect(v?.status.conditions[0]?.reason).toBe('CrashLoopBackOff');
  const [stale] = await withControllerStatus(views('running'), dir, 'h1', now + 120_000);
  expect(stale?.phase).toBe('Running');
  expect(stale?.statusSource).toBe('containers');
});

it('trusts the containers when they show a problem the controller has not seen yet', async () => {
  const now = Date.now();
  await writeControllerStatus('running', now);
  const [v] = await withControllerStatus(views('exited'), dir, 'h1', now + 1000);
  expect(v?.phase).toBe('Degraded');
  expect(v?.statusSource).toBe('containers');
  expect((await withControllerStatus(views('running'), join(dir, 'none'), 'h1'))[0]?.statusSource).toBe('containers');
});
