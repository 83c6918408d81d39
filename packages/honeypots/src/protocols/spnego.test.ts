import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildNegTokenInit, buildNegTokenResp, offeredMechs, unwrapSpnego } from './spnego.js';

// a Windows client's NTLMSSP NEGOTIATE, wrapped below in a NegTokenInit offering only NTLMSSP
const NTLM_NEG = Buffer.from('4e544c4d5353500001000000978208e2000000000000000000000000000000000a0063450000000f', 'hex');
const wrapInit = (tok: Buffer) =>
  Buffer.from(
    '60' + (tok.length + 32).toString(16).padStart(2, '0') + '06062b0601050502a0' + (tok.length + 22).toString(16).padStart(2, '0') +
      '30' + (tok.length + 20).toString(16).padStart(2, '0') + 'a00e300c060a2b06010401823702020a' + 'a2' + (tok.length + 2).toString(16).padStart(2, '0') +
      '04' + tok.length.toString(16).padStart(2, '0') + tok.toString('hex'),
    'hex',
  );

describe('SPNEGO', () => {
  it('builds the Windows NegTokenInit2', () => {
    const t = buildNegTokenInit();
    expect(t[0]).toBe(0x60);
    expect(t.includes(Buffer.from('not_defined_in_RFC4178@please_ignore'))).toBe(true);
    expect(offeredMechs(t)).toEqual(['1.3.6.1.4.1.311.2.2.10']);
    expect(t[1]).toBe(t.length - 2);
  });

  it('unwraps init, resp and raw tokens', () => {
    expect(unwrapSpnego(wrapInit(NTLM_NEG))).toEqual({ mechToken: NTLM_NEG, wrapped: true });
    expect(offeredMechs(wrapInit(NTLM_NEG))).toEqual(['1.3.6.1.4.1.311.2.2.10']);
    const resp = buildNegTokenResp('accept-incomplete', NTLM_NEG);
    expect(unwrapSpnego(resp)).toEqual({ mechToken: NTLM_NEG, wrapped: true });
    expect(unwrapSpnego(NTLM_NEG)).toEqual({ mechToken: NTLM_NEG, wrapped: false });
    expect(unwrapSpnego(Buffer.from('a1073005a0030a0100', 'hex'))).toEqual({ wrapped: true });
  });

  it('builds NegTokenResp like Windows', () => {
    expect(buildNegTokenResp('accept-completed').toString('hex')).toBe('a1073005a0030a0100');
    expect(buildNegTokenResp('reject').toString('hex')).toBe('a1073005a0030a0102');
    const inc = buildNegTokenResp('accept-incomplete', Buffer.alloc(300, 1));
    expect(inc.subarray(0, 4).toString('hex')).toBe('a182014b');
    expect(inc.includes(Buffer.from('a0030a0101a10c060a2b06010401823702020a', 'hex'))).toBe(true);
  });

  it('fuzz: unwrapSpnego never throws, output bounded', () => {
    const seeds = [wrapInit(NTLM_NEG), buildNegTokenResp('accept-incomplete', NTLM_NEG), buildNegTokenInit()];
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat({ max: 60 }))
      .map(([s, muts, cut]) => {
        const b = Buffer.from(s);
        for (const [i, v] of muts) b[i % b.length] = v;
        return b.subarray(0, Math.max(0, b.length - cut));
      });
    const arb = fc.oneof(mutated, fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)));
    fc.assert(
      fc.property(arb, (b) => {
        const r = unwrapSpnego(b);
        if (r.mechToken) expect(r.mechToken.length).toBeLessThanOrEqual(b.length);
        offeredMechs(b);
      }),
      { numRuns: 10_000 },
    );
  });
});
