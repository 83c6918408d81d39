/**
 * LDAPv3 messages (RFC 4511) as the honeypot needs them: decoding a client's
 * LDAPMessage into a typed request (bind incl. Microsoft's "sicily" NTLM
 * choices [9] [10] [11], search, extended, unbind, abandon, the write
 * operations) and encoding the server's responses in AD's wire style.
 * Decoding never throws; anything malformed is `{ error }`.
 */
import { children, cons, enumerated, int, octets, prim, readBool, readHeader, readInt, readString, readTlv, seq, set, type Tlv } from './ber.js';
import { decodeFilter, type Filter } from './filter.js';

/** The largest LDAP message accepted (AD's MaxReceiveBuffer is 10 MB; a honeypot needs far less). */
export const MAX_MESSAGE = 256 * 1024;
export const MAX_ATTRIBUTES = 256;
export const MAX_CONTROLS = 32;

export type BindAuth =
  | { kind: 'simple'; password: Buffer }
  | { kind: 'sasl'; mechanism: string; credentials?: Buffer }
  | { kind: 'sicilyDiscovery' }
  | { kind: 'sicilyNegotiate'; token: Buffer }
  | { kind: 'sicilyResponse'; token: Buffer }
  | { kind: 'unknown'; tag: number };

export interface SearchRequest {
  op: 'search';
  base: string;
  scope: number;
  deref: number;
  sizeLimit: number;
  timeLimit: number;
  typesOnly: boolean;
  filter: Filter;
  attributes: string[];
}

export type LdapRequest =
  | { op: 'bind'; version: number; name: string; auth: BindAuth }
  | { op: 'unbind' }
  | SearchRequest
  | { op: 'extended'; oid: string; value?: Buffer }
  | { op: 'abandon'; id: number }
  /** modify, add, delete, modifyDN, compare: `dn` is the target entry */
  | { op: 'modify' | 'add' | 'delete' | 'modifyDN' | 'compare'; dn: string };

export interface Control {
  oid: string;
  critical: boolean;
  value?: Buffer;
}

export interface LdapMessage {
  id: number;
  req: LdapRequest;
  controls: Control[];
}

/** Frame length for the stream reader: a whole LDAPMessage (0x30 ...), undefined when incomplete, -1 when not LDAP. */
export function ldapFrameLength(buf: Buffer): number | undefined {
  if (buf[0] !== 0x30) return -1;
  const h = readHeader(buf);
  if (h === null) return -1;
  if (h === undefined) return undefined;
  return h.header + h.length;
}

/** Response protocolOp application tags. */
export const RESP = {
  bind: 0x61,
  searchEntry: 0x64,
  searchDone: 0x65,
  modify: 0x67,
  add: 0x69,
  delete: 0x6b,
  modifyDN: 0x6d,
  compare: 0x6f,
  extended: 0x78,
} as const;

const WRITE_OPS: Record<number, 'modify' | 'add' | 'delete' | 'modifyDN' | 'compare'> = {
  0x66: 'modify',
  0x68: 'add',
  0x4a: 'delete',
  0x6c: 'modifyDN',
  0x6e: 'compare',
};

function decodeBind(t: Tlv): LdapRequest | string {
  const k = children(t.value, 3);
  if (!k || k.length !== 3 || k[0]!.tag !== 0x02 || k[1]!.tag !== 0x04) return 'bad bind request';
  const version = readInt(k[0]!.value) ?? 0;
  const name = readString(k[1]!.value);
  const a = k[2]!;
  let auth: BindAuth;
  if (a.tag === 0x80) auth = { kind: 'simple', password: Buffer.from(a.value) };
  else if (a.tag === 0xa3) {
    const s = children(a.value, 2);
    if (!s || s.length < 1 || s[0]!.tag !== 0x04) return 'bad sasl credentials';
    const cred = s[1];
    auth = { kind: 'sasl', mechanism: readString(s[0]!.value), ...(cred && cred.tag === 0x04 ? { credentials: Buffer.from(cred.value) } : {}) };
  } else if (a.tag === 0x89) auth = { kind: 'sicilyDiscovery' };
  else if (a.tag === 0x8a) auth = { kind: 'sicilyNegotiate', token: Buffer.from(a.value) };
  else if (a.tag === 0x8b) auth = { kind: 'sicilyResponse', token: Buffer.from(a.value) };
  else auth = { kind: 'unknown', tag: a.tag };
  return { op: 'bind', version, name, auth };
}

function decodeSearch(t: Tlv): LdapRequest | string {
  const k = children(t.value, 8);
  if (!k || k.length !== 8) return 'bad search request';
  const [base, scope, deref, size, time, types, filterTlv, attrs] = k as [Tlv, Tlv, Tlv, Tlv, Tlv, Tlv, Tlv, Tlv];
  if (base.tag !== 0x04 || scope.tag !== 0x0a || deref.tag !== 0x0a || size.tag !== 0x02 || time.tag !== 0x02 || types.tag !== 0x01 || attrs.tag !== 0x30) {
    return 'bad search request';
  }
  const filter = decodeFilter(filterTlv);
  if (!filter) return 'bad search filter';
  const list = children(attrs.value, MAX_ATTRIBUTES);
  if (!list || list.some((x) => x.tag !== 0x04)) return 'bad attribute list';
  return {
    op: 'search',
    base: readString(base.value),
    scope: readInt(scope.value) ?? -1,
    deref: readInt(deref.value) ?? 0,
    sizeLimit: Math.max(0, readInt(size.value) ?? 0),
    timeLimit: Math.max(0, readInt(time.value) ?? 0),
    typesOnly: readBool(types.value) ?? false,
    filter,
    attributes: list.map((x) => readString(x.value)),
  };
}

