/**
 * MCS (T.125) and GCC (T.124) as the RDP Basic Settings Exchange and Channel
 * Connection phases use them (MS-RDPBCGR 2.2.1.3 - 2.2.1.9): the BER-encoded
 * Connect-Initial carrying the client data blocks, the server's Connect-Response,
 * and the PER-encoded domain PDUs (Erect Domain, Attach User, Channel Join, Send Data).
 * Pure and bounded: every parser returns undefined on malformed input.
 */
import { children, derInt, derOctets, readTlv, tlv } from '../../protocols/der.js';

export const IO_CHANNEL = 1003;
/** the user id Windows hands the first client of a session */
export const FIRST_USER_ID = 1007;
export const MAX_CHANNELS = 31;

export interface ClientCoreData {
  version: number;
  desktopWidth: number;
  desktopHeight: number;
  keyboardLayout: number;
  clientBuild: number;
  clientName: string;
  serverSelectedProtocol?: number;
}

export interface ConnectInitial {
  core?: ClientCoreData;
  encryptionMethods?: number;
  channels: { name: string; options: number }[];
  /** CS_MCS_MSGCHANNEL present */
  msgChannel: boolean;
  /** CS_MULTITRANSPORT present */
  multitransport: boolean;
  /** TS_UD_HEADER types seen, in order */
  blockTypes: number[];
}

function utf16z(buf: Buffer): string {
  const s = buf.subarray(0, buf.length & ~1).toString('utf16le');
  const z = s.indexOf('\0');
  return (z === -1 ? s : s.slice(0, z)).replace(/[\x00-\x1f\x7f]/g, '');
}

/** PER length (X.691 aligned): 1 byte < 0x80, or 2 bytes 10xxxxxx xxxxxxxx. */
export function perLength(buf: Buffer, at: number): { length: number; next: number } | undefined {
  if (at >= buf.length) return undefined;
  const b = buf[at]!;
  if (!(b & 0x80)) return { length: b, next: at + 1 };
  if (b & 0x40 || at + 1 >= buf.length) return undefined;
  return { length: ((b & 0x3f) << 8) | buf[at + 1]!, next: at + 2 };
}

export function perLengthBytes(n: number): Buffer {
  return n < 0x80 ? Buffer.from([n]) : Buffer.from([0x80 | (n >> 8), n & 0xff]);
}

function parseCore(b: Buffer): ClientCoreData | undefined {
  if (b.length < 24) return undefined;
  const core: ClientCoreData = {
    version: b.readUInt32LE(4),
    desktopWidth: b.readUInt16LE(8),
    desktopHeight: b.readUInt16LE(10),
    keyboardLayout: b.readUInt32LE(16),
    clientBuild: b.readUInt32LE(20),
    clientName: b.length >= 56 ? utf16z(b.subarray(24, 56)) : '',
  };
  if (b.length >= 216) core.serverSelectedProtocol = b.readUInt32LE(212);
  return core;
}

/** The client data blocks after the GCC Conference Create Request header. */
export function parseClientData(blocks: Buffer): ConnectInitial {
  const ci: ConnectInitial = { channels: [], msgChannel: false, multitransport: false, blockTypes: [] };
  let at = 0;
  while (at + 4 <= blocks.length && ci.blockTypes.length < 16) {
    const type = blocks.readUInt16LE(at);
    const len = blocks.readUInt16LE(at + 2);
    if (len < 4 || at + len > blocks.length) break;
    const b = blocks.subarray(at, at + len);
    ci.blockTypes.push(type);
    if (type === 0xc001) {
      const core = parseCore(b);
      if (core) ci.core = core;
    } else if (type === 0xc002 && len >= 8) {
      ci.encryptionMethods = b.readUInt32LE(4);
    } else if (type === 0xc003 && len >= 8) {
      const count = Math.min(b.readUInt32LE(4), MAX_CHANNELS);
      for (let i = 0; i < count && 8 + (i + 1) * 12 <= len; i++) {
        const off = 8 + i * 12;
        const raw = b.subarray(off, off + 8);
        const z = raw.indexOf(0);
        ci.channels.push({ name: raw.subarray(0, z === -1 ? 8 : z).toString('latin1').replace(/[^\x20-\x7e]/g, '?'), options: b.readUInt32LE(off + 8) });
      }
    } else if (type === 0xc006) {
      ci.msgChannel = true;
    } else if (type === 0xc00a) {
      ci.multitransport = true;
    }
    at += len;
  }
  return ci;
}

/** The MCS Connect-Initial (BER [APPLICATION 101]) in an X.224 data payload; undefined if it is not one. */
export function parseConnectInitial(mcs: Buffer): ConnectInitial | undefined {
  const outer = readTlv(mcs, 0);
  if (!outer || outer.tag !== 0x7f65) return undefined;
  const fields = children(outer.body, 8);
  const userData = fields[6];
  if (!userData || userData.tag !== 0x04) return undefined;
  const gcc = userData.body;
  // ConnectData: choice, t124 OID (05 00 14 7c 00 01), connectPDU length, then the
  // ConferenceCreateRequest whose user data set carries the h221 key "Duca"
  const key = gcc.subarray(0, 64).indexOf('Duca');
  if (key === -1) return undefined;
  const len = perLength(gcc, key + 4);
  if (!len) return undefined;
  return parseClientData(gcc.subarray(len.next, len.next + len.length));
}

