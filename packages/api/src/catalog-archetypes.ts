/** Archetypes: one slug sets a decky's services, preferred distros and OS profile. */
import type { OsProfileName } from './types.js';

export interface ArchetypeDef {
  name: string;
  services: readonly string[];
  preferredDistros: readonly string[];
  nmapOS: OsProfileName;
}

const rows: [string, string[], string[], OsProfileName][] = [
  ['windows-workstation', ['smb', 'rdp'], ['debian', 'ubuntu22'], 'windows'],
  ['windows-server', ['smb', 'rdp', 'ldap'], ['debian', 'ubuntu22'], 'windows_server'],
  ['domain-controller', ['ldap', 'smb', 'rdp', 'llmnr'], ['debian', 'ubuntu22'], 'windows_server'],
  ['linux-server', ['ssh', 'http'], ['debian', 'ubuntu22', 'rocky9', 'fedora'], 'linux'],
  ['web-server', ['http', 'ftp'], ['debian', 'ubuntu22', 'ubuntu20'], 'linux'],
  ['database-server', ['mysql', 'postgres', 'redis'], ['debian', 'ubuntu22'], 'linux'],
  ['mail-server', ['smtp', 'pop3', 'imap'], ['debian', 'ubuntu22'], 'linux'],
  ['file-server', ['smb', 'ftp', 'ssh'], ['debian', 'ubuntu22', 'rocky9'], 'linux'],
  ['printer', ['snmp', 'ftp'], ['alpine', 'debian'], 'embedded'],
  ['iot-device', ['mqtt', 'snmp', 'telnet'], ['alpine'], 'embedded'],
  ['industrial-control', ['conpot', 'snmp'], ['debian'], 'embedded'],
  ['voip-server', ['sip'], ['debian', 'ubuntu22'], 'linux'],
  ['monitoring-node', ['snmp', 'ssh'], ['debian', 'rocky9'], 'linux'],
  ['devops-host', ['docker_api', 'ssh', 'k8s'], ['ubuntu22', 'debian'], 'linux'],
  ['deaddeck', ['ssh'], ['debian', 'ubuntu22'], 'linux'],
];

export const ARCHETYPES: Readonly<Record<string, ArchetypeDef>> = Object.freeze(
  Object.fromEntries(rows.map(([name, services, preferredDistros, nmapOS]) => [name, { name, services, preferredDistros, nmapOS }])),
);

export const ARCHETYPE_NAMES = rows.map((r) => r[0]) as readonly string[];

export function archetypeDef(name: string): ArchetypeDef | undefined {
  return Object.hasOwn(ARCHETYPES, name) ? ARCHETYPES[name] : undefined;
}
