import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveMac, macClassFor, macProblem, macVendor, OUI_TABLE, type MacClass } from './mac-vendors.js';
import { parseManifests } from './parse.js';
import { resolveManifests } from './resolve.js';
import { deckyYaml, labFleetYaml, makeDecky } from './test-fixtures.js';

const FLEET = labFleetYaml('10.213.0.0/22');
const decky = (name: string, spec = 'services: [ssh]') => deckyYaml(name, spec);
const res = (text: string, observed: ReturnType<typeof makeDecky>[] = []) => {
  const parsed = parseManifests([{ file: 'lab.yaml', text }]);
  expect(parsed.issues).toEqual([]);
  return resolveManifests(parsed.manifests, { version: '0.1.0', observedDeckies: observed });
};

describe('vendor MACs', () => {
  const PREFIXES = '/usr/share/nmap/nmap-mac-prefixes';
  it.skipIf(!existsSync(PREFIXES))('every OUI of the table is registered to the vendor nmap prints for it', () => {
    const reg = new Map(readFileSync(PREFIXES, 'utf8').split('\n').filter((l) => /^[0-9A-F]{6} /.test(l)).map((l) => [l.slice(0, 6), l.slice(7)]));
    for (const vendors of Object.values(OUI_TABLE)) for (const rows of vendors) for (const r of rows) expect(`${r.oui} ${reg.get(r.oui)}`).toBe(`${r.oui} ${r.vendor}`);
  });

  it('is stable, never in 02:42, unicast, and its OUI belongs to the class', () => {
    const classes = Object.keys(OUI_TABLE) as MacClass[];
    for (const cls of classes) {
      const ouis = new Set(OUI_TABLE[cls].flat().map((r) => r.oui.toLowerCase()));
      for (let i = 0; i < 200; i++) {
        const m = deriveMac('lab', `d${i}`, cls);
        expect(m).toBe(deriveMac('lab', `d${i}`, cls));
        expect(macProblem(m)).toBeUndefined();
        expect(ouis.has(m.replace(/:/g, '').slice(0, 6))).toBe(true);
      }
    }
    expect(deriveMac('lab', 'a', 'server')).not.toBe(deriveMac('other', 'a', 'server'));
  });

  it('spreads over the vendors of a class', () => {
    const seen = new Set(Array.from({ length: 400 }, (_, i) => macVendor(deriveMac('lab', `w${i}`, 'workstation'))));
    expect([...seen].sort()).toEqual([...new Set(OUI_TABLE.workstation.map((r) => r[0]!.vendor))].sort());
  });

  it('chooses the class by archetype first, then OS profile', () => {
    expect(macClassFor('embedded', 'printer')).toBe('printer');
    expect(macClassFor('embedded', 'industrial-control')).toBe('plc');
    expect(macClassFor('embedded', 'iot-device')).toBe('iot');
    expect(macClassFor('windows_server', 'domain-controller')).toBe('windows-server');
    expect(macClassFor('windows')).toBe('workstation');
    expect(macClassFor('linux', 'web-server')).toBe('server');
    expect(macClassFor('cisco')).toBe('cisco');
    expect(macClassFor('bsd')).toBe('server');
  });

  it('refuses bad MACs with the reason', () => {
    expect(macProblem('02:42:0a:00:00:05')).toMatch(/Docker's own 02:42/);
    expect(macProblem('01:00:5e:00:00:01')).toMatch(/multicast/);
    expect(macProblem('00:00:00:00:00:00')).toMatch(/not a usable/);
    expect(macProblem('00:1a:2f:zz:00:01')).toMatch(/expected a MAC/);
    expect(macProblem('00:1A:2F:00:00:01')).toBeUndefined();
  });
});

describe('MACs at resolve', () => {
  it('gives every decky a vendor MAC of its kind, unique on the LAN (1000 deckies)', () => {
    const text = FLEET + Array.from({ length: 1000 }, (_, i) => decky(`n${i}`)).join('');
    const { resolution, issues } = res(text);
    expect(issues).toEqual([]);
    const macs = resolution.deckies.map((d) => d.mac!);
    expect(new Set(macs).size).toBe(1000);
    for (const m of macs) expect(OUI_TABLE.server.flat().map((r) => r.oui.toLowerCase())).toContain(m.replace(/:/g, '').slice(0, 6));
  });

  it('puts the archetype vendor on printers and PLCs', () => {
    const { resolution } = res(FLEET + decky('prn', 'archetype: printer') + decky('plc', 'archetype: industrial-control') + decky('ws', 'archetype: windows-workstation'));
    const vendor = (n: string) => macVendor(resolution.deckies.find((d) => d.name === n)!.mac!);
    expect(vendor('plc')).toBe('Siemens AG');
    expect(['Hewlett Packard', 'Brother industries']).toContain(vendor('prn'));
    expect(['Dell', 'Hewlett Packard', 'Lcfc(hefei) Electronics Technology', 'Intel Corporate']).toContain(vendor('ws'));
  });

  it('takes an explicit spec.mac (normalised) and refuses one used twice or in 02:42, naming spec.mac', () => {
    const ok = res(FLEET + decky('a', 'mac: "00:1A:2F:01:02:03", services: [ssh]'));
    expect(ok.resolution.deckies[0]!.mac).toBe('00:1a:2f:01:02:03');
    const dup = res(FLEET + decky('a', 'mac: "00:1a:2f:01:02:03", services: [ssh]') + decky('b', 'mac: "00:1A:2F:01:02:03", services: [ssh]'));
    expect(dup.issues.map((i) => `${i.code} ${i.path} ${i.message}`)).toEqual([expect.stringMatching(/^E_MAC spec.mac 00:1a:2f:01:02:03 is already the MAC of decky a/)]);
    const parsed = parseManifests([{ file: 'x.yaml', text: FLEET + decky('c', 'mac: "02:42:0a:00:00:05", services: [ssh]') }]);
    expect(parsed.issues.map((i) => i.message).join('\n')).toMatch(/Docker's own 02:42/);
  });

  it('keeps a deployed decky\'s MAC and never hands it to another', () => {
    const deployed = { ...makeDecky('old', 'lab', { ip: '10.213.0.50' }), mac: '00:0c:29:aa:bb:cc' };
    const r1 = res(FLEET + decky('old'), [deployed]);
    expect(r1.resolution.deckies[0]!.mac).toBe('00:0c:29:aa:bb:cc');
    const clash = res(FLEET + decky('new', 'mac: "00:0c:29:aa:bb:cc", services: [ssh]'), [deployed]);
    expect(clash.issues.map((i) => i.code)).toEqual(['E_MAC']);
  });
});