function decodeExtended(t: Tlv): LdapRequest | string {
  const k = children(t.value, 2);
  if (!k || k.length < 1 || k[0]!.tag !== 0x80) return 'bad extended request';
  const v = k[1];
  return { op: 'extended', oid: readString(k[0]!.value), ...(v && v.tag === 0x81 ? { value: Buffer.from(v.value) } : {}) };
}

function decodeControls(t: Tlv | undefined): Control[] {
  if (!t || t.tag !== 0xa0) return [];
  const out: Control[] = [];
  for (const c of children(t.value, MAX_CONTROLS) ?? []) {
    const k = children(c.value, 3);
    if (c.tag !== 0x30 || !k || k[0]?.tag !== 0x04) continue;
    const ctl: Control = { oid: readString(k[0].value), critical: false };
    for (const x of k.slice(1)) {
      if (x.tag === 0x01) ctl.critical = readBool(x.value) ?? false;
      else if (x.tag === 0x04) ctl.value = Buffer.from(x.value);
    }
    out.push(ctl);
  }
  return out;
}

/** Decode one whole LDAPMessage frame. */
export function decodeMessage(frame: Buffer): LdapMessage | { error: string; id?: number } {
  try {
    const top = readTlv(frame);
    if (!top || top.tag !== 0x30 || top.end !== frame.length) return { error: 'not an LDAPMessage' };
    const k = children(top.value, 3);
    if (!k || k.length < 2 || k[0]!.tag !== 0x02) return { error: 'bad LDAPMessage' };
    const id = readInt(k[0]!.value);
    if (id === undefined || id < 0 || id > 0x7fffffff) return { error: 'bad message id' };
    const op = k[1]!;
    let req: LdapRequest | string;
    if (op.tag === 0x60) req = decodeBind(op);
    else if (op.tag === 0x42) req = { op: 'unbind' };
    else if (op.tag === 0x63) req = decodeSearch(op);
    else if (op.tag === 0x77) req = decodeExtended(op);
    else if (op.tag === 0x50) req = { op: 'abandon', id: readInt(op.value) ?? 0 };
    else if (WRITE_OPS[op.tag]) {
      // the target DN is the first element (or the whole value for delRequest)
      const dn = op.tag === 0x4a ? readString(op.value) : readString(children(op.value, 16)?.[0]?.value ?? Buffer.alloc(0));
      req = { op: WRITE_OPS[op.tag]!, dn };
    } else req = `unsupported operation 0x${op.tag.toString(16)}`;
    if (typeof req === 'string') return { error: req, id };
    return { id, req, controls: decodeControls(k[2]) };
  } catch (err) {
    return { error: `decode failure: ${String(err)}` };
  }
}

// ---------------------------------------------------------------- encoding

export interface ResultFields {
  code: number;
  matchedDN?: string | Buffer;
  message?: string;
}

function resultBody(r: ResultFields): Buffer[] {
  return [enumerated(r.code), octets(r.matchedDN ?? ''), octets(r.message ?? '')];
}

/** Wrap a protocolOp in an LDAPMessage, with optional response controls. */
export function message(id: number, op: Buffer, controls: Control[] = []): Buffer {
  const ctl = controls.length
    ? [cons(0xa0, ...controls.map((c) => seq(octets(c.oid), ...(c.critical ? [prim(0x01, Buffer.from([0xff]))] : []), ...(c.value ? [octets(c.value)] : []))))]
    : [];
  return seq(int(id), op, ...ctl);
}

export function bindResponse(id: number, r: ResultFields, serverSaslCreds?: Buffer): Buffer {
  return message(id, cons(RESP.bind, ...resultBody(r), ...(serverSaslCreds ? [prim(0x87, serverSaslCreds)] : [])));
}

export function resultResponse(id: number, tag: number, r: ResultFields, controls: Control[] = []): Buffer {
  return message(id, cons(tag, ...resultBody(r)), controls);
}

export function extendedResponse(id: number, r: ResultFields, name?: string, value?: Buffer): Buffer {
  return message(id, cons(RESP.extended, ...resultBody(r), ...(name !== undefined ? [prim(0x8a, name)] : []), ...(value ? [prim(0x8b, value)] : [])));
}

/** An attribute of an entry in wire order: its name and values. */
export interface EntryAttribute {
  name: string;
  values: readonly (string | Buffer)[];
}

export function searchEntry(id: number, dn: string, attrs: readonly EntryAttribute[], typesOnly = false): Buffer {
  const list = attrs.map((a) => seq(octets(a.name), set(...(typesOnly ? [] : a.values.map((v) => octets(v))))));
  return message(id, cons(RESP.searchEntry, octets(dn), seq(...list)));
}

/** The paged results control value (RFC 2696): size estimate and cookie. */
export function pagedResultsValue(size: number, cookie: Buffer): Buffer {
  return seq(int(size), octets(cookie));
}
