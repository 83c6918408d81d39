import { describe, expect, it } from 'vitest';
import { formatIssue } from './errors.js';
import { parseManifests, sourceOf, validateManifests } from './parse.js';

const FLEET = `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: lab }
spec:
  network: { subnet: 10.213.0.0/24, gateway: 10.213.0.1 }
  lab: true
  mutateInterval: 30m
`;

const parse = (text: string, file = 'lab.yaml') => parseManifests([{ file, text }]);

describe('parseManifests', () => {
  it('parses a valid multi-document file and converts durations and ports', () => {
    const text = `${FLEET}  customServices:
    web: { image: 'acme/web:1', ports: [8080, "53/udp"] }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: web-01, labels: { team: red } }
spec: { fleet: lab, services: [ssh, web], mutateInterval: 2h }
---
# only a comment
`;
    const r = parse(text);
    expect(r.issues).toEqual([]);
    expect(r.manifests.map((m) => m.kind)).toEqual(['Fleet', 'Decky']);
    const fleet = r.manifests[0]!;
    if (fleet.kind !== 'Fleet') throw new Error('kind');
    expect(fleet.spec.mutateInterval).toBe(1800);
    expect(fleet.spec.customServices?.['web']?.ports).toEqual([
      { port: 8080, proto: 'tcp' },
      { port: 53, proto: 'udp' },
    ]);
    const decky = r.manifests[1]!;
    expect(decky.kind === 'Decky' && decky.spec.mutateInterval).toBe(7200);
    expect(sourceOf(decky)?.doc).toBe(2);
    expect(sourceOf(decky)?.locate(['spec', 'fleet'])).toEqual({ line: 14, col: 16 });
  });

  it('reports an IPv6 subnet and a host-bits subnet with their positions', () => {
    const r = parse(FLEET.replace('10.213.0.0/24', 'fd00::/64'));
    expect(r.issues.map(formatIssue)).toContain(
      'lab.yaml:5:22: document 1 (Fleet lab): spec.network.subnet: fd00::/64 is IPv6; only IPv4 subnets are supported',
    );
    const r2 = parse(FLEET.replace('10.213.0.0/24', '10.213.0.7/24'));
    expect(formatIssue(r2.issues[0]!)).toBe(
      'lab.yaml:5:22: document 1 (Fleet lab): spec.network.subnet: 10.213.0.7/24 has host bits set; did you mean 10.213.0.0/24?',
    );
  });

  it('names unknown fields together with the known ones, pointing at the key', () => {
    const r = parse(FLEET.replace('  lab: true', '  lab: true\n  labb: 1'));
    expect(r.issues).toHaveLength(1);
    expect(formatIssue(r.issues[0]!)).toBe(
      'lab.yaml:7:3: document 1 (Fleet lab): spec: unknown field labb; known fields: network, lab, mutateInterval, logTarget, customServices, reservedIPs, alerts',
    );
  });

  it('rejects a template carrying per-replica fields', () => {
    const r = parse(`apiVersion: decnet.io/v1alpha1
kind: DeckySet
metadata: { name: ws }
spec:
  fleet: lab
  replicas: 3
  template:
    fleet: lab
    archetype: windows-workstation
`);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ path: 'spec.template', line: 8, col: 5, kind: 'DeckySet', name: 'ws', doc: 1 });
    expect(r.issues[0]!.message).toMatch(/^unknown field fleet; known fields: archetype, services, .* \(fleet, ip and hostname are set per replica\)$/);
  });

  it('reports wrong types, enums, ranges and missing fields with paths and positions', () => {
    const r = parse(`apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: Web_01 }
spec:
  ip: 10.9.0.300
  distro: debain
  nmapOS: solaris
  archetype: toaster
  services: [ssh, ssh]
  mutateInterval: 30
---
apiVersion: decnet.io/v1alpha1
kind: DeckySet
metadata: { name: ws }
spec: { fleet: lab, replicas: 101, template: {} }
`);
    const byPath = Object.fromEntries(r.issues.map((i) => [i.path, i]));
    expect(byPath['metadata.name']?.message).toBe(
      `expected a decky name (lowercase letters, digits and '-', at most 63 characters), got "Web_01"`,
    );
    expect(byPath['spec.fleet']).toMatchObject({ message: 'missing required field (expected a string)', line: 5, col: 3 });
    expect(byPath['spec.ip']).toMatchObject({ message: 'expected an IPv4 address like 10.213.0.10, got "10.9.0.300"', line: 5, col: 7 });
    expect(byPath['spec.distro']?.message).toBe(
      'unknown distro "debain"; known distros: debian, ubuntu22, ubuntu20, rocky9, centos7, alpine, fedora, kali, arch',
    );
    expect(byPath['spec.nmapOS']?.message).toBe(
      'unknown nmapOS profile "solaris"; known nmapOS profiles: linux, windows, windows_server, bsd, embedded, cisco',
    );
    expect(byPath['spec.archetype']?.message).toMatch(/^unknown archetype "toaster"; known archetypes: windows-workstation, .*deaddeck$/);
    expect(byPath['spec.services[1]']).toMatchObject({ message: 'service ssh is listed twice', line: 9, col: 19 });
    expect(byPath['spec.mutateInterval']?.message).toBe('expected a duration like 30s, 15m, 2h or 1d, got number 30');
    expect(byPath['spec.replicas']).toMatchObject({ doc: 2, kind: 'DeckySet', message: 'expected an integer from 1 to 100, got number 101' });
    expect(r.manifests).toEqual([]);
  });

  it('checks lab/parent, gateway and reserved IPs of a fleet', () => {
    const r = parse(`apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: prod }
spec:
  network: { subnet: 10.214.0.0/24, gateway: 10.214.0.255 }
  reservedIPs: [10.214.0.9, 10.215.0.1]
---
apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: lab2 }
spec:
  network: { parent: eth1, subnet: 10.216.0.0/24, gateway: 10.217.0.1 }
  lab: true
`);
    expect(r.issues.map(formatIssue)).toEqual([
      'lab.yaml:5:12: document 1 (Fleet prod): spec.network.parent: missing required field (the host NIC, e.g. eth1) unless spec.lab is true',
      'lab.yaml:5:46: document 1 (Fleet prod): spec.network.gateway: 10.214.0.255 is the broadcast address of 10.214.0.0/24',
      'lab.yaml:6:29: document 1 (Fleet prod): spec.reservedIPs[1]: 10.215.0.1 is outside the fleet subnet 10.214.0.0/24',
      'lab.yaml:12:22: document 2 (Fleet lab2): spec.network.parent: must be omitted when spec.lab is true (the lab veth pair is the parent)',
      'lab.yaml:12:60: document 2 (Fleet lab2): spec.network.gateway: 10.217.0.1 is outside the subnet 10.216.0.0/24',
    ]);
  });

  it('rejects custom services named like catalogue services and bad ports', () => {
    const r = parse(`${FLEET}  customServices:
    ssh: { image: acme/ssh, ports: [22] }
    web: { image: acme/web, ports: [70000, "8080/sctp", {}] }
`);
    expect(r.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.customServices.ssh: ssh is a catalogue service; give the custom service another name',
      'spec.customServices.web.ports[0]: expected a port like 8080 or "8080/tcp" or "53/udp" (1-65535), got number 70000',
      'spec.customServices.web.ports[1]: expected a port like 8080 or "8080/tcp" or "53/udp" (1-65535), got "8080/sctp"',
      'spec.customServices.web.ports[2]: expected a port like 8080 or "8080/tcp" or "53/udp" (1-65535), got a mapping',
    ]);
  });

  it('rejects reserved label prefixes and non-string label values', () => {
    const r = parse(FLEET.replace('{ name: lab }', '{ name: lab, labels: { com.decnet.fleet: x, tier: 1 } }'));
    expect(r.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'metadata.labels.com.decnet.fleet: label key com.decnet.fleet uses the reserved prefix com.decnet.',
      'metadata.labels.tier: expected a string label value, got number 1 (quote it)',
    ]);
  });

  it('turns YAML syntax errors and duplicate keys into positioned issues and keeps other documents', () => {
    const r = parse(`${FLEET}---\nkind: Decky\nkind: Decky\n---\na: [1, 2\n`);
    expect(r.manifests).toHaveLength(1);
    expect(r.issues.map((i) => [i.code, i.doc, i.line])).toEqual([
      ['E_YAML', 2, 10],
      ['E_YAML', 3, 13],
    ]);
    expect(formatIssue(r.issues[0]!)).toMatch(/^lab\.yaml:10:1: document 2: YAML syntax error: Map keys must be unique/);
  });

  it('turns alias explosions into an issue instead of a hang', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    const r = parse(lines.join('\n') + '\n');
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ code: 'E_YAML', doc: 1, line: 1, col: 1 });
    expect(r.issues[0]!.message).toMatch(/^YAML error: /);
  });

  it('rejects unknown kinds, wrong apiVersions and non-mapping documents', () => {
    const r = parse(`kind: Pod\n---\n- a\n---\napiVersion: v1\nkind: Fleet\nmetadata: {name: x}\nspec: {network: {subnet: 10.213.0.0/24, gateway: 10.213.0.1}, lab: true}\n`);
    expect(r.issues.map(formatIssue)).toEqual([
      'lab.yaml:1:7: document 1: kind: unknown kind "Pod"; expected one of Fleet, Decky, DeckySet (apiVersion decnet.io/v1alpha1)',
      'lab.yaml:3:1: document 2: expected a mapping with apiVersion, kind, metadata and spec, got a list',
      'lab.yaml:5:13: document 3 (Fleet x): apiVersion: expected decnet.io/v1alpha1, got "v1"',
    ]);
  });

  it('orders issues by file as given, then document and line', () => {
    const bad = 'kind: Nope\n';
    const r = parseManifests([
      { file: 'b.yaml', text: bad },
      { file: 'a.yaml', text: `${bad}---\n${bad}` },
    ]);
    expect(r.issues.map((i) => `${i.file}#${i.doc}`)).toEqual(['b.yaml#1', 'a.yaml#1', 'a.yaml#2']);
  });
});

describe('validateManifests', () => {
  it('validates plain objects without positions', () => {
    const r = validateManifests([{ value: { apiVersion: 'decnet.io/v1alpha1', kind: 'Decky', metadata: { name: 'a' }, spec: {} }, file: 'x.ini' }]);
    expect(r.issues.map(formatIssue)).toEqual(['x.ini: Decky a: spec.fleet: missing required field (expected a string)']);
  });
});
