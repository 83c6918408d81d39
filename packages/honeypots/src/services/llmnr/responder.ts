/**
 * LLMNR (RFC 4795, Microsoft profile MS-LLMNRP) and mDNS (RFC 6762) responder for
 * the decky's OWN names only: a decky answers what a real Windows host answers
 * about itself and stays silent on every other name (it is not a poisoner).
 * Pure: datagram in -> optional reply + one record per question for the event log.
 *
 * LLMNR: one question (QDCOUNT=1); A/ANY for the NetBIOS name or hostname -> A =
 * own IPv4, TTL 30 as Windows; AAAA (no IPv6) -> RCODE 0 with an empty answer
 * (RFC 4795 §2.1.1: an authoritative responder without an RR of the requested
 * type answers with an empty answer section, never NXDOMAIN); PTR for the reverse
 * name of its address -> its hostname; other types silently dropped (MS-LLMNRP).
 * The LLMNR C/TC/T bits stay 0.
 *
 * mDNS: <hostname>.local A and the reverse-name PTR; replies to queries from port
 * 5353 carry ID 0, no question, TTL 120 and the cache-flush bit; "legacy unicast"
 * queries (any other source port, e.g. dig/dnspython) get the ID and question
 * echoed and TTL 10 (RFC 6762 §6.7).
 */
import dnsPacket, { type Answer, type Packet, type Question } from 'dns-packet';
import { reverseName } from './own-address.js';

export type NameProtocol = 'llmnr' | 'mdns';

export const LIMITS = { maxDatagram: 1500, maxQuestions: 4, maxName: 255, maxOtherRecords: 16 } as const;

export interface Identity {
  /** names the decky owns, any case: the NetBIOS name and the hostname */
  names: string[];
  /** name returned by PTR: the hostname as the host spells it */
  hostname: string;
  /** own IPv4 for this query (interface it arrived on), undefined: answer nothing */
  ip: string | undefined;
}

export interface QueryRecord {
  name: string;
  qtype: string;
  protocol: NameProtocol;
  answered: boolean;
}

export interface ResponderResult {
  reply?: Buffer;
  queries: QueryRecord[];
}

const LLMNR_TTL = 30;
const MDNS_TTL = 120;
const LEGACY_TTL = 10;

/** the header counts, read before any decoding so oversized messages are dropped unparsed */
function counts(msg: Buffer): { qd: number; other: number; flags: number } | undefined {
  if (msg.length < 12 || msg.length > LIMITS.maxDatagram) return undefined;
  return { flags: msg.readUInt16BE(2), qd: msg.readUInt16BE(4), other: msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10) };
}

function qtypeOf(q: Question): string {
  return typeof q.type === 'string' ? q.type : String(q.type);
}

/** class IN, with or without the mDNS unicast-response (QU) bit */
function isInternet(q: Question): boolean {
  const c = q.class as unknown;
  return c === 'IN' || c === 'ANY' || c === 'UNKNOWN_32769' || c === undefined;
}

function localName(name: string): string | undefined {
  const m = /^(.*)\.local\.?$/i.exec(name);
  return m ? m[1] : undefined;
}

/** What this host holds for (name, type) under `protocol`: answers, [] (owned, no record), or undefined (not ours / not answered). */
function lookup(q: Question, id: Identity, protocol: NameProtocol, ttl: number, flush: boolean): Answer[] | undefined {
  if (!id.ip || !isInternet(q) || q.name.length > LIMITS.maxName) return undefined;
  const qname = q.name.replace(/\.$/, '');
  const type = qtypeOf(q);
  const owned = new Set(id.names.map((n) => n.toLowerCase()));
  const target = protocol === 'mdns' ? localName(qname) : qname;
  if (target !== undefined && target !== '' && owned.has(target.toLowerCase())) {
    const a: Answer = { name: q.name, type: 'A', class: 'IN', ttl, data: id.ip, ...(flush ? { flush: true } : {}) };
    if (type === 'A' || type === 'ANY') return [a];
    if (type === 'AAAA' && protocol === 'llmnr') return [];
    return undefined;
  }
  if (qname.toLowerCase() === reverseName(id.ip) && (type === 'PTR' || type === 'ANY')) {
    const data = protocol === 'mdns' ? `${id.hostname}.local` : id.hostname;
    return [{ name: q.name, type: 'PTR', class: 'IN', ttl, data, ...(flush ? { flush: true } : {}) }];
  }
  return undefined;
}

/** Handle one datagram that arrived on the LLMNR or mDNS port from `srcPort`. */
export function respond(msg: Buffer, protocol: NameProtocol, id: Identity, srcPort: number): ResponderResult {
  const c = counts(msg);
  // drop responses (QR=1), non-QUERY opcodes and oversized messages before decoding
  if (!c || c.flags & 0x8000 || (c.flags >> 11) & 0x0f || c.qd === 0 || c.qd > LIMITS.maxQuestions || c.other > LIMITS.maxOtherRecords) {
    return { queries: [] };
  }
  let pkt: Packet;
  try {
    pkt = dnsPacket.decode(msg);
  } catch {
    return { queries: [] };
  }
  const questions = (pkt.questions ?? []).slice(0, LIMITS.maxQuestions);
  const legacy = protocol === 'mdns' && srcPort !== 5353;
  const ttl = protocol === 'llmnr' ? LLMNR_TTL : legacy ? LEGACY_TTL : MDNS_TTL;
  const queries: QueryRecord[] = [];
  const answered: Question[] = [];
  const answers: Answer[] = [];
  for (const q of questions) {
    // LLMNR responders discard messages whose QDCOUNT is not 1 (RFC 4795 §2.1.1)
    const found = protocol === 'llmnr' && questions.length !== 1 ? undefined : lookup(q, id, protocol, ttl, protocol === 'mdns' && !legacy);
    queries.push({ name: q.name.slice(0, LIMITS.maxName), qtype: qtypeOf(q), protocol, answered: found !== undefined });
    if (found) {
      answered.push({ name: q.name, type: q.type, class: 'IN' });
      answers.push(...found);
    }
  }
  if (answered.length === 0) return { queries };
  const reply: Packet =
    protocol === 'llmnr'
      ? { id: pkt.id ?? 0, type: 'response', flags: 0, questions: answered, answers }
      : legacy
        ? { id: pkt.id ?? 0, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: answered, answers }
        : { id: 0, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: [], answers };
  return { reply: dnsPacket.encode(reply), queries };
}
