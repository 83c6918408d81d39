import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatIssue } from './errors.js';
import { parseManifests } from './parse.js';
import { resolveManifests } from './resolve.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = join(root, 'examples');
const names = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const source = (name: string) => ({ file: `examples/${name}`, text: readFileSync(join(dir, name), 'utf8') });

describe('examples/', () => {
  it('holds the documented examples', () => {
    expect(names).toEqual(expect.arrayContaining(['lab-mixed.yaml', 'lab-single.yaml', 'personas.yaml']));
  });

  for (const name of names) {
    it(`${name} starts with the schema modeline, parses and resolves without issues`, () => {
      const src = source(name);
      expect(src.text.split('\n')[0]).toBe('# yaml-language-server: $schema=../crds/schemas/all.json');
      const parsed = parseManifests([src]);
      expect(parsed.issues.map(formatIssue)).toEqual([]);
      expect(parsed.manifests.length).toBeGreaterThan(0);
      const r = resolveManifests(parsed.manifests, { version: '0.0.0-test' });
      expect(r.issues.map(formatIssue)).toEqual([]);
      // lab fleets only, in 10.213.0.0/16 .. 10.219.0.0/16, so no example touches a real NIC
      for (const f of r.resolution.fleets) {
        expect(f.lab, `${name}: fleet ${f.name}`).toBe(true);
        expect(f.network.parent).toBeUndefined();
        expect(f.network.subnet).toMatch(/^10\.21[3-9]\.\d+\.0\/24$/);
      }
    });
  }

  it('apply together as a directory (distinct subnets and names)', () => {
    const parsed = parseManifests(names.map(source));
    expect(parsed.issues.map(formatIssue)).toEqual([]);
    const r = resolveManifests(parsed.manifests, { version: '0.0.0-test' });
    expect(r.issues.map(formatIssue)).toEqual([]);
    expect(r.resolution.deckies.map((d) => d.name)).toContain('site-03');
  });

  it('lab-mixed expands its DeckySet and keeps explicit choices', () => {
    const r = resolveManifests(parseManifests([source('lab-mixed.yaml')]).manifests, { version: '0.0.0-test' }).resolution;
    const by = Object.fromEntries(r.deckies.map((d) => [d.name, d]));
    expect(['site-01', 'site-02', 'site-03'].map((n) => by[n]!.services.map((s) => s.name).join('+'))).toEqual(['ftp+http', 'ftp+http', 'ftp+http']);
    expect(['site-01', 'site-02', 'site-03'].map((n) => by[n]!.distro)).toEqual(['debian', 'ubuntu22', 'ubuntu20']);
    expect(by['jump-01']!.ip).toBe('10.214.0.50');
    expect(by['app-01']).toMatchObject({ distro: 'rocky9', mutateInterval: 86400 });
    expect(by['mail-01']).toMatchObject({ hostname: 'MAIL-GW-01' });
    // the fleet's default interval stays on the fleet (the mutation runner falls back to it)
    expect(by['mail-01']!.mutateInterval).toBeUndefined();
    expect(r.fleets[0]!.mutateInterval).toBe(21600);
  });

  it('personas carry typed config', () => {
    const r = resolveManifests(parseManifests([source('personas.yaml')]).manifests, { version: '0.0.0-test' }).resolution;
    const svc = (d: string, s: string) => r.deckies.find((x) => x.name === d)!.services.find((x) => x.name === s)!.config;
    expect(svc('www-01', 'http')).toMatchObject({ response_code: 200, fake_app: 'wordpress' });
    expect(svc('db-01', 'redis')['redis_version']).toBe('6.2.14');
    expect(svc('shell-01', 'ssh')['users']).toBe('root:toor,admin:admin123,pi:raspberry');
  });
});
