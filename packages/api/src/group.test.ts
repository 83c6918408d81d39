import { describe, expect, it } from 'vitest';
import { groupObserved } from './group.js';
import { encodeDeckyLabels, encodeFleetLabels, LABEL_SPEC } from './labels.js';
import { makeDecky, makeFleet } from './test-fixtures.js';
import type { ObservedContainer, ResolvedDecky } from './types.js';

const H = 'host-a';
let seq = 0;
function ctr(spec: ResolvedDecky, role: 'base' | 'service', generation: number, over: Partial<ObservedContainer> = {}, service?: string): ObservedContainer {
  const svc = role === 'service' ? (service ?? spec.services[0]?.name) : undefined;
  return {
    id: `id${++seq}`,
    name: svc ? `${spec.name}-${svc}` : spec.name,
    image: 'img',
    state: 'running',
    labels: encodeDeckyLabels(spec, svc ? { hostId: H, role, service: svc, generation } : { hostId: H, role, generation }),
    ...over,
  };
}

describe('groupObserved', () => {
  it('groups by decky, picks the highest-generation spec, counts foreign objects', () => {
    const v1 = makeDecky('web', 'lab', { services: ['ssh', 'http'] });
    const v2 = { ...v1, hostname: 'NEW' };
    const other = makeDecky('db', 'lab');
    const observed = {
      hostId: H,
      labs: ['lab'],
      networks: [
        { id: 'n1', name: 'decnet-lab', driver: 'macvlan', labels: encodeFleetLabels(makeFleet('lab'), H) },
        { id: 'n2', name: 'decnet-x', driver: 'macvlan', labels: encodeFleetLabels(makeFleet('x'), 'host-b') },
      ],
      containers: [
        ctr(v1, 'service', 1, {}, 'ssh'),
        ctr(v2, 'base', 2),
        ctr(v1, 'service', 1, { state: 'exited' }, 'http'),
        ctr(other, 'base', 5),
        ctr(other, 'base', 1, { name: 'db-on-b', labels: encodeDeckyLabels(other, { hostId: 'host-b', role: 'base', generation: 1 }) }),
        { id: 'u', name: 'nginx', image: 'nginx', state: 'running', labels: {} },
      ],
    } as const;
    const g = groupObserved({ ...observed, networks: [...observed.networks], containers: [...observed.containers] });
    expect(g.deckies.map((d) => d.name)).toEqual(['db', 'web']);
    const web = g.deckies[1];
    expect(web?.generation).toBe(2);
    expect(web?.spec?.hostname).toBe('NEW');
    expect(web?.containers.map((c) => [c.container.name, c.role, c.service])).toEqual([
      ['web', 'base', undefined],
      ['web-http', 'service', 'http'],
      ['web-ssh', 'service', 'ssh'],
    ]);
    expect(web?.errors).toEqual([]);
    expect(g.deckies[0]?.generation).toBe(5);
    expect(g.foreign.containers.map((c) => c.name).sort()).toEqual(['db-on-b', 'nginx']);
    expect(g.foreign.networks.map((n) => n.name)).toEqual(['decnet-x']);
    expect(g.fleets.map((f) => [f.name, f.spec?.lab])).toEqual([['lab', true]]);
  });

  it('reports a decky with broken labels instead of dropping it', () => {
    const d = makeDecky('web');
    const broken = ctr(d, 'service', 3, {}, 'ssh');
    broken.labels = { ...broken.labels, [LABEL_SPEC]: '{"tampered":true}' };
    const g = groupObserved({ hostId: H, labs: [], networks: [], containers: [ctr(d, 'base', 2), broken] });
    const web = g.deckies[0];
    expect(web?.name).toBe('web');
    expect(web?.generation).toBe(2);
    expect(web?.errors).toEqual([{ container: 'web-ssh', code: 'HashMismatch', message: expect.any(String) }]);
    expect(web?.containers.find((c) => c.container.name === 'web-ssh')).toMatchObject({ role: 'service', service: 'ssh' });
  });

  it('flags two different specs at the same generation', () => {
    const a = makeDecky('web');
    const b = { ...a, ip: '10.213.0.99' };
    const g = groupObserved({ hostId: H, labs: [], networks: [], containers: [ctr(a, 'base', 2), ctr(b, 'service', 2)] });
    expect(g.deckies[0]?.errors.map((e) => e.code)).toEqual(['GenerationConflict']);
  });
});
