/**
 * Windows and Active Directory deckies against the real attacker tools, run from the lab
 * fleet's attacker namespace: nmap (-sV and the SMB, RDP, LDAP, MSSQL and NetBIOS
 * scripts), smbclient, nmblookup, nbtscan, impacket's smbclient.py and mssqlclient.py,
 * ldapsearch and xfreerdp. Each client sees the decky's one persona (names, domain,
 * Windows build), and every credential it sends lands in `decnetctl events` as a capture
 * an analyst can crack (NetNTLMv2 recomputed from the known password) or read.
 * One fleet (e2win, 10.229.0.0/24), applied once; host id e2e-windows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, containers, decnetctl, docker, run, tempDir, type RunResult } from './lib/cli.js';
import { fleetEvents, type Ev } from './lib/fleet-events.js';
import { labFleet } from './lib/lab-fleet.js';
import { netntlmv2Matches } from './lib/ntlm.js';

const FLEET = 'e2win';
const DC = '10.229.0.10';
const WS = '10.229.0.11';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = process.env['DECNET_BASE_IMAGE'] ?? `decnet/runtime-base:${VERSION}`;
const ENV = { DECNET_HOST_ID: 'e2e-windows', DECNET_STATE_DIR: tempDir('e2win-state'), DECNET_BASE_IMAGE: IMAGE, DECNET_IMAGE_BASE: process.env['DECNET_IMAGE_BASE'] ?? IMAGE };
const PY = '/usr/bin/python3';
const IMPACKET = '/usr/share/doc/python3-impacket/examples';
const CLIENTS = ['nmap', 'smbclient', 'nmblookup', 'nbtscan', 'ldapsearch', 'xfreerdp', PY];

const MANIFEST = `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: ${FLEET} }
spec:
  network: { subnet: 10.229.0.0/24, gateway: 10.229.0.1 }
  lab: true
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2w-dc }
spec:
  fleet: ${FLEET}
  ip: ${DC}
  hostname: DC01
  nmapOS: windows_server
  services: [smb, rdp, ldap, mssql, llmnr]
  serviceConfig:
    smb: { users: "alice:Secret1" }
    ldap: { domain: corp.local }
    mssql: { mssql_version: "15.0.2000.5" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2w-ws }
spec:
  fleet: ${FLEET}
  ip: ${WS}
  hostname: WS-PC07
  nmapOS: windows
  services: [smb, rdp]
  serviceConfig:
    rdp: { nla: false }
`;

const ctl = (args: string[], timeoutMs?: number) => decnetctl(args, { env: ENV, timeoutMs });
/** A command run inside the fleet's attacker namespace, as a user would. */
const lab = (cmd: string[], timeoutMs = 120_000) => ctl(['lab', 'exec', FLEET, '--', ...cmd], timeoutMs);
const out = (r: RunResult) => `${r.stdout}\n${r.stderr}`;
const nmap = (...args: string[]) => lab(['nmap', '-Pn', '-n', ...args], 240_000);

const { events, expectEvent } = fleetEvents(ctl, FLEET);

/** A NetNTLMv2 capture of `user` that verifies against `password`. */
async function expectCrackable(decky: string, service: string, principal: string, password: string): Promise<Ev> {
  const ev = await expectEvent({ decky, service, event: 'auth_attempt', principal, secret_kind: 'netntlmv2' }, (e) => netntlmv2Matches(String(e['secret']), password));
  expect(Buffer.from(String(ev['secret_b64']), 'base64').toString()).toBe(ev['secret']);
  expect(ev['src_ip']).toBe('10.229.0.1');
  return ev;
}

const fleet = labFleet(ctl, FLEET, MANIFEST, { clients: CLIENTS, image: IMAGE, services: 7 });
beforeAll(() => fleet.up(), 900_000);
afterAll(() => fleet.down(), 300_000);

