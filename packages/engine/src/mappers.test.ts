import { describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import { SERVICE_CONFIG_PATH, encodeDeckyLabels, encodeFleetLabels, makeDecky, makeFleet, makeService } from '@decnet/api';
import type { CreateContainerOp, CreateNetworkOp } from './engine.js';
import {
  BASE_LIMITS,
  BASE_SYSCTLS,
  SERVICE_USER,
  SERVICE_LIMITS,
  baseCreateBody,
  containerCreateBody,
  containerFromInspect,
  containerFromList,
  hostFilters,
  isManagedBy,
  networkCreateBody,
  networkFromInspect,
  serviceCreateBody,
  serviceRuntimeConfig,
  toContainerState,
} from './mappers.js';

const spec = makeDecky('web-01', 'lab', {
  ip: '10.240.9.10',
  sysctls: { 'net.ipv4.ip_default_ttl': '128', 'net.ipv4.tcp_timestamps': '0' },
  services: [makeService('http', { config: { server_header: 'nginx' }, secretKeys: ['password'] }), makeService('ssh')],
});

function baseOp(): CreateContainerOp {
  return {
    op: 'create-container',
    wave: 2,
    cause: 'new decky',
    decky: 'web-01',
    fleet: 'lab',
    role: 'base',
    name: 'lab-web-01',
    labels: encodeDeckyLabels(spec, { hostId: 'h1', role: 'base', generation: 1 }),
    container: { role: 'base', image: 'decnet/runtime-base:test', hostname: 'SRV-X', network: 'decnet-lab', ip: '10.240.9.10', sysctls: spec.sysctls },
    spec,
  };
}

function serviceOp(command?: string[]): CreateContainerOp {
  const service = { ...spec.services[0]!, ...(command ? { command } : {}) };
  return {
    op: 'create-container',
    wave: 2,
    cause: 'new decky',
    decky: 'web-01',
    fleet: 'lab',
    role: 'service',
    service: 'http',
    name: 'lab-web-01-http',
    labels: encodeDeckyLabels(spec, { hostId: 'h1', role: 'service', service: 'http', generation: 1 }),
    container: { role: 'service', image: 'decnet/http:test', baseName: 'lab-web-01', service, hasSecrets: true },
    spec,
  };
}

describe('base create body', () => {
  const body = baseCreateBody(baseOp());
  it('sends the static IP explicitly on the fleet network', () => {
    expect(body.HostConfig?.NetworkMode).toBe('decnet-lab');
    expect(body.NetworkingConfig?.EndpointsConfig?.['decnet-lab']?.IPAMConfig?.IPv4Address).toBe('10.240.9.10');
    expect(Object.keys(body.NetworkingConfig?.EndpointsConfig ?? {})).toEqual(['decnet-lab']);
  });
  it('sends the decky MAC at container and endpoint level (API 1.41 reads one, 1.44+ the other), none when the spec has none', () => {
    const op = baseOp();
    const withMac = baseCreateBody({ ...op, container: { ...op.container, mac: '00:0c:29:aa:bb:cc' } as typeof op.container });
    expect((withMac as { MacAddress?: string }).MacAddress).toBe('00:0c:29:aa:bb:cc');
    expect((withMac.NetworkingConfig?.EndpointsConfig?.['decnet-lab'] as { MacAddress?: string }).MacAddress).toBe('00:0c:29:aa:bb:cc');
    expect('MacAddress' in body).toBe(false);
  });
  it('carries hostname, sysctls, labels, a do-nothing command under init', () => {
    expect(body.name).toBe('lab-web-01');
    expect(body.Image).toBe('decnet/runtime-base:test');
    expect(body.Hostname).toBe('SRV-X');
    expect(body.HostConfig?.Sysctls).toEqual({ 'net.ipv4.ip_default_ttl': '128', 'net.ipv4.tcp_timestamps': '0', 'net.ipv4.ip_unprivileged_port_start': '0' });
    expect(body.Cmd).toEqual(['sleep', 'infinity']);
    expect(body.HostConfig?.Init).toBe(true);
    expect(body.Labels).toEqual(baseOp().labels);
    expect(body.Labels?.['com.decnet.role']).toBe('base');
  });
  it('is small, restarts unless stopped, and stops quickly', () => {
    expect(body.HostConfig?.RestartPolicy?.Name).toBe('unless-stopped');
    expect(body.HostConfig?.Memory).toBe(BASE_LIMITS.memory);
    expect(body.HostConfig?.PidsLimit).toBe(BASE_LIMITS.pids);
    expect(body.StopTimeout).toBeLessThanOrEqual(5);
    expect(body.HostConfig?.CapDrop).toEqual(['ALL']);
    expect(body.HostConfig?.Privileged).toBe(false);
  });
  it('lets the capability-less services of its namespace bind low ports, whatever the OS profile says', () => {
    expect(BASE_SYSCTLS).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '0' });
    const op = baseOp();
    const sysctls = { 'net.ipv4.ip_unprivileged_port_start': '1024', 'net.ipv4.ip_default_ttl': '64' };
    const b = baseCreateBody({ ...op, container: { ...op.container, sysctls } as typeof op.container });
    expect(b.HostConfig?.Sysctls).toEqual({ 'net.ipv4.ip_default_ttl': '64', 'net.ipv4.ip_unprivileged_port_start': '0' });
    // an engine default, not spec: labels (and so the spec hash) are the op's, untouched
    expect(b.Labels).toEqual(op.labels);
    expect(op.container.role === 'base' && op.container.sysctls).toEqual({ 'net.ipv4.ip_default_ttl': '128', 'net.ipv4.tcp_timestamps': '0' });
    expect(JSON.stringify(op.labels)).not.toContain('ip_unprivileged_port_start');
  });
  it('does not share mutable objects with the op', () => {
    const op = baseOp();
    const b = baseCreateBody(op);
    b.HostConfig!.Sysctls!['x'] = '1';
    b.Labels!['x'] = '1';
    expect(op.container.role === 'base' && op.container.sysctls['x']).toBe(undefined);
    expect(op.labels['x']).toBeUndefined();
  });
  it('refuses a service op', () => {
    expect(() => baseCreateBody(serviceOp())).toThrow(/service/);
  });
});

