/**
 * NetBIOS name service (137/udp, RFC 1002 §4.2) of the smb service: answers NODE
 * STATUS requests (nbtstat -A, nmblookup -A, nbtscan, nmap nbstat) with the names
 * the persona holds, as a real host lists them, plus the MAC in the statistics;
 * answers NAME QUERY requests for its own names with its IPv4; stays silent on
 * every other name (never poisons) and on registrations/releases. Every request
 * is a `name_query` event (protocol nbns). The packet handler is pure.
 *
 * Names held (Windows): NAME<00> unique, DOMAIN<00> group, [DC: DOMAIN<1c> group],
 * NAME<20> unique, [DC: DOMAIN<1b> unique: the PDC emulator is the domain master
 * browser], [workgroup machine before Windows 10, whose Computer Browser service
 * still runs: WORKGROUP<1e> group]. A non-Windows persona is Samba's nmbd: NAME<00>,
 * NAME<03>, NAME<20>, WORKGROUP<00>/<1e> groups, and a zero MAC as nmbd reports.
 */
import type { Persona } from '@decnet/api';
import { decodeNetbiosName, formatNetbiosName, WILDCARD } from '../../protocols/netbios-name.js';
import { startUdpService } from '../../runtime/udp.js';
import type { RunningService, ServiceContext } from '../../runtime/types.js';
import { macBytes, ownAddressFor, primaryInterface } from '../llmnr/own-address.js';

/** RFC 1002: NBNS datagrams are at most 576 bytes */
export const MAX_NBNS_DATAGRAM = 576;
export const TYPE_NB = 0x0020;
export const TYPE_NBSTAT = 0x0021;
const OPCODES: Record<number, string> = { 0: 'query', 5: 'registration', 6: 'release', 7: 'wack', 8: 'refresh', 9: 'refresh', 15: 'multihomed_registration' };

export interface HeldName {
  name: string;
  suffix: number;
  group: boolean;
}

export function heldNames(p: Persona): HeldName[] {
  const n = p.netbiosName;
  const d = p.netbiosDomain;
  if (!p.windows) {
    return [
      { name: n, suffix: 0x00, group: false },
      { name: n, suffix: 0x03, group: false },
      { name: n, suffix: 0x20, group: false },
      { name: d, suffix: 0x00, group: true },
      { name: d, suffix: 0x1e, group: true },
    ];
  }
  const out: HeldName[] = [
    { name: n, suffix: 0x00, group: false },
    { name: d, suffix: 0x00, group: true },
  ];
  if (p.domainController) out.push({ name: d, suffix: 0x1c, group: true });
  out.push({ name: n, suffix: 0x20, group: false });
  if (p.domainController) out.push({ name: d, suffix: 0x1b, group: false });
  if (!p.joined && p.windows.build < 10240) out.push({ name: d, suffix: 0x1e, group: true });
  return out;
}

export interface NbnsIdentity {
  names: HeldName[];
  /** own IPv4 for this request, undefined: answer nothing */
  ip: string | undefined;
  mac: Buffer;
}

export interface NbnsQuery {
  name: string;
  qtype: string;
  protocol: 'nbns';
  answered: boolean;
  broadcast: boolean;
  opcode?: string;
}

function answerHeader(id: number, flags: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(1, 6); // ANCOUNT
  return h;
}

function rr(nameBytes: Buffer, type: number, ttl: number, rdata: Buffer): Buffer {
  const f = Buffer.alloc(10);
  f.writeUInt16BE(type, 0);
  f.writeUInt16BE(1, 2);
  f.writeUInt32BE(ttl, 4);
  f.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([nameBytes, f, rdata]);
}

/** NODE STATUS RESPONSE rdata: the name table then the 46-byte statistics (unit id = MAC). */
export function nodeStatusRdata(names: HeldName[], mac: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([names.length])];
  for (const h of names) {
    const e = Buffer.alloc(18, 0x20);
    e.write(h.name.slice(0, 15), 0, 'latin1');
    e[15] = h.suffix;
    e.writeUInt16BE(h.group ? 0x8400 : 0x0400, 16); // G bit, B-node, ACTIVE
    parts.push(e);
  }
  const stats = Buffer.alloc(46);
  mac.copy(stats, 0, 0, 6);
  parts.push(stats);
  return Buffer.concat(parts);
}

/** Handle one request datagram: the reply (if any) and the event record (if it parsed). */
export function handleNbns(msg: Buffer, id: NbnsIdentity): { reply?: Buffer; query?: NbnsQuery } {
  if (msg.length < 12 + 34 + 4 || msg.length > MAX_NBNS_DATAGRAM) return {};
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000 || msg.readUInt16BE(4) !== 1) return {}; // responses, or not one question
  const q = decodeNetbiosName(msg, 12);
  if (!q || 12 + q.bytes + 4 > msg.length) return {};
  const qtypeNum = msg.readUInt16BE(12 + q.bytes);
  const opcode = (flags >> 11) & 0x0f;
  const query: NbnsQuery = {
    name: formatNetbiosName(q) + (q.scope ? `.${q.scope}` : ''),
    qtype: qtypeNum === TYPE_NB ? 'NB' : qtypeNum === TYPE_NBSTAT ? 'NBSTAT' : String(qtypeNum),
    protocol: 'nbns',
    answered: false,
    broadcast: (flags & 0x0010) !== 0,
    ...(opcode !== 0 ? { opcode: OPCODES[opcode] ?? String(opcode) } : {}),
  };
  if (opcode !== 0 || q.scope !== '' || !id.ip) return { query };
  const nameBytes = msg.subarray(12, 12 + q.bytes);
  const upper = q.name.toUpperCase();
  const own = id.names.find((h) => h.name === upper && h.suffix === q.suffix);
  const trn = msg.readUInt16BE(0);
  if (qtypeNum === TYPE_NBSTAT) {
    const mine = (q.name === WILDCARD && q.suffix === 0) || (own !== undefined && !own.group);
    if (!mine) return { query };
    const reply = Buffer.concat([answerHeader(trn, 0x8400), rr(nameBytes, TYPE_NBSTAT, 0, nodeStatusRdata(id.names, id.mac))]);
    return { reply, query: { ...query, answered: true } };
  }
  if (qtypeNum === TYPE_NB && own) {
    const rdata = Buffer.alloc(6);
    rdata.writeUInt16BE(own.group ? 0x8000 : 0x0000, 0);
    for (const [i, o] of id.ip.split('.').entries()) rdata[2 + i] = Number(o) & 0xff;
    const reply = Buffer.concat([answerHeader(trn, 0x8400 | (flags & 0x0100)), rr(nameBytes, TYPE_NB, 300_000, rdata)]);
    return { reply, query: { ...query, answered: true } };
  }
  return { query };
}

/**
 * Listen on the udp ports of ctx (137/udp of the smb service). The returned
 * service has only the udp ports; combine it with the tcp part (combineRunning).
 */
export async function startNbns(ctx: ServiceContext, opts: { mac?: string; ip?: string } = {}): Promise<RunningService> {
  const names = heldNames(ctx.persona);
  // nmbd (the non-Windows persona) reports a zero unit id
  const mac = macBytes(opts.mac ?? (ctx.persona.windows ? primaryInterface()?.mac : undefined));
  return startUdpService(
    ctx,
    (msg, info, reply) => {
      const r = handleNbns(msg, { names, mac, ip: opts.ip ?? ownAddressFor(info.src_ip) });
      if (r.query) ctx.emit({ event: 'name_query', ...info, ...r.query });
      if (r.reply) reply(r.reply);
    },
    { maxDatagram: MAX_NBNS_DATAGRAM },
  );
}
