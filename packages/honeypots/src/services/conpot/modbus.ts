/**
 * Modbus/TCP codec and server logic, pure: MBAP framing (bounded, never
 * throws), read functions 1-4 from the ProcessImage, writes 5/6/15/16 echoed
 * and kept in the image, 17 Report Server ID, 43/14 Read Device
 * Identification; other functions exception 01, bad addresses exception 02.
 */
import { TABLE_SIZE, type PlcIdentity, type ProcessImage } from './identity.js';

export const MODBUS_LIMITS = { maxMbapLength: 260, maxBuffered: 4096 };

export interface MbapFrame {
  tid: number;
  proto: number;
  unit: number;
  pdu: Buffer;
}

export type FrameResult = { kind: 'frame'; frame: MbapFrame; rest: Buffer } | { kind: 'more' } | { kind: 'error'; reason: string };

/** Take one MBAP frame off the front of buf. */
export function takeFrame(buf: Buffer): FrameResult {
  if (buf.length < 7) return { kind: 'more' };
  const len = buf.readUInt16BE(4);
  if (len < 2 || len > MODBUS_LIMITS.maxMbapLength) return { kind: 'error', reason: `bad MBAP length ${len}` };
  if (buf.length < 6 + len) return { kind: 'more' };
  return {
    kind: 'frame',
    frame: { tid: buf.readUInt16BE(0), proto: buf.readUInt16BE(2), unit: buf[6]!, pdu: Buffer.from(buf.subarray(7, 6 + len)) },
    rest: buf.subarray(6 + len),
  };
}

export function encodeFrame(tid: number, unit: number, pdu: Buffer): Buffer {
  const h = Buffer.alloc(7);
  h.writeUInt16BE(tid & 0xffff, 0);
  h.writeUInt16BE(0, 2);
  h.writeUInt16BE(pdu.length + 1, 4);
  h[6] = unit & 0xff;
  return Buffer.concat([h, pdu]);
}

export interface ModbusCommand {
  function: number;
  unit: number;
  address?: number;
  count?: number;
  write?: boolean;
  values?: number[];
  exception?: number;
  mei?: number;
  read_code?: number;
  object_id?: number;
}

export interface ModbusResult {
  reply: Buffer;
  command: ModbusCommand;
}

const exc = (fc: number, code: number) => Buffer.from([(fc | 0x80) & 0xff, code]);

function deviceObjects(id: PlcIdentity): string[] {
  return [id.vendor, id.orderCode, id.version, 'http://www.siemens.com/automation', id.product, id.product.replace(/\s+/g, ' '), id.plant];
}

