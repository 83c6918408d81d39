import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import { locationsFor, parseStartupParams, parseVersion, PgSession } from './postgres-protocol.js';
import { postgresService } from './postgres.js';

const md5hex = (s: string | Buffer) => createHash('md5').update(s).digest('hex');

/** What hashcat -m 11100 checks: md5(md5(pass . user) . salt) for a line $postgres$user*salt*hash. */
function md5LineMatches(line: string, password: string): boolean {
  const m = /^\$postgres\$(.*)\*([0-9a-f]{8})\*([0-9a-f]{32})$/.exec(line);
  if (!m) return false;
  const inner = md5hex(password + m[1]!);
  return md5hex(Buffer.concat([Buffer.from(inner), Buffer.from(m[2]!, 'hex')])) === m[3];
}

/** Offline SCRAM-SHA-256 check of a captured exchange: does `password` give the client proof? */
function scramProofMatches(s: { salt_b64: string; iterations: number; auth_message: string; proof_b64: string }, password: string): boolean {
  const salted = pbkdf2Sync(password, Buffer.from(s.salt_b64, 'base64'), s.iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const stored = createHash('sha256').update(clientKey).digest();
  const sig = createHmac('sha256', stored).update(s.auth_message).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!));
  return proof.toString('base64') === s.proof_b64;
}

/** A startup packet: length, protocol version, body. */
const startup = (body: string, ver = 0x00030000) => {
  const b = Buffer.from(body, 'latin1');
  const h = Buffer.alloc(8);
  h.writeUInt32BE(b.length + 8);
  h.writeUInt32BE(ver, 4);
  return Buffer.concat([h, b]);
};

let t: TestContext;
let svc: RunningService;
async function start(config: Record<string, string> = {}) {
  t = makeTestContext('postgres', config, [{ port: 5432, proto: 'tcp' }], { ephemeral: true });
  svc = await postgresService.start(t.ctx);
  return svc.ports[0]!;
}
afterEach(async () => {
  await svc?.close();
  t?.cleanup();
});

const psql = (port: number, user: string, pw: string, ssl: string) =>
  run('psql', [`host=127.0.0.1 port=${port} user=${user} dbname=shop sslmode=${ssl}`, '-c', 'select 1'], { timeoutMs: 20_000 }).then((r) => r);

describe.skipIf(!hasBinary('psql'))('postgres with the stock psql', () => {
  it('SCRAM (15.6): fails like the real server and captures a crackable proof', async () => {
    const port = await start();
    process.env['PGPASSWORD'] = 'hunter2';
    const r = await psql(port, 'alice', 'hunter2', 'disable');
    delete process.env['PGPASSWORD'];
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`psql: error: connection to server at "127.0.0.1", port ${port} failed: FATAL:  password authentication failed for user "alice"`);
    const cmd = await t.waitFor((e) => e.event === 'command' && e['command'] === 'startup');
    expect(cmd).toMatchObject({ user: 'alice', database: 'shop', application_name: 'psql' });
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev).toMatchObject({ principal: 'alice', secret_kind: 'postgres_scram', success: false, mechanism: 'SCRAM-SHA-256' });
    const s = ev['scram'] as { salt_b64: string; iterations: number; auth_message: string; proof_b64: string };
    expect(scramProofMatches(s, 'hunter2')).toBe(true);
    expect(scramProofMatches(s, 'hunter3')).toBe(false);
  });

  it('SCRAM over TLS (sslmode=require) with channel binding', async () => {
    const port = await start();
    process.env['PGPASSWORD'] = 'pw';
    const r = await psql(port, 'alice', 'pw', 'require');
    delete process.env['PGPASSWORD'];
    expect(r.stderr).toContain('FATAL:  password authentication failed for user "alice"');
    await t.waitFor((e) => e.event === 'tls_handshake');
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev).toMatchObject({ secret_kind: 'postgres_scram', mechanism: 'SCRAM-SHA-256-PLUS', tls: true });
    expect(scramProofMatches(ev['scram'] as never, 'pw')).toBe(true);
  });

  it('MD5 (pg_version 13.4): hashcat 11100 line verifies the password', async () => {
    const port = await start({ pg_version: '13.4' });
    process.env['PGPASSWORD'] = 'Winter2024!';
    const r = await psql(port, 'bob', 'Winter2024!', 'disable');
    delete process.env['PGPASSWORD'];
    expect(r.stderr).toContain(`failed: FATAL:  password authentication failed for user "bob"`);
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev).toMatchObject({ principal: 'bob', secret_kind: 'postgres_md5', hashcat_mode: 11100, success: false });
    expect(md5LineMatches(ev['hashcat'] as string, 'Winter2024!')).toBe(true);
    expect(md5LineMatches(ev['hashcat'] as string, 'Winter2025!')).toBe(false);
  });
});

describe.skipIf(!hasBinary('openssl'))('postgres STARTTLS certificate', () => {
  it('openssl s_client -starttls postgres shows the certificate', async () => {
    const port = await start();
    const r = await run('openssl', ['s_client', '-starttls', 'postgres', '-connect', `127.0.0.1:${port}`], { input: '', timeoutMs: 15_000 });
    expect(r.stdout).toMatch(/subject=.*CN ?= ?\S+/);
    expect(r.stdout).toContain('BEGIN CERTIFICATE');
  });
});

describe.skipIf(!hasBinary('nmap'))('postgres under nmap -sV', () => {
  it('is identified as PostgreSQL DB', async () => {
    const port = await start();
    const r = await run('nmap', ['-sV', '-p', String(port), '127.0.0.1', '-Pn'], { timeoutMs: 120_000 });
    expect(r.stdout).toMatch(new RegExp(`${port}/tcp\\s+open\\s+postgresql\\s+PostgreSQL DB`));
  }, 130_000);
});

