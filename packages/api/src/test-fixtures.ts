/**
 * Small, explicit builders of resolved specs for tests (this package's and
 * others'). They are not the resolver: values are plausible, not derived.
 */
import type { ResolvedDecky, ResolvedFleet, ResolvedService, ServicePort } from './types.js';

const PORTS: Record<string, ServicePort[]> = {
  ssh: [{ port: 22, proto: 'tcp' }],
  http: [{ port: 80, proto: 'tcp' }],
  ftp: [{ port: 21, proto: 'tcp' }],
  smb: [{ port: 139, proto: 'tcp' }, { port: 445, proto: 'tcp' }],
  rdp: [{ port: 3389, proto: 'tcp' }],
  mysql: [{ port: 3306, proto: 'tcp' }],
  redis: [{ port: 6379, proto: 'tcp' }],
  snmp: [{ port: 161, proto: 'udp' }],
  telnet: [{ port: 23, proto: 'tcp' }],
};

export function makeService(name: string, over: Partial<ResolvedService> = {}): ResolvedService {
  return {
    name,
    image: `decnet/${name}:test`,
    ports: PORTS[name] ?? [{ port: 10000, proto: 'tcp' }],
    config: {},
    secretKeys: [],
    ...over,
  };
}

export function makeFleet(name: string, over: Partial<ResolvedFleet> = {}): ResolvedFleet {
  return {
    name,
    labels: {},
    network: { mode: 'macvlan', subnet: '10.213.0.0/24', gateway: '10.213.0.1' },
    lab: true,
    ...over,
  };
}

export interface DeckyFixtureOptions extends Partial<Omit<ResolvedDecky, 'services'>> {
  /** service names (built with makeService) or full services */
  services?: Array<string | ResolvedService>;
}

const LINUX_SYSCTLS: Record<string, string> = {
  'net.ipv4.ip_default_ttl': '64',
  'net.ipv4.tcp_syn_retries': '6',
  'net.ipv4.tcp_timestamps': '1',
};

/** A decky on fleet `fleet`; ip defaults to 10.213.0.<10 + a stable number from the name>. */
export function makeDecky(name: string, fleet = 'lab', over: DeckyFixtureOptions = {}): ResolvedDecky {
  const { services = ['ssh', 'http'], ...rest } = over;
  const n = [...name].reduce((a, c) => (a * 31 + c.charCodeAt(0)) % 200, 7);
  return {
    name,
    fleet,
    labels: {},
    ip: `10.213.0.${10 + n}`,
    hostname: `SRV-${name.toUpperCase()}`,
    distro: 'debian',
    baseImage: 'debian:bookworm-slim',
    nmapOS: 'linux',
    sysctls: { ...LINUX_SYSCTLS },
    services: services
      .map((s) => (typeof s === 'string' ? makeService(s) : s))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ...rest,
  };
}

/** A lab Fleet document named `lab` (YAML), for tests that go through parse and resolve. */
export function labFleetYaml(subnet = '10.213.0.0/24', gateway = '10.213.0.1'): string {
  return `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: lab }
spec:
  network: { subnet: ${subnet}, gateway: ${gateway} }
  lab: true
`;
}

/** A Decky document of fleet `lab` (YAML, with its leading ---); `spec` is the rest of its flow mapping. */
export function deckyYaml(name: string, spec: string): string {
  return `---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: ${name} }
spec: { fleet: lab, ${spec} }
`;
}
