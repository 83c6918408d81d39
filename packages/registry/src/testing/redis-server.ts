/**
 * A real redis-server for tests and benches: Debian's binary on 127.0.0.1 and a
 * free port, no persistence, configuration fed on stdin (so a password is not
 * visible in the process list). Stop and start again on the same port to test
 * outages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** requirepass (the default user's password) */
  password?: string;
  /** ACL users: name, password, rules (default: all keys, all channels, all commands) */
  users?: Array<{ name: string; password: string; rules?: string }>;
  binary?: string;
}

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:<port> (no credentials) */
  url: string;
  running(): boolean;
  stop(): Promise<void>;
  /** start again on the same port after stop() */
  start(): Promise<void>;
  /** stop and remove its scratch directory */
  dispose(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolve once something on the port answers PING (+PONG or an -ERR/NOAUTH line). */
async function waitPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createConnection({ host: '127.0.0.1', port });
      const finish = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(500, () => finish(false));
      sock.once('error', () => finish(false));
      sock.once('connect', () => sock.write('PING\r\n'));
      sock.once('data', (d) => finish(/^[+-]/.test(d.toString())));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'decnet-registry-redis-'));
  const lines = [`port ${port}`, 'bind 127.0.0.1', 'save ""', 'appendonly no', `dir ${dir}`, 'daemonize no', 'loglevel warning'];
  if (opts.password !== undefined) lines.push(`requirepass ${opts.password}`);
  for (const u of opts.users ?? []) lines.push(`user ${u.name} on >${u.password} ${u.rules ?? '~* &* +@all'}`);
  const config = `${lines.join('\n')}\n`;
  let child: ChildProcess | undefined;

  const start = async () => {
    if (child) return;
    const c = spawn(opts.binary ?? '/usr/bin/redis-server', ['-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    c.once('exit', () => {
      if (child === c) child = undefined;
    });
    c.stdin?.end(config);
    try {
      await waitPing(port, 10_000);
    } catch (e) {
      c.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\n${stderr}`);
    }
  };
  const stop = async () => {
    const c = child;
    if (!c) return;
    child = undefined;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    running: () => child !== undefined,
    stop,
    start,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
