/**
 * The rootDSE of a Windows Server domain controller: the attributes (and their
 * order) a real DC returns to an anonymous base search with an empty base,
 * all names derived from the persona. `rootDseAttributes` honours the
 * requested attribute list the way AD does (none / "*" -> everything,
 * otherwise the named ones, case-insensitively).
 */
import { createHash } from 'node:crypto';
import type { Persona } from '@decnet/api';
import { functionalLevel } from './ad-messages.js';
import type { EntryAttribute } from './ldap-codec.js';

export const DEFAULT_SITE = 'Default-First-Site-Name';

/** The DNs a DC of this persona lives under. */
export interface DcNames {
  baseDn: string;
  dnsDomain: string;
  configDn: string;
  schemaDn: string;
  serverDn: string;
  dsServiceName: string;
  site: string;
}

export function dcNames(persona: Persona, config: Record<string, unknown>): DcNames {
  const baseDn = (typeof config['base_dn'] === 'string' && config['base_dn'].trim()) || persona.baseDn;
  const dnsDomain = (typeof config['domain'] === 'string' && config['domain'].trim().toLowerCase()) || persona.dnsDomain || 'corp.local';
  const site = (typeof config['site'] === 'string' && config['site'].trim()) || DEFAULT_SITE;
  const configDn = `CN=Configuration,${baseDn}`;
  const serverDn = `CN=${persona.netbiosName},CN=Servers,CN=${site},CN=Sites,${configDn}`;
  return { baseDn, dnsDomain, configDn, schemaDn: `CN=Schema,${configDn}`, serverDn, dsServiceName: `CN=NTDS Settings,${serverDn}`, site };
}

// The controls a Windows Server 2016/2019/2022 DC advertises, in its order.
const CONTROLS_2016 = [
  '1.2.840.113556.1.4.319', '1.2.840.113556.1.4.801', '1.2.840.113556.1.4.473', '1.2.840.113556.1.4.528',
  '1.2.840.113556.1.4.417', '1.2.840.113556.1.4.619', '1.2.840.113556.1.4.841', '1.2.840.113556.1.4.529',
  '1.2.840.113556.1.4.805', '1.2.840.113556.1.4.521', '1.2.840.113556.1.4.970', '1.2.840.113556.1.4.1338',
  '1.2.840.113556.1.4.474', '1.2.840.113556.1.4.1339', '1.2.840.113556.1.4.1340', '1.2.840.113556.1.4.1413',
  '2.16.840.1.113730.3.4.9', '2.16.840.1.113730.3.4.10', '1.2.840.113556.1.4.1504', '1.2.840.113556.1.4.1852',
  '1.2.840.113556.1.4.802', '1.2.840.113556.1.4.1907', '1.2.840.113556.1.4.1948', '1.2.840.113556.1.4.1974',
  '1.2.840.113556.1.4.1341', '1.2.840.113556.1.4.2026', '1.2.840.113556.1.4.2064', '1.2.840.113556.1.4.2065',
  '1.2.840.113556.1.4.2066', '1.2.840.113556.1.4.2090', '1.2.840.113556.1.4.2205', '1.2.840.113556.1.4.2204',
  '1.2.840.113556.1.4.2206', '1.2.840.113556.1.4.2211', '1.2.840.113556.1.4.2239', '1.2.840.113556.1.4.2255',
  '1.2.840.113556.1.4.2256', '1.2.840.113556.1.4.2309',
];
// 2012 / 2012 R2 lack the controls added in 2016; 2008 R2 also the 2012 ones.
const CONTROLS_2012 = CONTROLS_2016.filter((c) => !['1.2.840.113556.1.4.2255', '1.2.840.113556.1.4.2256', '1.2.840.113556.1.4.2309'].includes(c));
const CONTROLS_2008R2 = CONTROLS_2012.filter((c) => !/\.(2205|2204|2206|2211|2239)$/.test(c));

