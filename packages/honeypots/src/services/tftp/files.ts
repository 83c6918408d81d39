/**
 * The fake file tree a network device / IP-phone provisioning server offers over TFTP.
 * Pure data derived from the decky's persona and hostname.
 */
import type { Persona } from '@decnet/api';

export interface FileTreeInput {
  hostname: string;
  persona: Persona;
}

/** Is `name` an attempt to leave the TFTP root (absolute path, `..` component, drive letter)? */
export function isTraversal(name: string): boolean {
  if (name.startsWith('/') || name.startsWith('\\') || /^[a-zA-Z]:/.test(name)) return true;
  return name.split(/[\\/]+/).some((c) => c === '..');
}

function ciscoConfig(host: string, domain: string): string {
  return [
    '!',
    '! Last configuration change at 09:14:27 UTC Mon Mar 4 2024 by admin',
    '!',
    'version 15.2',
    'service timestamps debug datetime msec',
    'service timestamps log datetime msec',
    'service password-encryption',
    '!',
    `hostname ${host}`,
    '!',
    'boot-start-marker',
    'boot-end-marker',
    '!',
    'enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0',
    '!',
    'no aaa new-model',
    `ip domain-name ${domain}`,
    'ip name-server 10.0.0.53',
    '!',
    'username admin privilege 15 secret 5 $1$pdQG$o8nrSzsGXeaduXrjlvKc91',
    '!',
    'interface GigabitEthernet0/0',
    ' description uplink',
    ' ip address 10.0.0.1 255.255.255.0',
    ' duplex auto',
    ' speed auto',
    '!',
    'interface GigabitEthernet0/1',
    ' no ip address',
    ' shutdown',
    '!',
    'ip forward-protocol nd',
    'no ip http server',
    '!',
    'snmp-server community public RO',
    '!',
    'line con 0',
    ' logging synchronous',
    'line vty 0 4',
    ' password 7 0822455D0A16',
    ' login local',
    ' transport input ssh telnet',
    '!',
    'end',
    '',
  ].join('\n');
}

function sepDefault(host: string, domain: string): string {
  const server = domain ? `${host}.${domain}` : host;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<device>',
    '  <deviceProtocol>SIP</deviceProtocol>',
    '  <sshUserId>cisco</sshUserId>',
    '  <sshPassword>cisco</sshPassword>',
    '  <devicePool>',
    '    <dateTimeSetting>',
    '      <dateTemplate>M/D/Y</dateTemplate>',
    '      <timeZone>UTC</timeZone>',
    '    </dateTimeSetting>',
    '    <callManagerGroup>',
    '      <members>',
    '        <member priority="0">',
    '          <callManager>',
    '            <ports><ethernetPhonePort>2000</ethernetPhonePort><sipPort>5060</sipPort></ports>',
    `            <processNodeName>${server}</processNodeName>`,
    '          </callManager>',
    '        </member>',
    '      </members>',
    '    </callManagerGroup>',
    '  </devicePool>',
    '  <loadInformation>SIP88xx.12-8-1-0001-455</loadInformation>',
    '  <vendorConfig><webAccess>0</webAccess><sshAccess>0</sshAccess></vendorConfig>',
    `  <transportLayerProtocol>2</transportLayerProtocol>`,
    '</device>',
    '',
  ].join('\n');
}

function pxeDefault(host: string): string {
  return [
    'DEFAULT menu.c32',
    'PROMPT 0',
    'TIMEOUT 100',
    `MENU TITLE ${host} PXE boot`,
    '',
    'LABEL local',
    '  MENU LABEL Boot from local disk',
    '  LOCALBOOT 0',
    '',
    'LABEL install',
    '  MENU LABEL Install Debian 12 (preseed)',
    '  KERNEL debian-installer/amd64/linux',
    `  APPEND initrd=debian-installer/amd64/initrd.gz auto=true priority=critical url=tftp://${host}/preseed.cfg`,
    '',
  ].join('\n');
}

function preseed(host: string, domain: string): string {
  return [
    'd-i debian-installer/locale string en_US.UTF-8',
    'd-i keyboard-configuration/xkb-keymap select us',
    `d-i netcfg/get_hostname string ${host.toLowerCase()}-client`,
    `d-i netcfg/get_domain string ${domain || 'localdomain'}`,
    'd-i passwd/root-login boolean false',
    'd-i passwd/user-fullname string Deploy User',
    'd-i passwd/username string deploy',
    'd-i passwd/user-password-crypted password $6$rounds=5000$Qm9vdHN0cmFw$0xCq4wJ0Gd9s1vXlq7XGg1o3c2t5fZ4Y8mRkzWQbq3yK6kQeTn2Yw3Rr1yq0pPa1u7vQw3kQbWm9z0xYqJ1a.',
    'd-i pkgsel/include string openssh-server',
    '',
  ].join('\n');
}

/** name -> content; names are matched exactly (tftpd-hpa is case sensitive). */
export function fileTree(input: FileTreeInput): Map<string, Buffer> {
  const host = (input.persona.hostname || input.hostname).split('.')[0] || input.hostname;
  const domain = input.persona.dnsDomain;
  const cfg = ciscoConfig(host, domain || 'localdomain');
  const files: [string, string][] = [
    ['startup-config', cfg],
    ['running-config', cfg],
    ['network-confg', cfg],
    [`${host.toLowerCase()}-confg`, cfg],
    ['SEPDEFAULT.cnf.xml', sepDefault(host, domain)],
    ['XMLDefault.cnf.xml', sepDefault(host, domain)],
    ['pxelinux.cfg/default', pxeDefault(host)],
    ['preseed.cfg', preseed(host, domain)],
  ];
  return new Map(files.map(([n, c]) => [n, Buffer.from(c, 'utf8')]));
}
