/**
 * PRELOGIN (MS-TDS 2.2.6.5): an option table of 5-byte entries (token, big-endian
 * offset, big-endian length) ended by 0xFF, then the option data. Offsets are
 * relative to the start of the message.
 *
 * A real SQL Server answers only the options the client asked about (nmap's
 * service fingerprints match the exact 37-byte answer to its VERSION/ENCRYPTION/
 * INSTOPT/THREADID probe), with THREADID empty, MARS off and, when asked,
 * FEDAUTHREQUIRED 0 (an on-premises server does no federated authentication).
 */

export const OPT = {
  VERSION: 0x00,
  ENCRYPTION: 0x01,
  INSTOPT: 0x02,
  THREADID: 0x03,
  MARS: 0x04,
  TRACEID: 0x05,
  FEDAUTHREQUIRED: 0x06,
  NONCEOPT: 0x07,
  TERMINATOR: 0xff,
} as const;

export const ENCRYPT = { OFF: 0x00, ON: 0x01, NOT_SUP: 0x02, REQ: 0x03, CLIENT_CERT: 0x80 } as const;

const MAX_OPTIONS = 32;

export interface Prelogin {
  /** option tokens in the order the client listed them */
  options: number[];
  version?: { major: number; minor: number; build: number; subBuild: number };
  encryption?: number;
  instance?: string;
  threadId?: number;
  mars?: number;
  fedAuthRequired?: number;
}

/** Parse a client PRELOGIN; undefined when the option table is malformed. Never throws. */
export function parsePrelogin(buf: Buffer): Prelogin | undefined {
  const out: Prelogin = { options: [] };
  let p = 0;
  for (let n = 0; ; n++) {
    if (n > MAX_OPTIONS || p >= buf.length) return undefined;
    const token = buf[p]!;
    if (token === OPT.TERMINATOR) break;
    if (p + 5 > buf.length) return undefined;
    const off = buf.readUInt16BE(p + 1);
    const len = buf.readUInt16BE(p + 3);
    p += 5;
    if (off + len > buf.length) return undefined;
    const d = buf.subarray(off, off + len);
    out.options.push(token);
    switch (token) {
      case OPT.VERSION:
        if (len >= 6) out.version = { major: d[0]!, minor: d[1]!, build: d.readUInt16BE(2), subBuild: d.readUInt16BE(4) };
        break;
      case OPT.ENCRYPTION:
        if (len >= 1) out.encryption = d[0]!;
        break;
      case OPT.INSTOPT: {
        const nul = d.indexOf(0);
        out.instance = d.subarray(0, nul === -1 ? d.length : nul).toString('latin1').slice(0, 128);
        break;
      }
      case OPT.THREADID:
        if (len >= 4) out.threadId = d.readUInt32LE(0); // clients write their PID little-endian
        break;
      case OPT.MARS:
        if (len >= 1) out.mars = d[0]!;
        break;
      case OPT.FEDAUTHREQUIRED:
        if (len >= 1) out.fedAuthRequired = d[0]!;
        break;
      default:
        break;
    }
  }
  return out;
}

export interface ServerVersion {
  major: number;
  minor: number;
  build: number;
}

/** "15.0.2000.5" -> 15/0/2000 (the fourth part is the @@VERSION revision; PRELOGIN's sub-build is 0). */
export function parseServerVersion(v: string): ServerVersion {
  const m = /^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,5})/.exec(v);
  if (!m) return { major: 15, minor: 0, build: 2000 };
  return { major: Number(m[1]) & 0xff, minor: Number(m[2]) & 0xff, build: Math.min(Number(m[3]), 0xffff) };
}

/** Marketing name for a major version, as nmap and SSMS name them. */
export function productYear(major: number): string | undefined {
  return ({ 8: '2000', 9: '2005', 10: '2008', 11: '2012', 12: '2014', 13: '2016', 14: '2017', 15: '2019', 16: '2022' } as Record<number, string>)[major];
}

/** What the server answers to the client's ENCRYPTION offer (no certificate is configured to force encryption). */
export function negotiateEncryption(client: number | undefined): number {
  switch ((client ?? ENCRYPT.NOT_SUP) & 0x0f) {
    case ENCRYPT.OFF:
      return ENCRYPT.OFF;
    case ENCRYPT.ON:
    case ENCRYPT.REQ:
      return ENCRYPT.ON;
    default:
      return ENCRYPT.NOT_SUP;
  }
}

export interface PreloginReplyOptions {
  version: ServerVersion;
  encryption: number;
  /** 0 when the client's instance name matches ours (or is empty), 1 otherwise */
  instOpt: number;
}

/** Build the server's PRELOGIN response payload for the client's request. */
export function buildPreloginReply(client: Prelogin | undefined, o: PreloginReplyOptions): Buffer {
  const asked = new Set(client?.options ?? [OPT.VERSION, OPT.ENCRYPTION, OPT.INSTOPT, OPT.THREADID, OPT.MARS]);
  const entries: [number, Buffer][] = [];
  const ver = Buffer.alloc(6);
  ver[0] = o.version.major;
  ver[1] = o.version.minor;
  ver.writeUInt16BE(o.version.build, 2);
  entries.push([OPT.VERSION, ver]);
  entries.push([OPT.ENCRYPTION, Buffer.from([o.encryption])]);
  if (asked.has(OPT.INSTOPT)) entries.push([OPT.INSTOPT, Buffer.from([o.instOpt])]);
  if (asked.has(OPT.THREADID)) entries.push([OPT.THREADID, Buffer.alloc(0)]);
  if (asked.has(OPT.MARS)) entries.push([OPT.MARS, Buffer.from([0])]);
  if (asked.has(OPT.FEDAUTHREQUIRED)) entries.push([OPT.FEDAUTHREQUIRED, Buffer.from([0])]);
  const table = Buffer.alloc(entries.length * 5 + 1);
  let off = table.length;
  entries.forEach(([token, data], i) => {
    table[i * 5] = token;
    table.writeUInt16BE(off, i * 5 + 1);
    table.writeUInt16BE(data.length, i * 5 + 3);
    off += data.length;
  });
  table[table.length - 1] = OPT.TERMINATOR;
  return Buffer.concat([table, ...entries.map(([, d]) => d)]);
}