const POLICIES = [
  'MaxPoolThreads', 'MaxPercentDirSyncRequests', 'MaxDatagramRecv', 'MaxReceiveBuffer', 'InitRecvTimeout',
  'MaxConnections', 'MaxConnIdleTime', 'MaxPageSize', 'MaxBatchReturnMessages', 'MaxQueryDuration',
  'MaxDirSyncDuration', 'MaxTempTableSize', 'MaxResultSetSize', 'MinResultSets', 'MaxResultSetsPerConn',
  'MaxNotificationPerConn', 'MaxValRange', 'MaxValRangeTransitive', 'ThreadMemoryLimit', 'SystemMemoryLimitPercent',
];

const CAPABILITIES = ['1.2.840.113556.1.4.800', '1.2.840.113556.1.4.1670', '1.2.840.113556.1.4.1791', '1.2.840.113556.1.4.1935', '1.2.840.113556.1.4.2080', '1.2.840.113556.1.4.2237'];

/** GeneralizedTime as AD writes it: YYYYMMDDHHMMSS.0Z */
export function generalizedTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.0Z`;
}

/** A USN that is stable per decky and grows slowly with time, as a DC's does. */
export function highestCommittedUsn(seed: string, now: Date): number {
  const base = createHash('sha256').update(`usn:${seed}`).digest().readUInt32BE(0) % 150_000;
  return 20_000 + base + Math.floor(now.getTime() / 600_000) % 1_000_000;
}

/** Every rootDSE attribute in AD's order. */
export function rootDse(persona: Persona, config: Record<string, unknown>, seed: string, now: Date): EntryAttribute[] {
  const n = dcNames(persona, config);
  const build = persona.windows?.build ?? 17763;
  const level = String(functionalLevel(persona));
  const controls = build >= 14393 ? CONTROLS_2016 : build >= 9200 ? CONTROLS_2012 : CONTROLS_2008R2;
  const caps = build >= 9200 ? CAPABILITIES : CAPABILITIES.slice(0, 5);
  const realm = n.dnsDomain.toUpperCase();
  return [
    { name: 'currentTime', values: [generalizedTime(now)] },
    { name: 'subschemaSubentry', values: [`CN=Aggregate,${n.schemaDn}`] },
    { name: 'dsServiceName', values: [n.dsServiceName] },
    { name: 'namingContexts', values: [n.baseDn, n.configDn, n.schemaDn, `DC=DomainDnsZones,${n.baseDn}`, `DC=ForestDnsZones,${n.baseDn}`] },
    { name: 'defaultNamingContext', values: [n.baseDn] },
    { name: 'schemaNamingContext', values: [n.schemaDn] },
    { name: 'configurationNamingContext', values: [n.configDn] },
    { name: 'rootDomainNamingContext', values: [n.baseDn] },
    { name: 'supportedControl', values: controls },
    { name: 'supportedLDAPVersion', values: ['3', '2'] },
    { name: 'supportedLDAPPolicies', values: POLICIES },
    { name: 'highestCommittedUSN', values: [String(highestCommittedUsn(seed, now))] },
    { name: 'supportedSASLMechanisms', values: ['GSSAPI', 'GSS-SPNEGO', 'EXTERNAL', 'DIGEST-MD5'] },
    { name: 'dnsHostName', values: [persona.fqdn] },
    { name: 'ldapServiceName', values: [`${n.dnsDomain}:${persona.netbiosName.toLowerCase()}$@${realm}`] },
    { name: 'serverName', values: [n.serverDn] },
    { name: 'supportedCapabilities', values: caps },
    { name: 'isSynchronized', values: ['TRUE'] },
    { name: 'isGlobalCatalogReady', values: ['TRUE'] },
    { name: 'domainFunctionality', values: [level] },
    { name: 'forestFunctionality', values: [level] },
    { name: 'domainControllerFunctionality', values: [level] },
  ];
}

/** The attributes to return for a requested list (AD: empty or "*" -> all; "1.1" alone -> none). */
export function selectAttributes(all: readonly EntryAttribute[], requested: readonly string[]): EntryAttribute[] {
  const wanted = requested.map((r) => r.toLowerCase());
  if (wanted.length === 0 || wanted.includes('*') || wanted.includes('+')) return [...all];
  return all.filter((a) => wanted.includes(a.name.toLowerCase()));
}
