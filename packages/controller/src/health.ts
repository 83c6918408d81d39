/**
 * /healthz (the process answers), /readyz (engine reachable and first resync done) and
 * /metrics (Prometheus text) on node:http, loopback by default.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  /** host:port, default 127.0.0.1:9465; port 0 picks a free one */
  addr?: string;
  registry: Registry;
  ready: () => { ready: boolean; reason: string };
}

export interface HealthServer {
  server: Server;
  /** the address actually bound, host:port */
  address: string;
  close(): Promise<void>;
}

export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  const port = Number(m?.[3]);
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`address ${JSON.stringify(addr)} is not host:port`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const { host, port } = parseAddr(opts.addr ?? '127.0.0.1:9465');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n');
    if (path === '/healthz') return text(200, 'ok\n');
    if (path === '/readyz') {
      const r = opts.ready();
      return text(r.ready ? 200 : 503, `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (body) => text(200, body, opts.registry.contentType),
        (err: Error) => text(500, `metrics failed: ${err.message}\n`),
      );
      return;
    }
    text(404, 'not found: try /healthz, /readyz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  const bound = typeof a === 'object' && a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : String(a);
  return {
    server,
    address: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
