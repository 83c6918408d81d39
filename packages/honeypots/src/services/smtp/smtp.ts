/**
 * SMTP honeypot on the smtp-server library. An open-looking MTA that never
 * relays (it makes no outbound connection at all):
 *  - greeting from smtp_banner (default "<hostname> ESMTP Postfix (Debian/GNU)";
 *    a banner of the form "<name> ESMTP <text>" sets both parts), smtp_mta
 *    (postfix | exim | sendmail | <free text>) picks the default text and the
 *    EHLO reply style;
 *  - AUTH PLAIN/LOGIN offered without TLS, every try emitted as auth_attempt
 *    and refused with 535 (a honeypot learns the credentials, not the spam);
 *  - every command line -> `command` (AUTH secrets redacted by the library,
 *    captured by auth_attempt instead), MAIL FROM -> `mail_from`, RCPT TO -> `rcpt_to`;
 *  - DATA is accepted and quarantined: first 1 MiB into ctx.quarantineDir
 *    (64 MiB per service in total), `mail` event with sha256, sizes, subject.
 * STARTTLS is disabled (no certificate in this service).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { secretFields } from '@decnet/api';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { stripV4Mapped } from '../../runtime/limits.js';
import type { ConnInfo, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';

export const SMTP_LIMITS = {
  maxMessageBytes: 1024 * 1024,
  maxQuarantineBytes: 64 * 1024 * 1024,
  maxClients: 256,
  socketTimeoutMs: 120_000,
  maxCommandLength: 4096,
  maxRecipients: 100,
};

const MTA_STYLES: Record<string, { banner: string; helo: string }> = {
  postfix: { banner: 'Postfix (Debian/GNU)', helo: '%s' },
  exim: { banner: 'Exim 4.96 Ubuntu', helo: '%s Hello %s' },
  sendmail: { banner: 'Sendmail 8.17.1.9/8.17.1.9/Debian-2; ready', helo: '%s Hello %s, pleased to meet you' },
};

export function smtpGreeting(config: Record<string, unknown>, hostname: string): { name: string; banner: string; helo: string } {
  const mta = typeof config['smtp_mta'] === 'string' ? config['smtp_mta'].trim() : '';
  const style = MTA_STYLES[mta.toLowerCase()] ?? (mta !== '' ? { banner: mta, helo: '%s' } : MTA_STYLES['postfix']!);
  const raw = typeof config['smtp_banner'] === 'string' ? config['smtp_banner'].replace(/[\r\n]/g, ' ').trim() : '';
  const name = hostname.toLowerCase();
  if (raw === '') return { name, banner: style.banner, helo: style.helo };
  const m = /^(?:220[ -])?(\S+)\s+E?SMTP\b\s*(.*)$/i.exec(raw);
  return m ? { name: m[1]!, banner: m[2]!, helo: style.helo } : { name, banner: raw, helo: style.helo };
}

const queueId = () => randomBytes(5).toString('hex').toUpperCase();

export const smtpService: ServiceModule = {
  name: 'smtp',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const greet = smtpGreeting(ctx.config, ctx.hostname);
    const conns = new Map<string, ConnInfo>();
    let quarantined = 0;
    let seq = 0;
    const infoOf = (s: SMTPServerSession): ConnInfo =>
      conns.get(s.id) ?? { src_ip: stripV4Mapped(s.remoteAddress), src_port: s.remotePort, dst_port: s.localPort };

    const logger = {
      debug(entry: { tnx?: string; cid?: string; command?: string }, _msg?: string, line?: unknown) {
        if (entry?.tnx !== 'command' || !entry.cid) return;
        const info = conns.get(entry.cid);
        if (!info) return;
        ctx.emit({ event: 'command', ...info, command: String(entry.command ?? '').slice(0, 32), line: String(line ?? '').slice(0, 1024) });
      },
      trace() {},
      info() {},
      warn() {},
      error() {},
      fatal() {},
    };

    const onData = (stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, msg?: string) => void) => {
      const info = infoOf(session);
      const id = queueId();
      const hash = createHash('sha256');
      const file = join(ctx.quarantineDir, `smtp-${Date.now()}-${session.id}-${seq++}.eml`);
      let stored = 0;
      let head = '';
      let out: WriteStream | undefined;
      let storeOk = quarantined < SMTP_LIMITS.maxQuarantineBytes;
      if (storeOk) {
        out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
        out.on('error', (err) => {
          storeOk = false;
          ctx.log('quarantine write failed', { err: err.message });
        });
      }
      stream.on('data', (chunk: Buffer) => {
        const room = Math.min(SMTP_LIMITS.maxMessageBytes - stored, SMTP_LIMITS.maxQuarantineBytes - quarantined);
        if (room <= 0) return;
        const part = chunk.subarray(0, room);
        hash.update(part);
        stored += part.length;
        quarantined += part.length;
        if (head.length < 8192) head += part.toString('latin1', 0, 8192 - head.length);
        if (storeOk) out?.write(part);
      });
      stream.on('error', () => {});
      stream.on('end', () => {
        const finish = () => {
          const env = session.envelope;
          ctx.emit({
            event: 'mail',
            ...info,
            mail_from: env.mailFrom ? env.mailFrom.address : '',
            rcpt_to: env.rcptTo.map((r) => r.address).slice(0, SMTP_LIMITS.maxRecipients),
            helo: session.hostNameAppearsAs || undefined,
            subject: /^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(head.split(/\r?\n\r?\n/)[0] ?? '')?.[1]?.replace(/\r?\n[ \t]+/g, ' ').slice(0, 512),
            size: stream.byteLength,
            stored_size: stored,
            truncated: stream.byteLength > stored,
            sha256: hash.digest('hex'),
            ...(storeOk && out ? { file } : {}),
            queue_id: id,
          });
          if (stream.sizeExceeded) cb(Object.assign(new Error('5.3.4 Error: message file too big'), { responseCode: 552 }));
          else cb(null, `2.0.0 Ok: queued as ${id}`);
        };
        if (out && storeOk) out.end(finish);
        else {
          out?.destroy();
          finish();
        }
      });
    };

    const servers: SMTPServer[] = [];
    const ports: number[] = [];
    for (const p of ctx.ports.filter((x) => x.proto === 'tcp')) {
      const server = new SMTPServer({
        name: greet.name,
        banner: greet.banner,
        heloResponse: greet.helo,
        size: SMTP_LIMITS.maxMessageBytes,
        authMethods: ['PLAIN', 'LOGIN'],
        authOptional: true,
        allowInsecureAuth: true,
        disabledCommands: ['STARTTLS'],
        hideSTARTTLS: true,
        disableReverseLookup: true,
        maxClients: SMTP_LIMITS.maxClients,
        socketTimeout: SMTP_LIMITS.socketTimeoutMs,
        closeTimeout: 1000,
        maxCommandLength: SMTP_LIMITS.maxCommandLength,
        maxRecipients: SMTP_LIMITS.maxRecipients,
        maxAllowedUnauthenticatedCommands: false,
        lenientAddressParsing: true,
        logger,
        onConnect(session, cb) {
          const info = infoOf(session);
          conns.set(session.id, info);
          ctx.emit({ event: 'connection', ...info });
          cb();
        },
        onClose(session) {
          const info = conns.get(session.id);
          if (!info) return;
          conns.delete(session.id);
          ctx.emit({ event: 'disconnect', ...info });
        },
        onAuth(auth, session, cb) {
          const info = infoOf(session);
          ctx.emit({
            event: 'auth_attempt',
            ...info,
            principal: auth.username ?? '',
            secret_kind: 'plaintext',
            ...secretFields(auth.password ?? ''),
            auth_method: auth.method,
            ...(auth.authzid ? { authzid: auth.authzid } : {}),
            success: false,
          });
          cb(Object.assign(new Error('5.7.8 Error: authentication failed: authentication failure'), { responseCode: 535 }));
        },
        onMailFrom(address, session, cb) {
          ctx.emit({ event: 'mail_from', ...infoOf(session), address: address.address.slice(0, 512), helo: session.hostNameAppearsAs || undefined });
          cb();
        },
        onRcptTo(address, session, cb) {
          ctx.emit({ event: 'rcpt_to', ...infoOf(session), address: address.address.slice(0, 512) });
          cb();
        },
        onData,
      });
      server.on('error', (err) => ctx.log('smtp server error', { err: err.message }));
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.server.once('error', reject);
          server.listen(p.port, ctx.bindHost, () => {
            server.server.off('error', reject);
            const a = server.server.address();
            resolve(typeof a === 'object' && a ? a.port : p.port);
          });
        }),
      );
      servers.push(server);
    }
    return {
      ports,
      async close() {
        await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      },
    };
  },
};
