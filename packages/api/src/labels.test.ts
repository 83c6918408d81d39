import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from './canonical.js';
import {
  decodeLabels,
  encodeDeckyLabels,
  encodeFleetLabels,
  HASH_VERSION,
  LABEL_DECKY,
  LABEL_GENERATION,
  LABEL_HASH_VERSION,
  LABEL_MANAGED,
  LABEL_ROLE,
  LABEL_SERVICE,
  LABEL_SPEC,
  LABEL_SPEC_CHUNKS,
  LABEL_SPEC_HASH,
  MAX_LABEL_BYTES,
  specChunkKey,
  splitUtf8,
} from './labels.js';
import { inspectLabels } from './labels-inspect.js';
import { deckyArb, fleetArb } from './testing/arbitraries.js';
import { makeDecky, makeFleet, makeService } from './test-fixtures.js';
import type { Labels } from './types.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const maxValueBytes = (l: Labels) => Math.max(...Object.values(l).map(bytes));

describe('encodeDeckyLabels', () => {
  it('writes the contract keys for a base container', () => {
    const spec = makeDecky('web-01');
    const l = encodeDeckyLabels(spec, { hostId: 'h1', role: 'base', generation: 3 });
    expect(l).toMatchObject({
      'com.decnet.managed': 'true',
      'com.decnet.fleet': 'lab',
      'com.decnet.host': 'h1',
      'com.decnet.decky': 'web-01',
      'com.decnet.role': 'base',
      'com.decnet.generation': '3',
      'com.decnet.hash-version': HASH_VERSION,
    });
    expect(l[LABEL_SERVICE]).toBeUndefined();
    expect(l[LABEL_SPEC]).toBe(canonicalJson(spec));
    expect(l[LABEL_SPEC_HASH]).toBe(sha256Hex(canonicalJson(spec)));
  });

  it('is deterministic regardless of key order in the spec', () => {
    const spec = makeDecky('web-01');
    const shuffled = Object.fromEntries(Object.entries(spec).reverse()) as typeof spec;
    const opts = { hostId: 'h', role: 'service', service: 'ssh', generation: 1 } as const;
    expect(encodeDeckyLabels(shuffled, opts)).toEqual(encodeDeckyLabels(spec, opts));
  });

  it('refuses a spec holding a secret value, an unknown service, a bad generation', () => {
    const leaky = makeDecky('a', 'lab', { services: [makeService('ssh', { config: { users: 'root:pw' }, secretKeys: ['users'] })] });
    expect(() => encodeDeckyLabels(leaky, { hostId: 'h', role: 'base', generation: 1 })).toThrow(/secret/);
    const spec = makeDecky('a');
    expect(() => encodeDeckyLabels(spec, { hostId: 'h', role: 'service', service: 'smtp', generation: 1 })).toThrow();
    expect(() => encodeDeckyLabels(spec, { hostId: 'h', role: 'base', service: 'ssh', generation: 1 })).toThrow();
    expect(() => encodeDeckyLabels(spec, { hostId: 'h', role: 'base', generation: 0 })).toThrow();
  });

  it('splits a spec over 4096 bytes into chunks, none over the limit, none splitting a character', () => {
    const big = makeDecky('big', 'lab', {
      services: [makeService('http', { config: { custom_body: 'é€😀'.repeat(1500) } })],
    });
    const l = encodeDeckyLabels(big, { hostId: 'h', role: 'base', generation: 1 });
    expect(l[LABEL_SPEC]).toBeUndefined();
    const n = Number(l[LABEL_SPEC_CHUNKS]);
    expect(n).toBeGreaterThan(2);
    expect(maxValueBytes(l)).toBeLessThanOrEqual(MAX_LABEL_BYTES);
    const joined = Array.from({ length: n }, (_, i) => l[specChunkKey(i)]).join('');
    expect(joined).toBe(canonicalJson(big));
    for (let i = 0; i < n; i++) expect(l[specChunkKey(i)]).not.toContain('\uFFFD');
  });
});

describe('splitUtf8', () => {
  it('cuts on character boundaries and rejoins exactly', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.integer({ min: 4, max: 64 }), (s, max) => {
        const parts = splitUtf8(s, max);
        expect(parts.join('')).toBe(Buffer.from(s, 'utf8').toString('utf8'));
        for (const p of parts) expect(bytes(p)).toBeLessThanOrEqual(max);
      }),
    );
  });
});

