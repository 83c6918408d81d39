/**
 * The srvsvc interface (MS-SRVS, 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0) as an
 * unprivileged user sees it on Windows: share enumeration at levels 0, 1 and 501,
 * share info, server info at levels 100/101; the administrator-only levels (2, 502,
 * 503, server 102..., sessions, statistics) answer ERROR_ACCESS_DENIED. Stubs are NDR (see protocols/ndr.ts).
 */
import type { Persona } from '@decnet/api';
import { NCA } from '../../protocols/dcerpc.js';
import type { CallResult, RpcInterface } from '../../protocols/dcerpc-server.js';
import { NdrError, NdrReader, NdrWriter } from '../../protocols/ndr.js';
import type { ShareInfo } from './srvsvc.js';

export const ERROR_ACCESS_DENIED = 5;
export const ERROR_INVALID_LEVEL = 124;
export const NERR_NET_NAME_NOT_FOUND = 2310;

/** MS-SRVS 3.1.4 opnums; the ones served here are 15, 16, 21 and (denied) 12, 24. */
const OPERATIONS = [
  'Opnum0NotUsedOnWire', 'Opnum1NotUsedOnWire', 'Opnum2NotUsedOnWire', 'Opnum3NotUsedOnWire', 'Opnum4NotUsedOnWire',
  'Opnum5NotUsedOnWire', 'Opnum6NotUsedOnWire', 'Opnum7NotUsedOnWire', 'NetrConnectionEnum', 'NetrFileEnum',
  'NetrFileGetInfo', 'NetrFileClose', 'NetrSessionEnum', 'NetrSessionDel', 'NetrShareAdd',
  'NetrShareEnum', 'NetrShareGetInfo', 'NetrShareSetInfo', 'NetrShareDel', 'NetrShareDelSticky',
  'NetrShareCheck', 'NetrServerGetInfo', 'NetrServerSetInfo', 'NetrServerDiskEnum', 'NetrServerStatisticsGet',
  'NetrServerTransportAdd', 'NetrServerTransportEnum', 'NetrServerTransportDel', 'NetrRemoteTOD', 'Opnum29NotUsedOnWire',
  'NetprPathType', 'NetprPathCanonicalize', 'NetprPathCompare', 'NetprNameValidate', 'NetprNameCanonicalize',
  'NetprNameCompare', 'NetrShareEnumSticky', 'NetrShareDelStart', 'NetrShareDelCommit', 'NetrpGetFileSecurity',
  'NetrpSetFileSecurity', 'NetrServerTransportAddEx', 'Opnum42NotUsedOnWire', 'NetrDfsGetVersion', 'NetrDfsCreateLocalPartition',
  'NetrDfsDeleteLocalPartition', 'NetrDfsSetLocalVolumeState', 'Opnum47NotUsedOnWire', 'NetrDfsCreateExitPoint', 'NetrDfsDeleteExitPoint',
  'NetrDfsModifyPrefix', 'NetrDfsFixLocalVolume', 'NetrDfsManagerReportSiteInfo', 'NetrServerTransportDelEx', 'NetrServerAliasAdd',
  'NetrServerAliasEnum', 'NetrServerAliasDel', 'NetrShareDelEx',
];

/** SHARE_ENUM_UNION arms (MS-SRVS 2.2.3.5). */
const SHARE_ENUM_LEVELS = new Set([0, 1, 2, 501, 502, 503]);
/** SHARE_INFO arms (MS-SRVS 2.2.3.6). */
const SHARE_INFO_LEVELS = new Set([0, 1, 2, 501, 502, 503, 1004, 1005, 1006, 1501]);
/** SERVER_INFO arms (MS-SRVS 2.2.3.7). */
const SERVER_INFO_LEVELS = new Set([
  100, 101, 102, 103, 502, 503, 599, 1005, 1107, 1010, 1016, 1017, 1018, 1501, 1502, 1503, 1506, 1510, 1511, 1512, 1513, 1514,
  1515, 1516, 1518, 1523, 1528, 1529, 1530, 1533, 1534, 1535, 1536, 1538, 1539, 1540, 1541, 1542, 1543, 1544, 1545, 1546, 1547,
  1548, 1549, 1550, 1552, 1553, 1554, 1555, 1556,
]);

