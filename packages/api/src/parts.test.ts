import { describe, expect, it } from 'vitest';
import { baseDiff, basePart, partUpToDate, serviceDiff } from './parts.js';
import { makeDecky, makeService } from './test-fixtures.js';

describe('parts', () => {
  const d = makeDecky('web', 'lab', { services: ['http', 'ssh'] });

  it('the base part covers identity, addressing, image and fingerprint only', () => {
    expect(Object.keys(basePart(d)).sort()).toEqual(['baseImage', 'fleet', 'hostname', 'ip', 'name', 'nmapOS', 'sysctls']);
    expect(partUpToDate(d, { ...d, mutateInterval: 60, labels: { a: 'b' } }, 'base')).toBe(true);
    expect(partUpToDate(d, { ...d, sysctls: { ...d.sysctls, 'net.ipv4.ip_default_ttl': '128' } }, 'base')).toBe(false);
    expect(baseDiff(d, { ...d, ip: '10.0.0.9', hostname: 'X' })).toEqual(['ip', 'hostname']);
  });

  it('a service part is its ResolvedService; other services and the base do not matter', () => {
    const changed = { ...d, hostname: 'X', services: [makeService('http', { config: { server_header: 'IIS' } }), makeService('ssh')] };
    expect(partUpToDate(d, changed, 'service', 'ssh')).toBe(true);
    expect(partUpToDate(d, changed, 'service', 'http')).toBe(false);
    expect(serviceDiff(d, changed, 'http')).toEqual(['config']);
    expect(partUpToDate(d, { ...d, services: [makeService('ssh')] }, 'service', 'http')).toBe(false);
    expect(partUpToDate(d, d, 'service', 'ftp')).toBe(false);
  });
});