describe('decodeLabels', () => {
  it('round-trips arbitrary decky specs, including >4 KiB and non-ASCII ones', () => {
    let chunked = 0;
    fc.assert(
      fc.property(deckyArb(), fc.integer({ min: 1, max: 1e6 }), fc.boolean(), (spec, generation, asService) => {
        const service = asService ? spec.services[0]?.name : undefined;
        const l = encodeDeckyLabels(spec, { hostId: 'host-ä', role: service ? 'service' : 'base', service, generation });
        expect(maxValueBytes(l)).toBeLessThanOrEqual(MAX_LABEL_BYTES);
        if (l[LABEL_SPEC_CHUNKS]) chunked++;
        const r = decodeLabels(l);
        if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
        expect(r.value.kind).toBe('decky');
        // byte-exact (toStrictEqual would trip over a config key named "constructor")
        expect(canonicalJson(r.value.spec)).toBe(canonicalJson(spec));
        expect(r.value.spec).toEqual(JSON.parse(canonicalJson(spec)));
        expect(r.value).toMatchObject({ hostId: 'host-ä', fleet: spec.fleet, decky: spec.name, generation, hash: l[LABEL_SPEC_HASH] });
        if (r.value.kind === 'decky') expect(r.value.service).toBe(service);
      }),
      { numRuns: 200 },
    );
    expect(chunked).toBeGreaterThan(0);
  }, 60_000);

  it('round-trips arbitrary fleet specs', () => {
    fc.assert(
      fc.property(fleetArb(), (fleet) => {
        const r = decodeLabels(encodeFleetLabels(fleet, 'h'));
        if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
        expect(canonicalJson(r.value)).toBe(canonicalJson({ kind: 'fleet', spec: fleet, hostId: 'h', fleet: fleet.name, hash: sha256Hex(canonicalJson(fleet)) }));
      }),
    );
  });

  const chunkedLabels = () =>
    encodeDeckyLabels(makeDecky('big', 'lab', { services: [makeService('http', { config: { custom_body: 'ü'.repeat(5000) } })] }), {
      hostId: 'h',
      role: 'service',
      service: 'http',
      generation: 2,
    });

  it('reports typed codes', () => {
    const l = encodeDeckyLabels(makeDecky('a'), { hostId: 'h', role: 'base', generation: 1 });
    const code = (x: unknown) => {
      const r = decodeLabels(x);
      return r.ok ? 'ok' : r.error.code;
    };
    const without = (k: string) => Object.fromEntries(Object.entries(l).filter(([key]) => key !== k));
    expect(code(l)).toBe('ok');
    expect(code({})).toBe('NotManaged');
    expect(code(null)).toBe('NotManaged');
    expect(code('x')).toBe('NotManaged');
    expect(code({ ...l, [LABEL_MANAGED]: 'false' })).toBe('NotManaged');
    expect(code(without(LABEL_SPEC))).toBe('MissingLabel');
    expect(code(without(LABEL_GENERATION))).toBe('MissingLabel');
    expect(code({ ...l, [LABEL_HASH_VERSION]: '2' })).toBe('UnknownHashVersion');
    expect(code({ ...l, [LABEL_SPEC]: l[LABEL_SPEC] + ' ' })).toBe('HashMismatch');
    const badJson = '{"name":';
    expect(code({ ...l, [LABEL_SPEC]: badJson, [LABEL_SPEC_HASH]: sha256Hex(badJson) })).toBe('BadJson');
    const wrong = canonicalJson({ ...makeDecky('a'), nmapOS: 'amiga' });
    expect(code({ ...l, [LABEL_SPEC]: wrong, [LABEL_SPEC_HASH]: sha256Hex(wrong) })).toBe('InvalidSpec');
    const other = canonicalJson(makeDecky('b'));
    expect(code({ ...l, [LABEL_SPEC]: other, [LABEL_SPEC_HASH]: sha256Hex(other) })).toBe('InvalidSpec');
    const pretty = JSON.stringify(makeDecky('a'), null, 1);
    expect(code({ ...l, [LABEL_SPEC]: pretty, [LABEL_SPEC_HASH]: sha256Hex(pretty) })).toBe('InvalidSpec');
    expect(code({ ...l, [LABEL_ROLE]: 'sidecar' })).toBe('InvalidSpec');
    expect(code({ ...l, [LABEL_ROLE]: 'service' })).toBe('MissingLabel');
    expect(code({ ...l, [LABEL_GENERATION]: '-1' })).toBe('InvalidSpec');
    expect(code({ ...l, [LABEL_SPEC]: 42 })).toBe('MissingLabel');
    const c = chunkedLabels();
    expect(code(c)).toBe('ok');
    expect(code(Object.fromEntries(Object.entries(c).filter(([k]) => k !== specChunkKey(1))))).toBe('ChunkMissing');
    expect(code({ ...c, [specChunkKey(Number(c[LABEL_SPEC_CHUNKS]))]: 'x' })).toBe('ChunkMissing');
    expect(code({ ...c, [LABEL_SPEC_CHUNKS]: '1' })).toBe('ChunkMissing');
    expect(code({ ...c, [LABEL_SPEC_CHUNKS]: 'two' })).toBe('ChunkMissing');
  });

  it('never throws and never accepts tampered labels', () => {
    const base = [
      encodeDeckyLabels(makeDecky('a'), { hostId: 'h', role: 'service', service: 'ssh', generation: 4 }),
      chunkedLabels(),
      encodeFleetLabels(makeFleet('lab'), 'h'),
    ];
    const tamper = fc.oneof(
      fc.record({ kind: fc.constant('remove' as const), i: fc.nat() }),
      fc.record({ kind: fc.constant('truncate' as const), i: fc.nat(), at: fc.nat() }),
      fc.record({ kind: fc.constant('alter' as const), i: fc.nat(), at: fc.nat(), ch: fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...base), fc.array(tamper, { minLength: 1, maxLength: 3 }), (labels, edits) => {
        const l: Record<string, string> = { ...labels };
        let changed = false;
        for (const e of edits) {
          const keys = Object.keys(l).filter((k) => k !== LABEL_MANAGED || e.kind === 'remove');
          const k = keys[e.i % keys.length];
          if (k === undefined) continue;
          const v = l[k] ?? '';
          if (e.kind === 'remove') delete l[k];
          else if (e.kind === 'truncate') l[k] = v.slice(0, e.at % Math.max(v.length, 1));
          else {
            const at = e.at % (v.length + 1);
            l[k] = v.slice(0, at) + e.ch + v.slice(at + 1);
          }
        }
        changed = canonicalJson(l) !== canonicalJson(labels);
        fc.pre(changed);
        // the host/fleet/decky labels carry no integrity of their own; only judge edits to integrity-bearing keys
        const identity = ['com.decnet.host', 'com.decnet.fleet', LABEL_DECKY, LABEL_SERVICE];
        const touchedOnlyIdentity = Object.keys({ ...l, ...labels }).every((k) => identity.includes(k) || l[k] === labels[k]);
        const r = decodeLabels(l);
        const insp = inspectLabels(l);
        expect(insp.result).toEqual(r);
        if (!touchedOnlyIdentity) expect(r.ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on hostile inputs', () => {
    const hostile: unknown[] = [
      undefined,
      42,
      [],
      Object.create(null),
      { [LABEL_MANAGED]: 'true', __proto__: { [LABEL_SPEC]: 'x' } },
      new Proxy({}, { get: () => { throw new Error('boom'); }, ownKeys: () => { throw new Error('boom'); } }),
    ];
    for (const h of hostile) {
      expect(() => decodeLabels(h)).not.toThrow();
      expect(decodeLabels(h).ok).toBe(false);
    }
    fc.assert(fc.property(fc.anything(), (x) => decodeLabels(x).ok === false));
  });
});

describe('inspectLabels', () => {
  it('explains a tampered, chunked label set check by check', () => {
    const l: Record<string, string> = encodeDeckyLabels(
      makeDecky('big', 'lab', { services: [makeService('http', { config: { custom_body: 'x'.repeat(9000) } })] }),
      { hostId: 'h', role: 'base', generation: 2 },
    );
    delete l[specChunkKey(1)];
    const r = inspectLabels(l);
    expect(r.kind).toBe('decky');
    expect(r.chunks).toEqual({ declared: 3, present: [0, 2], missing: [1] });
    expect(r.checks.find((c) => c.name === 'chunks')?.ok).toBe(false);
    expect(r.result.ok).toBe(false);
  });

  it('reports hash mismatch and missing keys but still parses the spec', () => {
    const l: Record<string, string> = encodeDeckyLabels(makeDecky('a'), { hostId: 'h', role: 'base', generation: 1 });
    l[LABEL_SPEC] = (l[LABEL_SPEC] ?? '').replace('"SRV-A"', '"EVIL"');
    delete l[LABEL_GENERATION];
    l['com.decnet.extra'] = '1';
    const r = inspectLabels(l);
    expect(r.missingKeys).toContain(LABEL_GENERATION);
    expect(r.unknownKeys).toEqual(['com.decnet.extra']);
    expect(r.checks.find((c) => c.name === 'hash')?.ok).toBe(false);
    expect(r.checks.find((c) => c.name === 'spec')?.ok).toBe(true);
    expect((r.spec as { hostname: string }).hostname).toBe('EVIL');
  });

  it('passes every check on intact labels', () => {
    const r = inspectLabels(encodeFleetLabels(makeFleet('lab'), 'h'));
    expect(r.kind).toBe('fleet');
    expect(r.checks.every((c) => c.ok)).toBe(true);
    expect(r.result.ok).toBe(true);
  });
});
