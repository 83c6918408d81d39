import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cons, octets, prim, readTlv, seq } from './ber.js';
import { decodeFilter, MAX_FILTER_DEPTH, matches, renderFilter, type Filter } from './filter.js';
import { decodeMessage } from './ldap-codec.js';
import fixtures from './__fixtures__/client-messages.json' with { type: 'json' };

/** Test-side encoder (the service only decodes filters). */
function encode(f: Filter): Buffer {
  switch (f.type) {
    case 'and':
      return cons(0xa0, ...f.filters.map(encode));
    case 'or':
      return cons(0xa1, ...f.filters.map(encode));
    case 'not':
      return cons(0xa2, encode(f.filter));
    case 'eq':
    case 'ge':
    case 'le':
    case 'approx':
      return cons({ eq: 0xa3, ge: 0xa5, le: 0xa6, approx: 0xa8 }[f.type], octets(f.attr), octets(f.value));
    case 'present':
      return prim(0x87, f.attr);
    case 'substr':
      return cons(0xa4, octets(f.attr), seq(...(f.initial !== undefined ? [prim(0x80, f.initial)] : []), ...f.any.map((a) => prim(0x81, a)), ...(f.final !== undefined ? [prim(0x82, f.final)] : [])));
    case 'ext':
      return cons(0xa9, ...(f.rule ? [prim(0x81, f.rule)] : []), ...(f.attr ? [prim(0x82, f.attr)] : []), prim(0x83, f.value), ...(f.dnAttributes ? [prim(0x84, Buffer.from([0xff]))] : []));
  }
}

const decode = (b: Buffer) => {
  const t = readTlv(b);
  return t ? decodeFilter(t) : undefined;
};

const attr = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9-]{0,12}$/);
const value = fc.string({ maxLength: 12 });
const filterArb: fc.Arbitrary<Filter> = fc.letrec<{ f: Filter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ type: fc.constant('present' as const), attr }),
    fc.record({ type: fc.constantFrom('eq' as const, 'ge' as const, 'le' as const, 'approx' as const), attr, value }),
    fc.record({ type: fc.constant('substr' as const), attr, initial: value, any: fc.array(value.filter((s) => s !== ''), { maxLength: 3 }), final: value }),
    fc.record({ type: fc.constant('ext' as const), attr, rule: fc.constant('1.2.840.113556.1.4.803'), value: fc.nat().map(String), dnAttributes: fc.boolean() }),
    fc.record({ type: fc.constantFrom('and' as const, 'or' as const), filters: fc.array(tie('f'), { maxLength: 4 }) }),
    fc.record({ type: fc.constant('not' as const), filter: tie('f') }),
  ),
})).f;

const user = new Map<string, string[]>([
  ['objectclass', ['top', 'person', 'organizationalPerson', 'user']],
  ['samaccountname', ['jsmith']],
  ['cn', ['John Smith']],
  ['useraccountcontrol', ['4260352']],
  ['whencreated', ['20210315093012.0Z']],
  ['logoncount', ['42']],
]);
const lookup = (k: string) => user.get(k);

describe('filter rendering and evaluation', () => {
  it('renders RFC 4515 strings with escapes', () => {
    const f: Filter = { type: 'and', filters: [{ type: 'eq', attr: 'cn', value: 'a*(b)\\' }, { type: 'not', filter: { type: 'present', attr: 'mail' } }, { type: 'substr', attr: 'sn', initial: 'sm', any: ['i'], final: 'h' }] };
    expect(renderFilter(f)).toBe('(&(cn=a\\2a\\28b\\29\\5c)(!(mail=*))(sn=sm*i*h))');
    expect(renderFilter({ type: 'ext', attr: 'userAccountControl', rule: '1.2.840.113556.1.4.803', value: '2', dnAttributes: false })).toBe('(userAccountControl:1.2.840.113556.1.4.803:=2)');
  });

  it('evaluates like AD: case-insensitive, numeric ordering, bitwise rules', () => {
    const t = (f: Filter) => matches(f, lookup);
    expect(t({ type: 'eq', attr: 'sAMAccountName', value: 'JSMITH' })).toBe(true);
    expect(t({ type: 'eq', attr: 'objectClass', value: 'user' })).toBe(true);
    expect(t({ type: 'substr', attr: 'cn', initial: 'john', any: [], final: 'ITH' })).toBe(true);
    expect(t({ type: 'substr', attr: 'cn', initial: 'smith', any: [] })).toBe(false);
    expect(t({ type: 'ge', attr: 'logonCount', value: '9' })).toBe(true); // 42 >= 9 numerically
    expect(t({ type: 'le', attr: 'whenCreated', value: '20200101000000.0Z' })).toBe(false);
    expect(t({ type: 'ext', attr: 'userAccountControl', rule: '1.2.840.113556.1.4.803', value: '4194304', dnAttributes: false })).toBe(true); // DONT_REQ_PREAUTH
    expect(t({ type: 'ext', attr: 'userAccountControl', rule: '1.2.840.113556.1.4.803', value: '2', dnAttributes: false })).toBe(false);
    expect(t({ type: 'ext', attr: 'userAccountControl', rule: '1.2.840.113556.1.4.804', value: '3', dnAttributes: false })).toBe(false);
    expect(t({ type: 'and', filters: [] })).toBe(true);
    expect(t({ type: 'or', filters: [] })).toBe(false);
    expect(t({ type: 'not', filter: { type: 'present', attr: 'mail' } })).toBe(true);
  });

  it('decodes the filters real clients sent', () => {
    const rendered = Object.values(fixtures.messages)
      .flat()
      .map((hex) => decodeMessage(Buffer.from(hex, 'hex')))
      .flatMap((m) => ('req' in m && m.req.op === 'search' ? [renderFilter(m.req.filter)] : []));
    expect(rendered).toContain('(objectclass=*)');
    expect(rendered).toContain('(objectClass=*)');
    expect(rendered).toContain('(&(objectCategory=person)(|(sAMAccountName=a*)(cn=*mi*th))(!(userAccountControl:1.2.840.113556.1.4.803:=2))(whenCreated>=20200101000000.0Z))');
  });

  it('bounds the nesting depth', () => {
    let f: Filter = { type: 'present', attr: 'cn' };
    for (let i = 0; i < MAX_FILTER_DEPTH + 2; i++) f = { type: 'not', filter: f };
    expect(decode(encode(f))).toBeUndefined();
  });
});

describe('filter decoder fuzz', () => {
  it('round-trips generated filters (10,000 runs)', () => {
    fc.assert(
      fc.property(filterArb, (f) => {
        const back = decode(encode(f));
        expect(back).toBeDefined();
        expect(renderFilter(back!)).toBe(renderFilter(f));
        matches(back!, lookup); // never throws
      }),
      { numRuns: 10_000 },
    );
  });

  it('never throws on mutated real filters (10,000 runs)', () => {
    const seeds = Object.values(fixtures.messages)
      .flat()
      .map((hex) => decodeMessage(Buffer.from(hex, 'hex')))
      .flatMap((m) => ('req' in m && m.req.op === 'search' ? [encode(m.req.filter)] : []));
    expect(seeds.length).toBeGreaterThan(2);
    const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat({ max: 64 })).map(([s, edits, cut]) => {
      const b = Buffer.from(s);
      for (const [at, v] of edits) b[at % b.length] = v;
      return b.subarray(0, Math.max(1, b.length - (cut % 8)));
    });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 256 }).map((u) => Buffer.from(u))), (b) => {
        const f = decode(b);
        if (f) {
          expect(renderFilter(f).length).toBeLessThan(64 * 1024);
          matches(f, lookup);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
