import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { canonicalJson } from './canonical.js';
import { formatIssue } from './errors.js';
import { parseManifests } from './parse.js';
import { resolveManifests, type ResolveOptions } from './resolve.js';
import { toManifests } from './to-manifest.js';
import type { Resolution } from './types.js';

const SOURCE = `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: lab, labels: { env: test } }
spec:
  network: { subnet: 10.213.0.0/24, gateway: 10.213.0.1 }
  lab: true
  mutateInterval: 90m
  logTarget: udp://127.0.0.1:5514
  customServices:
    wiki: { image: acme/wiki, command: [/wiki], ports: [8081, "53/udp"] }
---
apiVersion: decnet.io/v1alpha1
kind: DeckySet
metadata: { name: ws }
spec: { fleet: lab, replicas: 3, template: { archetype: windows-workstation, serviceConfig: { rdp: { nla: "off" } } } }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: web-01, labels: { tier: front } }
spec:
  fleet: lab
  services: [https, wiki, ssh]
  baseImage: my/base:1
  mutateInterval: 1d
  placement: { host: worker-a }
  serviceConfig:
    https: { custom_body: "b64:YjY0OnRyaWNreQ==", tls_key: SECRET, response_code: 301 }
    wiki: { mode: dark }
    ssh: { users: "root:toor" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: rand }
spec: { fleet: lab }
`;

function resolveText(text: string, opts: ResolveOptions): Resolution {
  const parsed = parseManifests([{ file: 'x.yaml', text }]);
  expect(parsed.issues.map(formatIssue)).toEqual([]);
  const r = resolveManifests(parsed.manifests, opts);
  expect(r.issues.map(formatIssue)).toEqual([]);
  return r.resolution;
}

const asYaml = (docs: unknown[]) => docs.map((d) => stringify(d)).join('---\n');

describe('toManifests', () => {
  for (const opts of [{ version: '0.1.0' }, { version: '0.1.0', baseImage: 'decnet/runtime-base:test' }] as ResolveOptions[]) {
    it(`round-trips through YAML to the same resolved specs (${opts.baseImage ?? 'distro images'})`, () => {
      const first = resolveText(SOURCE, opts);
      const again = resolveText(asYaml(toManifests(first.fleets, first.deckies, first.secrets)), opts);
      expect(canonicalJson(again)).toBe(canonicalJson(first));
    });
  }

  it('leaves secrets out unless asked, and everything else explicit', () => {
    const first = resolveText(SOURCE, { version: '0.1.0' });
    const docs = toManifests(first.fleets, first.deckies);
    const text = asYaml(docs);
    expect(text).not.toContain('SECRET');
    const web = docs.find((d) => d.metadata.name === 'web-01')!;
    expect(web.spec).toMatchObject({
      fleet: 'lab',
      ip: '10.213.0.5',
      services: ['https', 'ssh', 'wiki'],
      baseImage: 'my/base:1',
      mutateInterval: '1d',
      serviceConfig: { https: { custom_body: 'b64:YjY0OnRyaWNreQ==', response_code: 301 } },
    });
    const ws = docs.find((d) => d.metadata.name === 'ws-01')!;
    expect(ws.spec).not.toHaveProperty('baseImage');
    expect(ws.spec).toMatchObject({ archetype: 'windows-workstation', nmapOS: 'windows', serviceConfig: { rdp: { nla: false } } });
    expect(ws.spec).not.toHaveProperty('mutateInterval');
    expect(docs[0]!.spec).toMatchObject({ mutateInterval: '90m' });
    // without secrets, only the secret bookkeeping differs
    const again = resolveText(text, { version: '0.1.0' });
    const strip = (r: Resolution) => canonicalJson(r.deckies.map((d) => ({ ...d, services: d.services.map(({ secretKeys, secretsDigest, ...s }) => s) })));
    expect(strip(again)).toBe(strip(first));
    expect(again.secrets).toEqual({});
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['Fleet/lab', 'Decky/rand', 'Decky/web-01', 'Decky/ws-01', 'Decky/ws-02', 'Decky/ws-03']);
  });
});