describe('service create body', () => {
  const body = serviceCreateBody(serviceOp(), { stateDir: '/srv/decnet' });
  const hc = body.HostConfig!;
  it('joins the base namespace and sets nothing a shared namespace forbids', () => {
    expect(hc.NetworkMode).toBe('container:lab-web-01');
    expect(body.Hostname).toBeUndefined();
    expect(body.MacAddress).toBeUndefined();
    expect(body.NetworkingConfig).toBeUndefined();
    expect(hc.Dns).toBeUndefined();
    expect(hc.PortBindings).toBeUndefined();
    expect(hc.Sysctls).toBeUndefined();
  });
  it('is hardened: unprivileged user, no capability at all, default seccomp, CPU-limited', () => {
    expect(body.User).toBe('10001:10001');
    expect(body.User).toBe(`${SERVICE_USER.uid}:${SERVICE_USER.gid}`);
    expect(SERVICE_USER.uid).not.toBe(0);
    expect(SERVICE_USER.gid).not.toBe(0);
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.CapAdd).toBeUndefined();
    expect(hc.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(JSON.stringify(body)).not.toContain('unconfined');
    expect(hc.NanoCpus).toBe(SERVICE_LIMITS.nanoCpus);
    expect(hc.NanoCpus).toBe(500_000_000);
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.SecurityOpt).toContain('no-new-privileges:true');
    expect(hc.Tmpfs).toEqual({ '/tmp': 'rw,noexec,nosuid,size=16m' });
    expect(hc.Memory).toBe(128 * 1024 * 1024);
    expect(hc.PidsLimit).toBe(SERVICE_LIMITS.pids);
    expect(hc.Privileged).toBe(false);
    expect(hc.RestartPolicy?.Name).toBe('unless-stopped');
    expect(hc.LogConfig?.Type).toBe('json-file');
    expect(hc.LogConfig?.Config['max-size']).toBeTruthy();
  });
  it('mounts its config read-only and its quarantine rw, never the docker socket', () => {
    expect(hc.Mounts).toEqual([
      { Type: 'bind', Source: '/srv/decnet/config/lab/web-01/http.json', Target: SERVICE_CONFIG_PATH, ReadOnly: true },
      { Type: 'bind', Source: '/srv/decnet/quarantine/lab/web-01/http', Target: '/quarantine', ReadOnly: false },
    ]);
    expect(hc.Binds).toBeUndefined();
    expect(JSON.stringify(body)).not.toContain('docker.sock');
  });
  it('keeps the image command unless the service has one', () => {
    expect(body.Cmd).toBeUndefined();
    expect(body.Image).toBe('decnet/http:test');
    const custom = serviceCreateBody(serviceOp(['node', '-e', 'x']), { stateDir: '/s' });
    expect(custom.Cmd).toEqual(['node', '-e', 'x']);
  });
  it('puts no secret values in the environment: only the quarantine dir', () => {
    expect(body.Env).toEqual(['DECNET_QUARANTINE_DIR=/quarantine']);
    expect(body.Labels?.['com.decnet.service']).toBe('http');
  });
  it('dispatches by role', () => {
    expect(containerCreateBody(serviceOp(), { stateDir: '/s' }).HostConfig?.NetworkMode).toBe('container:lab-web-01');
    expect(containerCreateBody(baseOp(), { stateDir: '/s' }).HostConfig?.NetworkMode).toBe('decnet-lab');
  });
  it('rejects path-escaping names', () => {
    const op = serviceOp();
    expect(() => serviceCreateBody({ ...op, decky: '../etc' }, { stateDir: '/s' })).toThrow(/file path/);
  });
});

