/**
 * POP3 honeypot (Dovecot 2.3): STLS on 110, implicit TLS on 995, both with the
 * decky's certificate (the one its imap, https and smtp present). Greeting
 * `+OK <banner>`: persona key pop3_banner (or banner), default "Dovecot ready.".
 * Logins are captured; accepted ones (`users`) read the decky's fake maildrop
 * (pop3-session.ts). Lines are bounded (1 KiB; longer -> error and close),
 * failed logins answered after Dovecot's 2 s delay, idle timeout 10 minutes.
 */
import type { Socket } from 'node:net';
import { certRequestFor } from '../../protocols/tls-cert.js';
import { accountMap } from '../../runtime/accounts.js';
import { createLineReader, safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import { serviceSecureContext, startTls } from '../../runtime/tls.js';
import type { ConnInfo, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { mailBanner } from '../imap/imap.js';
import { Pop3Session } from './pop3-session.js';

export const POP3_MAX_LINE = 1024;
export const POP3_TLS_PORTS = new Set([995]);
const AUTH_FAILURE_DELAY_MS = 2000;

export const pop3Service: ServiceModule = {
  name: 'pop3',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const text = mailBanner(ctx, ['pop3_banner', 'banner'], 'Dovecot ready.', /^\+OK\s*/i);
    const accounts = accountMap(ctx.config['users']);
    const req = certRequestFor('pop3', ctx.persona, ctx.config)!;
    const sc = () => serviceSecureContext(ctx, req);
    const serve = (socket: Socket, info: ConnInfo) => {
      const session = new Pop3Session(text, { tls: info.tls === true, starttls: true, accounts, persona: ctx.persona, authFailureDelayMs: AUTH_FAILURE_DELAY_MS });
      let queue = Promise.resolve();
      const attach = (conn: Socket) => {
        const reader = createLineReader({
          maxLine: POP3_MAX_LINE,
          onLine: (line) => {
            const out = session.onLine(line);
            for (const ev of out.events) ctx.emit({ ...ev, ...info });
            const write = () => {
              for (const r of out.replies) safeWrite(conn, `${r}\r\n`);
              if (out.close) conn.end();
            };
            if (out.delayMs) {
              conn.pause();
              queue = queue.then(() => new Promise<void>((res) => setTimeout(() => (write(), conn.resume(), res()), out.delayMs).unref()));
            } else queue = queue.then(write);
            if (out.close) reader.stop();
            if (out.starttls) {
              reader.stop();
              conn.removeAllListeners('data');
              queue = queue.then(() =>
                startTls(ctx, conn, info, sc(), (secure) => {
                  session.secured();
                  attach(secure as unknown as Socket);
                }),
              );
            }
          },
          onOverflow: () => {
            ctx.emit({ event: 'protocol_error', ...info, message: 'line too long' });
            safeWrite(conn, '-ERR Input line too long.\r\n');
            conn.end();
          },
        });
        conn.on('data', (chunk: Buffer) => reader.push(chunk));
        conn.once('close', () => reader.stop());
      };
      attach(socket);
      safeWrite(socket, `${session.greeting()}\r\n`);
    };
    return startTcpService(ctx, serve, { idleMs: 10 * 60_000, implicitTls: (p) => POP3_TLS_PORTS.has(p.port), secureContext: sc });
  },
};