/** Enumerations stop here even if the configuration lists more shares. */
const MAX_SHARES = 1000;

/** sv101_type bits (MS-SRVS 2.2.2.7). */
const SV_TYPE = { workstation: 0x1, server: 0x2, domainCtrl: 0x8, timeSource: 0x20, nt: 0x1000, serverNt: 0x8000 } as const;

export function serverType(persona: Persona): number {
  let t = SV_TYPE.workstation | SV_TYPE.server | SV_TYPE.nt;
  if (persona.windows?.server || persona.domainController) t |= SV_TYPE.serverNt;
  if (persona.domainController) t |= SV_TYPE.domainCtrl | SV_TYPE.timeSource;
  return t;
}

/** Skip a client-supplied share array ([in,out] containers are normally sent empty). */
function skipShareArray(r: NdrReader, level: number): void {
  // per element: 'p' a pointer to a string, 'd' a DWORD (inline part); strings follow
  const layouts: Record<number, string> = { 0: 'p', 1: 'pdp', 2: 'pdpdddpp', 501: 'pdpd' };
  const layout = layouts[level];
  if (layout === undefined) throw new NdrError('unsupported [in] share array');
  const count = r.u32();
  if (count * layout.length * 4 > r.remaining) throw new NdrError('share array too long');
  let strings = 0;
  for (let i = 0; i < count; i++) for (const f of layout) if (r.u32() !== 0 && f === 'p') strings++;
  for (let i = 0; i < strings; i++) r.wstr();
}

function writeShareEntries(w: NdrWriter, level: number, shares: ShareInfo[]): void {
  w.u32(shares.length); // conformance
  for (const _s of shares) {
    w.ptr(true);
    if (level === 0) continue;
    w.u32(_s.type >>> 0);
    w.ptr(true);
    if (level === 501) w.u32(0); // shi501_flags: no caching or DFS flags
  }
  for (const s of shares) {
    w.wstr(s.name);
    if (level !== 0) w.wstr(s.comment);
  }
}

function netrShareEnum(stub: Buffer, le: boolean, shares: ShareInfo[]): CallResult {
  const r = new NdrReader(stub, le);
  r.uniqueWstr(); // ServerName
  const level = r.u32();
  const tag = r.u32();
  if (!SHARE_ENUM_LEVELS.has(tag)) return { fault: NCA.invalidTag };
  if (r.ptr() !== 0) {
    r.u32(); // EntriesRead
    if (r.ptr() !== 0) skipShareArray(r, tag);
  }
  r.u32(); // PreferedMaximumLength: everything fits, no ERROR_MORE_DATA paging
  const hasResume = r.ptr() !== 0;
  if (hasResume) r.u32();

  const allowed = tag === 0 || tag === 1 || tag === 501;
  const list = allowed ? shares.slice(0, MAX_SHARES) : [];
  const w = new NdrWriter();
  w.u32(level).u32(tag).ptr(true); // Level, union tag, container
  w.u32(list.length).ptr(allowed);
  if (allowed) writeShareEntries(w, tag, list);
  w.u32(list.length); // TotalEntries
  w.ptr(hasResume);
  if (hasResume) w.u32(0);
  w.u32(allowed ? 0 : ERROR_ACCESS_DENIED);
  return { stub: w.bytes() };
}

/**
 * An enumeration a non-administrator may not run (NetrSessionEnum on Windows 10 1607+ /
 * Server 2016+, NetrWkstaUserEnum): the [in,out] level/container echoed empty, TotalEntries 0,
 * ERROR_ACCESS_DENIED. Request: ServerName, `strings` more unique strings, Level, union tag,
 * container {EntriesRead, Buffer (null or empty)}, PreferedMaximumLength, ResumeHandle.
 */
export function deniedEnum(stub: Buffer, le: boolean, strings: number, levels: ReadonlySet<number>): CallResult {
  const r = new NdrReader(stub, le);
  for (let i = 0; i <= strings; i++) r.uniqueWstr();
  const level = r.u32();
  const tag = r.u32();
  if (!levels.has(tag)) return { fault: NCA.invalidTag };
  if (r.ptr() !== 0) {
    r.u32();
    // clients send a null or an empty array (impacket's wkssvc sends an empty one)
    if (r.ptr() !== 0 && r.u32() !== 0) throw new NdrError('unexpected [in] entries');
  }
  r.u32();
  const hasResume = r.ptr() !== 0;
  if (hasResume) r.u32();
  const w = new NdrWriter().u32(level).u32(tag).ptr(true).u32(0).ptr(false).u32(0).ptr(hasResume);
  if (hasResume) w.u32(0);
  return { stub: w.u32(ERROR_ACCESS_DENIED).bytes() };
}

