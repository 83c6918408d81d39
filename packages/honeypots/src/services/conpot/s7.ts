/**
 * S7comm over ISO-on-TCP (RFC 1006), pure: TPKT framing (bounded), COTP CR/CC
 * and DT, S7 setup communication (PDU 240), SZL reads 0x0011 (module
 * identification) and 0x001c (component identification) as an S7-300 CPU
 * answers them, other jobs refused with the CPU's error 0x8104. Never throws.
 */
import type { PlcIdentity } from './identity.js';

export const S7_LIMITS = { maxTpkt: 1024, pduSize: 240 };

export type TpktResult = { kind: 'frame'; payload: Buffer; rest: Buffer } | { kind: 'more' } | { kind: 'error'; reason: string };

export function takeTpkt(buf: Buffer): TpktResult {
  if (buf.length < 4) return { kind: 'more' };
  if (buf[0] !== 3) return { kind: 'error', reason: `bad TPKT version ${buf[0]}` };
  const len = buf.readUInt16BE(2);
  if (len < 7 || len > S7_LIMITS.maxTpkt) return { kind: 'error', reason: `bad TPKT length ${len}` };
  if (buf.length < len) return { kind: 'more' };
  return { kind: 'frame', payload: Buffer.from(buf.subarray(4, len)), rest: buf.subarray(len) };
}

export function tpkt(payload: Buffer): Buffer {
  const h = Buffer.from([3, 0, 0, 0]);
  h.writeUInt16BE(payload.length + 4, 2);
  return Buffer.concat([h, payload]);
}

export interface S7Session {
  connected: boolean;
  setup: boolean;
  localRef: number;
}

export function newSession(localRef = 0x0001): S7Session {
  return { connected: false, setup: false, localRef };
}

export interface S7Step {
  replies: Buffer[];
  event?: Record<string, unknown>;
  close?: boolean;
  error?: string;
}

const DT = Buffer.from([0x02, 0xf0, 0x80]);

function hex(b: Buffer | undefined): string | undefined {
  return b ? b.toString('hex') : undefined;
}

/** Handle one TPKT payload (COTP + maybe S7). */
export function handleTpkt(payload: Buffer, s: S7Session, id: PlcIdentity): S7Step {
  const li = payload[0] ?? 0;
  const type = (payload[1] ?? 0) & 0xf0;
  if (li + 1 > payload.length || li < 2) return { replies: [], error: 'bad COTP length', close: true };
  if (type === 0xe0) {
    if (li < 6) return { replies: [], error: 'short COTP CR', close: true };
    const srcRef = payload.readUInt16BE(4);
    // parameters: code, len, value
    const params = new Map<number, Buffer>();
    for (let o = 7; o + 2 <= li + 1 && params.size < 16; ) {
      const code = payload[o]!;
      const len = payload[o + 1]!;
      if (o + 2 + len > li + 1) break;
      params.set(code, payload.subarray(o + 2, o + 2 + len));
      o += 2 + len;
    }
    const tpduSize = params.get(0xc0)?.[0] ?? 0x0a;
    const size = Math.min(tpduSize, 0x0a);
    const out: number[] = [0, 0xd0, srcRef >> 8, srcRef & 0xff, s.localRef >> 8, s.localRef & 0xff, 0x00, 0xc0, 1, size];
    for (const code of [0xc1, 0xc2]) {
      const v = params.get(code);
      if (v && v.length <= 8) out.push(code, v.length, ...v);
    }
    out[0] = out.length - 1;
    s.connected = true;
    return {
      replies: [tpkt(Buffer.from(out))],
      event: { kind: 'cotp_connect', src_ref: srcRef, src_tsap: hex(params.get(0xc1)), dst_tsap: hex(params.get(0xc2)), tpdu_size: tpduSize },
    };
  }
  if (type === 0x80) return { replies: [], event: { kind: 'cotp_disconnect' }, close: true };
  if (type !== 0xf0) return { replies: [], error: `unsupported COTP type 0x${type.toString(16)}`, close: true };
  if (!s.connected) return { replies: [], error: 'COTP data before connect', close: true };
  return handleS7(payload.subarray(li + 1), s, id);
}

function ackData(pduRef: number, errClass: number, errCode: number, param: Buffer, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x32;
  h[1] = 0x03;
  h.writeUInt16BE(pduRef, 4);
  h.writeUInt16BE(param.length, 6);
  h.writeUInt16BE(data.length, 8);
  h[10] = errClass;
  h[11] = errCode;
  return tpkt(Buffer.concat([DT, h, param, data]));
}

function userData(pduRef: number, param: Buffer, data: Buffer): Buffer {
  const h = Buffer.alloc(10);
  h[0] = 0x32;
  h[1] = 0x07;
  h.writeUInt16BE(pduRef, 4);
  h.writeUInt16BE(param.length, 6);
  h.writeUInt16BE(data.length, 8);
  return tpkt(Buffer.concat([DT, h, param, data]));
}

function field(text: string, width: number, pad: number, keep = width): Buffer {
  const b = Buffer.alloc(width, pad);
  b.write(text.slice(0, keep), 0, 'latin1');
  return b;
}

/** SZL 0x0011 records (index, MLFB[20], BGTyp, Ausbg, Ausbe). */
export function szl0011(id: PlcIdentity): { reclen: number; records: Buffer[] } {
  const rec = (index: number, mlfb: string, tail: number[]) => Buffer.concat([Buffer.from([index >> 8, index & 0xff]), field(mlfb, 20, 0x20), Buffer.from(tail)]);
  const [ma, mi, pa] = id.fw;
  return {
    reclen: 28,
    records: [rec(0x0001, id.orderCode, [0x00, 0xc0, 0x00, 0x04, 0x00, 0x01]), rec(0x0006, id.orderCode, [0x00, 0xc0, 0x00, 0x04, 0x00, 0x01]), rec(0x0007, '', [0x00, 0xc0, 0x56, ma, mi, pa])],
  };
}

