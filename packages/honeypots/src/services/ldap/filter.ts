/**
 * LDAP search filters (RFC 4511 4.5.1.7): decoding from BER with bounded depth
 * and node count, rendering as an RFC 4515 string for events, and evaluation
 * against a directory entry the way Active Directory matches (attribute names
 * and string values case-insensitive, the AD bitwise matching rules).
 */
import { children, readBool, readString, readTlv, type Tlv } from './ber.js';

export type Filter =
  | { type: 'and' | 'or'; filters: Filter[] }
  | { type: 'not'; filter: Filter }
  | { type: 'eq' | 'ge' | 'le' | 'approx'; attr: string; value: string }
  | { type: 'present'; attr: string }
  | { type: 'substr'; attr: string; initial?: string; any: string[]; final?: string }
  | { type: 'ext'; attr?: string; rule?: string; value: string; dnAttributes: boolean };

export const MAX_FILTER_DEPTH = 32;
export const MAX_FILTER_NODES = 512;

/** Decode a Filter element; undefined when malformed or over the bounds. */
export function decodeFilter(t: Tlv): Filter | undefined {
  const budget = { nodes: 0 };
  return decode(t, 0, budget);
}

function decode(t: Tlv, depth: number, budget: { nodes: number }): Filter | undefined {
  if (depth > MAX_FILTER_DEPTH || ++budget.nodes > MAX_FILTER_NODES) return undefined;
  switch (t.tag) {
    case 0xa0:
    case 0xa1: {
      const kids = children(t.value, MAX_FILTER_NODES);
      if (!kids) return undefined;
      const filters: Filter[] = [];
      for (const k of kids) {
        const f = decode(k, depth + 1, budget);
        if (!f) return undefined;
        filters.push(f);
      }
      return { type: t.tag === 0xa0 ? 'and' : 'or', filters };
    }
    case 0xa2: {
      const inner = readTlv(t.value);
      if (!inner || inner.end !== t.value.length) return undefined;
      const f = decode(inner, depth + 1, budget);
      return f && { type: 'not', filter: f };
    }
    case 0xa3:
    case 0xa5:
    case 0xa6:
    case 0xa8: {
      const kids = children(t.value, 2);
      if (!kids || kids.length !== 2 || kids[0]!.tag !== 0x04 || kids[1]!.tag !== 0x04) return undefined;
      const type = t.tag === 0xa3 ? 'eq' : t.tag === 0xa5 ? 'ge' : t.tag === 0xa6 ? 'le' : 'approx';
      return { type, attr: readString(kids[0]!.value), value: readString(kids[1]!.value) };
    }
    case 0x87:
      return { type: 'present', attr: readString(t.value) };
    case 0xa4: {
      const kids = children(t.value, 2);
      if (!kids || kids.length !== 2 || kids[0]!.tag !== 0x04 || kids[1]!.tag !== 0x30) return undefined;
      const parts = children(kids[1]!.value, 64);
      if (!parts || parts.length === 0) return undefined;
      const f: Filter & { type: 'substr' } = { type: 'substr', attr: readString(kids[0]!.value), any: [] };
      for (const [i, p] of parts.entries()) {
        const s = readString(p.value);
        if (p.tag === 0x80 && i === 0) f.initial = s;
        else if (p.tag === 0x81) f.any.push(s);
        else if (p.tag === 0x82 && i === parts.length - 1) f.final = s;
        else return undefined;
      }
      return f;
    }
    case 0xa9: {
      const kids = children(t.value, 4);
      if (!kids) return undefined;
      const f: Filter & { type: 'ext' } = { type: 'ext', value: '', dnAttributes: false };
      let hasValue = false;
      for (const k of kids) {
        if (k.tag === 0x81) f.rule = readString(k.value);
        else if (k.tag === 0x82) f.attr = readString(k.value);
        else if (k.tag === 0x83) {
          f.value = readString(k.value);
          hasValue = true;
        } else if (k.tag === 0x84) f.dnAttributes = readBool(k.value) ?? false;
        else return undefined;
      }
      return hasValue ? f : undefined;
    }
    default:
      return undefined;
  }
}

