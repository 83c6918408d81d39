/**
 * The wkssvc interface (MS-WKST, 6bffd098-a112-3610-9833-46c3f87e345a v1.0):
 * NetrWkstaGetInfo at level 100 (what `nmap smb-os-discovery`-style probes and
 * impacket ask for); the privileged levels and NetrWkstaUserEnum answer ERROR_ACCESS_DENIED.
 */
import type { Persona } from '@decnet/api';
import { NCA } from '../../protocols/dcerpc.js';
import type { CallResult, RpcInterface } from '../../protocols/dcerpc-server.js';
import { NdrReader, NdrWriter } from '../../protocols/ndr.js';
import { ERROR_ACCESS_DENIED, deniedEnum } from './srvsvc-ops.js';

/** MS-WKST 3.2.4 opnums; 0 is served, 2 denied. */
const OPERATIONS = [
  'NetrWkstaGetInfo', 'NetrWkstaSetInfo', 'NetrWkstaUserEnum', 'Opnum3NotUsedOnWire', 'Opnum4NotUsedOnWire',
  'NetrWkstaTransportEnum', 'NetrWkstaTransportAdd', 'NetrWkstaTransportDel', 'NetrUseAdd', 'NetrUseGetInfo',
  'NetrUseDel', 'NetrUseEnum', 'Opnum12NotUsedOnWire', 'NetrWorkstationStatisticsGet', 'Opnum14NotUsedOnWire',
  'Opnum15NotUsedOnWire', 'Opnum16NotUsedOnWire', 'Opnum17NotUsedOnWire', 'Opnum18NotUsedOnWire', 'Opnum19NotUsedOnWire',
  'NetrGetJoinInformation', 'Opnum21NotUsedOnWire', 'NetrJoinDomain2', 'NetrUnjoinDomain2', 'NetrRenameMachineInDomain2',
  'NetrValidateName2', 'NetrGetJoinableOUs2', 'NetrAddAlternateComputerName', 'NetrRemoveAlternateComputerName',
  'NetrSetPrimaryComputerName', 'NetrEnumerateComputerNames',
];

/** WKSTA_USER_ENUM_UNION arms (MS-WKST 2.2.5.14). */
const WKSTA_USER_ENUM_LEVELS = new Set([0, 1]);
/** WKSTA_INFO arms (MS-WKST 2.2.4.1). */
const WKSTA_INFO_LEVELS = new Set([100, 101, 102, 502, 1013, 1018, 1046]);

function netrWkstaGetInfo(stub: Buffer, le: boolean, persona: Persona): CallResult {
  const r = new NdrReader(stub, le);
  r.uniqueWstr(); // ServerName
  const level = r.u32();
  if (!WKSTA_INFO_LEVELS.has(level)) return { fault: NCA.invalidTag };
  const w = new NdrWriter();
  w.u32(level);
  if (level !== 100) return { stub: w.ptr(false).u32(ERROR_ACCESS_DENIED).bytes() };
  w.ptr(true).u32(500).ptr(true).ptr(true); // wki100_platform_id = PLATFORM_ID_NT, computername, langroup
  w.u32(persona.windows?.major ?? 10).u32(persona.windows?.minor ?? 0);
  w.wstr(persona.netbiosName).wstr(persona.netbiosDomain);
  return { stub: w.u32(0).bytes() };
}

export function wkssvcInterface(persona: Persona): RpcInterface {
  return {
    syntax: { uuid: '6bffd098-a112-3610-9833-46c3f87e345a', major: 1, minor: 0 },
    operation: (opnum) => OPERATIONS[opnum],
    call(opnum, stub, le) {
      if (opnum === 0) return netrWkstaGetInfo(stub, le, persona);
      if (opnum === 2) return deniedEnum(stub, le, 0, WKSTA_USER_ENUM_LEVELS); // logged-on users: administrators only
      return { fault: NCA.opRangeError };
    },
  };
}