/** Answer one request PDU. Never throws. */
export function handlePdu(pdu: Buffer, unit: number, id: PlcIdentity, img: ProcessImage, now = Date.now()): ModbusResult {
  const fc = pdu[0] ?? 0;
  const cmd: ModbusCommand = { function: fc, unit };
  const fail = (code: number): ModbusResult => ({ reply: exc(fc, code), command: { ...cmd, exception: code } });
  const u16 = (o: number) => (pdu.length >= o + 2 ? pdu.readUInt16BE(o) : -1);
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4: {
      const addr = u16(1);
      const count = u16(3);
      if (addr < 0 || count < 0) return fail(3);
      cmd.address = addr;
      cmd.count = count;
      const bits = fc <= 2;
      if (count < 1 || count > (bits ? 2000 : 125)) return fail(3);
      if (addr + count > TABLE_SIZE) return fail(2);
      if (bits) {
        const src = fc === 1 ? img.coils : img.inputs;
        const out = Buffer.alloc(Math.ceil(count / 8));
        for (let i = 0; i < count; i++) if (src[addr + i]) out[i >> 3]! |= 1 << (i & 7);
        return { reply: Buffer.concat([Buffer.from([fc, out.length]), out]), command: cmd };
      }
      const out = Buffer.alloc(count * 2);
      for (let i = 0; i < count; i++) out.writeUInt16BE(fc === 3 ? img.holding[addr + i]! : img.inputAt(addr + i, now), i * 2);
      return { reply: Buffer.concat([Buffer.from([fc, out.length]), out]), command: cmd };
    }
    case 5:
    case 6: {
      const addr = u16(1);
      const value = u16(3);
      if (addr < 0 || value < 0) return fail(3);
      Object.assign(cmd, { address: addr, count: 1, write: true, values: [value] });
      if (fc === 5 && value !== 0xff00 && value !== 0) return fail(3);
      if (addr >= TABLE_SIZE) return fail(2);
      if (fc === 5) img.coils[addr] = value === 0xff00 ? 1 : 0;
      else img.holding[addr] = value;
      return { reply: Buffer.from(pdu.subarray(0, 5)), command: cmd };
    }
    case 15:
    case 16: {
      const addr = u16(1);
      const count = u16(3);
      const bytes = pdu[5];
      if (addr < 0 || count < 0 || bytes === undefined) return fail(3);
      Object.assign(cmd, { address: addr, count, write: true });
      const need = fc === 15 ? Math.ceil(count / 8) : count * 2;
      if (count < 1 || count > (fc === 15 ? 1968 : 123) || bytes !== need || pdu.length < 6 + need) return fail(3);
      if (addr + count > TABLE_SIZE) return fail(2);
      const values: number[] = [];
      for (let i = 0; i < count; i++) {
        const v = fc === 15 ? (pdu[6 + (i >> 3)]! >> (i & 7)) & 1 : pdu.readUInt16BE(6 + i * 2);
        if (values.length < 128) values.push(v);
        if (fc === 15) img.coils[addr + i] = v;
        else img.holding[addr + i] = v;
      }
      cmd.values = values;
      return { reply: Buffer.from(pdu.subarray(0, 5)), command: cmd };
    }
    case 17: {
      // server id, run indicator (0xFF = run), then the device's text
      const text = Buffer.from(`${id.vendor} ${id.product} ${id.orderCode} ${id.version}`.slice(0, 240), 'latin1');
      const data = Buffer.concat([Buffer.from([0x01, 0xff]), text]);
      return { reply: Buffer.concat([Buffer.from([17, data.length]), data]), command: cmd };
    }
    case 43: {
      const mei = pdu[1];
      cmd.mei = mei;
      if (mei !== 14) return fail(1);
      const readCode = pdu[2];
      const objectId = pdu[3];
      if (readCode === undefined || objectId === undefined) return fail(3);
      cmd.read_code = readCode;
      cmd.object_id = objectId;
      const objs = deviceObjects(id);
      // conformity 0x83: basic, regular and extended, stream and individual access
      let ids: number[];
      if (readCode === 1) ids = [0, 1, 2];
      else if (readCode === 2 || readCode === 3) ids = [0, 1, 2, 3, 4, 5, 6];
      else if (readCode === 4) {
        if (objectId >= objs.length) return fail(2);
        ids = [objectId];
      } else return fail(3);
      if (readCode !== 4) {
        if (objectId >= objs.length) return fail(2);
        ids = ids.filter((i) => i >= objectId);
        if (ids.length === 0) ids = [ids[0] ?? 0];
      }
      const parts: Buffer[] = [];
      let size = 0;
      let more = 0;
      let next = 0;
      let n = 0;
      for (const i of ids) {
        const v = Buffer.from(objs[i]!.slice(0, 200), 'latin1');
        if (n > 0 && size + 2 + v.length > 240) {
          more = 0xff;
          next = i;
          break;
        }
        parts.push(Buffer.from([i, v.length]), v);
        size += 2 + v.length;
        n += 1;
      }
      const body = Buffer.concat(parts);
      return { reply: Buffer.concat([Buffer.from([43, 14, readCode, 0x83, more, next, n]), body]), command: cmd };
    }
    default:
      return fail(1);
  }
}
