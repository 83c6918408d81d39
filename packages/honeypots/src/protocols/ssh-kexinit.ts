/**
 * The cleartext start of an SSH client connection (RFC 4253 sections 4.2, 6
 * and 7.1): its identification line, then its first binary packet, which is
 * SSH_MSG_KEXINIT. Pure and bounded; gives the client's HASSH (Salesforce):
 * md5 of "kex;encryption c2s;mac c2s;compression c2s", each the name-list as sent.
 */
import { createHash } from 'node:crypto';

export const SSH_MSG_KEXINIT = 20;
/** RFC 4253 4.2: the identification line is at most 255 characters with CR LF. */
export const MAX_IDENT_LINE = 255;
/** bytes allowed before the SSH- line (RFC 4253 lets only servers send other lines; be lenient, but bounded) */
export const MAX_PREAMBLE = 4096;
/** RFC 4253 6.1: implementations must handle packets up to 35000 bytes */
export const MAX_PACKET = 35_000;
/** names kept per name-list (the hash uses the list as sent) */
export const MAX_NAMES = 256;

export interface KexInit {
  cookie: Buffer;
  kex: string;
  hostKey: string;
  encC2s: string;
  encS2c: string;
  macC2s: string;
  macS2c: string;
  compC2s: string;
  compS2c: string;
}

export interface SshClientFingerprint {
  /** the identification line without CR LF, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6" */
  client_version: string;
  hassh: string;
  hassh_algorithms: string;
}

export type SshStartProgress =
  | { state: 'need-more' }
  | { state: 'bad'; reason: string; client_version?: string }
  | { state: 'done'; fingerprint: SshClientFingerprint; kexinit: KexInit; bytes: number };

/** The HASSH algorithm string of a client KEXINIT. */
export function hasshAlgorithms(k: KexInit): string {
  return [k.kex, k.encC2s, k.macC2s, k.compC2s].join(';');
}

export function hassh(k: KexInit): string {
  return createHash('md5').update(Buffer.from(hasshAlgorithms(k), 'latin1')).digest('hex');
}

const printable = (s: string) => s.replace(/[^\x20-\x7e]/g, '?');

/**
 * Parse the payload of SSH_MSG_KEXINIT (message byte first); undefined when it
 * is not one or is malformed. Name-lists are kept as sent (latin1).
 */
export function parseKexInit(p: Buffer): KexInit | undefined {
  if (p.length < 1 + 16 || p[0] !== SSH_MSG_KEXINIT) return undefined;
  let o = 17;
  const lists: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (o + 4 > p.length) return undefined;
    const n = p.readUInt32BE(o);
    o += 4;
    if (n > p.length - o) return undefined;
    const s = p.subarray(o, o + n).toString('latin1');
    o += n;
    if (s.split(',').length > MAX_NAMES) return undefined;
    lists.push(s);
  }
  const [kex, hostKey, encC2s, encS2c, macC2s, macS2c, compC2s, compS2c] = lists as [string, string, string, string, string, string, string, string];
  return { cookie: Buffer.from(p.subarray(1, 17)), kex, hostKey, encC2s, encS2c, macC2s, macS2c, compC2s, compS2c };
}

/**
 * Look at the first bytes a client sent: `need-more` until the identification
 * line and the whole first packet are there, `bad` when they are not SSH (or
 * exceed the bounds), `done` with the fingerprint.
 */
export function readSshClientStart(buf: Buffer): SshStartProgress {
  // identification: skip lines until one starts with "SSH-"
  let off = 0;
  let ident: string | undefined;
  while (ident === undefined) {
    const nl = buf.indexOf(0x0a, off);
    if (nl < 0) {
      if (buf.length - off > MAX_IDENT_LINE || buf.length > MAX_PREAMBLE + MAX_IDENT_LINE) return { state: 'bad', reason: 'no identification line' };
      return { state: 'need-more' };
    }
    if (nl + 1 - off > MAX_IDENT_LINE) return { state: 'bad', reason: 'identification line too long' };
    const line = buf.subarray(off, nl).toString('latin1').replace(/\r$/, '');
    off = nl + 1;
    if (line.startsWith('SSH-')) ident = printable(line);
    else if (off > MAX_PREAMBLE) return { state: 'bad', reason: 'no identification line' };
  }
  if (!/^SSH-(2\.0|1\.99)-/.test(ident)) return { state: 'bad', reason: 'not SSH 2', client_version: ident };
  // binary packet: uint32 packet_length, byte padding_length, payload, padding (MAC none before NEWKEYS)
  if (buf.length < off + 5) return { state: 'need-more' };
  const len = buf.readUInt32BE(off);
  const pad = buf[off + 4]!;
  if (len < 1 + 17 || len > MAX_PACKET || pad >= len) return { state: 'bad', reason: 'bad packet length', client_version: ident };
  const payloadLen = len - 1 - pad;
  if (buf.length < off + 4 + len) return { state: 'need-more' };
  const k = parseKexInit(buf.subarray(off + 5, off + 5 + payloadLen));
  if (!k) return { state: 'bad', reason: 'first packet is no KEXINIT', client_version: ident };
  const algorithms = hasshAlgorithms(k);
  return {
    state: 'done',
    kexinit: k,
    bytes: off + 4 + len,
    fingerprint: { client_version: ident, hassh: hassh(k), hassh_algorithms: printable(algorithms).slice(0, 4096) },
  };
}

/** Most bytes readSshClientStart needs before it decides. */
export const MAX_SSH_START = MAX_PREAMBLE + MAX_IDENT_LINE + 4 + MAX_PACKET;
