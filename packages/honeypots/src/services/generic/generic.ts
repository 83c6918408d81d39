/**
 * Low-interaction listener for catalogue services without a dedicated
 * implementation. TCP: optional greeting, bounded reads (64 KiB per
 * connection, at most 32 `request` events each), idle timeout 30 s. UDP: every
 * datagram is logged as a `request` (rate-limited), and NEVER answered (no
 * reflection/amplification).
 *
 * Greeting: persona `banner` when given (sent as is, CRLF appended unless it
 * ends with a newline), else a built-in greeting for server-speaks-first
 * protocols (vnc, imap, ...) shaped by their version key, else nothing.
 */
import dgram from 'node:dgram';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';

export const GENERIC_LIMITS = {
  maxBytesPerConn: 64 * 1024,
  maxEventsPerConn: 32,
  idleMs: 30_000,
  hexPrefix: 64,
  textPrefix: 256,
  /** UDP: datagram events per second per service (token bucket) */
  udpEventsPerSec: 50,
};

const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** "3.8" -> "RFB 003.008\n" */
function rfb(version: string | undefined): string {
  const m = /^(\d+)\.(\d+)$/.exec(version ?? '');
  return m ? `RFB ${m[1]!.padStart(3, '0')}.${m[2]!.padStart(3, '0')}\n` : 'RFB 003.008\n';
}

const GREETINGS: Record<string, (cfg: Record<string, unknown>, hostname: string) => string> = {
  vnc: (c) => rfb(str(c['vnc_version'])),
  imap: () => '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN] Dovecot ready.\r\n',
  ftp: (c) => `220 ${str(c['banner']) ?? '(vsFTPd 3.0.5)'}\r\n`,
  ssh: (c) => `SSH-2.0-${str(c['ssh_version']) ?? 'OpenSSH_8.9p1 Ubuntu-3ubuntu0.6'}\r\n`,
  telnet: (_c, h) => `\r\n${h} login: `,
};

export function greetingFor(service: string, config: Record<string, unknown>, hostname: string): string | undefined {
  const banner = str(config['banner']);
  if (banner !== undefined) return /\n$/.test(banner) ? banner : `${banner}\r\n`;
  return GREETINGS[service]?.(config, hostname);
}

function preview(buf: Buffer) {
  const head = buf.subarray(0, GENERIC_LIMITS.textPrefix);
  let text = '';
  for (const b of head) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : b === 0x0a ? '\\n' : b === 0x0d ? '\\r' : '.';
  return { size: buf.length, hex: buf.subarray(0, GENERIC_LIMITS.hexPrefix).toString('hex'), text };
}

async function bindUdp(ctx: ServiceContext, port: number): Promise<{ socket: dgram.Socket; port: number }> {
  const socket = dgram.createSocket({ type: ctx.bindHost.includes(':') ? 'udp6' : 'udp4' });
  let tokens = GENERIC_LIMITS.udpEventsPerSec;
  let dropped = 0;
  let last = Date.now();
  socket.on('message', (msg, rinfo) => {
    const now = Date.now();
    tokens = Math.min(GENERIC_LIMITS.udpEventsPerSec, tokens + ((now - last) / 1000) * GENERIC_LIMITS.udpEventsPerSec);
    last = now;
    if (tokens < 1) {
      dropped++;
      return;
    }
    tokens -= 1;
    const addr = socket.address();
    ctx.emit({
      event: 'request',
      proto: 'udp',
      src_ip: rinfo.address.replace(/^::ffff:(?=\d+\.)/, ''),
      src_port: rinfo.port,
      dst_port: addr.port,
      ...preview(msg),
      ...(dropped > 0 ? { dropped_before: dropped } : {}),
    });
    dropped = 0;
  });
  socket.on('error', (err) => ctx.log('udp socket error', { err: err.message }));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, ctx.bindHost, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return { socket, port: socket.address().port };
}

export const genericService: ServiceModule = {
  name: 'generic',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const greeting = greetingFor(ctx.service, ctx.config, ctx.hostname);
    const tcp = await startTcpService(
      ctx,
      (socket, info) => {
        let bytes = 0;
        let events = 0;
        socket.on('data', (chunk: Buffer) => {
          const room = GENERIC_LIMITS.maxBytesPerConn - bytes;
          bytes += chunk.length;
          if (events < GENERIC_LIMITS.maxEventsPerConn && room > 0) {
            events++;
            ctx.emit({ event: 'request', proto: 'tcp', ...info, ...preview(chunk.subarray(0, room)), offset: bytes - chunk.length });
          }
          if (bytes >= GENERIC_LIMITS.maxBytesPerConn) socket.destroy();
        });
        if (greeting !== undefined) safeWrite(socket, greeting);
      },
      { idleMs: GENERIC_LIMITS.idleMs },
    );
    const udp: dgram.Socket[] = [];
    const ports: number[] = [];
    let tcpIndex = 0;
    try {
      for (const p of ctx.ports) {
        if (p.proto === 'tcp') ports.push(tcp.ports[tcpIndex++]!);
        else {
          const b = await bindUdp(ctx, p.port);
          udp.push(b.socket);
          ports.push(b.port);
        }
      }
    } catch (err) {
      await tcp.close();
      for (const s of udp) s.close();
      throw err;
    }
    return {
      ports,
      async close() {
        await tcp.close();
        await Promise.all(udp.map((s) => new Promise<void>((r) => s.close(() => r()))));
      },
    };
  },
};