describe('postgres raw protocol', () => {
  it('answers the SMB probe like 15.6 (nmap line 2198)', async () => {
    const port = await start();
    const c = await RawClient.connect(port);
    const probe = Buffer.alloc(168);
    probe.writeUInt32BE(0xa4);
    probe.writeUInt32BE(0xff534d42, 4);
    c.send(probe);
    await c.waitClosed();
    expect(c.text).toBe(
      'E\0\0\0\x8bSFATAL\0VFATAL\0C0A000\0Munsupported frontend protocol 65363.19778: server supports 3.0 to 3.0\0Fpostmaster.c\0L2198\0RProcessStartupPacket\0\0',
    );
  });

  it('GSSENCRequest -> N, then a normal startup; CancelRequest closes silently', async () => {
    const port = await start();
    const c = await RawClient.connect(port);
    c.send(Buffer.from('0000000804d21630', 'hex'));
    await c.waitFor(/^N/);
    c.send(startup('user\0eve\0\0'));
    await c.waitFor((b) => b.length >= 1 + 24);
    expect(c.bytes.subarray(1).toString('latin1')).toBe('R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0');
    c.close();
    const k = await RawClient.connect(port);
    k.send(Buffer.from('0000001004d2162e0000000100000002', 'hex'));
    await k.waitClosed();
    expect(k.bytes.length).toBe(0);
    await t.waitFor((e) => e.event === 'command' && e['command'] === 'cancel_request');
  });

  it('closes silently on an invalid length (GenericLines / GET)', async () => {
    const port = await start();
    const c = await RawClient.connect(port);
    c.send('GET / HTTP/1.0\r\n\r\n');
    await c.waitClosed();
    expect(c.bytes.length).toBe(0);
    await t.waitFor((e) => e.event === 'protocol_error');
  });

  it('no user -> 28000', async () => {
    const port = await start();
    const c = await RawClient.connect(port);
    c.send(startup('database\0x\0\0'));
    await c.waitClosed();
    expect(c.text).toContain('C28000\0Mno PostgreSQL user name specified in startup packet\0');
  });
});

describe('postgres protocol (pure)', () => {
  it('version parsing and location tables', () => {
    expect(parseVersion('15.6')).toEqual({ major: 15, minor: 6 });
    expect(parseVersion('9.6.24')).toEqual({ major: 9.6, minor: 24 });
    expect(locationsFor(parseVersion('15.18'))).toMatchObject({ unsupported: 2222, layout: 2334, noUser: 2351, authFailed: 334 });
    expect(locationsFor(parseVersion('17.2'))).toMatchObject({ startupFile: 'backend_startup.c', unsupported: 679 });
  });

  it('malformed SCRAM answers byte-for-byte like 15.18', () => {
    const s = new PgSession({ version: parseVersion('15.18'), saltKey: 'k' });
    s.feed(startup('user\0alice\0\0'));
    const body = Buffer.from('SCRAM-SHA-256\0\0\0\0\x05xyzzy', 'latin1');
    const h = Buffer.alloc(5);
    h[0] = 0x70;
    h.writeUInt32BE(body.length + 4, 1);
    const step = s.feed(Buffer.concat([h, body]));
    expect(step.close).toBe(true);
    expect(Buffer.concat(step.out).toString('latin1')).toBe(
      'E\0\0\0\x8aSFATAL\0VFATAL\0C08P01\0Mmalformed SCRAM message\0DUnexpected channel-binding flag "\'x\'".\0Fauth-scram.c\0L1025\0Rread_client_first_message\0\0',
    );
  });

  it('the hashcat example for mode 11100 verifies with the same check', () => {
    expect(md5LineMatches('$postgres$postgres*74402844*4e7fabaaf34d780c4a5822d28ee1c83e', 'hashcat')).toBe(true);
  });

  it('startup params: layout check as the server does', () => {
    expect(parseStartupParams(Buffer.from('user\0a\0\0')).layoutOk).toBe(true);
    expect(parseStartupParams(Buffer.from('user\0a\0')).layoutOk).toBe(false);
    expect(parseStartupParams(Buffer.from('\0')).layoutOk).toBe(true);
  });

  it('fuzz: the session never throws and stays bounded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), fc.boolean(), (v, chunks, prefix) => {
        const s = new PgSession({ version: { major: 9.6 + v * 0.5, minor: v }, saltKey: 'k' });
        if (prefix) s.feed(startup('user\0u\0\0'));
        for (const c of chunks) {
          const step = s.feed(Buffer.from(c));
          for (const o of step.out) expect(o.length).toBeLessThan(4096);
          if (step.startTls) s.tlsStarted();
        }
      }),
      { numRuns: 10_000, seed: 5432 },
    );
  });

  it('fuzz: structured auth messages never throw', () => {
    const msg = (t: string, b: Uint8Array) => {
      const h = Buffer.alloc(5);
      h[0] = t.charCodeAt(0);
      h.writeUInt32BE(b.length + 4, 1);
      return Buffer.concat([h, Buffer.from(b)]);
    };
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.oneof(fc.uint8Array({ maxLength: 120 }), fc.string({ maxLength: 120 }).map((s) => Buffer.from(s))), { maxLength: 3 }), (md5, bodies) => {
        const s = new PgSession({ version: { major: md5 ? 13 : 15, minor: 1 }, saltKey: 'k' });
        s.feed(startup('user\0u\0\0'));
        const init = Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), Buffer.from([0, 0, 0, 20]), Buffer.from('n,,n=u,r=abcdefghijk')]);
        if (!md5) s.feed(msg('p', init));
        for (const b of bodies) s.feed(msg('p', b));
      }),
      { numRuns: 10_000, seed: 15 },
    );
  });
});
