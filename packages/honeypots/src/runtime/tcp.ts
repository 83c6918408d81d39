/**
 * Generic TCP listener plumbing for services: one net.Server per tcp port of
 * the context, connection cap, idle timeout, error safety, and the standard
 * `connection` / `disconnect` events.
 */
import net, { type Socket } from 'node:net';
import type { ConnInfo, RunningService, ServiceContext } from './types.js';
import { ConnectionTracker, connInfo, idleTimeout, safeSocket } from './limits.js';

export interface TcpServiceOptions {
  /** max simultaneous connections across all ports; default 256 */
  maxConnections?: number;
  /** idle timeout per connection; default 120 s */
  idleMs?: number;
  /** emit connection/disconnect events; default true */
  emitConnections?: boolean;
}

/** Bind one net.Server on `host:port`, resolving with the actual port. */
export function listenTcp(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startTcpService(
  ctx: ServiceContext,
  onConnection: (socket: Socket, info: ConnInfo) => void,
  opts: TcpServiceOptions = {},
): Promise<RunningService> {
  const tracker = new ConnectionTracker(opts.maxConnections ?? 256);
  const idleMs = opts.idleMs ?? 120_000;
  const emitConns = opts.emitConnections ?? true;
  const servers: net.Server[] = [];
  const ports: number[] = [];
  for (const p of ctx.ports.filter((x) => x.proto === 'tcp')) {
    const server = net.createServer((socket) => {
      safeSocket(socket, (err) => ctx.log('socket error', { err: err.message }));
      if (!tracker.admit(socket)) return;
      const info = connInfo(socket);
      idleTimeout(socket, idleMs);
      if (emitConns) {
        ctx.emit({ event: 'connection', ...info });
        socket.once('close', () => ctx.emit({ event: 'disconnect', ...info }));
      }
      try {
        onConnection(socket, info);
      } catch (err) {
        ctx.log('connection handler threw', { err: String(err) });
        socket.destroy();
      }
    });
    server.on('error', (err) => ctx.log('server error', { err: err.message }));
    ports.push(await listenTcp(server, ctx.bindHost, p.port));
    servers.push(server);
  }
  return {
    ports,
    async close() {
      tracker.destroyAll();
      await Promise.all(servers.map(closeServer));
    },
  };
}
