/**
 * Fuzz of the LDAP message codec, the session and the stream framing, seeded
 * with the messages real clients sent on loopback (__fixtures__).
 */
import { resolvePersona } from '@decnet/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFrameReader } from '../../runtime/frames.js';
import { decodeMessage, ldapFrameLength, MAX_MESSAGE } from './ldap-codec.js';
import { LdapSession } from './ldap-session.js';
import { parseDirectives } from './sasl-digest.js';
import fixtures from './__fixtures__/client-messages.json' with { type: 'json' };

const persona = resolvePersona({ hostname: 'dc01', nmapOS: 'windows_server', services: [{ name: 'ldap', config: {} }] });
const config = { users: 'alice:Secret1' };
const conversations = Object.values(fixtures.messages).map((list) => list.map((hex) => Buffer.from(hex, 'hex')));
const seeds = conversations.flat();

/** A real message with a few bytes overwritten, inserted or cut off. */
const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 }))),
    fc.nat({ max: 16 }),
  )
  .map(([seed, edits, insert, cut]) => {
    let b = Buffer.from(seed);
    for (const [at, v] of edits) b[at % b.length] = v;
    if (insert) {
      const at = insert[0] % b.length;
      b = Buffer.concat([b.subarray(0, at), Buffer.from(insert[1]), b.subarray(at)]);
    }
    return b.subarray(0, Math.max(1, b.length - cut));
  });
const anyMessage = fc.oneof({ weight: 4, arbitrary: mutated }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((u) => Buffer.from(u)) });

describe('ldap codec fuzz', () => {
  it('decodes every captured message', () => {
    for (const s of seeds) expect(decodeMessage(s)).toHaveProperty('req');
  });

  it('decodeMessage never throws on mutated or random input (10,000 runs)', () => {
    fc.assert(
      fc.property(anyMessage, (b) => {
        const m = decodeMessage(b);
        expect('req' in m || 'error' in m).toBe(true);
      }),
      { numRuns: 10_000 },
    );
  });

  it('the session survives mutated conversations with bounded output (10,000 runs)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...conversations), fc.nat(), mutated, (conv, at, bad) => {
        const s = new LdapSession({ persona, config, seed: 'fuzz', tls: false });
        const frames = [...conv];
        frames.splice(at % (frames.length + 1), 0, bad);
        let total = 0;
        for (const f of frames) {
          const out = s.handle(f);
          total += out.replies.reduce((n, r) => n + r.length, 0);
          expect(out.events.length).toBeLessThan(4);
          for (const e of out.events) {
            expect(JSON.stringify(e).length).toBeLessThan(32 * 1024);
            // an internal error would mean a bug in the session, not bad input
            expect(String(e['message'] ?? '')).not.toMatch(/^internal/);
          }
          if (out.close) break;
        }
        expect(total).toBeLessThan(1024 * 1024);
      }),
      { numRuns: 10_000 },
    );
  });

  it('the stream framing buffers at most one bounded message (10,000 runs)', () => {
    const stream = fc.array(fc.oneof(anyMessage, fc.constantFrom(...seeds)), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(stream, fc.integer({ min: 1, max: 64 }), (msgs, chunk) => {
        let frames = 0;
        let failed = false;
        const r = createFrameReader({ frameLength: ldapFrameLength, maxFrame: MAX_MESSAGE, onFrame: () => void frames++, onError: () => void (failed = true) });
        const all = Buffer.concat(msgs);
        for (let i = 0; i < all.length && !failed; i += chunk) {
          r.push(all.subarray(i, i + chunk));
          expect(r.buffered).toBeLessThanOrEqual(MAX_MESSAGE + 64);
        }
        expect(frames).toBeLessThanOrEqual(msgs.length * 64);
      }),
      { numRuns: 10_000 },
    );
  });

  it('the DIGEST-MD5 response parser never throws and stays bounded (10,000 runs)', () => {
    // the digest-response ldapsearch -Y DIGEST-MD5 sent (inside a captured bind)
    const real = Buffer.from('username="alice",realm="corp.local",nonce="ZYffoy7pRYC5uo9H8bhh+u2GKuPiaPOn",cnonce="8+AWAkameC0JhDlwCUGvnouYQy+iMSP0mIuZhpI6yuE=",nc=00000001,qop=auth-conf,cipher=rc4,maxbuf=16777215,digest-uri="ldap/vm",response=a6b3cbbe4409e39c97e59753bfbb44b5');
    expect(parseDirectives(real)?.get('response')).toBe('a6b3cbbe4409e39c97e59753bfbb44b5');
    const mutatedDigest = fc.tuple(fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x22, 0x2c, 0x3d, 0x5c, 0x20, 0x00, 0xff, 0x61)), { maxLength: 8 }), fc.nat()).map(([edits, cut]) => {
      const b = Buffer.from(real);
      for (const [at, v] of edits) b[at % b.length] = v;
      return b.subarray(0, b.length - (cut % b.length));
    });
    fc.assert(
      fc.property(fc.oneof(mutatedDigest, fc.string({ maxLength: 300 }).map((x) => Buffer.from(x))), (b) => {
        const d = parseDirectives(b);
        if (d) expect(d.size).toBeLessThanOrEqual(32);
      }),
      { numRuns: 10_000 },
    );
  });

  it('rejects a message announcing more than the bound', () => {
    let err = '';
    const r = createFrameReader({ frameLength: ldapFrameLength, maxFrame: MAX_MESSAGE, onFrame: () => {}, onError: (e) => void (err = e) });
    r.push(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02]));
    expect(err).toBe('overflow');
  });
});
