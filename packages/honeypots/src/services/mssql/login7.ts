/**
 * LOGIN7 (MS-TDS 2.2.6.4): a fixed part (86 bytes up to TDS 7.1, 94 from 7.2 on)
 * of integers and (offset, length) pairs into the variable part. Every pair is
 * checked against the message length; strings are UTF-16LE, lengths in
 * characters (the SSPI blob's in bytes).
 *
 * The password is "encrypted" by swapping the nibbles of each byte and XORing
 * it with 0xA5; undoing that is XOR 0xA5 then swap.
 */

export const OPTION2_INTEGRATED_SECURITY = 0x80;
const FIXED_71 = 86;
const FIXED_72 = 94;
const MAX_SSPI = 16 * 1024;

export interface Login7 {
  tdsVersion: number;
  packetSize: number;
  clientProgVer: number;
  clientPid: number;
  connectionId: number;
  optionFlags1: number;
  optionFlags2: number;
  typeFlags: number;
  optionFlags3: number;
  clientLcid: number;
  hostName: string;
  userName: string;
  password: string;
  appName: string;
  serverName: string;
  libraryName: string;
  language: string;
  database: string;
  /** client MAC address from ClientID, hex with colons */
  clientId: string;
  sspi: Buffer;
  attachDbFile: string;
  changePassword: string;
  integrated: boolean;
}

export class Login7Error extends Error {}

/** Undo the LOGIN7 password obfuscation (works on the UTF-16LE bytes). */
export function deobfuscatePassword(b: Buffer): Buffer {
  const out = Buffer.alloc(b.length);
  for (let i = 0; i < b.length; i++) {
    const x = b[i]! ^ 0xa5;
    out[i] = ((x & 0x0f) << 4) | (x >> 4);
  }
  return out;
}

/** The inverse, for tests and fixtures. */
export function obfuscatePassword(b: Buffer): Buffer {
  const out = Buffer.alloc(b.length);
  for (let i = 0; i < b.length; i++) {
    const x = b[i]!;
    out[i] = (((x & 0x0f) << 4) | (x >> 4)) ^ 0xa5;
  }
  return out;
}

/** Parse a LOGIN7 payload; throws Login7Error (only) on malformed input. */
export function parseLogin7(buf: Buffer): Login7 {
  if (buf.length < FIXED_71) throw new Login7Error(`LOGIN7 too short (${buf.length})`);
  const declared = buf.readUInt32LE(0);
  // the declared length bounds the variable part when it is sane
  const total = declared >= FIXED_71 && declared <= buf.length ? declared : buf.length;
  const tdsVersion = buf.readUInt32LE(4);
  const is72 = tdsVersion >>> 0 >= 0x72090002 && total >= FIXED_72;

  const slice = (pos: number, bytes: number): Buffer => {
    if (bytes === 0) return Buffer.alloc(0);
    const off = buf.readUInt16LE(pos);
    if (off + bytes > total) throw new Login7Error(`field at ${pos} out of bounds`);
    return buf.subarray(off, off + bytes);
  };
  const str = (pos: number): string => slice(pos, buf.readUInt16LE(pos + 2) * 2).toString('utf16le');

  let sspiLen = buf.readUInt16LE(80);
  if (sspiLen === 0xffff && is72) sspiLen = buf.readUInt32LE(90);
  if (sspiLen > MAX_SSPI) throw new Login7Error('SSPI blob too large');
  const optionFlags2 = buf[25]!;
  const pwBytes = slice(44, buf.readUInt16LE(46) * 2);
  const clientId = [...buf.subarray(72, 78)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const changePw = is72 ? slice(86, buf.readUInt16LE(88) * 2) : Buffer.alloc(0);
  return {
    tdsVersion,
    packetSize: buf.readUInt32LE(8),
    clientProgVer: buf.readUInt32LE(12),
    clientPid: buf.readUInt32LE(16),
    connectionId: buf.readUInt32LE(20),
    optionFlags1: buf[24]!,
    optionFlags2,
    typeFlags: buf[26]!,
    optionFlags3: buf[27]!,
    clientLcid: buf.readUInt32LE(32),
    hostName: str(36),
    userName: str(40),
    password: deobfuscatePassword(pwBytes).toString('utf16le'),
    appName: str(48),
    serverName: str(52),
    libraryName: str(60),
    language: str(64),
    database: str(68),
    clientId,
    sspi: Buffer.from(slice(78, sspiLen)),
    attachDbFile: str(82),
    changePassword: deobfuscatePassword(changePw).toString('utf16le'),
    integrated: (optionFlags2 & OPTION2_INTEGRATED_SECURITY) !== 0,
  };
}

/** Build a LOGIN7 payload (TDS 7.4 layout) for tests and fuzz seeds. */
export function buildLogin7(f: Partial<Omit<Login7, 'clientId' | 'integrated'>> & { integrated?: boolean }): Buffer {
  const fixed = Buffer.alloc(FIXED_72);
  fixed.writeUInt32LE(f.tdsVersion ?? 0x74000004, 4);
  fixed.writeUInt32LE(f.packetSize ?? 4096, 8);
  fixed.writeUInt32LE(f.clientProgVer ?? 7, 12);
  fixed.writeUInt32LE(f.clientPid ?? 1234, 16);
  fixed[24] = f.optionFlags1 ?? 0xe0;
  fixed[25] = (f.optionFlags2 ?? 0x03) | (f.integrated ? OPTION2_INTEGRATED_SECURITY : 0);
  fixed.writeUInt32LE(f.clientLcid ?? 0x409, 32);
  const parts: Buffer[] = [];
  let off = FIXED_72;
  const put = (pos: number, data: Buffer, chars: boolean) => {
    fixed.writeUInt16LE(data.length === 0 ? 0 : off, pos);
    fixed.writeUInt16LE(chars ? data.length / 2 : data.length, pos + 2);
    parts.push(data);
    off += data.length;
  };
  const u = (s: string | undefined) => Buffer.from(s ?? '', 'utf16le');
  put(36, u(f.hostName), true);
  put(40, u(f.userName), true);
  put(44, obfuscatePassword(u(f.password)), true);
  put(48, u(f.appName), true);
  put(52, u(f.serverName), true);
  put(60, u(f.libraryName), true);
  put(64, u(f.language), true);
  put(68, u(f.database), true);
  put(78, f.sspi ?? Buffer.alloc(0), false);
  put(82, u(f.attachDbFile), true);
  put(86, obfuscatePassword(u(f.changePassword)), true);
  const out = Buffer.concat([fixed, ...parts]);
  out.writeUInt32LE(out.length, 0);
  return out;
}
