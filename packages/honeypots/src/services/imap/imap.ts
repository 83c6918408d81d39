/**
 * IMAP honeypot (Dovecot 2.3): STARTTLS on 143, implicit TLS on 993, both with
 * the decky's certificate (the same one its https, pop3 and smtp present).
 * Every command is an event, every login an auth_attempt; the accounts of the
 * `users` config read a small fake mailbox (imap-session.ts). Input is bounded
 * by imap-reader.ts (8 KiB lines, 1 MiB literals); idle timeout 30 minutes as
 * Dovecot's, connections capped.
 */
import type { Socket } from 'node:net';
import { certRequestFor } from '../../protocols/tls-cert.js';
import { accountMap } from '../../runtime/accounts.js';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import { serviceSecureContext, startTls } from '../../runtime/tls.js';
import type { ConnInfo, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { ImapReader } from './imap-reader.js';
import { ImapSession } from './imap-session.js';

export const IMAP_TLS_PORTS = new Set([993]);

export function mailBanner(ctx: ServiceContext, keys: string[], fallback: string, strip: RegExp): string {
  for (const key of keys) {
    const v = ctx.config[key];
    if (typeof v === 'string' && v.trim() !== '') return v.replace(/[\r\n]+/g, ' ').trim().replace(strip, '');
  }
  return fallback;
}

export const imapService: ServiceModule = {
  name: 'imap',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const banner = mailBanner(ctx, ['imap_banner', 'banner'], 'Dovecot ready.', /^\*\s*OK\s*/i);
    const accounts = accountMap(ctx.config['users']);
    const req = certRequestFor('imap', ctx.persona, ctx.config)!;
    const sc = () => serviceSecureContext(ctx, req);
    const serve = (socket: Socket, info: ConnInfo) => {
      const session = new ImapSession({ banner, tls: info.tls === true, starttls: true, accounts, persona: ctx.persona });
      const reader = new ImapReader();
      let current: Socket = socket;
      let queue = Promise.resolve();
      const onData = (chunk: Buffer) => {
        for (const r of reader.feed(chunk)) {
          if (r.type === 'continue') safeWrite(current, '+ OK\r\n');
          else if (r.type === 'error') {
            ctx.emit({ event: 'protocol_error', ...info, message: `imap: ${r.reason}` });
            safeWrite(current, `* BYE ${r.reason === 'line too long' ? 'Too long command line.' : 'Too long argument.'}\r\n`);
            current.end();
            return;
          } else {
            const out = session.onCommand(r.segments);
            reader.raw = session.rawLines;
            for (const ev of out.events) ctx.emit({ ...ev, ...info });
            const write = () => {
              for (const reply of out.replies) safeWrite(current, typeof reply === 'string' ? `${reply}\r\n` : Buffer.concat([reply, Buffer.from('\r\n')]));
              if (out.close) current.end();
            };
            if (out.delayMs > 0) {
              // Dovecot answers a failed login after auth_failure_delay; later commands wait their turn
              current.pause();
              queue = queue.then(() => new Promise<void>((res) => setTimeout(() => (write(), current.resume(), res()), out.delayMs).unref()));
            } else queue = queue.then(write);
            if (out.starttls) {
              current.off('data', onData);
              queue = queue.then(() => {
                startTls(ctx, current, info, sc(), (secure) => {
                  session.secured();
                  current = secure as unknown as Socket;
                  current.on('data', onData);
                });
              });
              return;
            }
          }
        }
      };
      current.on('data', onData);
      safeWrite(current, `${session.greeting()}\r\n`);
    };
    return startTcpService(ctx, serve, {
      idleMs: 30 * 60_000,
      implicitTls: (p) => IMAP_TLS_PORTS.has(p.port),
      secureContext: sc,
    });
  },
};
