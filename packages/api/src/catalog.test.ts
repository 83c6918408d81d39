import { describe, expect, it } from 'vitest';
import { ARCHETYPES } from './catalog-archetypes.js';
import { DISTROS } from './catalog-distros.js';
import { portKey, SERVICE_CATALOG, SERVICE_NAMES, serviceConfigDefaults, sharedPort } from './catalog-services.js';
import { osSysctls, OS_PROFILE_NAMES } from './os-profiles.js';

const ports = (name: string) => SERVICE_CATALOG[name]!.ports.map(portKey);

describe('service catalogue', () => {
  it('has the documented services and ports', () => {
    expect(SERVICE_NAMES).toEqual(
      'conpot dns docker_api elasticsearch ftp http https imap k8s ldap llmnr mongodb mqtt mssql mysql pop3 postgres rdp redis sip smb smtp smtp_relay snmp ssh telnet tftp vnc'.split(' '),
    );
    expect(ports('smtp')).toEqual(['25/tcp', '587/tcp']);
    expect(ports('tftp')).toEqual(['69/udp']);
    expect(ports('llmnr')).toEqual(['5355/udp', '5353/udp']);
    expect(ports('sip')).toEqual(['5060/udp', '5060/tcp']);
    expect(ports('dns')).toEqual(['53/udp', '53/tcp']);
    expect(ports('conpot')).toEqual(['502/tcp', '102/tcp', '161/udp', '80/tcp']);
    expect(ports('smb')).toEqual(['445/tcp', '139/tcp', '137/udp']);
  });

  it('types persona config keys', () => {
    const https = SERVICE_CATALOG['https']!.config;
    expect(https['tls_key']!.type).toBe('secret');
    expect(https['fake_app']).toMatchObject({ type: 'enum', values: ['none', 'wordpress', 'phpmyadmin', 'tomcat', 'jenkins'] });
    expect(SERVICE_CATALOG['rdp']!.config['nla']!.type).toBe('bool');
    expect(SERVICE_CATALOG['smtp_relay']!.config['relay_password']!.type).toBe('secret');
    expect(Object.keys(SERVICE_CATALOG['telnet']!.config)).toEqual(['ssh_version', 'kernel_version', 'users', 'hostname']);
  });

  it('exports defaults for honeypots', () => {
    expect(serviceConfigDefaults('http')).toMatchObject({ response_code: 200, fake_app: 'none' });
    expect(serviceConfigDefaults('nope')).toEqual({});
  });

  it('detects shared ports', () => {
    const p = (n: string) => SERVICE_CATALOG[n]!.ports;
    expect(sharedPort(p('http'), p('https'))).toBeUndefined();
    expect(sharedPort(p('smtp'), p('smtp_relay'))).toEqual({ port: 25, proto: 'tcp' });
    expect(sharedPort(p('snmp'), p('conpot'))).toEqual({ port: 161, proto: 'udp' });
  });
});

describe('archetypes, distros and OS profiles', () => {
  it('reference only known services and distros', () => {
    expect(Object.keys(ARCHETYPES)).toHaveLength(15);
    for (const a of Object.values(ARCHETYPES)) {
      for (const s of a.services) expect(SERVICE_CATALOG[s], `${a.name}: ${s}`).toBeDefined();
      for (const d of a.preferredDistros) expect(DISTROS[d], `${a.name}: ${d}`).toBeDefined();
    }
    expect(ARCHETYPES['devops-host']).toEqual({ name: 'devops-host', services: ['docker_api', 'ssh', 'k8s'], preferredDistros: ['ubuntu22', 'debian'], nmapOS: 'linux' });
  });

  it('maps distros to images and families', () => {
    expect(Object.fromEntries(Object.values(DISTROS).map((d) => [d.slug, `${d.image} ${d.family}`]))).toEqual({
      debian: 'debian:bookworm-slim generic',
      ubuntu22: 'ubuntu:22.04 generic',
      ubuntu20: 'ubuntu:20.04 generic',
      rocky9: 'rockylinux:9-minimal rhel',
      centos7: 'centos:7 rhel',
      alpine: 'alpine:3.19 minimal',
      fedora: 'fedora:39 rhel',
      kali: 'kalilinux/kali-rolling rolling',
      arch: 'archlinux:latest rolling',
    });
  });

  it('holds the sysctl table', () => {
    const col = (p: (typeof OS_PROFILE_NAMES)[number]) => Object.values(osSysctls(p)).join(' ');
    expect(col('linux')).toBe('64 6 1 1 1 2 0 60 1000 6168 0');
    expect(col('windows')).toBe('128 2 1 1 1 0 0 30 0 0 0');
    expect(col('windows_server')).toBe('128 2 1 1 1 1 0 30 0 0 0');
    expect(col('bsd')).toBe('64 6 1 1 1 0 0 60 250 6168 0');
    expect(col('embedded')).toBe('255 3 0 0 0 0 1 15 0 0 0');
    expect(col('cisco')).toBe('255 2 0 0 0 0 1 15 0 0 0');
    expect(Object.keys(osSysctls('cisco')).every((k) => k.startsWith('net.ipv4.'))).toBe(true);
  });
});
