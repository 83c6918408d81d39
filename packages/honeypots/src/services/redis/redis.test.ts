import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import { globMatch } from './redis-commands.js';
import { redisService } from './redis.js';

let t: TestContext;
let svc: RunningService;
let port: number;

beforeEach(async () => {
  t = makeTestContext('redis', { redis_version: '6.2.14', os_string: 'Linux 4.19.0-25-amd64 x86_64' });
  svc = await redisService.start(t.ctx);
  port = svc.ports[0]!;
});
afterEach(async () => {
  await svc.close();
  t.cleanup();
});

const cli = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);

describe.skipIf(!hasBinary('redis-cli'))('redis with redis-cli', () => {
  it('answers PING and INFO with the persona', async () => {
    expect((await cli('PING')).stdout.trim()).toBe('PONG');
    const info = (await cli('INFO', 'server')).stdout;
    expect(info).toContain('redis_version:6.2.14');
    expect(info).toContain('os:Linux 4.19.0-25-amd64 x86_64');
    expect(info).toContain(`tcp_port:${port}`);
    expect(info).not.toContain('# Keyspace');
    const ev = await t.waitFor((e) => e.event === 'command' && e.command === 'INFO');
    expect(ev.argv).toEqual(['INFO', 'server']);
    expect(ev.src_ip).toBe('127.0.0.1');
    expect(ev.dst_port).toBe(port);
  });

  it('logs AUTH attempts and rejects them', async () => {
    const r = await cli('--user', 'admin', '--pass', 's3cr3t', '--no-auth-warning', 'PING');
    expect(r.stdout + r.stderr).toMatch(/WRONGPASS|invalid username-password/);
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev).toMatchObject({ principal: 'admin', secret_kind: 'plaintext', secret: 's3cr3t', success: false });
    expect(ev.secret_b64).toBe(Buffer.from('s3cr3t').toString('base64'));
  });

  it('stores keys: SET/GET/EXISTS/KEYS/DEL/DBSIZE', async () => {
    expect((await cli('SET', 'backup', 'x y z')).stdout.trim()).toBe('OK');
    expect((await cli('GET', 'backup')).stdout.trim()).toBe('x y z');
    expect((await cli('EXISTS', 'backup', 'nope')).stdout.trim()).toBe('1');
    expect((await cli('KEYS', 'b*')).stdout.trim()).toBe('backup');
    expect((await cli('DBSIZE')).stdout.trim()).toBe('1');
    expect((await cli('-n', '3', 'DBSIZE')).stdout.trim()).toBe('0');
    expect((await cli('DEL', 'backup')).stdout.trim()).toBe('1');
    expect((await cli('GET', 'backup')).stdout.trim()).toBe('');
  });

  it('tags attacker techniques: CONFIG SET dir, SLAVEOF, MODULE LOAD', async () => {
    expect((await cli('CONFIG', 'SET', 'dir', '/var/spool/cron/crontabs')).stdout.trim()).toBe('OK');
    expect((await cli('CONFIG', 'GET', 'dir')).stdout.trim().split('\n')).toEqual(['dir', '/var/spool/cron/crontabs']);
    expect((await cli('SLAVEOF', '10.0.0.66', '8886')).stdout.trim()).toBe('OK');
    expect((await cli('INFO', 'replication')).stdout).toContain('master_host:10.0.0.66');
    expect((await cli('MODULE', 'LOAD', '/tmp/exp.so')).stdout).toContain('Error loading the extension');
    const techniques = t.events.filter((e) => e.event === 'command' && e.technique).map((e) => [e.command, e.technique]);
    expect(techniques).toEqual([
      ['CONFIG', 'config_set_persistence'],
      ['SLAVEOF', 'replication'],
      ['MODULE', 'module_load'],
    ]);
  });
});

describe('redis over raw sockets', () => {
  it('handles inline commands, unknown commands, arity errors and QUIT', async () => {
    const c = await RawClient.connect(port);
    c.send('PING\r\nFOO bar\r\nGET\r\nECHO "a b"\r\nQUIT\r\n');
    await c.waitClosed();
    expect(c.text).toBe(
      "+PONG\r\n-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n" +
        "-ERR wrong number of arguments for 'get' command\r\n$3\r\na b\r\n+OK\r\n",
    );
    await t.waitFor((e) => e.event === 'disconnect');
    expect(t.events.filter((e) => e.event === 'command').map((e) => e.command)).toEqual(['PING', 'FOO', 'GET', 'ECHO', 'QUIT']);
  });

  it('answers a protocol error and closes', async () => {
    const c = await RawClient.connect(port);
    c.send('*1\r\n+x\r\n');
    await c.waitClosed();
    expect(c.text).toBe("-ERR Protocol error: expected '$', got '+'\r\n");
    await t.waitFor((e) => e.event === 'protocol_error');
  });

  it('truncates long arguments in events', async () => {
    const c = await RawClient.connect(port);
    c.send(`SET k ${'A'.repeat(1000)}\r\n`);
    await c.waitFor(/\+OK/);
    const ev = await t.waitFor((e) => e.event === 'command');
    expect((ev.argv as string[])[2]).toBe(`${'A'.repeat(256)}...[1000 bytes]`);
    c.close();
  });
});

describe('globMatch', () => {
  it('matches like redis', () => {
    expect(globMatch('h?llo', 'hello')).toBe(true);
    expect(globMatch('h*o', 'heeeo')).toBe(true);
    expect(globMatch('h[ae]llo', 'hallo')).toBe(true);
    expect(globMatch('h[^e]llo', 'hello')).toBe(false);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
  });
});
