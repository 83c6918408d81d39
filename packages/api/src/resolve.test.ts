import { describe, expect, it } from 'vitest';
import { deckyYaml, labFleetYaml } from './test-fixtures.js';
import { canonicalHash, canonicalJson, sha256Hex } from './canonical.js';
import { ARCHETYPE_NAMES, ARCHETYPES } from './catalog-archetypes.js';
import { DISTRO_NAMES } from './catalog-distros.js';
import { portKey, serviceDef } from './catalog-services.js';
import { formatIssue, ManifestError } from './errors.js';
import { stableHash } from './hostnames.js';
import { parseManifests } from './parse.js';
import { resolve, resolveManifests, type ResolveOptions } from './resolve.js';
import type { ResolvedDecky } from './types.js';

const FLEET = labFleetYaml();
const decky = deckyYaml;
const set = (name: string, replicas: number, template: string) => `---
apiVersion: decnet.io/v1alpha1
kind: DeckySet
metadata: { name: ${name} }
spec: { fleet: lab, replicas: ${replicas}, template: { ${template} } }
`;

const OPTS: ResolveOptions = { version: '1.2.3' };

function load(text: string, opts: ResolveOptions = OPTS) {
  const parsed = parseManifests([{ file: 'lab.yaml', text }]);
  expect(parsed.issues.map(formatIssue)).toEqual([]);
  return resolveManifests(parsed.manifests, opts);
}
function ok(text: string, opts: ResolveOptions = OPTS) {
  const r = load(text, opts);
  expect(r.issues.map(formatIssue)).toEqual([]);
  return r.resolution;
}
const issuesOf = (text: string, opts: ResolveOptions = OPTS) => load(text, opts).issues.map(formatIssue);