/** SESSION_ENUM_UNION arms (MS-SRVS 2.2.3.4). */
const SESSION_ENUM_LEVELS = new Set([0, 1, 2, 10, 502]);

function netrShareGetInfo(stub: Buffer, le: boolean, shares: ShareInfo[]): CallResult {
  const r = new NdrReader(stub, le);
  r.uniqueWstr(); // ServerName
  const netName = r.wstr();
  const level = r.u32();
  if (!SHARE_INFO_LEVELS.has(level)) return { fault: NCA.invalidTag };
  const share = shares.find((s) => s.name.toLowerCase() === netName.toLowerCase());
  const w = new NdrWriter();
  w.u32(level);
  if (!share) return { stub: w.ptr(false).u32(NERR_NET_NAME_NOT_FOUND).bytes() };
  if (level === 0 || level === 1 || level === 501) {
    w.ptr(true).ptr(true);
    if (level !== 0) w.u32(share.type >>> 0).ptr(true);
    if (level === 501) w.u32(0);
    w.wstr(share.name);
    if (level !== 0) w.wstr(share.comment);
    return { stub: w.u32(0).bytes() };
  }
  if (level === 1005) return { stub: w.ptr(true).u32(0).u32(0).bytes() }; // shi1005_flags
  return { stub: w.ptr(false).u32(ERROR_ACCESS_DENIED).bytes() };
}

function netrServerGetInfo(stub: Buffer, le: boolean, persona: Persona): CallResult {
  const r = new NdrReader(stub, le);
  r.uniqueWstr(); // ServerName
  const level = r.u32();
  if (!SERVER_INFO_LEVELS.has(level)) return { fault: NCA.invalidTag };
  const w = new NdrWriter();
  w.u32(level);
  if (level === 100) return { stub: w.ptr(true).u32(500).ptr(true).wstr(persona.netbiosName).u32(0).bytes() };
  if (level === 101) {
    w.ptr(true).u32(500).ptr(true); // PLATFORM_ID_NT, sv101_name
    w.u32(persona.windows?.major ?? 10).u32(persona.windows?.minor ?? 0);
    w.u32(serverType(persona)).ptr(true); // sv101_type, sv101_comment
    w.wstr(persona.netbiosName).wstr('');
    return { stub: w.u32(0).bytes() };
  }
  return { stub: w.ptr(false).u32(ERROR_ACCESS_DENIED).bytes() };
}

/** NetrServerStatisticsGet (nmap smb-server-stats): administrators only, so a null STAT_SERVER_0 and ERROR_ACCESS_DENIED. */
function netrServerStatisticsGet(stub: Buffer, le: boolean): CallResult {
  const r = new NdrReader(stub, le);
  r.uniqueWstr(); // ServerName
  r.uniqueWstr(); // Service
  r.u32(); // Level
  r.u32(); // Options
  return { stub: new NdrWriter().ptr(false).u32(ERROR_ACCESS_DENIED).bytes() };
}

export function srvsvcInterface(persona: Persona, shares: ShareInfo[]): RpcInterface {
  return {
    syntax: { uuid: '4b324fc8-1670-01d3-1278-5a47bf6ee188', major: 3, minor: 0 },
    operation: (opnum) => OPERATIONS[opnum],
    call(opnum, stub, le) {
      if (opnum === 15) return netrShareEnum(stub, le, shares);
      if (opnum === 16) return netrShareGetInfo(stub, le, shares);
      if (opnum === 21) return netrServerGetInfo(stub, le, persona);
      if (opnum === 12) return deniedEnum(stub, le, 2, SESSION_ENUM_LEVELS); // ClientName, UserName
      if (opnum === 24) return netrServerStatisticsGet(stub, le);
      return { fault: NCA.opRangeError };
    },
  };
}
