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
 * STARTTLS with the decky's certificate (the one its https, imap and pop3
 * present); the ClientHello is read on the way in (smtp-server does the
 * handshake) and recorded as a `tls_handshake` event with its JA3/JA4.
 * Connections come in through startTcpService (cap, idle time, connection
 * events) and are handed to smtp-server as a stream it upgrades.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { secretFields } from '@decnet/api';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Socket } from 'node:net';
import { fingerprint, readClientHello } from '../../protocols/tls-hello.js';
import { certRequestFor } from '../../protocols/tls-cert.js';
import { stripV4Mapped } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import { replay, serviceIdentity } from '../../runtime/tls.js';
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
    const tcp: RunningService[] = [];
    const ports: number[] = [];
    const identity = serviceIdentity(ctx, certRequestFor('smtp', ctx.persona, ctx.config)!);
    /**
     * The connection as a stream smtp-server reads and, after STARTTLS, wraps in
     * TLS; a ClientHello on the way in (a record starting 0x16 0x03) is read
     * for its fingerprint.
     */
    const tapped = (socket: Socket, info: ConnInfo) => {
      const stream = replay(socket, Buffer.alloc(0)) as ReturnType<typeof replay> & Record<string, unknown>;
      for (const k of ['remoteAddress', 'remotePort', 'localAddress', 'localPort', 'readyState'] as const) {
        Object.defineProperty(stream, k, { get: () => (socket as unknown as Record<string, unknown>)[k] });
      }
      stream['setTimeout'] = (ms: number, cb?: () => void) => {
        socket.setTimeout(ms);
        if (cb) stream.once('timeout', cb);
        return stream;
      };
      stream['setKeepAlive'] = () => stream;
      stream['setNoDelay'] = () => stream;
      socket.on('timeout', () => stream.emit('timeout'));
      let hello: Buffer | undefined;
      const onData = (chunk: Buffer) => {
        if (!hello && !(chunk[0] === 0x16 && chunk[1] === 0x03)) return;
        hello = hello ? Buffer.concat([hello, chunk]) : chunk;
        const r = readClientHello(hello);
        if (r.state === 'need-more' && hello.length < 64 * 1024) return;
        socket.off('data', onData);
        if (r.state === 'hello') ctx.emit({ event: 'tls_handshake', ...info, starttls: true, ...fingerprint(r.hello) });
      };
      socket.on('data', onData);
      return stream;
    };
    for (const p of ctx.ports.filter((x) => x.proto === 'tcp')) {
      const server = new SMTPServer({
        name: greet.name,
        banner: greet.banner,
        heloResponse: greet.helo,
        size: SMTP_LIMITS.maxMessageBytes,
        authMethods: ['PLAIN', 'LOGIN'],
        authOptional: true,
        allowInsecureAuth: true,
        key: identity.key,
        cert: identity.cert,
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
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
          conns.set(session.id, infoOf(session));
          cb();
        },
        onClose(session) {
          conns.delete(session.id);
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
      servers.push(server);
      const running = await startTcpService(
        { ...ctx, ports: [p] },
        (socket, info) => server.connect(tapped(socket, info) as never, { id: `${Date.now().toString(36)}${(seq++).toString(36)}`, remoteAddress: info.src_ip, remotePort: info.src_port, localAddress: socket.localAddress, localPort: info.dst_port } as never),
        { maxConnections: SMTP_LIMITS.maxClients, idleMs: SMTP_LIMITS.socketTimeoutMs + 5000 },
      );
      ports.push(...running.ports);
      tcp.push(running);
    }
    return {
      ports,
      async close() {
        await Promise.all(tcp.map((t) => t.close()));
        await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      },
    };
  },
};
