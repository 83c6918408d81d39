import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { importIni } from './ini-import.js';
import { parseManifests } from './parse.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/ini/${name}`, import.meta.url), 'utf8');
const CLEAN = ['basic.ini', 'custom.ini', 'random.ini', 'syntax.ini', 'persona.ini'];

/** INI -> manifests -> multi-document YAML text, as `decnetctl import` would write it. */
function toYaml(name: string, lab = false): { yaml: string; count: number } {
  const { manifests, issues } = importIni(fixture(name), { file: name, lab, fleetName: 'imported' });
  expect(issues).toEqual([]);
  return { yaml: manifests.map((m) => stringify(m)).join('---\n'), count: manifests.length };
}

describe('INI -> manifests -> YAML -> parseManifests', () => {
  it.each(CLEAN.flatMap((name) => [[name, false] as const, [name, true] as const]))('%s (lab %s) validates without issues', (name, lab) => {
    const { yaml, count } = toYaml(name, lab);
    const parsed = parseManifests([{ file: `${name}.yaml`, text: yaml }]);
    expect(parsed.issues).toEqual([]);
    expect(parsed.manifests).toHaveLength(count);
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
