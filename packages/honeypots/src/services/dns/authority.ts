/**
 * An authoritative-only DNS server as BIND 9.18 with `recursion no` answers, as a pure
 * function of one query message: the zone of the persona's domain (SOA, NS, A records),
 * `version.bind` and `hostname.bind` in class CHAOS, REFUSED for every name outside the
 * zone (never an open resolver), REFUSED for zone transfers, NOTIMP for other opcodes.
 * Replies are never bigger than the query's EDNS size (512 without EDNS) nor than
 * `maxAmplification` times the query: beyond that the reply is the header with TC set.
 */
import dnsPacket, { type Packet, type Question } from 'dns-packet';
import { DnsWriter, type Rr } from './wire.js';

export const LIMITS = { maxMessage: 4096, maxQuestions: 1, maxOtherRecords: 4, maxName: 255, maxRecords: 256, maxAmplification: 10 } as const;
/** BIND 9.18's default edns-udp-size advertised in replies */
export const EDNS_SIZE = 1232;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODE;

export interface Zone {
  /** the zone apex, lower case, no trailing dot */
  domain: string;
  /** owner name (lower case, fully qualified, no dot) -> IPv4 addresses */
  a: Map<string, string[]>;
  ns: string;
  hostmaster: string;
  serial: number;
  version: string;
  hostname: string;
}

export interface QueryRecord {
  name: string;
  qtype: string;
  qclass: string;
  rcode: Rcode;
  answered: boolean;
  recursion_desired: boolean;
}

export interface AuthorityResult {
  reply?: Buffer;
  query?: QueryRecord;
  /** a datagram that is not a query we read (dropped or FORMERR) */
  malformed?: string;
}

const TTL = 3600;
/** the trailing label of names like "10.in-addr.arpa" never belongs to a forward zone */
const norm = (n: string) => n.replace(/\.$/, '').toLowerCase();

/** Build a zone from `name ip` lines (relative to the domain, or absolute with a trailing dot). */
export function buildZone(opts: { domain: string; records: string; ownIp?: string; hostname: string; version: string; serial: number }): Zone {
  const domain = norm(opts.domain);
  const a = new Map<string, string[]>();
  const add = (name: string, ip: string) => {
    if (a.size >= LIMITS.maxRecords && !a.has(name)) return;
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || ip.split('.').some((o) => Number(o) > 255)) return;
    const list = a.get(name) ?? [];
    if (!list.includes(ip)) list.push(ip);
    a.set(name, list);
  };
  const fq = (n: string) => (n === '@' ? domain : n.endsWith('.') ? norm(n) : `${norm(n)}.${domain}`);
  for (const line of opts.records.split(/\r?\n/)) {
    const [name, ip] = line.trim().split(/\s+/);
    if (name && ip && !name.startsWith('#')) add(fq(name), ip);
  }
  const host = norm(opts.hostname.split('.')[0] ?? '');
  if (opts.ownIp) {
    if (host && !a.has(fq(host))) add(fq(host), opts.ownIp);
    if (!a.has(fq('ns1'))) add(fq('ns1'), opts.ownIp);
  }
  return { domain, a, ns: `ns1.${domain}`, hostmaster: `hostmaster.${domain}`, serial: opts.serial, version: opts.version, hostname: opts.hostname };
}

function inZone(name: string, zone: Zone): boolean {
  return name === zone.domain || name.endsWith(`.${zone.domain}`);
}

function soa(zone: Zone): Rr {
  return {
    name: zone.domain,
    cls: 1,
    ttl: TTL,
    data: { type: 'SOA', mname: zone.ns, rname: zone.hostmaster, serial: zone.serial, refresh: 604800, retry: 86400, expire: 2419200, minimum: 86400 },
  };
}

const qtypeOf = (q: Question) => String(q.type);
const qclassOf = (q: Question) => String(q.class ?? 'IN');

