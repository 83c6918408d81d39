/**
 * NetBIOS names on the wire (RFC 1001 §14, RFC 1002 §4.1): a 16-byte name (15
 * characters padded with spaces + a suffix byte naming the service, e.g. <00>
 * workstation, <20> file server, <1c> domain controllers) "first-level encoded"
 * into 32 letters 'A'..'P' (one per half byte), as the first DNS-style label,
 * followed by the optional scope labels and a zero byte. Pure and bounded: the
 * decoder never reads past the buffer, follows no compression pointer and
 * returns undefined on anything malformed.
 */

/** the node-status wildcard name "*" is padded with NULs, not spaces (RFC 1002 §4.2.17) */
export const WILDCARD = '*';
/** DNS limit on a whole encoded name, scope included */
export const MAX_ENCODED_NAME = 255;

export interface NetbiosName {
  /** the name without its padding (upper case as sent) */
  name: string;
  /** the 16th byte */
  suffix: number;
  /** the NetBIOS scope ('' almost always) */
  scope: string;
}

/** The 16 raw bytes of a name: upper case, padded with spaces (NULs for the wildcard), suffix last. */
export function rawName(name: string, suffix: number): Buffer {
  const raw = Buffer.alloc(16, name === WILDCARD ? 0 : 0x20);
  raw.write(name.toUpperCase().slice(0, 15), 0, 'latin1');
  raw[15] = suffix & 0xff;
  return raw;
}

/** First-level encoding of 16 raw bytes into 32 letters. */
export function firstLevelEncode(raw: Buffer): Buffer {
  const out = Buffer.alloc(raw.length * 2);
  for (let i = 0; i < raw.length; i++) {
    out[2 * i] = 0x41 + (raw[i]! >> 4);
    out[2 * i + 1] = 0x41 + (raw[i]! & 0x0f);
  }
  return out;
}

/** Inverse of firstLevelEncode; undefined when a byte is not in 'A'..'P' or the length is odd. */
export function firstLevelDecode(enc: Buffer): Buffer | undefined {
  if (enc.length % 2 !== 0) return undefined;
  const out = Buffer.alloc(enc.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = enc[2 * i]! - 0x41;
    const lo = enc[2 * i + 1]! - 0x41;
    if (hi < 0 || hi > 15 || lo < 0 || lo > 15) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** The full wire form: 0x20, 32 letters, scope labels, 0. */
export function encodeNetbiosName(name: string, suffix: number, scope = ''): Buffer {
  const parts: Buffer[] = [Buffer.from([32]), firstLevelEncode(rawName(name, suffix))];
  for (const label of scope.split('.').filter(Boolean)) {
    const b = Buffer.from(label.slice(0, 63), 'latin1');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** The padded name as printed by nbtstat: trailing spaces/NULs removed. */
function unpad(raw: Buffer): string {
  return raw.toString('latin1', 0, 15).replace(/[ \0]+$/, '');
}

/**
 * Decode the name at `offset`; `bytes` is how many bytes it took. Undefined when
 * it is not a 32-letter first label, uses a pointer, or exceeds 255 bytes.
 */
export function decodeNetbiosName(buf: Buffer, offset: number): (NetbiosName & { bytes: number }) | undefined {
  if (offset < 0 || offset + 34 > buf.length || buf[offset] !== 32) return undefined;
  const raw = firstLevelDecode(buf.subarray(offset + 1, offset + 33));
  if (!raw) return undefined;
  let o = offset + 33;
  const scope: string[] = [];
  for (;;) {
    if (o >= buf.length || o - offset >= MAX_ENCODED_NAME) return undefined;
    const len = buf[o]!;
    if (len === 0) break;
    if (len > 63 || o + 1 + len > buf.length) return undefined; // pointers (0xc0) and overruns
    scope.push(buf.toString('latin1', o + 1, o + 1 + len));
    o += 1 + len;
  }
  o += 1;
  if (o - offset > MAX_ENCODED_NAME) return undefined;
  return { name: unpad(raw), suffix: raw[15]!, scope: scope.join('.'), bytes: o - offset };
}

/** "NAME<20>" as the tools print it. */
export function formatNetbiosName(n: { name: string; suffix: number }): string {
  return `${n.name}<${n.suffix.toString(16).padStart(2, '0')}>`;
}
