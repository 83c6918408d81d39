/**
 * The persona of a decky: one story (names, domain, Windows build) told by every
 * service. Resolved here, once, from the decky's hostname, OS profile and the
 * persona keys of its services (smb, rdp, ldap), and handed to each service in its
 * runtime config, so smb, rdp, ldap, mssql and NetBIOS never invent their own names.
 * Pure: the same decky always yields the same persona.
 */
import type { ConfigValue, OsProfileName } from './types.js';

/** A Windows release as the wire shows it (NTLM version field, SMB dialects, product strings). */
export interface WindowsRelease {
  /** e.g. "Windows Server 2019 Standard" */
  product: string;
  major: number;
  minor: number;
  build: number;
  /** SMB2+ dialects this release offers, ascending (0x0202 ...) */
  smbDialects: number[];
  server: boolean;
}

export interface Persona {
  /** the decky's hostname as its base container has it */
  hostname: string;
  /** NetBIOS computer name: upper case, at most 15 characters */
  netbiosName: string;
  /** NetBIOS domain (or workgroup) name, upper case */
  netbiosDomain: string;
  /** DNS domain ('' for a workgroup machine) */
  dnsDomain: string;
  /**
   * DNS name of the computer: its name as configured, case kept, plus the DNS domain
   * (DC01.corp.local, as Windows shows it in NTLM, certificates and dnsHostName)
   */
  fqdn: string;
  /** member of a domain (true) or of a workgroup */
  joined: boolean;
  /** a domain controller: it serves ldap on a Windows profile */
  domainController: boolean;
  /** LDAP base DN of the domain (DC=corp,DC=local) */
  baseDn: string;
  os: OsProfileName;
  /** set for Windows profiles (and for any decky whose smb/rdp config names a build) */
  windows?: WindowsRelease;
}

export interface PersonaInput {
  hostname: string;
  nmapOS: OsProfileName;
  services: ReadonlyArray<{ name: string; config: Readonly<Record<string, ConfigValue>> }>;
}

interface BuildInfo {
  major: number;
  minor: number;
  workstation: string;
  server?: string;
  dialects: number[];
}

const SMB_2_1 = [0x0202, 0x0210];
const SMB_3_0 = [...SMB_2_1, 0x0300, 0x0302];
const SMB_3_1 = [...SMB_3_0, 0x0311];

/** Known Windows builds: what each one calls itself and which SMB dialects it speaks. */
export const WINDOWS_BUILDS: Readonly<Record<number, BuildInfo>> = {
  7601: { major: 6, minor: 1, workstation: 'Windows 7 Professional', server: 'Windows Server 2008 R2 Standard', dialects: SMB_2_1 },
  9200: { major: 6, minor: 2, workstation: 'Windows 8 Pro', server: 'Windows Server 2012 Standard', dialects: [...SMB_2_1, 0x0300] },
  9600: { major: 6, minor: 3, workstation: 'Windows 8.1 Pro', server: 'Windows Server 2012 R2 Standard', dialects: SMB_3_0 },
  14393: { major: 10, minor: 0, workstation: 'Windows 10 Pro', server: 'Windows Server 2016 Standard', dialects: SMB_3_1 },
  17763: { major: 10, minor: 0, workstation: 'Windows 10 Pro', server: 'Windows Server 2019 Standard', dialects: SMB_3_1 },
  19041: { major: 10, minor: 0, workstation: 'Windows 10 Pro', dialects: SMB_3_1 },
  19042: { major: 10, minor: 0, workstation: 'Windows 10 Pro', dialects: SMB_3_1 },
  19043: { major: 10, minor: 0, workstation: 'Windows 10 Pro', dialects: SMB_3_1 },
  19044: { major: 10, minor: 0, workstation: 'Windows 10 Enterprise', dialects: SMB_3_1 },
  19045: { major: 10, minor: 0, workstation: 'Windows 10 Pro', dialects: SMB_3_1 },
  20348: { major: 10, minor: 0, workstation: 'Windows Server 2022 Standard', server: 'Windows Server 2022 Standard', dialects: SMB_3_1 },
  22000: { major: 10, minor: 0, workstation: 'Windows 11 Pro', dialects: SMB_3_1 },
  22621: { major: 10, minor: 0, workstation: 'Windows 11 Pro', dialects: SMB_3_1 },
  22631: { major: 10, minor: 0, workstation: 'Windows 11 Pro', dialects: SMB_3_1 },
  26100: { major: 10, minor: 0, workstation: 'Windows 11 Pro', server: 'Windows Server 2025 Standard', dialects: SMB_3_1 },
};

/** Default builds per OS profile: a `windows` decky is a Windows 10 22H2 workstation, `windows_server` a Server 2019. */
export const DEFAULT_WINDOWS_BUILD: Partial<Record<OsProfileName, number>> = { windows: 19045, windows_server: 17763 };