describe('idle cost', () => {
  it('each Windows service container idles well under its memory limit (recorded in BENCHMARKS.md)', async () => {
    const names = (await containers(`com.decnet.fleet=${FLEET}`)).filter((c) => c.labels['com.decnet.role'] === 'service').map((c) => c.name).sort();
    const stats = (await docker('stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', ...names)).trim().split('\n');
    console.log(`[windows idle memory] ${stats.join('; ')}`);
    for (const line of stats) {
      const m = /^(\S+) ([\d.]+)(KiB|MiB|GiB)/.exec(line);
      expect(m, line).not.toBeNull();
      const mib = Number(m![2]) * (m![3] === 'GiB' ? 1024 : m![3] === 'KiB' ? 1 / 1024 : 1);
      expect(mib, line).toBeLessThan(96);
    }
  });
});

describe('a windows_server domain controller (smb, rdp, ldap, mssql, llmnr)', () => {
  it('nmap -sV names every service as the Windows products of its persona', async () => {
    const r = await nmap('-sV', '-p', '139,445,3389,389,636,1433', DC);
    const o = out(r);
    expect(o).toMatch(/3389\/tcp\s+open\s+ms-wbt-server\s+Microsoft Terminal Services/);
    expect(o).toMatch(/389\/tcp\s+open\s+ldap\s+Microsoft Windows Active Directory LDAP \(Domain: corp\.local/);
    expect(o).toMatch(/1433\/tcp\s+open\s+ms-sql-s\s+Microsoft SQL Server 2019 15\.00\.2000/);
    expect(o).toMatch(/139\/tcp\s+open\s+netbios-ssn\s+Microsoft Windows netbios-ssn/);
    // a Windows 10 / 2016+ with SMB1 disabled hangs up on nmap's SMB1 probe: nmap prints
    // `microsoft-ds?` against the real thing too, and so it must here
    expect(o).toMatch(/445\/tcp\s+open\s+microsoft-ds\?/);
    expect(o.split('\n').filter((l) => /^\d+\/tcp/.test(l) && !l.startsWith('445/')).filter((l) => l.includes('?'))).toEqual([]);
    expect(o).toContain('Service Info: Host: DC01; OS: Windows');
  });
});

describe('ldap: an Active Directory domain controller', () => {
  it('ldapsearch reads a rootDSE that names the DC and its domain', async () => {
    const r = await lab(['ldapsearch', '-x', '-H', `ldap://${DC}`, '-s', 'base', '-b', '', 'defaultNamingContext', 'dnsHostName', 'ldapServiceName', 'domainControllerFunctionality']);
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout).toContain('defaultNamingContext: DC=corp,DC=local');
    expect(r.stdout).toContain('dnsHostName: DC01.corp.local');
    expect(r.stdout).toMatch(/ldapServiceName: corp\.local:dc01\$@CORP\.LOCAL/);
    expect(r.stdout).toContain('domainControllerFunctionality: 7');
    await expectEvent({ decky: 'e2w-dc', service: 'ldap', event: 'request', base: '' });
  });

  it('a simple bind with a wrong password gets AD\'s invalid-credentials answer and is captured in plaintext', async () => {
    const r = await lab(['ldapsearch', '-x', '-H', `ldap://${DC}`, '-D', 'CORP\\bob', '-w', 'Winter2026!', '-b', 'DC=corp,DC=local', '(sAMAccountName=*)']);
    expect(out(r)).toContain('ldap_bind: Invalid credentials (49)');
    expect(out(r)).toContain('AcceptSecurityContext error, data 52e');
    await expectEvent({ decky: 'e2w-dc', service: 'ldap', event: 'auth_attempt', principal: 'CORP\\bob', secret_kind: 'plaintext', secret: 'Winter2026!', success: false });
  });

  it('ldaps on 636 speaks TLS with a certificate for the DC', async () => {
    const r = await lab(['sh', '-c', `openssl s_client -connect ${DC}:636 </dev/null 2>/dev/null | openssl x509 -noout -subject`]);
    expect(out(r)).toMatch(/subject=CN ?= ?DC01\.corp\.local/);
  });
});

