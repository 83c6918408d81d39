/**
 * Pure SNMP agent core: decode one datagram (v1, v2c, v3), answer from the MIB
 * and describe what to log. No I/O; never throws (decoding is bounded, see ber.ts).
 */
import { LIMITS, compareOid, int, nul, octets, oid, readInt, readOid, readSeq, readTlv, seq } from './ber.js';
import { mibGet, mibNext, type MibEntry } from './mib.js';

export const PDU_NAMES: Record<number, string> = { 0xa0: 'get', 0xa1: 'getnext', 0xa2: 'response', 0xa3: 'set', 0xa4: 'trap', 0xa5: 'getbulk', 0xa6: 'inform', 0xa7: 'trapv2', 0xa8: 'report' };
export const MAX_REPETITIONS = 64;
export const BULK_REPLY_BYTES = 1472;

export interface AgentConfig {
  community: string;
  mib: MibEntry[];
  engineId: Buffer;
  engineBoots: number;
  engineTime: () => number;
}

export type AgentResult =
  | { kind: 'drop'; reason: string }
  | { kind: 'community'; version: number; community: Buffer; ok: boolean; pdu?: string; oids?: string[]; reply?: Buffer }
  | { kind: 'v3'; user: Buffer; engineId: Buffer; reply?: Buffer };

interface VarBind {
  oid: number[];
}

function parseVarbinds(v: Buffer): VarBind[] | undefined {
  const items = readSeq(v);
  if (!items || items.length > LIMITS.maxVarbinds) return undefined;
  const out: VarBind[] = [];
  for (const it of items) {
    if (it.tag !== 0x30) return undefined;
    const parts = readSeq(it.value);
    if (!parts || parts.length !== 2 || parts[0]!.tag !== 0x06) return undefined;
    const o = readOid(parts[0]!.value);
    if (!o) return undefined;
    out.push({ oid: o });
  }
  return out;
}

const vb = (o: number[], value: Buffer): Buffer => seq([oid(o), value]);

function response(version: number, community: Buffer, reqId: number, err: number, idx: number, binds: Buffer[]): Buffer {
  return seq([int(version), octets(community), seq([int(reqId), int(err), int(idx), seq(binds)], 0xa2)]);
}

export function handle(msg: Buffer, cfg: AgentConfig, maxReplyFor: (reqLen: number) => number = (n) => Math.min(BULK_REPLY_BYTES, Math.max(8 * n, 512))): AgentResult {
  const top = readTlv(msg, 0);
  if (!top || top.tag !== 0x30) return { kind: 'drop', reason: 'not a sequence' };
  const parts = readSeq(top.value);
  if (!parts || parts.length < 3 || parts[0]!.tag !== 0x02) return { kind: 'drop', reason: 'bad message' };
  const version = readInt(parts[0]!.value);
  if (version === 3) return handleV3(parts, cfg);
  if (version !== 0 && version !== 1) return { kind: 'drop', reason: 'bad version' };
  if (parts.length !== 3 || parts[1]!.tag !== 0x04) return { kind: 'drop', reason: 'bad message' };
  const community = Buffer.from(parts[1]!.value);
  const pduTlv = parts[2]!;
  const pdu = PDU_NAMES[pduTlv.tag];
  const ok = community.equals(Buffer.from(cfg.community, 'utf8'));
  const f = readSeq(pduTlv.value);
  if (!pdu || !f || f.length !== 4 || f[0]!.tag !== 0x02 || f[1]!.tag !== 0x02 || f[2]!.tag !== 0x02 || f[3]!.tag !== 0x30) return { kind: 'community', version, community, ok, pdu: pdu ?? `0x${pduTlv.tag.toString(16)}` };
  const reqId = readInt(f[0]!.value) ?? 0;
  const a = readInt(f[1]!.value) ?? 0;
  const b = readInt(f[2]!.value) ?? 0;
  const binds = parseVarbinds(f[3]!.value);
  if (!binds) return { kind: 'community', version, community, ok, pdu };
  const oids = binds.slice(0, 16).map((x) => x.oid.join('.'));
  const base = { kind: 'community' as const, version, community, ok, pdu, oids };
  if (!ok) return base;
  const v1 = version === 0;
  const limit = maxReplyFor(msg.length);
  const echo = () => binds.map((x) => vb(x.oid, nul()));
  const finish = (r: Buffer): Buffer | undefined => (r.length <= limit ? r : response(version, community, reqId, 1, 0, v1 ? echo() : []));
  switch (pduTlv.tag) {
    case 0xa0:
    case 0xa1: {
      const out: Buffer[] = [];
      for (const [i, x] of binds.entries()) {
        const e = pduTlv.tag === 0xa0 ? mibGet(cfg.mib, x.oid) : mibNext(cfg.mib, x.oid);
        if (e) out.push(vb(e.oid, e.value()));
        else if (v1) return { ...base, reply: finish(response(version, community, reqId, 2, i + 1, echo())) };
        else if (pduTlv.tag === 0xa0) out.push(vb(x.oid, nul(cfg.mib.some((m) => compareOid(m.oid.slice(0, -1), x.oid.slice(0, -1)) === 0) ? 0x81 : 0x80)));
        else out.push(vb(x.oid, nul(0x82)));
      }
      return { ...base, reply: finish(response(version, community, reqId, 0, 0, out)) };
    }
    case 0xa3:
      return { ...base, reply: finish(response(version, community, reqId, v1 ? 4 : 6, 1, echo())) };
    case 0xa5: {
      if (v1) return base;
      const nonRep = Math.max(0, Math.min(a, binds.length));
      const maxRep = Math.max(0, Math.min(b, MAX_REPETITIONS));
      const out: Buffer[] = [];
      for (const x of binds.slice(0, nonRep)) {
        const e = mibNext(cfg.mib, x.oid);
        out.push(e ? vb(e.oid, e.value()) : vb(x.oid, nul(0x82)));
      }
      const cursors = binds.slice(nonRep).map((x) => x.oid);
      for (let r = 0; r < maxRep && cursors.length > 0; r++) {
        for (const [i, c] of cursors.entries()) {
          const e = mibNext(cfg.mib, c);
          if (e) {
            out.push(vb(e.oid, e.value()));
            cursors[i] = e.oid;
          } else out.push(vb(c, nul(0x82)));
        }
        if (out.length > 1000) break;
      }
      // like net-snmp: drop trailing varbinds until the response fits
      const fixed = response(version, community, reqId, 0, 0, []).length + 4;
      let size = fixed;
      let n = 0;
      while (n < out.length && size + out[n]!.length <= BULK_REPLY_BYTES) size += out[n++]!.length;
      if (n === 0 && out.length > 0) return { ...base, reply: response(version, community, reqId, 1, 0, []) };
      const reply = response(version, community, reqId, 0, 0, out.slice(0, n));
      return { ...base, reply: reply.length <= BULK_REPLY_BYTES ? reply : undefined };
    }
    default:
      return base;
  }
}

