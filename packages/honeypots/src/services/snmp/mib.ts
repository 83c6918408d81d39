/**
 * The agent's MIB as pure data: system group, interfaces (ifNumber, ifTable) and
 * a few HOST-RESOURCES scalars, lexicographically ordered. Values are encoded
 * BER (ber.ts) at lookup time so uptimes and counters move.
 */
import type { OsProfileName } from '@decnet/api';
import { compareOid, int, octets, oid, parseOid } from './ber.js';

export interface MibIdentity {
  os: OsProfileName;
  hostname: string;
  sysDescr: string;
  sysContact: string;
  sysLocation: string;
  /** sysObjectID (default: the OS profile's) */
  sysObjectId?: string;
  /** MAC of eth0, 6 bytes */
  mac: Buffer;
  /** centiseconds since the agent started */
  uptime: () => number;
}

export interface MibEntry {
  oid: number[];
  value: () => Buffer;
}

const TICKS = 0x43;
const COUNTER = 0x41;
const GAUGE = 0x42;

export function defaultSysDescr(os: OsProfileName, hostname: string, windowsBuild?: number): string {
  switch (os) {
    case 'windows':
    case 'windows_server':
      return `Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - Software: Windows Version 6.3 (Build ${windowsBuild ?? 17763} Multiprocessor Free)`;
    case 'cisco':
      return 'Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, RELEASE SOFTWARE (fc1)\r\nTechnical Support: http://www.cisco.com/techsupport\r\nCopyright (c) 1986-2023 by Cisco Systems, Inc.\r\nCompiled Fri 14-Apr-23 05:46 by mcpre';
    case 'bsd':
      return `FreeBSD ${hostname} 13.2-RELEASE FreeBSD 13.2-RELEASE releng/13.2-n254617-525ecfdad597 GENERIC amd64`;
    case 'embedded':
      return `Linux ${hostname} 4.14.180 #1 SMP PREEMPT Thu Jun 1 10:12:44 UTC 2023 armv7l`;
    default:
      return `Linux ${hostname} 5.15.0-91-generic #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023 x86_64`;
  }
}

export function sysObjectIdFor(os: OsProfileName): string {
  switch (os) {
    case 'windows':
      return '1.3.6.1.4.1.311.1.1.3.1.1';
    case 'windows_server':
      return '1.3.6.1.4.1.311.1.1.3.1.2';
    case 'cisco':
      return '1.3.6.1.4.1.9.1.1208';
    case 'bsd':
      return '1.3.6.1.4.1.8072.3.2.8';
    default:
      return '1.3.6.1.4.1.8072.3.2.10';
  }
}

/** Build the ordered MIB for one identity. */
export function buildMib(id: MibIdentity): MibEntry[] {
  const e: MibEntry[] = [];
  const add = (o: string, value: () => Buffer) => e.push({ oid: parseOid(o), value });
  const windows = id.os === 'windows' || id.os === 'windows_server';
  add('1.3.6.1.2.1.1.1.0', () => octets(id.sysDescr));
  add('1.3.6.1.2.1.1.2.0', () => oid(parseOid(id.sysObjectId ?? sysObjectIdFor(id.os))));
  add('1.3.6.1.2.1.1.3.0', () => int(id.uptime(), TICKS));
  add('1.3.6.1.2.1.1.4.0', () => octets(id.sysContact));
  add('1.3.6.1.2.1.1.5.0', () => octets(id.hostname));
  add('1.3.6.1.2.1.1.6.0', () => octets(id.sysLocation));
  add('1.3.6.1.2.1.1.7.0', () => int(windows ? 76 : 72));
  add('1.3.6.1.2.1.2.1.0', () => int(2));
  const ifs = [
    { idx: 1, descr: windows ? 'Software Loopback Interface 1' : 'lo', type: 24, mtu: windows ? 1500 : 65536, speed: 10_000_000, mac: Buffer.alloc(0), rate: 40 },
    { idx: 2, descr: windows ? 'Intel(R) 82574L Gigabit Network Connection' : 'eth0', type: 6, mtu: 1500, speed: 1_000_000_000, mac: id.mac, rate: 1500 },
  ];
  const ctr = (rate: number, div = 1) => () => int(Math.floor((id.uptime() * rate) / div) % 4294967296, COUNTER);
  const cols: [number, (i: (typeof ifs)[number]) => () => Buffer][] = [
    [1, (i) => () => int(i.idx)],
    [2, (i) => () => octets(i.descr)],
    [3, (i) => () => int(i.type)],
    [4, (i) => () => int(i.mtu)],
    [5, (i) => () => int(i.speed, GAUGE)],
    [6, (i) => () => octets(i.mac)],
    [7, () => () => int(1)],
    [8, () => () => int(1)],
    [9, () => () => int(0, TICKS)],
    [10, (i) => ctr(i.rate)],
    [11, (i) => ctr(i.rate, 300)],
    [12, () => () => int(0, COUNTER)],
    [13, () => () => int(0, COUNTER)],
    [14, () => () => int(0, COUNTER)],
    [15, () => () => int(0, COUNTER)],
    [16, (i) => ctr(i.rate, 2)],
    [17, (i) => ctr(i.rate, 600)],
    [18, () => () => int(0, COUNTER)],
    [19, () => () => int(0, COUNTER)],
    [20, () => () => int(0, COUNTER)],
    [21, () => () => int(0, GAUGE)],
    [22, () => () => oid([0, 0])],
  ];
  for (const [col, f] of cols) for (const i of ifs) add(`1.3.6.1.2.1.2.2.1.${col}.${i.idx}`, f(i));
  add('1.3.6.1.2.1.25.1.1.0', () => int(id.uptime() + 1234, TICKS));
  add('1.3.6.1.2.1.25.1.5.0', () => int(1, GAUGE));
  add('1.3.6.1.2.1.25.1.6.0', () => int(windows ? 97 : 143, GAUGE));
  add('1.3.6.1.2.1.25.2.2.0', () => int(windows ? 8388020 : 8141256));
  return e.sort((a, b) => compareOid(a.oid, b.oid));
}

export function mibGet(mib: MibEntry[], o: number[]): MibEntry | undefined {
  return mib.find((x) => compareOid(x.oid, o) === 0);
}

export function mibNext(mib: MibEntry[], o: number[]): MibEntry | undefined {
  return mib.find((x) => compareOid(x.oid, o) > 0);
}
