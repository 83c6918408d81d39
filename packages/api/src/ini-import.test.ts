import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importIni } from './ini-import.js';
import { API_VERSION } from './types.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/ini/${name}`, import.meta.url), 'utf8');
const meta = (kind: string, name: string) => ({ apiVersion: API_VERSION, kind, metadata: { name } });

describe('importIni: manifests', () => {
  it('basic.ini: [general] -> Fleet, sections -> Decky / DeckySet, X.Y -> serviceConfig', () => {
    const { manifests, issues } = importIni(fixture('basic.ini'), { file: 'basic.ini' });
    expect(issues).toEqual([]);
    expect(manifests).toEqual([
      {
        ...meta('Fleet', 'default'),
        spec: { network: { mode: 'macvlan', parent: 'eth1', subnet: '192.168.50.0/24', gateway: '192.168.50.1' } },
      },
      {
        ...meta('Decky', 'web-01'),
        spec: {
          fleet: 'default',
          ip: '192.168.50.10',
          services: ['ssh', 'http'],
          nmapOS: 'linux',
          serviceConfig: { http: { server_header: 'nginx/1.18.0', fake_app: 'wordpress' } },
          mutateInterval: '30m',
        },
      },
      { ...meta('Decky', 'dc'), spec: { fleet: 'default', archetype: 'domain-controller', nmapOS: 'windows_server' } },
      {
        ...meta('DeckySet', 'corp-ws'),
        spec: {
          fleet: 'default',
          replicas: 3,
          template: { archetype: 'windows-workstation', serviceConfig: { smb: { workgroup: 'CORP' } } },
        },
      },
    ]);
  });

  it('fleetName names the Fleet and every decky joins it', () => {
    const { manifests } = importIni(fixture('basic.ini'), { fleetName: 'office' });
    expect(manifests.map((m) => (m.kind === 'Fleet' ? (m.metadata as { name: string }).name : (m.spec as { fleet: string }).fleet))).toEqual([
      'office',
      'office',
      'office',
      'office',
    ]);
  });

  it('custom.ini: [custom-*] -> Fleet customServices (argv split like a shell), usable in services', () => {
    const { manifests, issues } = importIni(fixture('custom.ini'), { file: 'custom.ini' });
    expect(issues).toEqual([]);
    expect(manifests).toEqual([
      {
        ...meta('Fleet', 'default'),
        spec: {
          network: { mode: 'macvlan', parent: 'br-lan', subnet: '10.77.0.0/24', gateway: '10.77.0.254' },
          customServices: {
            crm: {
              image: 'acme/crm-honeypot:2.1',
              command: ['/usr/bin/crm', '--listen', '0.0.0.0', '--banner', 'ACME CRM v3', '--motd', "it's up"],
              ports: [8443, '9000/udp'],
            },
            metrics: { image: 'registry.local:5000/metrics:latest', ports: [9100] },
          },
        },
      },
      { ...meta('Decky', 'app-server'), spec: { fleet: 'default', ip: '10.77.0.20', services: ['ssh', 'crm'] } },
    ]);
  });

  it('lab: lab true and no parent interface; gw defaults to the first host address', () => {
    const withIface = importIni(fixture('custom.ini'), { lab: true });
    expect(withIface.issues).toEqual([]);
    expect((withIface.manifests[0]?.spec as Record<string, unknown>).lab).toBe(true);
    expect((withIface.manifests[0]?.spec as { network: unknown }).network).toEqual({
      mode: 'macvlan',
      subnet: '10.77.0.0/24',
      gateway: '10.77.0.254',
    });
    const bare = importIni('[general]\nnet = 10.50.0.0/24\n\n[a]\nservices = ssh\n', { lab: true, fleetName: 'lab' });
    expect(bare.issues).toEqual([]);
    expect(bare.manifests[0]).toEqual({
      ...meta('Fleet', 'lab'),
      spec: { network: { mode: 'macvlan', subnet: '10.50.0.0/24', gateway: '10.50.0.1' }, lab: true },
    });
  });

  it('persona.ini: values coerced by the shared rules; secrets kept; textarea kept as written', () => {
    const { manifests, issues } = importIni(fixture('persona.ini'), { file: 'persona.ini' });
    expect(issues).toEqual([]);
    expect(manifests.slice(1)).toEqual([
      {
        ...meta('Decky', 'win'),
        spec: {
          fleet: 'default',
          services: ['rdp', 'https'],
          serviceConfig: {
            rdp: { nla: false, build: '17763' },
            https: {
              response_code: 302,
              tls_key: '-----BEGIN PRIVATE KEY----- abc',
              custom_body: 'b64:PGgxPkl0IHdvcmtzPC9oMT4=',
            },
          },
        },
      },
      {
        ...meta('DeckySet', 'relay'),
        spec: {
          fleet: 'default',
          replicas: 2,
          template: {
            services: ['smtp_relay'],
            serviceConfig: {
              smtp_relay: { relay_host: 'mail.example.org', relay_port: 2525, relay_tls: false, relay_password: 'hunter2' },
            },
          },
        },
      },
    ]);
  });

  it('syntax.ini: comments, ":" delimiter, inline comments, quotes, case-insensitive keys, continuation lines', () => {
    const { manifests, issues } = importIni(fixture('syntax.ini'), { file: 'syntax.ini' });
    expect(issues).toEqual([]);
    expect(manifests).toEqual([
      { ...meta('Fleet', 'default'), spec: { network: { mode: 'macvlan', parent: 'eth3', subnet: '10.9.0.0/24', gateway: '10.9.0.1' } } },
      { ...meta('Decky', 'srv'), spec: { fleet: 'default', services: ['ssh'] } },
      {
        ...meta('Decky', 'files'),
        spec: { fleet: 'default', services: ['ftp', 'smb'], serviceConfig: { ftp: { banner: '220 FTP ready ; welcome #1' } }, mutateInterval: '2h' },
      },
      {
        ...meta('Decky', 'web'),
        spec: {
          fleet: 'default',
          services: ['http'],
          serviceConfig: { http: { extra_headers: 'X-Powered-By: PHP/7.4.3\nX-Frame-Options: SAMEORIGIN', response_code: 404 } },
        },
      },
    ]);
  });

  it('amount = 1 is a plain decky (an ip is fine); no [general] imports deckies into an existing fleet', () => {
    const { manifests, issues } = importIni('[solo]\nservices = ssh\namount = 1\nip = 10.0.0.9\n', { fleetName: 'prod' });
    expect(issues).toEqual([]);
    expect(manifests).toEqual([{ ...meta('Decky', 'solo'), spec: { fleet: 'prod', ip: '10.0.0.9', services: ['ssh'] } }]);
  });

  it('CRLF line endings and a BOM parse the same as LF', () => {
    const lf = fixture('basic.ini');
    const crlf = `\uFEFF${lf.replace(/\n/g, '\r\n')}`;
    expect(importIni(crlf)).toEqual(importIni(lf));
  });
});