/** Answer one DNS message (UDP payload or a TCP frame without its length). */
export function answer(msg: Buffer, zone: Zone, transport: 'udp' | 'tcp'): AuthorityResult {
  if (msg.length < 12) return { malformed: 'shorter than a DNS header' };
  if (msg.length > LIMITS.maxMessage) return { malformed: 'oversized message' };
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return { malformed: 'a response, not a query' };
  const opcode = (flags >> 11) & 0x0f;
  const rd = (flags & 0x0100) !== 0;
  const qd = msg.readUInt16BE(4);
  const other = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  const header = (rcode: number, extraFlags = 0) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(0x8000 | (opcode << 11) | (flags & 0x0100) | extraFlags | rcode, 2);
    return h;
  };
  if (opcode !== 0) return { reply: header(RCODE.NOTIMP), malformed: `opcode ${opcode}` };
  if (qd !== 1 || other > LIMITS.maxOtherRecords) return { reply: header(RCODE.FORMERR), malformed: `qdcount ${qd}` };
  let pkt: Packet;
  try {
    pkt = dnsPacket.decode(msg);
  } catch {
    return { reply: header(RCODE.FORMERR), malformed: 'undecodable' };
  }
  const q = pkt.questions?.[0];
  if (!q || typeof q.name !== 'string' || q.name.length > LIMITS.maxName) return { reply: header(RCODE.FORMERR), malformed: 'bad question' };
  const opt = (pkt.additionals ?? []).find((r) => r.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  const limit = transport === 'tcp' ? 65535 : Math.min(Math.max(opt ? (opt.udpPayloadSize ?? 512) : 512, 512), EDNS_SIZE);
  const name = norm(q.name);
  const qtype = qtypeOf(q);
  const qclass = qclassOf(q);
  let rcode: Rcode = 'NOERROR';
  let aa = false;
  const answers: Rr[] = [];
  const authorities: Rr[] = [];
  if (qclass === 'CH') {
    const txt = name === 'version.bind' ? zone.version : name === 'hostname.bind' ? zone.hostname : undefined;
    if (txt !== undefined && (qtype === 'TXT' || qtype === 'ANY')) {
      aa = true;
      answers.push({ name: q.name, cls: 3, ttl: 0, data: { type: 'TXT', text: txt } });
      authorities.push({ name: q.name, cls: 3, ttl: 0, data: { type: 'NS', host: q.name } });
    } else rcode = 'REFUSED';
  } else if (qclass !== 'IN' && qclass !== 'ANY') {
    rcode = 'REFUSED';
  } else if (qtype === 'AXFR' || qtype === 'IXFR') {
    rcode = 'REFUSED'; // allow-transfer { none; }
  } else if (!inZone(name, zone)) {
    rcode = 'REFUSED'; // recursion no: not an open resolver
  } else {
    aa = true;
    const addrs = zone.a.get(name);
    const apex = name === zone.domain;
    if (qtype === 'A' || qtype === 'ANY') for (const ip of addrs ?? []) answers.push({ name: q.name, cls: 1, ttl: TTL, data: { type: 'A', ip } });
    if (apex && (qtype === 'SOA' || qtype === 'ANY')) answers.push({ ...soa(zone), name: q.name });
    if (apex && (qtype === 'NS' || qtype === 'ANY')) answers.push({ name: q.name, cls: 1, ttl: TTL, data: { type: 'NS', host: zone.ns } });
    if (answers.length === 0) {
      if (!addrs && !apex) rcode = 'NXDOMAIN';
      authorities.push(soa(zone));
    } else if (qtype !== 'NS' && qtype !== 'ANY') {
      authorities.push({ name: zone.domain, cls: 1, ttl: TTL, data: { type: 'NS', host: zone.ns } });
    }
  }
  const record: QueryRecord = { name: q.name.slice(0, LIMITS.maxName), qtype, qclass, rcode, answered: answers.length > 0, recursion_desired: rd };
  const qlen = questionNameLength(msg);
  if (qlen === undefined) return { reply: header(RCODE.FORMERR), malformed: 'bad question' };
  const w = new DnsWriter();
  const out0 = header(RCODE[rcode], aa ? 0x0400 : 0);
  out0.writeUInt16BE(1, 4);
  out0.writeUInt16BE(answers.length, 6);
  out0.writeUInt16BE(authorities.length, 8);
  out0.writeUInt16BE(opt ? 1 : 0, 10);
  w.raw(out0);
  w.question(q.name, msg.readUInt16BE(12 + qlen), msg.readUInt16BE(14 + qlen));
  for (const r of answers) w.rr(r);
  for (const r of authorities) w.rr(r);
  if (opt) w.opt(EDNS_SIZE);
  const out = w.done();
  // never an amplifier: a reply larger than the client may take, or than a small multiple of the query, is cut to TC
  if (out.length > limit || (transport === 'udp' && out.length > Math.max(512, LIMITS.maxAmplification * msg.length))) {
    const tc = Buffer.from(out.subarray(0, 12));
    tc.writeUInt16BE(tc.readUInt16BE(2) | 0x0200, 2);
    tc.writeUInt16BE(0, 6);
    tc.writeUInt16BE(0, 8);
    tc.writeUInt16BE(0, 10);
    tc.writeUInt16BE(0, 4);
    return { reply: tc, query: record };
  }
  return { reply: out, query: record };
}

/** Length of the (uncompressed) question name at offset 12, as dns-packet just read it. */
function questionNameLength(msg: Buffer): number | undefined {
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    if (msg[i]! >= 0x40) return undefined; // a compressed question: no client sends one
    i += 1 + msg[i]!;
  }
  return i + 4 < msg.length || i + 5 === msg.length ? i - 12 + 1 : undefined;
}

/** TCP: split 2-byte length framed messages; bounded by LIMITS.maxMessage. */
export class TcpFramer {
  private buf = Buffer.alloc(0);
  feed(chunk: Buffer): { messages: Buffer[]; error?: string } {
    this.buf = Buffer.concat([this.buf, chunk]);
    const messages: Buffer[] = [];
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (len > LIMITS.maxMessage) return { messages, error: `frame of ${len} bytes` };
      if (this.buf.length < 2 + len) break;
      messages.push(this.buf.subarray(2, 2 + len));
      this.buf = this.buf.subarray(2 + len);
      if (messages.length >= 16) return { messages, error: 'too many pipelined queries' };
    }
    return { messages };
  }
}
