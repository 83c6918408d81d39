/**
 * Socket adapter of the SMB honeypot (445/tcp, 139/tcp, plus NBNS on 137/udp):
 * NetBIOS session-service framing into SmbSession, its events to ctx.emit and its
 * uploads into the quarantine directory under the shared budget.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigValue } from '@decnet/api';
import { createFrameReader } from '../../runtime/frames.js';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import { combineRunning } from '../../runtime/udp.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import type { QuarantineBudget } from '../ftp/ftp-data.js';
import { buildShares } from './fake-fs.js';
import { startNbns } from './nbns.js';
import { SmbSession, type SmbSessionOptions } from './smb-session.js';
import { accountMap } from '../../runtime/accounts.js';

/** largest NBSS packet accepted: 16 credits x 64 KiB of WRITE data plus headers */
export const MAX_SMB_FRAME = 1024 * 1024 + 64 * 1024;
export const SMB_LIMITS = { quarantineBytes: 64 * 1024 * 1024, maxUploadBytes: 4 * 1024 * 1024, maxConnections: 128, idleMs: 300_000 };

/**
 * Frame length of a session-service packet: 0x00 session messages carry a 24-bit length
 * (RFC 1002 allows 17 bits, but SMB2 direct TCP and Windows on 139 use the full 3 bytes);
 * 0x81 session request and 0x85 keepalive keep the 17-bit NBSS form.
 */
export function nbssFrameLength(buf: Buffer): number | undefined {
  if (buf.length < 4) return undefined;
  const type = buf[0]!;
  if (type === 0x00) return 4 + buf.readUIntBE(1, 3);
  if ((type !== 0x81 && type !== 0x85) || (buf[1]! & 0xfe) !== 0) return -1;
  return 4 + (((buf[1]! & 1) << 16) | buf.readUInt16BE(2));
}

export function parseUsers(v: ConfigValue | undefined): Map<string, string> {
  return new Map([...accountMap(v)].map(([k, a]) => [k, a.pass]));
}

/** A plausible boot time, stable for the life of the process (some days before start). */
const BOOT_MS = Date.now() - (3 * 86400_000 + Math.floor(Math.random() * 20 * 86400_000));

export function sessionOptions(ctx: ServiceContext, budget: QuarantineBudget): SmbSessionOptions {
  const build = ctx.persona.windows?.build ?? 17763;
  return {
    persona: ctx.persona,
    users: parseUsers(ctx.config['users']),
    guest: ctx.config['guest'] === true,
    shares: buildShares(ctx.persona, typeof ctx.config['shares'] === 'string' ? ctx.config['shares'] : undefined, ctx.decky),
    serverGuid: SmbSession.guidFor(ctx.decky),
    // Windows 10 / Server 2016 and later report no boot time (nmap smb2-time: start_date N/A)
    bootTime: build >= 10240 ? 0n : (BigInt(BOOT_MS) + 11644473600000n) * 10000n,
    budget,
    maxUploadBytes: SMB_LIMITS.maxUploadBytes,
  };
}

export const smbService: ServiceModule = {
  name: 'smb',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const budget: QuarantineBudget = { remaining: SMB_LIMITS.quarantineBytes };
    const base = sessionOptions(ctx, budget);
    const tcp = await startTcpService(
      ctx,
      (socket, info) => {
        const session = new SmbSession({ ...base, sessionService: info.dst_port === 139 });
        const reader = createFrameReader({
          frameLength: nbssFrameLength,
          maxFrame: MAX_SMB_FRAME,
          onFrame(frame) {
            const out = session.handlePacket(frame);
            for (const ev of out.events) ctx.emit({ ...ev, ...info } as Parameters<ServiceContext['emit']>[0]);
            for (const up of out.uploads) {
              const sha256 = createHash('sha256').update(up.data).digest('hex');
              const stored = `${sha256}.bin`;
              const fields = { event: 'upload_attempt', ...info, share: up.share, path: up.path, principal: up.principal, bytes: up.data.length, sha256, truncated: up.truncated };
              if (up.data.length === 0) ctx.emit(fields);
              else
                writeFile(join(ctx.quarantineDir, stored), up.data, { mode: 0o600 })
                  .then(() => ctx.emit({ ...fields, stored }))
                  .catch(() => ctx.emit(fields));
            }
            for (const p of out.packets) safeWrite(socket, p);
            if (out.close) {
              reader.stop();
              socket.end();
            }
          },
          onError(reason) {
            ctx.emit({ event: 'request', ...info, error: `nbss ${reason}` });
            socket.destroy();
          },
        });
        socket.on('data', (chunk: Buffer) => reader.push(chunk));
      },
      { maxConnections: SMB_LIMITS.maxConnections, idleMs: SMB_LIMITS.idleMs },
    );
    if (!ctx.ports.some((p) => p.proto === 'udp')) return tcp;
    try {
      const udp = await startNbns(ctx);
      return combineRunning(ctx, { tcp, udp });
    } catch (err) {
      ctx.log('nbns failed to start', { err: String(err) });
      return combineRunning(ctx, { tcp });
    }
  },
};
