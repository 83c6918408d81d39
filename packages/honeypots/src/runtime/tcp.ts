/**
 * Generic TCP listener plumbing for services: one net.Server per tcp port of
 * the context, connection cap, idle timeout, error safety, and the standard
 * `connection` / `disconnect` events.
 */
import net, { type Socket } from 'node:net';
import type tls from 'node:tls';
import type { ServicePort } from '@decnet/api';
import type { ConnInfo, RunningService, ServiceContext } from './types.js';
import { ConnectionTracker, connInfo, idleTimeout, safeSocket } from './limits.js';
import { acceptTls, type TlsOptions } from './tls.js';

export interface TcpServiceOptions {
  /** max simultaneous connections across all ports; default 256 */
  maxConnections?: number;
  /** idle timeout per connection; default 120 s */
  idleMs?: number;
  /** emit connection/disconnect events; default true */
  emitConnections?: boolean;
  /**
   * Catalogue ports that speak TLS from the first byte (993, 6443...): their
   * connection event waits for the ClientHello and carries its JA3/JA4, and the
   * handler gets the TLS socket (info.tls set). Needs `secureContext`.
   */
  implicitTls?: (p: ServicePort) => boolean;
  secureContext?: () => tls.SecureContext;
  tlsOptions?: TlsOptions;
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
  const handle = (socket: Socket, info: ConnInfo) => {
    try {
      onConnection(socket, info);
    } catch (err) {
      ctx.log('connection handler threw', { err: String(err) });
      socket.destroy();
    }
  };
  for (const p of ctx.ports.filter((x) => x.proto === 'tcp')) {
    const overTls = opts.implicitTls?.(p) === true;
    if (overTls && !opts.secureContext) throw new Error(`${ctx.service}: port ${p.port} is TLS but no secureContext was given`);
    const server = net.createServer((socket) => {
      safeSocket(socket, (err) => ctx.log('socket error', { err: err.message }));
      if (!tracker.admit(socket)) return;
      const info = connInfo(socket);
      idleTimeout(socket, idleMs);
      if (!overTls) {
        if (emitConns) {
          ctx.emit({ event: 'connection', ...info });
          socket.once('close', () => ctx.emit({ event: 'disconnect', ...info }));
        }
        handle(socket, info);
        return;
      }
      const tinfo: ConnInfo = { ...info, tls: true };
      acceptTls(ctx, socket, tinfo, opts.secureContext!(), (secure) => handle(secure as unknown as Socket, tinfo), {
        ...opts.tlsOptions,
        onHello: (fp) => {
          // the same event STARTTLS upgrades emit, for fingerprint queries across services
          if (fp) ctx.emit({ event: 'tls_handshake', ...tinfo, starttls: false, ...fp });
          if (!emitConns) return;
          ctx.emit({ event: 'connection', ...tinfo, ...(fp ?? {}) });
          if (socket.destroyed) ctx.emit({ event: 'disconnect', ...tinfo });
          else socket.once('close', () => ctx.emit({ event: 'disconnect', ...tinfo }));
        },
      });
    });
    server.on('error', (err) => ctx.log('server error', { err: err.message }));
    ports.push(await listenTcp(server, ctx.bindHost, ctx.listenPort?.(p) ?? p.port));
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
