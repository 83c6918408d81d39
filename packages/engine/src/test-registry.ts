/**
 * A real registry for the real-engine pull tests: Debian's `docker-registry` (the CNCF
 * distribution registry, scripts/test-deps.sh installs it) on 127.0.0.1 with filesystem
 * storage in a temp dir, optionally behind htpasswd basic auth (bcrypt line made by
 * `htpasswd -B`). Two registries may share one storage dir. Test support only.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LocalRegistry {
  port: number;
  storage: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRegistry(opts: { storage?: string; user?: string; password?: string } = {}): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-registry-'));
  const storage = opts.storage ?? join(dir, 'data');
  const port = await freePort();
  let auth = '';
  if (opts.user !== undefined) {
    const line = execFileSync('htpasswd', ['-nbB', opts.user, opts.password ?? ''], { encoding: 'utf8' }).trim();
    writeFileSync(join(dir, 'htpasswd'), `${line}\n`);
    auth = `auth:\n  htpasswd:\n    realm: decnet-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${stderr.slice(-500)}`);
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status === 200 || r.status === 401, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on 127.0.0.1:${port}: ${stderr.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    storage,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true }); // its own storage lives in it too
    },
  };
}
