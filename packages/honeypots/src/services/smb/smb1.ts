/**
 * SMB1 (MS-CIFS / MS-SMB) as a modern Windows with SMB1 disabled treats it: the only
 * SMB1 message it still answers is a NEGOTIATE that offers an SMB2 dialect, which it
 * answers with an SMB2 NEGOTIATE response (wildcard 0x02FF for "SMB 2.???", 0x0202
 * for "SMB 2.002" alone). Anything else closes the connection.
 */
export const SMB1_MAGIC = Buffer.from([0xff, 0x53, 0x4d, 0x42]);
const SMB_COM_NEGOTIATE = 0x72;

export function isSmb1(msg: Buffer): boolean {
  return msg.length >= 4 && msg.subarray(0, 4).equals(SMB1_MAGIC);
}

/** The dialect strings of an SMB1 NEGOTIATE (bounded), or undefined if it is not one. */
export function smb1Dialects(msg: Buffer): string[] | undefined {
  if (msg.length < 35 || !isSmb1(msg) || msg[4] !== SMB_COM_NEGOTIATE) return undefined;
  const wordCount = msg[32]!;
  const at = 33 + wordCount * 2;
  if (at + 2 > msg.length) return undefined;
  const byteCount = msg.readUInt16LE(at);
  const bytes = msg.subarray(at + 2, Math.min(msg.length, at + 2 + byteCount));
  const out: string[] = [];
  let p = 0;
  while (p < bytes.length && out.length < 64) {
    if (bytes[p] !== 0x02) break;
    const end = bytes.indexOf(0, p + 1);
    const stop = end < 0 ? bytes.length : end;
    out.push(bytes.subarray(p + 1, Math.min(stop, p + 1 + 64)).toString('latin1'));
    p = stop + 1;
  }
  return out;
}

/** Which SMB2 dialect answers this SMB1 NEGOTIATE: 0x02FF, 0x0202, or undefined (close). */
export function smb1NegotiateDialect(dialects: string[], serverDialects: number[]): number | undefined {
  if (dialects.includes('SMB 2.???') && serverDialects.some((d) => d >= 0x0210)) return 0x02ff;
  if (dialects.includes('SMB 2.002') && serverDialects.includes(0x0202)) return 0x0202;
  return undefined;
}
