import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importIni } from './ini-import.js';
import type { IniIssue } from './ini-types.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/ini/${name}`, import.meta.url), 'utf8');

/** Import a fixture and return its issues as [line, section, key, message]. */
function issuesOf(name: string, options: { lab?: boolean } = {}): [number | undefined, string | undefined, string | undefined, string][] {
  const { issues } = importIni(fixture(name), { file: name, ...options });
  for (const issue of issues) expect(issue.file).toBe(name);
  return issues.map((i: IniIssue) => [i.line, i.section, i.key, i.message]);
}

const KNOWN_SERVICES = /known: ssh, telnet, http, https, ftp, .*docker_api, dns, conpot/;

describe('importIni: issues name file, line, section and key', () => {
  it('unknown keys, services, archetypes, OS profiles, bad intervals and broken custom sections', () => {
    const issues = issuesOf('errors-keys.ini');
    expect(issues.map(([line, section, key]) => [line, section, key])).toEqual([
      [5, 'general', 'dns'],
      [8, 'db', 'services'],
      [9, 'db', 'archetype'],
      [10, 'db', 'nmap_os'],
      [11, 'db', 'mutate_interval'],
      [12, 'db', 'hostname'],
      [16, 'box', 'nmap-os'],
      [20, 'custom-tool', 'exec'],
      [21, 'custom-tool', 'ports'],
      [22, 'custom-tool', 'user'],
      [24, 'custom-ssh', undefined],
      [24, 'custom-ssh', undefined],
    ]);
    const messages = issues.map((i) => i[3]);
    expect(messages[0]).toBe('unknown key "dns" in [general]; known keys: net, gw, interface');
    expect(messages[1]).toMatch(/unknown service "oracle"; known: ssh, .*; custom: tool$/);
    expect(messages[1]).toMatch(KNOWN_SERVICES);
    expect(messages[2]).toMatch(/unknown archetype "mainframe"; known: windows-workstation, .*deaddeck/);
    expect(messages[3]).toBe('unknown nmap_os "solaris"; known: linux, windows, windows_server, bsd, embedded, cisco');
    expect(messages[4]).toContain('"soon"');
    expect(messages[5]).toBe('unknown key "hostname" in decky section [db]; known keys: ip, services, archetype, nmap_os, nmap-os, mutate_interval, amount');
    expect(messages[7]).toBe('exec: unterminated double quote');
    expect(messages[8]).toContain('"70000"');
    expect(messages[10]).toContain('name of a built-in service');
    expect(messages[11]).toContain('needs ports');
  });

  it('bad CIDR (host bits), malformed and duplicate IPs', () => {
    expect(issuesOf('errors-network.ini')).toEqual([
      [2, 'general', 'net', 'net: 10.2.0.5/24 has host bits set; did you mean 10.2.0.0/24?'],
      [11, 'b', 'ip', 'ip 10.2.0.10 is already used by [a]'],
      [15, 'c', 'ip', 'ip "10.2.0.300" is not an IPv4 address'],
    ]);
  });

  it('gateway and decky IPs outside the subnet, broadcast address', () => {
    expect(issuesOf('errors-subnet.ini')).toEqual([
      [3, 'general', 'gw', 'gw 10.4.0.1 is not a host address inside net 10.3.0.0/24'],
      [7, 'outside', 'ip', 'ip 10.3.1.10 is outside net 10.3.0.0/24 of [general]'],
      [11, 'bcast', 'ip', 'ip 10.3.0.255 is the network or broadcast address of 10.3.0.0/24'],
    ]);
  });

  it('amount out of range or not a number; ip together with amount > 1', () => {
    const issues = issuesOf('errors-amount.ini');
    expect(issues.map(([line, section, key]) => [line, section, key])).toEqual([
      [8, 'zero', 'amount'],
      [12, 'lots', 'amount'],
      [16, 'words', 'amount'],
      [21, 'pinned', 'ip'],
    ]);
    expect(issues[0]?.[3]).toBe('amount must be a whole number from 1 to 100, got "0"');
    expect(issues[3]?.[3]).toMatch(/^ip cannot be set together with amount = 3/);
  });

  it('section problems: orphan keys, duplicates, invalid names, persona targets, name clashes, junk lines', () => {
    const issues = issuesOf('errors-sections.ini');
    expect(issues.map(([line, section, key]) => [line, section, key])).toEqual([
      [1, undefined, 'orphan'],
      [12, 'web-01', undefined],
      [15, 'Web_Server', undefined],
      [18, 'web', undefined],
      [21, 'web-02.http', undefined],
      [24, 'nobody.ssh', undefined],
      [27, 'web.oracle', undefined],
      [30, 'web.ssh', undefined],
      [35, 'web.http', 'colour'],
      [37, 'web.http', undefined],
      [39, 'general.ssh', undefined],
    ]);
    const messages = issues.map((i) => i[3]);
    expect(messages[1]).toBe('decky "web-01" would be defined twice: by a replica of [web] (amount = 2) on line 8 and by [web-01]');
    expect(messages[2]).toBe('section [Web_Server] cannot name a decky: it has upper-case letters; rename the section, e.g. [web-server]');
    expect(messages[3]).toBe('duplicate section [web] (first defined on line 8); its keys are ignored');
    expect(messages[4]).toContain('replicas share one config: use [web.http]');
    expect(messages[5]).toBe('[nobody.ssh] configures ssh for decky "nobody", but there is no section [nobody]');
    expect(messages[6]).toMatch(KNOWN_SERVICES);
    expect(messages[7]).toBe('[web.ssh] configures ssh, but its services are http; add ssh to services of [web]');
    expect(messages[8]).toBe('unknown key "colour" for service http; known keys: server_header, response_code, fake_app, extra_headers, custom_body');
    expect(messages[9]).toContain('cannot parse line');
    expect(messages[10]).toBe('[general.ssh]: persona config applies to deckies, not to [general]');
  });

  it('persona values that fail the shared coercion; config for a custom service', () => {
    expect(issuesOf('errors-persona.ini')).toEqual([
      [10, 'win.rdp', 'nla', 'nla: expected a boolean (true/1/yes/on or false/0/no/off), got "maybe"'],
      [13, 'win.https', 'response_code', 'response_code: expected an integer, got "two hundred"'],
      [14, 'win.https', 'fake_app', 'fake_app: expected one of none, wordpress, phpmyadmin, tomcat, jenkins, got "drupal"'],
      [15, 'win.https', 'custom_body', expect.stringMatching(/^custom_body: malformed base64/)],
      [20, 'tool.crm', undefined, 'custom service "crm" takes no persona config; configure its image instead'],
    ]);
  });

  it('[general] without net, gw or interface (not lab); an invalid fleet name', () => {
    const { issues } = importIni('[general]\n\n[a]\nservices = ssh\n', { file: 'f.ini', fleetName: 'My Fleet' });
    expect(issues.map((i) => [i.line, i.section, i.message.split(' ').slice(0, 3).join(' ')])).toEqual([
      [undefined, undefined, 'fleet name "My'],
      [1, 'general', 'net is required'],
      [1, 'general', 'interface is required'],
    ]);
    const noGw = importIni('[general]\nnet = 10.0.0.0/24\ninterface = eth1\n').issues;
    expect(noGw).toEqual([{ file: '<ini>', line: 1, section: 'general', message: expect.stringContaining('gw is required') }]);
  });

  it('malformed gw and interface values', () => {
    const { issues } = importIni('[general]\nnet = 10.0.0.0/24\ngw = router\ninterface = eth1;rm -rf\n');
    expect(issues.map((i) => [i.line, i.key, i.message])).toEqual([
      [3, 'gw', 'gw "router" is not an IPv4 address'],
      [4, 'interface', 'interface "eth1;rm -rf" is not a network interface name'],
    ]);
  });

  it('custom sections without [general]; a set name too long for its replica suffix; empty services', () => {
    const text = `[custom-x]\nbinary = x:1\nports = 1\n\n[${'a'.repeat(61)}]\namount = 2\nservices = ssh\n\n[e]\nservices = ,\n`;
    const { issues } = importIni(text);
    expect(issues.map((i) => [i.line, i.section, i.key])).toEqual([
      [1, 'custom-x', undefined],
      [5, 'a'.repeat(61), undefined],
      [10, 'e', 'services'],
    ]);
    expect(issues[1]?.message).toContain('61 characters long (at most 60)');
  });
});