/** RFC 4515 value escaping: the specials and anything not printable ASCII as \xx. */
export function escapeValue(v: string): string {
  let out = '';
  for (const b of Buffer.from(v, 'utf8')) {
    out += b === 0x2a || b === 0x28 || b === 0x29 || b === 0x5c || b < 0x20 || b >= 0x7f ? `\\${b.toString(16).padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}

/** Render a filter as an LDAP filter string (bounded: filters are bounded on decode). */
export function renderFilter(f: Filter): string {
  switch (f.type) {
    case 'and':
      return `(&${f.filters.map(renderFilter).join('')})`;
    case 'or':
      return `(|${f.filters.map(renderFilter).join('')})`;
    case 'not':
      return `(!${renderFilter(f.filter)})`;
    case 'eq':
      return `(${f.attr}=${escapeValue(f.value)})`;
    case 'ge':
      return `(${f.attr}>=${escapeValue(f.value)})`;
    case 'le':
      return `(${f.attr}<=${escapeValue(f.value)})`;
    case 'approx':
      return `(${f.attr}~=${escapeValue(f.value)})`;
    case 'present':
      return `(${f.attr}=*)`;
    case 'substr':
      return `(${f.attr}=${f.initial !== undefined ? escapeValue(f.initial) : ''}*${f.any.map((a) => `${escapeValue(a)}*`).join('')}${f.final !== undefined ? escapeValue(f.final) : ''})`;
    case 'ext':
      return `(${f.attr ?? ''}${f.dnAttributes ? ':dn' : ''}${f.rule ? `:${f.rule}` : ''}:=${escapeValue(f.value)})`;
  }
}

/** An entry's attributes as the evaluator sees them: lower-cased names -> values. */
export type AttrLookup = (lowerName: string) => readonly string[] | undefined;

const BIT_AND = '1.2.840.113556.1.4.803';
const BIT_OR = '1.2.840.113556.1.4.804';
const IN_CHAIN = '1.2.840.113556.1.4.1941';

function compareValues(a: string, b: string): number {
  if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function substrMatch(v: string, f: Filter & { type: 'substr' }): boolean {
  const s = v.toLowerCase();
  let pos = 0;
  if (f.initial !== undefined) {
    const ini = f.initial.toLowerCase();
    if (!s.startsWith(ini)) return false;
    pos = ini.length;
  }
  for (const any of f.any) {
    const a = any.toLowerCase();
    const i = s.indexOf(a, pos);
    if (i < 0) return false;
    pos = i + a.length;
  }
  if (f.final !== undefined) {
    const fin = f.final.toLowerCase();
    return s.length - pos >= fin.length && s.endsWith(fin);
  }
  return true;
}

function bitwise(values: readonly string[], operand: string, all: boolean): boolean {
  if (!/^\d+$/.test(operand)) return false;
  const mask = BigInt(operand);
  return values.some((v) => /^-?\d+$/.test(v) && (all ? (BigInt(v) & mask) === mask : (BigInt(v) & mask) !== 0n));
}

/** Does the entry match? `objectCategory=person` style shorthands are the directory's business (it stores both forms). */
export function matches(f: Filter, attrs: AttrLookup): boolean {
  switch (f.type) {
    case 'and':
      return f.filters.every((x) => matches(x, attrs));
    case 'or':
      return f.filters.some((x) => matches(x, attrs));
    case 'not':
      return !matches(f.filter, attrs);
    case 'present':
      return (attrs(f.attr.toLowerCase())?.length ?? 0) > 0;
    case 'eq':
    case 'approx':
      return (attrs(f.attr.toLowerCase()) ?? []).some((v) => compareValues(v, f.value) === 0);
    case 'ge':
      return (attrs(f.attr.toLowerCase()) ?? []).some((v) => compareValues(v, f.value) >= 0);
    case 'le':
      return (attrs(f.attr.toLowerCase()) ?? []).some((v) => compareValues(v, f.value) <= 0);
    case 'substr':
      return (attrs(f.attr.toLowerCase()) ?? []).some((v) => substrMatch(v, f));
    case 'ext': {
      if (!f.attr) return false;
      const values = attrs(f.attr.toLowerCase()) ?? [];
      if (f.rule === BIT_AND) return bitwise(values, f.value, true);
      if (f.rule === BIT_OR) return bitwise(values, f.value, false);
      if (f.rule === undefined || f.rule === IN_CHAIN) return values.some((v) => compareValues(v, f.value) === 0);
      return false;
    }
  }
}