describe('service runtime config', () => {
  it('merges secret values over the persona config', () => {
    const cfg = serviceRuntimeConfig(serviceOp(), { password: 's3cret' });
    expect(cfg).toEqual({
      decky: 'web-01',
      fleet: 'lab',
      service: 'http',
      hostname: spec.hostname,
      ports: [{ port: 80, proto: 'tcp' }],
      config: { server_header: 'nginx', password: 's3cret' },
      persona: expect.objectContaining({ hostname: spec.hostname, os: spec.nmapOS, netbiosName: spec.hostname.split('.')[0]!.toUpperCase().slice(0, 15) }),
    });
  });
});

describe('network create body', () => {
  const fleet = makeFleet('lab', { network: { mode: 'macvlan', subnet: '10.240.9.0/24', gateway: '10.240.9.1' } });
  const op: CreateNetworkOp = { op: 'create-network', wave: 0, cause: 'new fleet', fleet: 'lab', name: 'decnet-lab', spec: fleet, labels: encodeFleetLabels(fleet, 'h1') };
  it('builds a macvlan network on the given parent with subnet, gateway and range', () => {
    const body = networkCreateBody(op, 'dnl12345678p');
    expect(body).toMatchObject({
      Name: 'decnet-lab',
      Driver: 'macvlan',
      Options: { parent: 'dnl12345678p', macvlan_mode: 'bridge' },
      IPAM: { Config: [{ Subnet: '10.240.9.0/24', Gateway: '10.240.9.1', IPRange: '10.240.9.0/24' }] },
    });
    expect(body.Labels).toEqual(op.labels);
  });
  it('uses ipvlan L2 for ipvlan fleets', () => {
    const ip = { ...op, spec: { ...fleet, network: { ...fleet.network, mode: 'ipvlan' as const } } };
    const body = networkCreateBody(ip, 'eth9');
    expect(body.Driver).toBe('ipvlan');
    expect(body.Options).toEqual({ parent: 'eth9', ipvlan_mode: 'l2' });
  });
});

