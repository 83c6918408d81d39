/**
 * PostgreSQL honeypot (port 5432): protocol v3 startup, SSLRequest -> 'S' and
 * TLS (startTls), GSSENCRequest -> 'N', CancelRequest -> close. Logins always
 * fail the way the real server does: pg_version <= 13 asks for MD5 (captured as
 * postgres_md5 with a hashcat -m 11100 line), >= 14 runs SCRAM-SHA-256 up to
 * the client proof (captured as postgres_scram with everything needed to test
 * a guess offline), then FATAL 28P01 "password authentication failed".
 *
 * Persona: pg_version (default 15.6), tls_cert / tls_key.
 */
import { secretFields } from '@decnet/api';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { certRequestFor } from '../../protocols/tls-cert.js';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import { serviceSecureContext, startTls } from '../../runtime/tls.js';
import type { EmitFields, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { parseVersion, PgSession, type SessionEvent, type Step } from './postgres-protocol.js';

export const postgresService: ServiceModule = {
  name: 'postgres',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const version = parseVersion(ctx.config['pg_version']);
    const certReq = certRequestFor('postgres', ctx.persona, ctx.config);
    return startTcpService(
      ctx,
      (socket, info) => {
        const session = new PgSession({ version, saltKey: `${ctx.decky}\0${ctx.hostname}` });
        let out: Socket | TLSSocket = socket;
        const emit = (e: SessionEvent) => {
          const { secretBytes, ...rest } = e as SessionEvent & { secretBytes?: Buffer };
          ctx.emit({ ...info, ...(out !== socket ? { tls: true } : {}), ...rest, ...(secretBytes ? secretFields(secretBytes) : {}) } as EmitFields);
        };
        const perform = (step: Step) => {
          for (const e of step.events) emit(e);
          for (const b of step.out) safeWrite(out, b);
          if (step.close) {
            out.end();
            setTimeout(() => socket.destroy(), 2000).unref();
            return;
          }
          if (step.startTls) upgrade();
        };
        const onPlain = (chunk: Buffer) => {
          try {
            perform(session.feed(chunk));
          } catch (err) {
            ctx.log('postgres session threw', { err: String(err) });
            socket.destroy();
          }
        };
        const upgrade = () => {
          socket.off('data', onPlain);
          if (!certReq) {
            socket.destroy();
            return;
          }
          startTls(ctx, socket, info, serviceSecureContext(ctx, certReq), (secure) => {
            out = secure;
            session.tlsStarted();
            secure.on('data', (chunk: Buffer) => {
              try {
                if (!session.closed) perform(session.feed(chunk));
              } catch (err) {
                ctx.log('postgres session threw', { err: String(err) });
                socket.destroy();
              }
            });
          });
        };
        socket.on('data', onPlain);
      },
      { idleMs: 60_000 },
    );
  },
};