export const USM_UNKNOWN_ENGINE_IDS = [1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0];
export const USM_UNKNOWN_USER_NAMES = [1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0];

function handleV3(parts: ReturnType<typeof readSeq> & object, cfg: AgentConfig): AgentResult {
  if (parts.length !== 4 || parts[1]!.tag !== 0x30 || parts[2]!.tag !== 0x04) return { kind: 'drop', reason: 'bad v3 message' };
  const hdr = readSeq(parts[1]!.value);
  if (!hdr || hdr.length !== 4 || hdr[0]!.tag !== 0x02) return { kind: 'drop', reason: 'bad v3 header' };
  const msgId = readInt(hdr[0]!.value) ?? 0;
  const flags = hdr[2]!.value[0] ?? 0;
  const sp = readTlv(parts[2]!.value, 0);
  const usm = sp && sp.tag === 0x30 ? readSeq(sp.value) : undefined;
  if (!usm || usm.length !== 6 || usm[0]!.tag !== 0x04 || usm[3]!.tag !== 0x04) return { kind: 'drop', reason: 'bad usm parameters' };
  const engineId = Buffer.from(usm[0]!.value);
  const user = Buffer.from(usm[3]!.value);
  let reqId = 0;
  const scoped = parts[3]!;
  if (scoped.tag === 0x30) {
    const sc = readSeq(scoped.value);
    const p = sc && sc.length === 3 ? readSeq(sc[2]!.value) : undefined;
    if (p && p[0]?.tag === 0x02) reqId = readInt(p[0].value) ?? 0;
  }
  const base = { kind: 'v3' as const, user, engineId };
  if (!(flags & 0x04)) return base; // not reportable
  const unknownEngine = !engineId.equals(cfg.engineId);
  const counter = unknownEngine ? USM_UNKNOWN_ENGINE_IDS : USM_UNKNOWN_USER_NAMES;
  const report = seq([int(reqId), int(0), int(0), seq([vb(counter, int(1 + (msgId & 0xff), 0x41))])], 0xa8);
  const reply = seq([
    int(3),
    seq([int(msgId), int(65507), octets(Buffer.from([0])), int(3)]),
    octets(seq([octets(cfg.engineId), int(cfg.engineBoots), int(cfg.engineTime()), octets(unknownEngine ? Buffer.alloc(0) : user), octets(''), octets('')])),
    seq([octets(cfg.engineId), octets(''), report]),
  ]);
  return { ...base, reply };
}