const DEFAULT_DOMAIN = 'corp.local';

function str(v: ConfigValue | undefined): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
}

/** The build number (the last 4-5 digit number from 6000 up) in a string such as "Windows Server 2016 Standard 14393" or "10.0.17763". */
export function buildFromText(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const builds = [...text.matchAll(/(?<!\d)(\d{4,5})(?!\d)/g)].map((m) => Number(m[1])).filter((n) => n >= 6000);
  return builds.at(-1);
}

/** The release for a build; unknown builds take the nearest known build below them (a 10.0 build by default). */
export function windowsRelease(build: number, server: boolean, product?: string): WindowsRelease {
  const known = Object.keys(WINDOWS_BUILDS).map(Number).sort((a, b) => a - b);
  const base = [...known].reverse().find((b) => b <= build) ?? known[0]!;
  const info = WINDOWS_BUILDS[base]!;
  const name = product ?? (server ? (info.server ?? info.workstation) : info.workstation);
  return { product: name, major: info.major, minor: info.minor, build, smbDialects: [...info.dialects], server };
}

/** NetBIOS computer name of a hostname: its first DNS label, upper case, at most 15 characters. */
export function netbiosName(hostname: string): string {
  const first = hostname.split('.')[0] ?? hostname;
  const clean = first.toUpperCase().replace(/[^A-Z0-9!@#$%^&()\-'{}.~_]/g, '');
  return (clean || 'WORKSTATION').slice(0, 15);
}

/** "corp.local" -> "DC=corp,DC=local" */
export function baseDnOf(domain: string): string {
  return domain
    .split('.')
    .filter(Boolean)
    .map((p) => `DC=${p}`)
    .join(',');
}

/** "DC=corp,DC=local" -> "corp.local" ('' when no DC components). */
export function domainOfBaseDn(dn: string): string {
  return dn
    .split(',')
    .map((p) => /^\s*dc\s*=\s*(.+?)\s*$/i.exec(p)?.[1])
    .filter((p): p is string => Boolean(p))
    .join('.')
    .toLowerCase();
}

/** One persona for a decky, from its hostname, OS profile and services' persona keys. */
export function resolvePersona(input: PersonaInput): Persona {
  const cfg = (service: string): Readonly<Record<string, ConfigValue>> => input.services.find((s) => s.name === service)?.config ?? {};
  const smb = cfg('smb');
  const rdp = cfg('rdp');
  const ldap = cfg('ldap');
  const hasLdap = input.services.some((s) => s.name === 'ldap');
  const isWindowsOs = input.nmapOS === 'windows' || input.nmapOS === 'windows_server';
  const domainController = hasLdap && isWindowsOs;

  const ldapDomain = str(ldap['domain']) ?? (str(ldap['base_dn']) ? domainOfBaseDn(str(ldap['base_dn'])!) : undefined);
  const hostDomain = input.hostname.includes('.') ? input.hostname.slice(input.hostname.indexOf('.') + 1).toLowerCase() : undefined;
  const workgroupCfg = str(smb['workgroup']);
  const dnsDomain = ldapDomain ?? (domainController ? DEFAULT_DOMAIN : (hostDomain && hostDomain !== 'localdomain' ? hostDomain : ''));
  const joined = dnsDomain !== '';
  const netbiosDomain = (workgroupCfg ?? (joined ? dnsDomain.split('.')[0]! : 'WORKGROUP')).toUpperCase().slice(0, 15);
  const computer = str(smb['server_name']) ?? input.hostname;
  const nbName = netbiosName(computer);
  const label = (computer.split('.')[0] ?? computer).slice(0, 63) || nbName;
  const fqdn = joined ? `${label}.${dnsDomain}` : label;

  const osText = str(smb['os_version']) ?? str(rdp['os_version']);
  const build = Number(str(rdp['build']) ?? '') || buildFromText(str(smb['os_version'])) || buildFromText(str(rdp['os_version'])) || DEFAULT_WINDOWS_BUILD[input.nmapOS];
  const server = input.nmapOS === 'windows_server' || /server/i.test(osText ?? '');
  const product = osText ? osText.replace(/\s*\b\d{4,5}\b\s*$/, (m) => (Number(m) >= 6000 ? '' : m)).trim() || undefined : undefined;
  const windows = build !== undefined && (isWindowsOs || osText !== undefined || str(rdp['build']) !== undefined) ? windowsRelease(build, server, product) : undefined;

  return {
    hostname: input.hostname,
    netbiosName: nbName,
    netbiosDomain,
    dnsDomain,
    fqdn,
    joined,
    domainController,
    baseDn: str(ldap['base_dn']) ?? baseDnOf(dnsDomain || DEFAULT_DOMAIN),
    os: input.nmapOS,
    ...(windows ? { windows } : {}),
  };
}
