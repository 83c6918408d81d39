/**
 * POP3 honeypot. Greeting `+OK <banner>`: persona key pop3_banner (or banner),
 * default "Dovecot ready.". All logins are captured and refused (pop3-session.ts).
 * Lines are bounded (1 KiB; longer -> error and close), idle timeout 60 s.
 */
import { createLineReader, safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { Pop3Session } from './pop3-session.js';

export const POP3_MAX_LINE = 1024;

function banner(ctx: ServiceContext): string {
  for (const key of ['pop3_banner', 'banner']) {
    const v = ctx.config[key];
    if (typeof v === 'string' && v.trim() !== '') return v.replace(/[\r\n]+/g, ' ').trim().replace(/^\+OK\s*/i, '');
  }
  return 'Dovecot ready.';
}

export const pop3Service: ServiceModule = {
  name: 'pop3',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const text = banner(ctx);
    return startTcpService(
      ctx,
      (socket, info) => {
        const session = new Pop3Session(text);
        const reader = createLineReader({
          maxLine: POP3_MAX_LINE,
          onLine: (line) => {
            const out = session.onLine(line);
            for (const ev of out.events) ctx.emit({ ...ev, ...info });
            for (const r of out.replies) safeWrite(socket, `${r}\r\n`);
            if (out.close) {
              reader.stop();
              socket.end();
            }
          },
          onOverflow: () => {
            ctx.emit({ event: 'protocol_error', ...info, message: 'line too long' });
            safeWrite(socket, '-ERR Input line too long.\r\n');
            socket.end();
          },
        });
        socket.on('data', (chunk: Buffer) => reader.push(chunk));
        socket.once('close', () => reader.stop());
        safeWrite(socket, `${session.greeting()}\r\n`);
      },
      { idleMs: 60_000 },
    );
  },
};
