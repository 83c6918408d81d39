/**
 * fast-check arbitraries of valid resolved specs, for property tests. Strings
 * include non-ASCII text and some are long enough that the spec's JSON exceeds
 * one label value (4 KiB), so chunking is exercised.
 */
import fc from 'fast-check';
import type { ConfigValue, ResolvedDecky, ResolvedFleet, ResolvedService } from '../types.js';

export const dnsName = fc.stringMatching(/^[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?$/);

/** any text, full Unicode included; `__proto__` excluded (never a valid key anywhere) */
export const text = (maxLength = 40) => fc.string({ unit: 'binary', maxLength });
const key = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__');

const configValue: fc.Arbitrary<ConfigValue> = fc.oneof(
  text(),
  // long values (cheap to generate): a short non-ASCII string repeated, often > 4 KiB of JSON
  fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), fc.integer({ min: 100, max: 900 })).map(([t, n]) => t.repeat(n)),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.boolean(),
  fc.array(text(10), { maxLength: 4 }),
);

export const serviceArb = (name: string): fc.Arbitrary<ResolvedService> =>
  fc
    .record(
      {
        image: fc.constantFrom('decnet/ssh:1', 'decnet/http:1', 'registry.local/x/y:2'),
        ports: fc.array(fc.record({ port: fc.integer({ min: 1, max: 65535 }), proto: fc.constantFrom('tcp' as const, 'udp' as const) }), { maxLength: 3 }),
        config: fc.dictionary(key, configValue, { maxKeys: 4 }),
        secretKeys: fc.uniqueArray(key, { maxLength: 2 }),
        secretsDigest: fc.stringMatching(/^[0-9a-f]{64}$/),
        command: fc.array(text(20), { maxLength: 3 }),
      },
      { requiredKeys: ['image', 'ports', 'config', 'secretKeys'] },
    )
    .map((s) => {
      // a secret key never has a value in the spec
      const config = Object.fromEntries(Object.entries(s.config).filter(([k]) => !s.secretKeys.includes(k)));
      return { name, ...s, config };
    });

export const deckyArb = (fleet?: string): fc.Arbitrary<ResolvedDecky> =>
  fc
    .record(
      {
        name: dnsName,
        fleet: fleet === undefined ? dnsName : fc.constant(fleet),
        labels: fc.dictionary(key, text(), { maxKeys: 3 }),
        ip: fc.tuple(fc.integer({ min: 2, max: 254 }), fc.integer({ min: 2, max: 254 })).map(([a, b]) => `10.${a}.0.${b}`),
        hostname: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
        distro: fc.constantFrom('debian', 'ubuntu22', 'alpine'),
        baseImage: fc.constantFrom('debian:bookworm-slim', 'alpine:3.19'),
        archetype: fc.constantFrom('linux-server', 'printer'),
        nmapOS: fc.constantFrom('linux' as const, 'windows' as const, 'embedded' as const),
        sysctls: fc.dictionary(key, fc.integer({ min: 0, max: 9999 }).map(String), { maxKeys: 4 }),
        serviceNames: fc.uniqueArray(fc.constantFrom('ssh', 'http', 'ftp', 'smb', 'rdp', 'mysql', 'snmp'), { minLength: 1, maxLength: 4 }),
        mutateInterval: fc.integer({ min: 1, max: 86400 * 30 }),
        placement: fc.record({ host: dnsName, hostSelector: fc.dictionary(key, text(10), { maxKeys: 2 }) }, { requiredKeys: [] }),
        mutation: fc.record({ lastMutated: fc.constant('2024-05-01T10:00:00Z'), previousServices: fc.array(dnsName, { maxLength: 3 }) }),
      },
      { requiredKeys: ['name', 'fleet', 'labels', 'ip', 'hostname', 'distro', 'baseImage', 'nmapOS', 'sysctls', 'serviceNames'] },
    )
    .chain(({ serviceNames, ...d }) =>
      fc.tuple(...[...serviceNames].sort().map((n) => serviceArb(n))).map((services) => ({ ...d, services }) as ResolvedDecky),
    );

export const fleetArb = (name?: string): fc.Arbitrary<ResolvedFleet> =>
  fc.record(
    {
      name: name === undefined ? dnsName : fc.constant(name),
      labels: fc.dictionary(key, text(), { maxKeys: 3 }),
      network: fc.record(
        {
          mode: fc.constantFrom('macvlan' as const, 'ipvlan' as const),
          parent: fc.constantFrom('eth1', 'ens3'),
          subnet: fc.constant('10.213.0.0/24'),
          gateway: fc.constant('10.213.0.1'),
        },
        { requiredKeys: ['mode', 'subnet', 'gateway'] },
      ),
      lab: fc.boolean(),
      mutateInterval: fc.integer({ min: 1, max: 100000 }),
      logTarget: fc.constant('udp://127.0.0.1:5514'),
      customServices: fc.dictionary(
        dnsName,
        fc.record(
          { image: fc.constant('me/custom:1'), command: fc.array(text(30), { maxLength: 3 }), ports: fc.constant([{ port: 9999, proto: 'tcp' as const }]) },
          { requiredKeys: ['image', 'ports'] },
        ),
        { maxKeys: 2 },
      ),
    },
    { requiredKeys: ['name', 'labels', 'network', 'lab'] },
  );
