import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { importIni } from './ini-import.js';
import { parseManifests } from './parse.js';
import { resolveManifests } from './resolve.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/ini/${name}`, import.meta.url), 'utf8');
const CLEAN = ['basic.ini', 'custom.ini', 'random.ini', 'syntax.ini', 'persona.ini'];

/** INI -> manifests -> multi-document YAML text, as `decnetctl import` would write it. */
function toYaml(name: string, lab = false): { yaml: string; count: number } {
  const { manifests, issues } = importIni(fixture(name), { file: name, lab, fleetName: 'imported' });
  expect(issues).toEqual([]);
  return { yaml: manifests.map((m) => stringify(m)).join('---\n'), count: manifests.length };
}

describe('INI -> manifests -> YAML -> parseManifests -> resolve', () => {
  it.each(CLEAN.flatMap((name) => [[name, false] as const, [name, true] as const]))('%s (lab %s) validates and resolves without issues', (name, lab) => {
    const { yaml, count } = toYaml(name, lab);
    const parsed = parseManifests([{ file: `${name}.yaml`, text: yaml }]);
    expect(parsed.issues).toEqual([]);
    expect(parsed.manifests).toHaveLength(count);
    const { resolution, issues } = resolveManifests(parsed.manifests, { version: 'test' });
    expect(issues).toEqual([]);
    // every section became deckies: sets expand to name-01 .. name-NN
    const expected = parsed.manifests.flatMap((m) =>
      m.kind === 'Decky' ? [m.metadata.name] : m.kind === 'DeckySet' ? Array.from({ length: m.spec.replicas }, (_, i) => `${m.metadata.name}-${String(i + 1).padStart(2, '0')}`) : [],
    );
    expect(resolution.deckies.map((d) => d.name)).toEqual([...expected].sort());
    expect(resolution.fleets.map((f) => [f.name, f.lab])).toEqual([['imported', lab]]);
  });

  it('resolved deckies carry what the INI said', () => {
    const parsed = parseManifests([{ file: 'p.yaml', text: toYaml('persona.ini').yaml }]);
    const { resolution } = resolveManifests(parsed.manifests, { version: 'test' });
    const win = resolution.deckies.find((d) => d.name === 'win');
    const https = win?.services.find((s) => s.name === 'https');
    expect(https?.config).toMatchObject({ response_code: 302, custom_body: '<h1>It works</h1>' });
    expect(https?.secretKeys).toEqual(['tls_key']);
    expect(resolution.secrets['win']?.['https']).toEqual({ tls_key: '-----BEGIN PRIVATE KEY----- abc' });
    expect(win?.services.find((s) => s.name === 'rdp')?.config).toEqual({ nla: false, build: '17763' });
    expect(resolution.secrets['relay-02']?.['smtp_relay']).toEqual({ relay_password: 'hunter2' });

    const custom = parseManifests([{ file: 'c.yaml', text: toYaml('custom.ini').yaml }]);
    const app = resolveManifests(custom.manifests, { version: 'test' }).resolution.deckies.find((d) => d.name === 'app-server');
    expect(app?.ip).toBe('10.77.0.20');
    expect(app?.services.find((s) => s.name === 'crm')).toMatchObject({
      image: 'acme/crm-honeypot:2.1',
      command: ['/usr/bin/crm', '--listen', '0.0.0.0', '--banner', 'ACME CRM v3', '--motd', "it's up"],
      ports: [
        { port: 8443, proto: 'tcp' },
        { port: 9000, proto: 'udp' },
      ],
    });
  });

  it('keeps meaning through YAML: durations, typed config, secrets, custom service ports', () => {
    const basic = parseManifests([{ file: 'b.yaml', text: toYaml('basic.ini').yaml }]).manifests;
    const web = basic.find((m) => m.metadata.name === 'web-01');
    expect(web?.kind === 'Decky' && web.spec.mutateInterval).toBe(1800);

    const persona = parseManifests([{ file: 'p.yaml', text: toYaml('persona.ini').yaml }]).manifests;
    const relay = persona.find((m) => m.kind === 'DeckySet');
    expect(relay?.kind === 'DeckySet' && relay.spec.template.serviceConfig).toEqual({
      smtp_relay: { relay_host: 'mail.example.org', relay_port: 2525, relay_tls: false, relay_password: 'hunter2' },
    });

    const custom = parseManifests([{ file: 'c.yaml', text: toYaml('custom.ini').yaml }]).manifests;
    const fleet = custom.find((m) => m.kind === 'Fleet');
    expect(fleet?.kind === 'Fleet' && fleet.spec.customServices?.crm?.ports).toEqual([
      { port: 8443, proto: 'tcp' },
      { port: 9000, proto: 'udp' },
    ]);
  });
});