describe('resolve: fields', () => {
  it('expands an archetype, explicit fields overriding it', () => {
    const r = ok(FLEET + decky('dc-01', 'archetype: domain-controller') + decky('dc-02', 'archetype: domain-controller, services: [ssh], nmapOS: bsd, distro: alpine'));
    const [a, b] = r.deckies;
    expect(a!.services.map((s) => s.name)).toEqual(['ldap', 'llmnr', 'rdp', 'smb']);
    expect(a!.nmapOS).toBe('windows_server');
    expect(a!.archetype).toBe('domain-controller');
    expect(['debian', 'ubuntu22']).toContain(a!.distro);
    expect(a!.sysctls['net.ipv4.ip_default_ttl']).toBe('128');
    expect(b!.services.map((s) => s.name)).toEqual(['ssh']);
    expect([b!.nmapOS, b!.distro, b!.baseImage]).toEqual(['bsd', 'alpine', 'alpine:3.19']);
    expect(b!.sysctls).toMatchObject({ 'net.ipv4.ip_default_ttl': '64', 'net.ipv4.icmp_ratelimit': '250' });
  });

  it('defaults nmapOS to linux and uses the full sysctl table', () => {
    const r = ok(FLEET + decky('web-01', 'services: [http]'));
    expect(r.deckies[0]!.sysctls).toEqual({
      'net.ipv4.ip_default_ttl': '64',
      'net.ipv4.tcp_syn_retries': '6',
      'net.ipv4.tcp_timestamps': '1',
      'net.ipv4.tcp_window_scaling': '1',
      'net.ipv4.tcp_sack': '1',
      'net.ipv4.tcp_ecn': '2',
      'net.ipv4.ip_no_pmtu_disc': '0',
      'net.ipv4.tcp_fin_timeout': '60',
      'net.ipv4.icmp_ratelimit': '1000',
      'net.ipv4.icmp_ratemask': '6168',
      'net.ipv4.ip_unprivileged_port_start': '0',
    });
  });

  it('names DeckySet replicas <set>-NN and cycles them through the archetype distros', () => {
    const r = ok(FLEET + set('corp-ws', 5, 'archetype: linux-server'));
    expect(r.deckies.map((d) => d.name)).toEqual(['corp-ws-01', 'corp-ws-02', 'corp-ws-03', 'corp-ws-04', 'corp-ws-05']);
    expect(r.deckies.map((d) => d.distro)).toEqual(['debian', 'ubuntu22', 'rocky9', 'fedora', 'debian']);
    expect(r.deckies.map((d) => d.ip)).toEqual(['10.213.0.2', '10.213.0.3', '10.213.0.4', '10.213.0.5', '10.213.0.6']);
  });

  it('picks a standalone decky distro from the pool by a stable hash of its name', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const r = ok(FLEET + names.map((n) => decky(n, 'services: [ssh]')).join(''));
    expect(r.deckies.map((d) => d.distro)).toEqual(names.map((n) => DISTRO_NAMES[stableHash(n) % DISTRO_NAMES.length]));
    expect(new Set(r.deckies.map((d) => d.distro)).size).toBeGreaterThan(2);
  });

  it('gives deckies without services or archetype 1-3 seeded random services without port clashes', () => {
    const names = Array.from({ length: 30 }, (_, i) => `r${i}`);
    const text = FLEET + names.map((n) => decky(n, 'distro: debian')).join('');
    const r1 = ok(text);
    const r2 = ok(text);
    expect(canonicalJson(r1)).toBe(canonicalJson(r2));
    const counts = new Set<number>();
    for (const d of r1.deckies) {
      counts.add(d.services.length);
      const ports = d.services.flatMap((s) => s.ports.map(portKey));
      expect(new Set(ports).size).toBe(ports.length);
    }
    expect([...counts].sort()).toEqual([1, 2, 3]);
  });

  it('generates stable hostnames per family and keeps explicit ones', () => {
    const r = ok(FLEET + decky('h1', 'services: [ssh], distro: debian') + decky('h2', 'services: [ssh], distro: rocky9') + decky('h3', 'services: [ssh], distro: alpine') + decky('h4', 'services: [ssh], distro: kali') + decky('h5', 'services: [ssh], hostname: MAIL-07'));
    const [h1, h2, h3, h4, h5] = r.deckies.map((d) => d.hostname);
    expect(h1).toMatch(/^SRV-[A-Z]+-[1-9][0-9]$/);
    expect(h2).toMatch(/^[a-z]+[1-9][0-9]\.localdomain$/);
    expect(h3).toMatch(/^[a-z]+-[1-9][0-9]$/);
    expect(h4).toMatch(/^[a-z]+-[a-z]+$/);
    expect(h5).toBe('MAIL-07');
  });

  it('chooses base and service images by precedence', () => {
    const text = `${FLEET}  customServices:
    wiki: { image: 'acme/wiki:2', command: [/wiki, --port, '8081'], ports: [8081] }
${decky('a', 'services: [ssh, wiki], distro: rocky9')}${decky('b', 'services: [ssh], distro: rocky9, baseImage: my/base:1')}`;
    const r1 = ok(text);
    expect(r1.deckies.map((d) => d.baseImage)).toEqual(['rockylinux:9-minimal', 'my/base:1']);
    expect(r1.deckies[0]!.services).toEqual([
      // rocky9's own OpenSSH and kernel (catalog-builds.ts)
      { name: 'ssh', image: 'decnet/honeypot:1.2.3', ports: [{ port: 22, proto: 'tcp' }], config: { ssh_version: 'SSH-2.0-OpenSSH_8.7', kernel_version: '5.14.0-427.13.1.el9_4.x86_64' }, secretKeys: [] },
      { name: 'wiki', image: 'acme/wiki:2', command: ['/wiki', '--port', '8081'], ports: [{ port: 8081, proto: 'tcp' }], config: {}, secretKeys: [] },
    ]);
    const r2 = ok(text, { version: '1.2.3', baseImage: 'decnet/runtime-base:test', serviceImage: 'decnet/honeypot:dev' });
    expect(r2.deckies.map((d) => d.baseImage)).toEqual(['decnet/runtime-base:test', 'my/base:1']);
    expect(r2.deckies[0]!.services.map((s) => s.image)).toEqual(['decnet/honeypot:dev', 'acme/wiki:2']);
  });

  it('coerces persona config, keeps defaults out and splits secrets with a digest', () => {
    const r = ok(
      FLEET +
        decky(
          'web-01',
          `distro: debian, services: [https, ssh], serviceConfig: { https: { response_code: "404", fake_app: wordpress, tls_key: "KEY", custom_body: "b64:aGVsbG8=" }, ssh: { users: "root:toor" } }`,
        ),
    );
    const [https, ssh] = r.deckies[0]!.services;
    // explicit values, plus the platform's builds where they differ from the catalogue default
    expect(https!.config).toEqual({ response_code: 404, fake_app: 'wordpress', custom_body: 'hello', server_header: 'Apache/2.4.62 (Debian)' });
    expect(https!.secretKeys).toEqual(['tls_key']);
    expect(https!.secretsDigest).toBe(sha256Hex(canonicalJson({ tls_key: 'KEY' })));
    expect(ssh!.config).toEqual({ users: 'root:toor', ssh_version: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3', kernel_version: '6.1.0-26-amd64' });
    expect(ssh!.secretsDigest).toBeUndefined();
    expect(r.secrets).toEqual({ 'web-01': { https: { tls_key: 'KEY' } } });
    expect(canonicalJson(r.deckies)).not.toContain('KEY');
  });

  it('keeps the fleet mutation interval on the fleet (a change of it recreates no decky) and a decky\'s own on the decky', () => {
    const r = ok(FLEET.replace('  lab: true', '  lab: true\n  mutateInterval: 30m') + decky('a', 'services: [ssh]') + decky('b', 'services: [ssh], mutateInterval: 1d'));
    expect(r.deckies.map((d) => d.mutateInterval)).toEqual([undefined, 86400]);
    expect(r.fleets[0]).toEqual({
      name: 'lab',
      labels: {},
      network: { mode: 'macvlan', subnet: '10.213.0.0/24', gateway: '10.213.0.1' },
      lab: true,
      mutateInterval: 1800,
    });
  });

  it('resolves every archetype without issues (clashing archetype services keep the first)', () => {
    const r = ok(FLEET + ARCHETYPE_NAMES.map((a) => decky(`x-${a}`, `archetype: ${a}`)).join(''));
    for (const d of r.deckies) {
      const arch = ARCHETYPES[d.archetype!]!;
      expect(arch.preferredDistros).toContain(d.distro);
      expect(d.nmapOS).toBe(arch.nmapOS);
    }
    expect(r.deckies.find((d) => d.archetype === 'industrial-control')!.services.map((s) => s.name)).toEqual(['conpot']);
  });

  it('is deterministic to the byte', () => {
    const text = FLEET + set('ws', 4, 'archetype: windows-workstation') + decky('db', 'archetype: database-server');
    expect(canonicalJson(ok(text))).toBe(canonicalJson(ok(text)));
  });
});

describe('resolve: IPs', () => {
  it('reports an IP outside the subnet with file, document and position', () => {
    expect(issuesOf(FLEET + decky('web-01', 'ip: 10.9.0.5, services: [ssh]'))).toEqual([
      'lab.yaml:11:25: document 2 (Decky web-01): spec.ip: 10.9.0.5 is outside the fleet subnet 10.213.0.0/24',
    ]);
  });

  it('rejects network, broadcast, gateway, reserved and duplicate IPs', () => {
    const fleet = FLEET.replace('  lab: true', '  lab: true\n  reservedIPs: [10.213.0.9]');
    const msgs = load(
      fleet +
        decky('a', 'ip: 10.213.0.0, services: [ssh]') +
        decky('b', 'ip: 10.213.0.255, services: [ssh]') +
        decky('c', 'ip: 10.213.0.1, services: [ssh]') +
        decky('d', 'ip: 10.213.0.9, services: [ssh]') +
        decky('e', 'ip: 10.213.0.10, services: [ssh]') +
        decky('f', 'ip: 10.213.0.10, services: [ssh]') +
        decky('g', 'ip: 10.213.0.11, services: [ssh]'),
      { ...OPTS, reservedIPs: ['10.213.0.11'] },
    ).issues.map((i) => `${i.name} ${i.path}: ${i.message}`);
    expect(msgs).toEqual([
      'a spec.ip: 10.213.0.0 is the network address of 10.213.0.0/24',
      'b spec.ip: 10.213.0.255 is the broadcast address of 10.213.0.0/24',
      'c spec.ip: 10.213.0.1 is the gateway of 10.213.0.0/24',
      'd spec.ip: 10.213.0.9 is reserved (spec.reservedIPs of fleet lab)',
      'f spec.ip: 10.213.0.10 is already the IP of decky e (lab.yaml document 6)',
      'g spec.ip: 10.213.0.11 is reserved on this host',
    ]);
  });

  it('allocates around explicit, reserved and deployed IPs; deployed deckies keep theirs', () => {
    const first = ok(FLEET + decky('old', 'services: [ssh]') + decky('gone', 'services: [ssh]'));
    const observed = first.deckies.map((d) => (d.name === 'old' ? { ...d, ip: '10.213.0.7' } : { ...d, ip: '10.213.0.3' }));
    const r = ok(FLEET + decky('new1', 'services: [ssh]') + decky('new2', 'ip: 10.213.0.2, services: [ssh]') + decky('old', 'services: [ssh]') + decky('new3', 'services: [ssh]'), {
      ...OPTS,
      observedDeckies: observed,
      reservedIPs: ['10.213.0.4'],
    });
    expect(Object.fromEntries(r.deckies.map((d) => [d.name, d.ip]))).toEqual({ new1: '10.213.0.5', new2: '10.213.0.2', old: '10.213.0.7', new3: '10.213.0.6' });
    // an explicit IP held by a deployed decky is the planner's conflict (prune-aware), not a manifest issue
    const taken = ok(FLEET + decky('x', 'ip: 10.213.0.3, services: [ssh]'), { ...OPTS, observedDeckies: observed });
    expect(taken.deckies.map((d) => [d.name, d.ip])).toEqual([['x', '10.213.0.3']]);
    expect(ok(FLEET + decky('y', 'services: [ssh]'), { ...OPTS, observedDeckies: observed }).deckies[0]?.ip).toBe('10.213.0.2');
  });

  it('resolves a Decky against a fleet known on the host', () => {
    const fleet = ok(FLEET).fleets[0]!;
    const r = ok(decky('solo', 'services: [ssh]').slice(4), { ...OPTS, knownFleets: [fleet] });
    expect(r.fleets).toEqual([]);
    expect(r.deckies[0]).toMatchObject({ name: 'solo', fleet: 'lab', ip: '10.213.0.2' });
  });

  it('reports subnet exhaustion naming the replica', () => {
    const small = FLEET.replace('10.213.0.0/24', '10.213.0.0/29');
    expect(issuesOf(small + set('ws', 6, 'services: [ssh]'))).toEqual([
      'lab.yaml:11:31: document 2 (DeckySet ws): spec.replicas: no free IP left in 10.213.0.0/29 for decky ws-06 (network, broadcast, gateway, reserved and used addresses are skipped)',
    ]);
  });
});

describe('resolve: cross-document checks', () => {
  it('rejects duplicate names, including DeckySet replicas', () => {
    expect(issuesOf(FLEET + FLEET.replace('apiVersion', '---\napiVersion') + decky('a', 'services: [ssh]') + decky('a', 'services: [ssh]') + set('ws', 2, 'services: [ssh]') + decky('ws-02', 'services: [ssh]'))).toEqual([
      'lab.yaml:10:19: document 2 (Fleet lab): metadata.name: duplicate Fleet name lab (also in lab.yaml document 1)',
      'lab.yaml:22:19: document 4 (Decky a): metadata.name: duplicate Decky name a (also in lab.yaml document 3)',
      'lab.yaml:32:19: document 6 (Decky ws-02): metadata.name: decky name ws-02 is already taken by a replica of DeckySet ws (lab.yaml document 5)',
    ]);
    expect(issuesOf(FLEET + decky('ws-01', 'services: [ssh]') + set('ws', 2, 'services: [ssh]'))).toEqual([
      'lab.yaml:15:19: document 3 (DeckySet ws): metadata.name: replica ws-01 is already taken by Decky ws-01 (lab.yaml document 2)',
    ]);
  });

  it('rejects references to unknown fleets, listing the known ones', () => {
    expect(issuesOf(FLEET + decky('a', 'services: [ssh]').replace('fleet: lab', 'fleet: prod'))).toEqual([
      'lab.yaml:11:16: document 2 (Decky a): spec.fleet: unknown fleet "prod"; fleets in this submission: lab',
    ]);
    expect(issuesOf(decky('a', 'services: [ssh]').slice(4))).toEqual([
      'lab.yaml:4:16: document 1 (Decky a): spec.fleet: unknown fleet "lab"; no Fleet is defined in this submission or deployed on this host',
    ]);
  });

  it('rejects overlapping fleet subnets', () => {
    const other = FLEET.replace('name: lab', 'name: lab2').replace('10.213.0.0/24', '10.213.0.128/25').replace('10.213.0.1 ', '10.213.0.129 ');
    expect(issuesOf(FLEET + '---\n' + other)).toEqual([
      'lab.yaml:12:22: document 2 (Fleet lab2): spec.network.subnet: 10.213.0.128/25 overlaps 10.213.0.0/24 of fleet lab (lab.yaml document 1)',
    ]);
  });

  it('rejects services of one decky sharing a port, and allows http+https', () => {
    ok(FLEET + decky('w', 'services: [http, https]'));
    expect(issuesOf(FLEET + decky('m', 'services: [smtp, smtp_relay]') + decky('i', 'services: [conpot, snmp]') + decky('j', 'services: [http, conpot]'))).toEqual([
      'lab.yaml:11:38: document 2 (Decky m): spec.services[1]: smtp_relay claims port 25/tcp, already claimed by smtp; one decky cannot run two services on one port',
      'lab.yaml:16:40: document 3 (Decky i): spec.services[1]: snmp claims port 161/udp, already claimed by conpot; one decky cannot run two services on one port',
      'lab.yaml:21:38: document 4 (Decky j): spec.services[1]: conpot claims port 80/tcp, already claimed by http; one decky cannot run two services on one port',
    ]);
  });

  it('rejects unknown services with the list of known ones, including custom services', () => {
    const text = `${FLEET}  customServices: { wiki: { image: acme/wiki, ports: [8081] } }\n${decky('a', 'services: [ssh, sshd]')}`;
    const [msg] = issuesOf(text);
    expect(msg).toMatch(/^lab\.yaml:12:37: document 2 \(Decky a\): spec\.services\[1\]: unknown service "sshd"; known services: conpot, dns, docker_api, .*, vnc; custom services of fleet lab: wiki$/);
    expect(msg).toContain(', telnet, tftp, ');
  });

  it('checks persona config against the catalogue with paths to the key', () => {
    expect(
      issuesOf(FLEET + decky('a', 'services: [http], serviceConfig: { http: { response_code: abc, fake_app: drupal, colour: red }, ftp: { banner: x } }')),
    ).toEqual([
      'lab.yaml:11:79: document 2 (Decky a): spec.serviceConfig.http.response_code: expected an integer, got "abc"',
      'lab.yaml:11:94: document 2 (Decky a): spec.serviceConfig.http.fake_app: expected one of none, wordpress, phpmyadmin, tomcat, jenkins, got "drupal"',
      'lab.yaml:11:110: document 2 (Decky a): spec.serviceConfig.http.colour: unknown key "colour" for service http; known keys: server_header, response_code, fake_app, extra_headers, custom_body',
      "lab.yaml:11:122: document 2 (Decky a): spec.serviceConfig.ftp: service ftp is not among this decky's services (http)",
    ]);
  });

  it('reports a template problem once for all replicas of a DeckySet', () => {
    expect(issuesOf(FLEET + set('ws', 5, 'services: [ssh, smb, sshd], serviceConfig: { ssh: { nope: 1 } }'))).toEqual([
      'lab.yaml:11:67: document 2 (DeckySet ws): spec.template.services[2]: unknown service "sshd"; known services: conpot, dns, docker_api, elasticsearch, ftp, http, https, imap, k8s, ldap, llmnr, mongodb, mqtt, mssql, mysql, pop3, postgres, rdp, redis, sip, smb, smtp, smtp_relay, snmp, ssh, telnet, tftp, vnc',
    ]);
    expect(issuesOf(FLEET + set('ws', 5, 'services: [ssh], serviceConfig: { ssh: { nope: 1 } }'))).toEqual([
      'lab.yaml:11:93: document 2 (DeckySet ws): spec.template.serviceConfig.ssh.nope: unknown key "nope" for service ssh; known keys: ssh_version, kernel_version, users, hostname',
    ]);
  });

  it('throws a ManifestError from resolve()', () => {
    const parsed = parseManifests([{ file: 'x.yaml', text: decky('a', 'services: [ssh]').slice(4) }]);
    expect(() => resolve(parsed.manifests, OPTS)).toThrow(ManifestError);
    expect(serviceDef('ssh')).toBeDefined();
  });
});

describe('mutated deckies on re-apply', () => {
  const text = `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: mut }
spec: { network: { subnet: 10.219.7.0/24, gateway: 10.219.7.1 }, lab: true }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: rot-01 }
spec: { fleet: mut, services: [ssh, http], mutateInterval: 1h }
`;
  const first = () => {
    const { manifests } = parseManifests([{ file: 'm.yaml', text }]);
    return resolveManifests(manifests, { version: '0.0.0' }).resolution.deckies[0]!;
  };
  const rotated = (d: ResolvedDecky): ResolvedDecky => ({
    ...d,
    services: [{ name: 'ftp', image: d.services[0]!.image, ports: [{ port: 21, proto: 'tcp' }], config: {}, secretKeys: [] }],
    mutation: { lastMutated: '2026-01-01T00:00:00.000Z', previousServices: ['http', 'ssh'], declaredHash: canonicalHash(d.services) },
  });

  it('keeps the rotated services while the manifest declares the same ones', () => {
    const deployed = rotated(first());
    const { manifests } = parseManifests([{ file: 'm.yaml', text }]);
    const again = resolveManifests(manifests, { version: '0.0.0', observedDeckies: [deployed] }).resolution.deckies[0]!;
    expect(again).toEqual(deployed);
  });

  it('lets a changed declaration win over the rotation', () => {
    const deployed = rotated(first());
    const { manifests } = parseManifests([{ file: 'm.yaml', text: text.replace('[ssh, http]', '[ssh, telnet]') }]);
    const again = resolveManifests(manifests, { version: '0.0.0', observedDeckies: [deployed] }).resolution.deckies[0]!;
    expect(again.services.map((s) => s.name)).toEqual(['ssh', 'telnet']);
    expect(again.mutation).toBeUndefined();
  });
});
