import { describe, expect, it } from 'vitest';
import { generateHostname, HOSTNAME_WORDS, seededRandom, stableHash } from './hostnames.js';
import { randomServices, withoutClashes } from './resolve-services.js';

describe('hostnames', () => {
  it('are deterministic per decky name and differ between names', () => {
    expect(generateHostname('web-01', 'generic')).toBe(generateHostname('web-01', 'generic'));
    const many = new Set(Array.from({ length: 50 }, (_, i) => generateHostname(`d${i}`, 'generic')));
    expect(many.size).toBeGreaterThan(40);
  });
  it('follow the family styles with nn in 10..99', () => {
    for (let i = 0; i < 200; i++) {
      const g = generateHostname(`n${i}`, 'generic');
      const m = /^SRV-([A-Z]+)-(\d\d)$/.exec(g);
      expect(m, g).not.toBeNull();
      expect(HOSTNAME_WORDS).toContain(m![1]!.toLowerCase());
      expect(Number(m![2])).toBeGreaterThanOrEqual(10);
      expect(generateHostname(`n${i}`, 'rhel')).toMatch(/^[a-z]+\d\d\.localdomain$/);
      expect(generateHostname(`n${i}`, 'minimal')).toMatch(/^[a-z]+-\d\d$/);
      const [a, b] = generateHostname(`n${i}`, 'rolling').split('-');
      expect(a).not.toBe(b);
    }
    expect(HOSTNAME_WORDS.length).toBeGreaterThanOrEqual(25);
  });
  it('seeded randomness is stable and in [0,1)', () => {
    const a = seededRandom('x');
    const b = seededRandom('x');
    const xs = Array.from({ length: 100 }, () => a());
    expect(xs).toEqual(Array.from({ length: 100 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(stableHash('x')).toBe(stableHash('x'));
    expect(stableHash('x')).not.toBe(stableHash('y'));
  });
});

describe('service picks', () => {
  it('draws 1-3 clash-free services from the pool, deterministically', () => {
    expect(randomServices('abc')).toEqual(randomServices('abc'));
    for (let i = 0; i < 100; i++) {
      const s = randomServices(`d${i}`, ['smtp', 'smtp_relay', 'conpot', 'snmp', 'http']);
      expect(s.length).toBeGreaterThanOrEqual(1);
      expect(s.length).toBeLessThanOrEqual(3);
      expect(withoutClashes(s)).toEqual(s);
    }
  });
  it('drops later clashing services from a list', () => {
    expect(withoutClashes(['conpot', 'snmp', 'ssh', 'http'])).toEqual(['conpot', 'ssh']);
  });
});
