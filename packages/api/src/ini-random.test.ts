import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serviceDef, sharedPort, SERVICE_NAMES } from './catalog-services.js';
import { defaultIniCatalog } from './ini-catalog.js';
import { randomServices } from './ini-decky.js';
import { importIni } from './ini-import.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/ini/${name}`, import.meta.url), 'utf8');

describe('random services for deckies with neither services nor archetype', () => {
  it('random.ini: a seeded pick per section, the same on every import', () => {
    const first = importIni(fixture('random.ini'));
    expect(first.issues).toEqual([]);
    expect(importIni(fixture('random.ini'))).toEqual(first);
    const [, mystery, ghosts] = first.manifests;
    expect(mystery?.spec).toEqual({ fleet: 'default', ip: '172.30.5.5', services: randomServices('mystery', defaultIniCatalog) });
    expect(ghosts?.spec).toEqual({ fleet: 'default', replicas: 4, template: { services: randomServices('ghosts', defaultIniCatalog), nmapOS: 'bsd' } });
    // golden values: a change here renames every imported decky's services
    expect(randomServices('mystery', defaultIniCatalog)).toEqual(['dns', 'mysql', 'tftp']);
    expect(randomServices('ghosts', defaultIniCatalog)).toEqual(['sip', 'snmp']);
  });

  it('picks 1-3 distinct catalogue services whose ports never collide', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (seed) => {
        const picked = randomServices(seed, defaultIniCatalog);
        expect(picked.length).toBeGreaterThanOrEqual(1);
        expect(picked.length).toBeLessThanOrEqual(3);
        expect(new Set(picked).size).toBe(picked.length);
        expect(picked).toEqual([...picked].sort());
        const defs = picked.map((name) => serviceDef(name));
        for (const def of defs) expect(def).toBeDefined();
        defs.forEach((a, i) => defs.slice(i + 1).forEach((b) => expect(sharedPort(a!.ports, b!.ports)).toBeUndefined()));
      }),
    );
  });

  it('spreads over the catalogue and over set sizes', () => {
    const seen = new Set<string>();
    const sizes = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const picked = randomServices(`decky-${i}`, defaultIniCatalog);
      picked.forEach((s) => seen.add(s));
      sizes.add(picked.length);
    }
    expect([...sizes].sort()).toEqual([1, 2, 3]);
    expect(seen.size).toBe(SERVICE_NAMES.length);
  });
});
