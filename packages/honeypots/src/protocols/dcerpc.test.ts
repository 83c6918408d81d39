import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NCA,
  NDR_SYNTAX,
  PFC,
  PTYPE,
  buildBindAck,
  buildFault,
  buildResponse,
  parseHeader,
  parsePdu,
  uuidFromBytes,
  uuidToBytes,
} from './dcerpc.js';
import { NdrError, NdrReader, NdrWriter } from './ndr.js';

const SEEDS: Record<string, string> = JSON.parse(readFileSync(path.join(import.meta.dirname, '../services/smb/__fixtures__/client-pdus.json'), 'utf8'));
const seeds = Object.values(SEEDS).map((h) => Buffer.from(h, 'hex'));
const seed = (name: string) => Buffer.from(SEEDS[name]!, 'hex');

/** A seed PDU with a few bytes overwritten, possibly truncated or extended, frag_length optionally kept consistent. */
const mutatedPdu = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    fc.option(fc.nat({ max: 200 })),
    fc.uint8Array({ maxLength: 32 }),
    fc.boolean(),
  )
  .map(([base, edits, cut, extra, fixLength]) => {
    let b = Buffer.concat([base, Buffer.from(extra)]);
    for (const [pos, v] of edits) b[pos % b.length] = v;
    if (cut !== null) b = b.subarray(0, cut);
    if (fixLength && b.length >= 10) b.writeUInt16LE(b.length, 8);
    return Buffer.from(b);
  });

/** A syntactically plausible PDU: valid common header, any type and flags, random body. */
const generatedPdu = fc
  .tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 40 }), fc.nat())
  .map(([ptype, flags, body, authLength, callId]) => {
    const h = Buffer.alloc(16);
    h[0] = 5;
    h[2] = ptype;
    h[3] = flags;
    h[4] = 0x10;
    h.writeUInt16LE(16 + body.length, 8);
    h.writeUInt16LE(Math.min(authLength, body.length), 10);
    h.writeUInt32LE(callId >>> 0, 12);
    return Buffer.concat([h, Buffer.from(body)]);
  });

describe('dcerpc codec', () => {
  it('round-trips UUIDs in wire order', () => {
    const id = '4b324fc8-1670-01d3-1278-5a47bf6ee188';
    expect(uuidToBytes(id).toString('hex')).toBe('c84f324b7016d30112785a47bf6ee188');
    expect(uuidFromBytes(uuidToBytes(id))).toBe(id);
  });

  it('parses the binds and requests impacket builds', () => {
    const bind = parsePdu(seed('bind_srvsvc_windows'));
    expect(bind?.kind).toBe('bind');
    if (bind?.kind !== 'bind') return;
    expect(bind.maxRecvFrag).toBe(5840);
    expect(bind.contexts.map((c) => [c.contextId, c.abstract.uuid, c.abstract.major, c.transfer[0]!.uuid])).toEqual([
      [0, '4b324fc8-1670-01d3-1278-5a47bf6ee188', 3, NDR_SYNTAX.uuid],
      [1, '4b324fc8-1670-01d3-1278-5a47bf6ee188', 3, '71710533-beba-4937-8319-b5dbef9ccc36'],
      [2, '4b324fc8-1670-01d3-1278-5a47bf6ee188', 3, '6cb71c2c-9812-4540-0300-000000000000'],
    ]);
    const req = parsePdu(seed('share_enum_1'));
    expect(req?.kind === 'request' && [req.opnum, req.contextId, req.header.callId, req.stub.length]).toEqual([15, 0, 2, 0x48]);
  });

  it('rejects truncated PDUs and other protocol versions', () => {
    const bind = seed('bind_srvsvc');
    expect(parsePdu(bind.subarray(0, 40))).toBeUndefined();
    expect(parseHeader(Buffer.from([4, 0, 11, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0]))).toBeUndefined();
    const badCount = Buffer.from(bind);
    badCount[24] = 9; // nine contexts announced, one present
    expect(parsePdu(badCount)).toBeUndefined();
  });

  it('fragments a response at max_xmit_frag with alloc_hint counting down', () => {
    const stub = Buffer.alloc(10_000, 7);
    const frags = buildResponse(9, 1, stub, 2048);
    expect(frags.length).toBe(5);
    let left = stub.length;
    frags.forEach((f, i) => {
      const h = parseHeader(f)!;
      expect(f.length).toBeLessThanOrEqual(2048);
      expect(h.fragLength).toBe(f.length);
      expect([h.ptype, h.callId, f.readUInt32LE(16), f.readUInt16LE(20)]).toEqual([PTYPE.response, 9, left, 1]);
      expect(h.flags).toBe((i === 0 ? PFC.firstFrag : 0) | (i === frags.length - 1 ? PFC.lastFrag : 0));
      left -= f.length - 24;
    });
    expect(Buffer.concat(frags.map((f) => f.subarray(24)))).toEqual(stub);
  });

  it('builds FAULT and BIND_ACK with their fixed layouts', () => {
    const f = buildFault(5, 0, NCA.opRangeError);
    expect(f.toString('hex')).toBe('05000323100000002000000005000000200000000000000002000' + '11c00000000');
    const ack = buildBindAck({ callId: 1, alter: true, maxXmitFrag: 4280, maxRecvFrag: 4280, assocGroup: 0x1234, secondaryAddress: 'x', results: [] });
    expect([ack[2], ack.readUInt16LE(24), ack.length]).toEqual([PTYPE.alterContextResp, 0, 32]);
  });

  it('NDR: strings round-trip and hostile counts fail cleanly', () => {
    const w = new NdrWriter().ptr(true).wstr('\\\\FS01').u32(7);
    const r = new NdrReader(w.bytes());
    expect([r.uniqueWstr(), r.u32(), r.remaining]).toEqual(['\\\\FS01', 7, 0]);
    const huge = new NdrWriter().u32(0x7fffffff).u32(0).u32(0x7fffffff).bytes();
    expect(() => new NdrReader(huge).wstr()).toThrow(NdrError);
    expect(() => new NdrReader(Buffer.alloc(3)).u32()).toThrow(NdrError);
  });

  it('fuzz: parsePdu never throws on generated or mutated PDUs and stays within them', () => {
    fc.assert(
      fc.property(fc.oneof(generatedPdu, mutatedPdu), (buf) => {
        const pdu = parsePdu(buf);
        if (!pdu) return;
        expect(pdu.header.fragLength).toBeLessThanOrEqual(buf.length);
        if (pdu.kind === 'request') expect(pdu.stub.length).toBeLessThanOrEqual(buf.length);
        if (pdu.kind === 'bind' || pdu.kind === 'alter_context') expect(pdu.contexts.length).toBeLessThanOrEqual(255);
      }),
      { numRuns: 10_000 },
    );
  });
});
