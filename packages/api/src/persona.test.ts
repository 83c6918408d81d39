import { describe, expect, it } from 'vitest';
import { baseDnOf, buildFromText, domainOfBaseDn, netbiosName, resolvePersona, windowsRelease } from './persona.js';

describe('persona', () => {
  it('a windows_server decky with ldap is a Windows Server 2019 domain controller of corp.local', () => {
    const p = resolvePersona({ hostname: 'SRV-ALPHA-12', nmapOS: 'windows_server', services: [{ name: 'ldap', config: {} }, { name: 'smb', config: {} }] });
    expect(p).toMatchObject({
      netbiosName: 'SRV-ALPHA-12',
      netbiosDomain: 'CORP',
      dnsDomain: 'corp.local',
      fqdn: 'SRV-ALPHA-12.corp.local',
      joined: true,
      domainController: true,
      baseDn: 'DC=corp,DC=local',
      windows: { product: 'Windows Server 2019 Standard', major: 10, minor: 0, build: 17763, server: true },
    });
    expect(p.windows!.smbDialects).toEqual([0x0202, 0x0210, 0x0300, 0x0302, 0x0311]);
  });

  it('a windows decky without ldap is a Windows 10 workstation in WORKGROUP', () => {
    const p = resolvePersona({ hostname: 'ws-07', nmapOS: 'windows', services: [{ name: 'smb', config: {} }, { name: 'rdp', config: {} }] });
    expect(p).toMatchObject({ netbiosName: 'WS-07', netbiosDomain: 'WORKGROUP', dnsDomain: '', fqdn: 'ws-07', joined: false, domainController: false });
    expect(p.windows).toMatchObject({ product: 'Windows 10 Pro', build: 19045, server: false });
  });

  it('smb, rdp and ldap keys all feed the one persona', () => {
    const p = resolvePersona({
      hostname: 'x',
      nmapOS: 'windows_server',
      services: [
        { name: 'smb', config: { server_name: 'fileserv01', workgroup: 'acme', os_version: 'Windows Server 2016 Datacenter 14393' } },
        { name: 'ldap', config: { base_dn: 'DC=acme,DC=corp' } },
        { name: 'rdp', config: {} },
      ],
    });
    expect(p).toMatchObject({ netbiosName: 'FILESERV01', netbiosDomain: 'ACME', dnsDomain: 'acme.corp', baseDn: 'DC=acme,DC=corp', fqdn: 'fileserv01.acme.corp' });
    expect(p.windows).toMatchObject({ product: 'Windows Server 2016 Datacenter', build: 14393, major: 10 });
    const rdpBuild = resolvePersona({ hostname: 'x', nmapOS: 'windows', services: [{ name: 'rdp', config: { build: '7601' } }] });
    expect(rdpBuild.windows).toMatchObject({ major: 6, minor: 1, build: 7601, product: 'Windows 7 Professional', smbDialects: [0x0202, 0x0210] });
  });

  it('a linux decky has no Windows release', () => {
    expect(resolvePersona({ hostname: 'web01.localdomain', nmapOS: 'linux', services: [{ name: 'ssh', config: {} }] })).toMatchObject({ netbiosName: 'WEB01', dnsDomain: '', joined: false });
    expect(resolvePersona({ hostname: 'web01', nmapOS: 'linux', services: [] }).windows).toBeUndefined();
  });

  it('helpers', () => {
    expect(netbiosName('a-very-long-hostname-indeed.example.com')).toBe('A-VERY-LONG-HOS');
    expect(buildFromText('Windows 10 Pro 19045')).toBe(19045);
    expect(buildFromText('10.0.17763')).toBe(17763);
    expect(buildFromText('Windows 10 Pro')).toBeUndefined();
    expect(baseDnOf('corp.local')).toBe('DC=corp,DC=local');
    expect(domainOfBaseDn('OU=x,DC=Corp,DC=Local')).toBe('corp.local');
    expect(windowsRelease(19046, false).build).toBe(19046);
  });
});
