/**
 * The Client Info PDU (MS-RDPBCGR 2.2.1.11): under TLS without NLA the client
 * sends its domain, user name and password in the clear inside TS_INFO_PACKET,
 * after a basic security header with SEC_INFO_PKT. Also the server's licensing
 * answer Windows sends when no license exchange is needed.
 */

export const SEC_INFO_PKT = 0x0040;
export const SEC_ENCRYPT = 0x0008;
export const SEC_LICENSE_PKT = 0x0080;
const INFO_UNICODE = 0x0010;
/** the fields are at most 256 UTF-16 characters (512 bytes) each in the spec; be lenient but bounded */
const MAX_FIELD = 1024;

export interface ClientInfo {
  codePage: number;
  flags: number;
  domain: string;
  userName: string;
  password: string;
  alternateShell: string;
  workingDir: string;
  autologon: boolean;
  clientAddress?: string;
  clientDir?: string;
}

function clean(s: string): string {
  return s.replace(/\0+$/, '');
}

/** Parse the security header + TS_INFO_PACKET; undefined when it is not a plaintext Client Info PDU. */
export function parseClientInfo(data: Buffer): ClientInfo | undefined {
  if (data.length < 4 + 18) return undefined;
  const secFlags = data.readUInt16LE(0);
  if (!(secFlags & SEC_INFO_PKT) || secFlags & SEC_ENCRYPT) return undefined;
  const p = data.subarray(4);
  const flags = p.readUInt32LE(4);
  const unicode = (flags & INFO_UNICODE) !== 0;
  const z = unicode ? 2 : 1;
  const lens = [p.readUInt16LE(8), p.readUInt16LE(10), p.readUInt16LE(12), p.readUInt16LE(14), p.readUInt16LE(16)];
  let at = 18;
  const fields: string[] = [];
  for (const len of lens) {
    if (len > MAX_FIELD || at + len > p.length) return undefined;
    const raw = p.subarray(at, at + len);
    fields.push(clean(unicode ? raw.subarray(0, len & ~1).toString('utf16le') : raw.toString('latin1')));
    // each field is followed by its terminator, which cb* does not count
    at += len + z;
  }
  const info: ClientInfo = {
    codePage: p.readUInt32LE(0),
    flags,
    domain: fields[0]!,
    userName: fields[1]!,
    password: fields[2]!,
    alternateShell: fields[3]!,
    workingDir: fields[4]!,
    autologon: (flags & 0x0008) !== 0,
  };
  // TS_EXTENDED_INFO_PACKET: clientAddressFamily, cbClientAddress, clientAddress, cbClientDir, clientDir
  if (at + 4 <= p.length) {
    const cbAddr = p.readUInt16LE(at + 2);
    if (cbAddr <= 128 && at + 4 + cbAddr + 2 <= p.length) {
      info.clientAddress = clean(p.subarray(at + 4, at + 4 + (cbAddr & ~1)).toString('utf16le'));
      const dirAt = at + 4 + cbAddr;
      const cbDir = p.readUInt16LE(dirAt);
      if (cbDir <= 1024 && dirAt + 2 + cbDir <= p.length) info.clientDir = clean(p.subarray(dirAt + 2, dirAt + 2 + (cbDir & ~1)).toString('utf16le'));
    }
  }
  return info;
}

/**
 * Server License Error PDU - Valid Client (2.2.1.12.1.1 / MS-RDPELE): what a Windows
 * server in its grace period or with per-user licensing sends right after Client Info.
 */
export function buildLicenseValidClient(): Buffer {
  return Buffer.from([
    SEC_LICENSE_PKT, 0x00, 0x00, 0x00, // basic security header
    0xff, 0x83, 0x10, 0x00, // ERROR_ALERT, PREAMBLE_VERSION_3_0 | EXTENDED_ERROR_MSG_SUPPORTED, 16 bytes
    0x07, 0x00, 0x00, 0x00, // STATUS_VALID_CLIENT
    0x02, 0x00, 0x00, 0x00, // ST_NO_TRANSITION
    0x04, 0x00, 0x00, 0x00, // BB_ERROR_BLOB, empty
  ]);
}