/** SZL 0x001c records (index, 32 bytes of text). */
export function szl001c(id: PlcIdentity, _memoryCardSerial?: string): { reclen: number; records: Buffer[] } {
  const rec = (index: number, text: string, keep: number) => Buffer.concat([Buffer.from([0, index]), field(text, 32, 0, keep)]);
  return {
    reclen: 34,
    records: [
      rec(1, id.systemName, 24),
      rec(2, id.product, 24),
      rec(3, id.plant, 32),
      rec(4, `Original ${id.vendor} Equipment`, 26),
      rec(5, id.serial, 24),
      rec(7, id.product, 32),
      // (index 8, the memory card serial, follows in a second data unit on a real CPU: not sent, one PDU of 240 holds six records)
    ],
  };
}

export function memoryCardSerial(id: PlcIdentity): string {
  let h = 0x811c9dc5;
  for (const c of id.serial) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return `MMC ${h.toString(16).toUpperCase().padStart(8, '0')}`;
}

function handleS7(pdu: Buffer, s: S7Session, id: PlcIdentity): S7Step {
  if (pdu.length < 10 || pdu[0] !== 0x32) return { replies: [], error: 'not S7comm', event: { kind: 'cotp_data', bytes: pdu.length } };
  const rosctr = pdu[1]!;
  const pduRef = pdu.readUInt16BE(4);
  const plen = pdu.readUInt16BE(6);
  const dlen = pdu.readUInt16BE(8);
  const hlen = rosctr === 2 || rosctr === 3 ? 12 : 10;
  if (hlen + plen + dlen > pdu.length) return { replies: [], error: 'S7 lengths beyond PDU' };
  const param = pdu.subarray(hlen, hlen + plen);
  const data = pdu.subarray(hlen + plen, hlen + plen + dlen);
  if (rosctr === 1) {
    const fn = param[0];
    if (fn === 0xf0 && param.length >= 8) {
      const callingAmq = param.readUInt16BE(2);
      const calledAmq = param.readUInt16BE(4);
      const asked = param.readUInt16BE(6);
      const size = Math.min(asked || S7_LIMITS.pduSize, S7_LIMITS.pduSize);
      const p = Buffer.from([0xf0, 0x00, 0, Math.min(callingAmq, 1), 0, Math.min(calledAmq, 1), size >> 8, size & 0xff]);
      s.setup = true;
      return { replies: [ackData(pduRef, 0, 0, p)], event: { kind: 'setup_communication', pdu_size: asked, granted: size } };
    }
    if (fn === 0x04 && param.length >= 2) {
      const n = Math.min(param[1]!, 20);
      const d = Buffer.alloc(n * 4);
      for (let i = 0; i < n; i++) d[i * 4] = 0x0a; // object does not exist
      return { replies: [ackData(pduRef, 0, 0, Buffer.from([0x04, n]), d)], event: { kind: 'read_var', items: n } };
    }
    if (fn === 0x05 && param.length >= 2) {
      const n = Math.min(param[1]!, 20);
      return { replies: [ackData(pduRef, 0, 0, Buffer.from([0x05, n]), Buffer.alloc(n, 0x0a))], event: { kind: 'write_var', items: n, data_bytes: data.length } };
    }
    // "function not implemented or error in telegram"
    return { replies: [ackData(pduRef, 0x81, 0x04, Buffer.alloc(0))], event: { kind: 'job', function: fn ?? null } };
  }
  if (rosctr === 7) {
    if (param.length < 8 || param[0] !== 0 || param[1] !== 1 || param[2] !== 0x12) return { replies: [], error: 'bad userdata parameter' };
    const typeGroup = param[5]!;
    const sub = param[6]!;
    const seq = param[7]!;
    const group = typeGroup & 0x0f;
    const respParam = Buffer.from([0x00, 0x01, 0x12, 0x08, 0x12, 0x80 | group, sub, seq, 0x00, 0x00, 0x00, 0x00]);
    if (group === 4 && sub === 1 && data.length >= 8) {
      const szlId = data.readUInt16BE(4);
      const index = data.readUInt16BE(6);
      const ev = { kind: 'szl_read', szl_id: `0x${szlId.toString(16).padStart(4, '0')}`, szl_index: `0x${index.toString(16).padStart(4, '0')}` };
      const list = szlId === 0x0011 ? szl0011(id) : szlId === 0x001c ? szl001c(id, memoryCardSerial(id)) : undefined;
      if (!list) {
        respParam.writeUInt16BE(0xd401, 10); // requested SZL does not exist
        return { replies: [userData(pduRef, respParam, Buffer.from([0x0a, 0x00, 0x00, 0x00]))], event: ev };
      }
      const body = Buffer.concat([Buffer.from([szlId >> 8, szlId & 0xff, index >> 8, index & 0xff, 0, list.reclen, 0, list.records.length]), ...list.records]);
      const d = Buffer.concat([Buffer.from([0xff, 0x09, body.length >> 8, body.length & 0xff]), body]);
      return { replies: [userData(pduRef, respParam, d)], event: ev };
    }
    respParam.writeUInt16BE(0xd602, 10); // function not supported in this group
    return { replies: [userData(pduRef, respParam, Buffer.from([0x0a, 0x00, 0x00, 0x00]))], event: { kind: 'userdata', group, subfunction: sub } };
  }
  return { replies: [], error: `unexpected ROSCTR ${rosctr}`, event: { kind: 's7', rosctr } };
}
