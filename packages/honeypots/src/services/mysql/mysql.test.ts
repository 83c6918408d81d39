import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import { buildHandshake, CLIENT, framePacket, PacketReader, ParseError, parseHandshakeResponse } from './mysql-protocol.js';
import { mysqlService } from './mysql.js';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))) */
const nativeToken = (pw: string, scramble: Buffer) => {
  const h1 = sha1(Buffer.from(pw));
  const h3 = sha1(Buffer.concat([scramble, sha1(h1)]));
  return Buffer.from(h1.map((b, i) => b ^ h3[i]!));
};

/** Parse the fields we care about out of a handshake v10 payload. */
function readHandshake(p: Buffer) {
  const nul = p.indexOf(0, 1);
  const version = p.toString('latin1', 1, nul);
  let o = nul + 1 + 4;
  const part1 = p.subarray(o, o + 8);
  o += 9;
  const capLow = p.readUInt16LE(o);
  o += 2 + 1 + 2;
  const capHigh = p.readUInt16LE(o);
  o += 2 + 1 + 10;
  const part2 = p.subarray(o, o + 12);
  const plugin = p.toString('latin1', o + 13, p.indexOf(0, o + 13));
  return { version, caps: capLow | (capHigh << 16), scramble: Buffer.concat([part1, part2]), plugin };
}

let t: TestContext;
let svc: RunningService;
let port: number;
beforeEach(async () => {
  t = makeTestContext('mysql', { mysql_version: '5.7.42-log' });
  svc = await mysqlService.start(t.ctx);
  port = svc.ports[0]!;
});
afterEach(async () => {
  await svc.close();
  t.cleanup();
});

describe.skipIf(!hasBinary('mysql'))('mysql with the stock client', () => {
  it('denies the login and logs user, database and the scrambled response', async () => {
    const r = await run('mysql', ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-phunter2', 'shop', '-e', 'select 1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Access denied for user 'root'@'127.0.0.1' (using password: YES)");
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev).toMatchObject({ principal: 'root', secret_kind: 'mysql_native', database: 'shop', success: false });
    // the logged response + scramble are enough to verify a password guess offline
    const scramble = Buffer.from(ev.scramble_b64 as string, 'base64');
    expect(Buffer.from(ev.secret_b64!, 'base64')).toEqual(nativeToken('hunter2', scramble));
    expect(Buffer.from(ev.secret_b64!, 'base64')).not.toEqual(nativeToken('hunter3', scramble));
  });

  it('reports "using password: NO" for an empty password', async () => {
    const r = await run('mysql', ['-h', '127.0.0.1', '-P', String(port), '-u', 'admin', '--ssl=0', '-e', 'select 1']);
    expect(r.stderr).toContain("Access denied for user 'admin'@'127.0.0.1' (using password: NO)");
    expect((await t.waitFor((e) => e.event === 'auth_attempt')).secret_b64).toBe('');
  });
});

describe('mysql over raw sockets', () => {
  async function greet() {
    const c = await RawClient.connect(port);
    await c.waitFor((b) => b.length >= 4 && b.length >= 4 + b.readUIntLE(0, 3));
    return { c, hs: readHandshake(c.bytes.subarray(4)) };
  }

  it('sends a v10 handshake with the persona version and no SSL', async () => {
    const { c, hs } = await greet();
    expect(hs.version).toBe('5.7.42-log');
    expect(hs.plugin).toBe('mysql_native_password');
    expect(hs.scramble.length).toBe(20);
    expect(hs.caps & CLIENT.PROTOCOL_41).toBeTruthy();
    expect(hs.caps & CLIENT.SECURE_CONNECTION).toBeTruthy();
    expect(hs.caps & CLIENT.PLUGIN_AUTH).toBeTruthy();
    expect(hs.caps & CLIENT.SSL).toBe(0);
    c.close();
  });

  it('refuses an SSL request', async () => {
    const { c } = await greet();
    const ssl = Buffer.alloc(32);
    ssl.writeUInt32LE(CLIENT.PROTOCOL_41 | CLIENT.SSL | CLIENT.SECURE_CONNECTION, 0);
    c.send(framePacket(1, ssl));
    await c.waitClosed();
    expect(c.text).toContain('Bad handshake');
    await t.waitFor((e) => e.event === 'tls_request');
  });

  it('switches a caching_sha2_password client to mysql_native_password', async () => {
    const { c, hs } = await greet();
    const caps = CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH;
    const resp = Buffer.concat([Buffer.alloc(32), Buffer.from('bob\0'), Buffer.from([32]), Buffer.alloc(32, 7), Buffer.from('caching_sha2_password\0')]);
    resp.writeUInt32LE(caps, 0);
    c.send(framePacket(1, resp));
    await c.waitFor(/mysql_native_password/);
    const token = nativeToken('pw', hs.scramble);
    c.send(framePacket(3, token));
    await c.waitClosed();
    expect(c.text).toContain("Access denied for user 'bob'@'127.0.0.1' (using password: YES)");
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev.secret_b64).toBe(token.toString('base64'));
  });

  it('answers garbage with Bad handshake and closes', async () => {
    const { c } = await greet();
    c.send('GET / HTTP/1.0\r\n\r\n');
    await c.waitClosed();
    expect(c.text).toMatch(/Bad handshake|max_allowed_packet/);
  });
});

describe('mysql protocol', () => {
  it('parses what buildHandshake emits, and a 41 response', () => {
    const scramble = Buffer.alloc(20, 0x41);
    const hs = readHandshake(buildHandshake({ version: '8.0.1', connectionId: 9, scramble }));
    expect(hs.version).toBe('8.0.1');
    expect(hs.scramble).toEqual(scramble);
    const caps = CLIENT.PROTOCOL_41 | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT.CONNECT_WITH_DB | CLIENT.PLUGIN_AUTH | CLIENT.CONNECT_ATTRS;
    const attrs = Buffer.concat([Buffer.from([7]), Buffer.from('_client'), Buffer.from([3]), Buffer.from('cli')]);
    const p = Buffer.concat([Buffer.alloc(32), Buffer.from('u\0'), Buffer.from([2, 1, 2]), Buffer.from('db\0mysql_native_password\0'), Buffer.from([attrs.length]), attrs]);
    p.writeUInt32LE(caps, 0);
    expect(parseHandshakeResponse(p)).toMatchObject({ username: 'u', authResponse: Buffer.from([1, 2]), database: 'db', plugin: 'mysql_native_password', attrs: { _client: 'cli' } });
  });

  it('fuzz: the packet reader and response parser never throw anything but ParseError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }), (chunks) => {
        const r = new PacketReader(256);
        for (const c of chunks) {
          for (const p of r.feed(Buffer.from(c))) {
            if ('error' in p) continue;
            expect(p.payload.length).toBeLessThanOrEqual(256);
            try {
              parseHandshakeResponse(p.payload);
            } catch (err) {
              expect(err).toBeInstanceOf(ParseError);
            }
          }
          expect(r.buffered).toBeLessThan(256 + 4);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: structured-looking responses never throw anything but ParseError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 120 }), (caps, rest) => {
        const p = Buffer.concat([Buffer.alloc(32), Buffer.from(rest)]);
        p.writeUInt32LE(caps >>> 0, 0);
        try {
          parseHandshakeResponse(p);
        } catch (err) {
          expect(err).toBeInstanceOf(ParseError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