describe('observed mappers', () => {
  const labels = { 'com.decnet.managed': 'true', 'com.decnet.host': 'h1', 'com.decnet.role': 'base' };
  it('maps a list entry', () => {
    const item = {
      Id: 'abc',
      Names: ['/lab-web-01'],
      Image: 'decnet/runtime-base:test',
      ImageID: 'sha256:1',
      Command: 'sleep infinity',
      Created: 1,
      Ports: [],
      Labels: labels,
      State: 'exited',
      Status: 'Exited (137) 3 minutes ago',
      HostConfig: { NetworkMode: 'decnet-lab' },
      NetworkSettings: { Networks: { 'decnet-lab': { NetworkID: 'n', IPAddress: '10.240.9.10', MacAddress: '02:42:0a:f0:09:0a' } } },
      Mounts: [],
    } as unknown as Dockerode.ContainerInfo;
    expect(containerFromList(item)).toEqual({
      createdAt: '1970-01-01T00:00:01.000Z',
      id: 'abc',
      name: 'lab-web-01',
      image: 'decnet/runtime-base:test',
      labels,
      state: 'exited',
      exitCode: 137,
      ip: '10.240.9.10',
      mac: '02:42:0a:f0:09:0a',
    });
  });
  it('maps a service list entry to its namespace owner, without ip', () => {
    const item = {
      Id: 'def',
      Names: ['/lab-web-01-http'],
      Image: 'i',
      Labels: {},
      State: 'running',
      Status: 'Up 2 seconds',
      HostConfig: { NetworkMode: 'container:abc' },
      NetworkSettings: { Networks: {} },
    } as unknown as Dockerode.ContainerInfo;
    const c = containerFromList(item);
    expect(c).toEqual({ id: 'def', name: 'lab-web-01-http', image: 'i', labels: {}, state: 'running', networkContainer: 'abc' });
  });
  it('maps inspect output with times, exit code and restarts', () => {
    const info = {
      Id: 'abc',
      Name: '/lab-web-01',
      Image: 'sha256:xyz',
      RestartCount: 2,
      State: { Status: 'running', ExitCode: 0, StartedAt: '2026-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' },
      Config: { Image: 'decnet/runtime-base:test', Labels: labels },
      HostConfig: { NetworkMode: 'decnet-lab' },
      NetworkSettings: { Networks: { 'decnet-lab': { IPAddress: '10.240.9.10', MacAddress: 'aa' } } },
    } as unknown as Dockerode.ContainerInspectInfo;
    expect(containerFromInspect(info)).toEqual({
      id: 'abc',
      name: 'lab-web-01',
      image: 'decnet/runtime-base:test',
      labels,
      state: 'running',
      exitCode: 0,
      restartCount: 2,
      startedAt: '2026-01-01T00:00:00Z',
      ip: '10.240.9.10',
      mac: 'aa',
    });
  });
  it('maps networks', () => {
    const n = {
      Id: 'n1',
      Name: 'decnet-lab',
      Driver: 'macvlan',
      Labels: labels,
      IPAM: { Config: [{ Subnet: '10.240.9.0/24', Gateway: '10.240.9.1' }] },
      Options: { parent: 'dnl1p' },
    } as unknown as Dockerode.NetworkInspectInfo;
    expect(networkFromInspect(n)).toEqual({ id: 'n1', name: 'decnet-lab', driver: 'macvlan', labels, subnet: '10.240.9.0/24', gateway: '10.240.9.1', parent: 'dnl1p' });
  });
  it('maps unknown states to dead', () => {
    expect(toContainerState('running')).toBe('running');
    expect(toContainerState('Weird')).toBe('dead');
    expect(toContainerState(undefined)).toBe('dead');
  });
  it('filters by host', () => {
    expect(hostFilters('h1')).toEqual({ label: ['com.decnet.managed=true', 'com.decnet.host=h1'] });
    expect(isManagedBy(labels, 'h1')).toBe(true);
    expect(isManagedBy(labels, 'h2')).toBe(false);
    expect(isManagedBy({ ...labels, 'com.decnet.managed': 'false' }, 'h1')).toBe(false);
  });
});