/** TS_UD_SC_CORE version: what each Windows release advertises (nmap's rdp.lua names them). */
export function serverRdpVersion(build: number): number {
  if (build >= 19041) return 0x0008000c; // RDP 10.7
  if (build >= 18362) return 0x0008000b;
  if (build >= 17763) return 0x0008000a;
  if (build >= 17134) return 0x00080009;
  if (build >= 16299) return 0x00080008;
  if (build >= 15063) return 0x00080007;
  if (build >= 14393) return 0x00080006;
  if (build >= 10240) return 0x00080005;
  return 0x00080004;
}

export interface ServerData {
  rdpVersion: number;
  requestedProtocols: number;
  /** virtual channel ids in the order of the client's CS_NET */
  channelIds: number[];
  msgChannelId?: number;
  multitransport: boolean;
}

function block(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(type, 0);
  h.writeUInt16LE(body.length + 4, 2);
  return Buffer.concat([h, body]);
}

function u32(...v: number[]): Buffer {
  const b = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => b.writeUInt32LE(x >>> 0, i * 4));
  return b;
}

export function buildServerData(d: ServerData): Buffer {
  // earlyCapabilityFlags: EDGE_ACTIONS_SUPPORTED_V1 | DYNAMIC_DST_SUPPORTED | EDGE_ACTIONS_SUPPORTED_V2
  const core = block(0x0c01, u32(d.rdpVersion, d.requestedProtocols, 0x07));
  // with TLS / CredSSP the RDP-level encryption is off: method NONE, level NONE, no random, no certificate
  const sec = block(0x0c02, u32(0, 0));
  const ids = Buffer.alloc(4 + d.channelIds.length * 2 + (d.channelIds.length % 2 ? 2 : 0));
  ids.writeUInt16LE(IO_CHANNEL, 0);
  ids.writeUInt16LE(d.channelIds.length, 2);
  d.channelIds.forEach((id, i) => ids.writeUInt16LE(id, 4 + i * 2));
  const parts = [core, sec, block(0x0c03, ids)];
  if (d.msgChannelId !== undefined) {
    const m = Buffer.alloc(2);
    m.writeUInt16LE(d.msgChannelId, 0);
    parts.push(block(0x0c04, m));
  }
  if (d.multitransport) parts.push(block(0x0c08, u32(0)));
  return Buffer.concat(parts);
}

/** MCS Connect-Response (BER [APPLICATION 102]) with the GCC Conference Create Response around the server data. */
export function buildConnectResponse(serverData: Buffer): Buffer {
  const gcc = Buffer.concat([
    // choice 0, t124 OID, connectPDU length 0x2a, ConferenceCreateResponse (choice 0x14),
    // nodeID 1001+0x760a, tag 1, result success, one user data set, h221 key "McDn"
    Buffer.from('000500147c00012a14760a01010001c0004d63446e', 'hex'),
    perLengthBytes(serverData.length),
    serverData,
  ]);
  const domainParams = tlv(0x30, derInt(34), derInt(3), derInt(0), derInt(1), derInt(0), derInt(1), derInt(0xfff8), derInt(2));
  return tlv(0x7f66, tlv(0x0a, Buffer.from([0])), derInt(0), domainParams, derOctets(gcc));
}

// ---- domain PDUs (PER) ----

export type DomainPdu =
  | { type: 'erect-domain' }
  | { type: 'attach-user' }
  | { type: 'channel-join'; initiator: number; channelId: number }
  | { type: 'send-data'; initiator: number; channelId: number; data: Buffer }
  | { type: 'disconnect'; reason: number }
  | { type: 'other'; code: number };

export function parseDomainPdu(mcs: Buffer): DomainPdu | undefined {
  if (mcs.length < 1) return undefined;
  const code = mcs[0]! >> 2;
  switch (code) {
    case 1:
      return { type: 'erect-domain' };
    case 8:
      return { type: 'disconnect', reason: ((mcs[0]! & 0x03) << 1) | ((mcs[1] ?? 0) >> 7) };
    case 10:
      return { type: 'attach-user' };
    case 14:
      if (mcs.length < 5) return undefined;
      return { type: 'channel-join', initiator: mcs.readUInt16BE(1) + 1001, channelId: mcs.readUInt16BE(3) };
    case 25: {
      if (mcs.length < 7) return undefined;
      const len = perLength(mcs, 6);
      if (!len || len.next + len.length > mcs.length) return undefined;
      return { type: 'send-data', initiator: mcs.readUInt16BE(1) + 1001, channelId: mcs.readUInt16BE(3), data: mcs.subarray(len.next, len.next + len.length) };
    }
    default:
      return { type: 'other', code };
  }
}

export function buildAttachUserConfirm(userId: number): Buffer {
  const b = Buffer.from([0x2e, 0x00, 0, 0]);
  b.writeUInt16BE(userId - 1001, 2);
  return b;
}

export function buildChannelJoinConfirm(userId: number, channelId: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x3e; // ChannelJoinConfirm with the optional channelId present
  b[1] = 0x00; // rt-successful
  b.writeUInt16BE(userId - 1001, 2);
  b.writeUInt16BE(channelId, 4);
  b.writeUInt16BE(channelId, 6);
  return b;
}

/** Send Data Indication from the server (initiator 1002) on `channelId`. */
export function buildSendDataIndication(channelId: number, data: Buffer): Buffer {
  const h = Buffer.from([0x68, 0x00, 0x01, 0, 0, 0x70]);
  h.writeUInt16BE(channelId, 3);
  return Buffer.concat([h, perLengthBytes(data.length), data]);
}

/** Disconnect Provider Ultimatum, reason rn-user-requested (3) unless given. */
export function buildDisconnectUltimatum(reason = 3): Buffer {
  return Buffer.from([0x20 | ((reason >> 1) & 0x03), (reason & 1) << 7]);
}
