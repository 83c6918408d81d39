/**
 * DockerEngine opens a fresh connection per non-streaming call: a daemon shutting down
 * keeps serving kept-alive connections (see oneConnectionPerCall). A fake Docker API on
 * a unix socket counts the connections it accepts, then stops listening (as dockerd does
 * on SIGTERM) while the old connections stay open.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerEngine } from './docker-engine.js';

let server: Server | undefined;
let dir: string | undefined;
const sockets = new Set<Socket>();

function fakeDocker(): { socketPath: string; connections: () => number; requests: string[] } {
  dir = mkdtempSync(join(tmpdir(), 'decnet-conn-'));
  const socketPath = join(dir, 'docker.sock');
  let n = 0;
  const requests: string[] = [];
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('OK');
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    n++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(socketPath);
  return { socketPath, connections: () => n, requests };
}

afterEach(() => {
  for (const s of sockets) s.destroy();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('DockerEngine connections', () => {
  it('uses one connection per call, so calls fail once the daemon stops listening', async () => {
    const fake = fakeDocker();
    await new Promise((r) => server!.once('listening', r));
    const e = new DockerEngine({ stateDir: '/nonexistent', dockerOptions: { socketPath: fake.socketPath } });
    await e.ping();
    await e.ping();
    await e.ping();
    expect(fake.requests).toEqual(['GET /_ping', 'GET /_ping', 'GET /_ping']);
    expect(fake.connections()).toBe(3);
    // the listener closes (dockerd on SIGTERM); any connection still open would keep being served
    server!.close();
    await expect(e.ping()).rejects.toMatchObject({ code: 'EngineUnavailable' });
    expect(fake.requests).toHaveLength(3);
  });
});