describe('NetBIOS and LLMNR: the persona\'s names, and only those', () => {
  it('nmap nbstat, nmblookup -A and nbtscan list the DC\'s names and its MAC', async () => {
    const nb = out(await nmap('-sU', '-p', '137', '--script', 'nbstat', DC));
    expect(nb).toMatch(/NetBIOS name: DC01, NetBIOS user: <unknown>, NetBIOS MAC: [0-9a-f]{12}/);
    const r = await lab(['nmblookup', '-A', DC]);
    expect(out(r)).toMatch(/DC01\s+<00> -\s+B <ACTIVE>/);
    expect(out(r)).toMatch(/CORP\s+<1c> - <GROUP> B <ACTIVE>/);
    const mac = (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}', 'e2w-dc')).trim().toUpperCase().replace(/:/g, '-');
    expect(out(r)).toContain(`MAC Address = ${mac}`);
    const scan = await lab(['nbtscan', DC]);
    expect(out(scan)).toMatch(new RegExp(`${DC.replace(/\./g, '\\.')}\\s+DC01\\s+<server>`));
    await expectEvent({ decky: 'e2w-dc', service: 'smb', event: 'name_query', qtype: 'NBSTAT', answered: true });
  });

  it('LLMNR answers a query for its own name with its address and ignores other names, logging both', async () => {
    const own = await lab(['dig', `@${DC}`, '-p', '5355', '+norecurse', '+short', '+tries=1', '+time=2', 'DC01', 'A']);
    expect(own.stdout.trim()).toBe(DC);
    const other = await lab(['dig', `@${DC}`, '-p', '5355', '+norecurse', '+short', '+tries=1', '+time=2', 'wpad', 'A']);
    expect(other.stdout).not.toMatch(/^\d+\.\d+\.\d+\.\d+$/m); // no address for a name it does not own
    await expectEvent({ decky: 'e2w-dc', service: 'llmnr', event: 'name_query', protocol: 'llmnr', answered: true }, (e) => String(e['name']).toLowerCase() === 'dc01');
    await expectEvent({ decky: 'e2w-dc', service: 'llmnr', event: 'name_query', protocol: 'llmnr', answered: false }, (e) => String(e['name']).toLowerCase() === 'wpad');
  });
});

describe('mssql: SQL Server 2019 on the DC', () => {
  it('nmap reads the version and the fallback certificate; its 7.93 ms-sql scripts fail as they do against a real SQL Server 2019', async () => {
    const o = out(await nmap('-sV', '-p', '1433', '--script', 'ms-sql-info,ms-sql-ntlm-info,ssl-cert', DC));
    expect(o).toMatch(/1433\/tcp\s+open\s+ms-sql-s\s+Microsoft SQL Server 2019 15\.00\.2000/);
    expect(o).toContain('Subject: commonName=SSL_Self_Signed_Fallback');
    // nmap 7.93's mssql library throws before printing (nmap issue #2622, reported against
    // SQL Server 2019): the same line a real server gets, no less and no more
    expect(o).toMatch(/ms-sql-(ntlm-)?info: ERROR: Script execution failed/);
  });

  it('impacket mssqlclient.py sees "Login failed for user" and the SQL login is captured in plaintext', async () => {
    const r = await lab([PY, `${IMPACKET}/mssqlclient.py`, `sa:Summer2026!@${DC}`], 60_000);
    expect(out(r)).toContain("Login failed for user 'sa'.");
    expect(out(r)).toContain('ERROR(DC01)');
    await expectEvent({ decky: 'e2w-dc', service: 'mssql', event: 'auth_attempt', principal: 'sa', secret_kind: 'plaintext', secret: 'Summer2026!' });
  });

  it('a Windows-authentication login is captured as a NetNTLMv2 line that cracks to the password', async () => {
    const r = await lab([PY, `${IMPACKET}/mssqlclient.py`, '-windows-auth', `CORP/carol:Autumn2026!@${DC}`], 60_000);
    expect(out(r)).toContain("Login failed for user 'CORP\\carol'.");
    await expectCrackable('e2w-dc', 'mssql', 'CORP\\carol', 'Autumn2026!');
  });
});

