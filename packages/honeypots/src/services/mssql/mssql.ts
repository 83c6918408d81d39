/**
 * Microsoft SQL Server honeypot (TDS on 1433/tcp): socket adapter around the
 * pure MssqlSession, plus the TLS-in-PRELOGIN tunnel the login travels in.
 *
 * Persona: server name = persona.netbiosName (config `server_name` overrides),
 * instance from config `instance` (default MSSQLSERVER; a named instance shows
 * as NAME\INSTANCE in error messages), version from `mssql_version`
 * (default 15.0.2000.5, SQL Server 2019 RTM). NTLM names come from the persona.
 * TLS: the operator's tls_cert/tls_key or a certificate shaped like SQL
 * Server's self-signed fallback (fallback-cert.ts), made when the service starts.
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import type { ConnInfo, EmitFields, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { mssqlIdentity } from './fallback-cert.js';
import { MssqlSession, type SessionOptions, type SessionStep } from './mssql-session.js';
import { parseServerVersion } from './prelogin.js';
import { PreloginTlsTransport, TlsDemux } from './tds-tls.js';

function str(ctx: ServiceContext, key: string): string | undefined {
  const v = ctx.config[key];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

export function sessionOptions(ctx: ServiceContext): SessionOptions {
  const instance = (str(ctx, 'instance') ?? 'MSSQLSERVER').slice(0, 32);
  const host = (str(ctx, 'server_name') ?? ctx.persona.netbiosName).slice(0, 64);
  return {
    persona: ctx.persona,
    version: parseServerVersion(str(ctx, 'mssql_version') ?? '15.0.2000.5'),
    instance,
    serverName: instance.toUpperCase() === 'MSSQLSERVER' ? host : `${host}\\${instance}`,
  };
}

function handleConnection(ctx: ServiceContext, opts: SessionOptions, secureContext: () => tls.SecureContext, socket: Socket, info: ConnInfo): void {
  const session = new MssqlSession(opts);
  let tunnel: { demux: TlsDemux; transport: PreloginTlsTransport; tls: tls.TLSSocket } | undefined;
  let closing = false;

  const emit = (e: Record<string, unknown>) => ctx.emit({ ...(e as EmitFields), ...info });

  const close = () => {
    if (closing) return;
    closing = true;
    if (tunnel && !tunnel.transport.detached) {
      const t = tunnel.tls;
      t.end(() => socket.end());
      setTimeout(() => socket.destroy(), 2000).unref();
    } else socket.end();
  };

  const leaveTls = (): Buffer => {
    if (!tunnel) return Buffer.alloc(0);
    const rest = tunnel.demux.takeRest();
    tunnel.transport.detach();
    tunnel.tls.destroy();
    tunnel = undefined;
    return rest;
  };

  const apply = (step: SessionStep): void => {
    for (const e of step.events) emit(e);
    let rest: Buffer = Buffer.alloc(0);
    if (step.endTls) rest = leaveTls();
    for (const b of step.out) {
      if (tunnel && !tunnel.transport.detached) tunnel.tls.write(b);
      else safeWrite(socket, b);
    }
    if (step.close || session.done) return close();
    if (step.startTls) startTls(session.takeRest());
    else if (rest.length > 0) apply(session.feed(rest));
  };

  const startTls = (pending: Buffer) => {
    const transport = new PreloginTlsTransport((b) => safeWrite(socket, b));
    const t = new tls.TLSSocket(transport as never, { isServer: true, secureContext: secureContext() });
    t.on('error', (err) => {
      ctx.log('mssql tls error', { err: err.message });
      emit({ event: 'protocol_error', message: `TLS: ${err.message}` });
      socket.destroy();
    });
    t.on('data', (plain: Buffer) => apply(session.feed(plain)));
    tunnel = { demux: new TlsDemux(), transport, tls: t };
    if (pending.length > 0) onRaw(pending);
  };

  const onRaw = (chunk: Buffer) => {
    if (closing) return;
    if (!tunnel) return apply(session.feed(chunk));
    const tn = tunnel;
    for (const item of tn.demux.feed(chunk)) {
      if (item.kind === 'wrapped') tn.transport.deliver(item.data);
      else if (item.kind === 'record') {
        // the client's first raw application record: the handshake is over
        if (item.appData) tn.transport.wrapping = false;
        tn.transport.deliver(item.data);
      } else if (item.kind === 'clear') {
        // a client that never started TLS: carry on in the clear, still capturing
        leaveTls();
        session.tlsAbandoned();
        return apply(session.feed(item.data));
      } else {
        emit({ event: 'protocol_error', message: item.message });
        return void socket.destroy();
      }
    }
  };

  socket.on('data', (chunk: Buffer) => {
    try {
      onRaw(chunk);
    } catch (err) {
      ctx.log('mssql session threw', { err: String(err) });
      socket.destroy();
    }
  });
  socket.once('close', () => {
    if (tunnel) leaveTls();
  });
}

export const mssqlService: ServiceModule = {
  name: 'mssql',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const opts = sessionOptions(ctx);
    const started = new Date();
    let sc: tls.SecureContext | undefined;
    // generated on first use (RSA key generation is slow), then shared by every connection
    const secureContext = () => {
      if (!sc) {
        const id = mssqlIdentity(ctx.config, started);
        // SQL Server 2019 on Windows Server speaks TLS 1.2 in TDS 7.x; TLS 1.3 would also send session tickets after the handshake
        sc = tls.createSecureContext({ cert: id.cert, key: id.key, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
      }
      return sc;
    };
    return startTcpService(ctx, (socket, info) => handleConnection(ctx, opts, secureContext, socket, info), { idleMs: 60_000 });
  },
};
