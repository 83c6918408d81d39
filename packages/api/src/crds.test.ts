import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateCrdFiles, structural } from './crds.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const files = generateCrdFiles();

/** Every problem that would make a CRD schema non-structural. */
function structuralProblems(node: unknown, path: string): string[] {
  if (node === null || typeof node !== 'object') return [];
  const n = node as Record<string, unknown>;
  const out: string[] = [];
  for (const bad of ['$ref', 'anyOf', 'oneOf', 'allOf', 'const', '$schema', 'additionalProperties']) {
    if (bad === 'additionalProperties' ? n['properties'] !== undefined && n[bad] !== undefined : n[bad] !== undefined) out.push(`${path}: ${bad}`);
  }
  if (typeof n['type'] !== 'string' && n['x-kubernetes-int-or-string'] !== true && n['x-kubernetes-preserve-unknown-fields'] !== true) out.push(`${path}: no type`);
  for (const [k, v] of Object.entries((n['properties'] as Record<string, unknown>) ?? {})) out.push(...structuralProblems(v, `${path}.${k}`));
  if (n['items']) out.push(...structuralProblems(n['items'], `${path}[]`));
  if (n['additionalProperties'] && typeof n['additionalProperties'] === 'object') out.push(...structuralProblems(n['additionalProperties'], `${path}{}`));
  return out;
}

describe('crds/', () => {
  it('is current (run `npm run build && npm run gen:crds` after changing the schemas)', () => {
    const onDisk = ['crds', 'crds/schemas'].flatMap((dir) =>
      existsSync(join(root, dir)) ? readdirSync(join(root, dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).map((f) => `${dir}/${f}`) : [],
    );
    expect(onDisk.sort(), 'crds/ is stale: run `npm run build && npm run gen:crds`').toEqual(files.map((f) => f.path).sort());
    for (const f of files) {
      expect(readFileSync(join(root, f.path), 'utf8'), `${f.path} is stale: run \`npm run build && npm run gen:crds\``).toBe(f.content);
    }
  });

  it('generates structural v1 CRDs for the three kinds', () => {
    const crds = files.filter((f) => f.path.endsWith('.yaml')).map((f) => parse(f.content) as Record<string, any>);
    expect(crds.map((c) => [c.metadata.name, c.spec.names.kind])).toEqual([
      ['fleets.decnet.io', 'Fleet'],
      ['deckies.decnet.io', 'Decky'],
      ['deckysets.decnet.io', 'DeckySet'],
    ]);
    for (const c of crds) {
      expect(c.apiVersion).toBe('apiextensions.k8s.io/v1');
      expect(c.spec.group).toBe('decnet.io');
      const v = c.spec.versions[0];
      expect(v.name).toBe('v1alpha1');
      expect(structuralProblems(v.schema.openAPIV3Schema, c.spec.names.kind)).toEqual([]);
    }
    const fleetSpec = crds[0]!.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    expect(fleetSpec.required).toEqual(['network']);
    expect(fleetSpec.properties.network.properties.mode).toEqual({ type: 'string', description: 'macvlan (default) or ipvlan (L2)', enum: ['macvlan', 'ipvlan'] });
  });

  it('converts unions and records to structural forms', () => {
    expect(structural({ anyOf: [{ type: 'integer' }, { type: 'string' }] })).toEqual({ 'x-kubernetes-int-or-string': true });
    expect(structural({ anyOf: [{ type: 'boolean' }, { type: 'string' }], description: 'd' })).toEqual({ 'x-kubernetes-preserve-unknown-fields': true, description: 'd' });
    expect(structural({ type: 'object', additionalProperties: { type: 'string' } })).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
    expect(structural({ type: 'object', properties: { a: { type: 'string', const: 'x' } }, additionalProperties: false })).toEqual({
      type: 'object',
      properties: { a: { type: 'string', enum: ['x'] } },
    });
    expect(structural({ type: 'integer', minimum: -9007199254740991, maximum: 100 })).toEqual({ type: 'integer', maximum: 100 });
  });

  it('writes JSON Schemas for the kinds, events and any manifest', () => {
    const byPath = Object.fromEntries(files.filter((f) => f.path.endsWith('.json')).map((f) => [f.path, JSON.parse(f.content) as Record<string, any>]));
    const all = byPath['crds/schemas/all.json']!;
    expect(all.oneOf.map((s: any) => s.properties.kind.const)).toEqual(['Fleet', 'Decky', 'DeckySet']);
    expect(byPath['crds/schemas/decky.json']!.additionalProperties).toBe(false);
    expect(byPath['crds/schemas/fleet.json']!.properties.spec.properties.mutateInterval.pattern).toBe('^[1-9][0-9]{0,8}[smhd]$');
    expect(byPath['crds/schemas/event.json']!.required).toEqual(['time', 'decky', 'service', 'event']);
  });
});