describe('smb: the DC and a workstation', () => {
  it('nmap\'s SMB scripts see the persona\'s dialects, signing and time', async () => {
    const dc = out(await nmap('-p', '445', '--script', 'smb2-security-mode,smb2-time,smb-protocols', DC));
    expect(dc).toContain('Message signing enabled and required');
    expect(dc).toMatch(/smb2-time:\s*\n\|\s+date: 20\d\d-/);
    expect(dc).toMatch(/dialects: \n\|\s+202\n\|\s+210\n\|\s+300\n\|\s+302\n\|_\s+311/);
    expect(dc).not.toMatch(/NT LM 0\.12/);
    const ws = out(await nmap('-p', '445', '--script', 'smb2-security-mode', WS));
    expect(ws).toContain('Message signing enabled but not required');
  });

  it('smbclient -L lists the DC\'s shares after an accepted login, and a file read is a download_attempt', async () => {
    const r = await lab(['smbclient', '-L', `//${DC}`, '-U', 'alice%Secret1']);
    expect(r.code, out(r)).toBe(0);
    for (const share of ['ADMIN$', 'C$', 'IPC$', 'NETLOGON', 'SYSVOL']) expect(r.stdout).toMatch(new RegExp(`^\\s+${share.replace('$', '\\$')}\\s+(Disk|IPC)`, 'm'));
    await expectEvent({ decky: 'e2w-dc', service: 'smb', event: 'auth_attempt' }, (e) => /alice$/i.test(String(e['principal'])) && e['success'] === true);
    const local = join(tempDir('e2win-get'), 'win.ini');
    const g = await lab(['smbclient', `//${DC}/C$`, '-U', 'alice%Secret1', '-c', `cd Windows; get win.ini ${local}`]);
    expect(g.code, out(g)).toBe(0);
    expect(readFileSync(local, 'utf8')).toMatch(/\[fonts\]|\[extensions\]|for 16-bit app support/i);
    await expectEvent({ decky: 'e2w-dc', service: 'smb', event: 'download_attempt' }, (e) => /win\.ini/i.test(JSON.stringify(e)));
  });

  it('a wrong password gets NT_STATUS_LOGON_FAILURE and its NetNTLMv2 capture cracks to that password', async () => {
    const r = await lab(['smbclient', '-L', `//${WS}`, '-W', 'CORP', '-U', 'dave%Spring2026!']);
    expect(out(r)).toContain('NT_STATUS_LOGON_FAILURE');
    await expectCrackable('e2w-ws', 'smb', 'CORP\\dave', 'Spring2026!');
  });

  it('impacket smbclient.py lists the shares', async () => {
    const r = await ctl(['lab', 'exec', FLEET, '--', 'sh', '-c', `printf 'shares\\nexit\\n' | ${PY} ${IMPACKET}/smbclient.py CORP/alice:Secret1@${DC}`], 120_000);
    expect(out(r)).toMatch(/^SYSVOL$/m);
    expect(out(r)).toMatch(/^IPC\$$/m);
  });
});

describe('rdp: NLA on the DC, TLS on the workstation', () => {
  it('rdp-ntlm-info prints the persona\'s names and Windows build', async () => {
    const o = out(await nmap('-p', '3389', '--script', 'rdp-ntlm-info', DC));
    expect(o).toContain('NetBIOS_Domain_Name: CORP');
    expect(o).toContain('NetBIOS_Computer_Name: DC01');
    expect(o).toContain('DNS_Domain_Name: corp.local');
    expect(o).toContain('DNS_Computer_Name: DC01.corp.local');
    expect(o).toContain('Product_Version: 10.0.17763');
  });

  it('xfreerdp +auth-only completes NLA, fails the logon, and the NetNTLMv2 capture cracks', async () => {
    const r = await lab(['xvfb-run', '-a', 'timeout', '40', 'xfreerdp', `/v:${DC}`, '/u:alice', '/p:Secret1', '/d:CORP', '/cert:ignore', '+auth-only'], 90_000);
    expect(out(r)).toMatch(/LOGON_FAILURE/);
    await expectCrackable('e2w-dc', 'rdp', 'CORP\\alice', 'Secret1');
  });

  it('with nla: false a TLS-only client hands over its password in the Client Info PDU', async () => {
    await lab(['xvfb-run', '-a', 'timeout', '40', 'xfreerdp', `/v:${WS}`, '/u:erin', '/p:Gr33nTea!', '/d:CORP', '/cert:ignore', '/sec:tls'], 90_000);
    await expectEvent({ decky: 'e2w-ws', service: 'rdp', event: 'auth_attempt', principal: 'CORP\\erin', secret_kind: 'plaintext', secret: 'Gr33nTea!' });
  });
});
