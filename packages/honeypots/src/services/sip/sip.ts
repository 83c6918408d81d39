/**
 * SIP server (5060/udp + 5060/tcp) of an Asterisk 18 chan_pjsip PBX. The pure
 * codec (sip-codec.ts) and UAS (sip-session.ts) do the work; this shell binds the
 * sockets. UDP replies are bounded by the request size and a per-source rate; TCP
 * messages are framed by Content-Length and bounded to 8 KiB.
 */
import os from 'node:os';
import { SERVICE_CATALOG } from '@decnet/api';
import { startTcpService } from '../../runtime/tcp.js';
import { combineRunning, startUdpService } from '../../runtime/udp.js';
import { safeWrite, stripV4Mapped } from '../../runtime/limits.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { frameLength, LIMITS, parse } from './sip-codec.js';
import { handleRequest, type Peer, type SipConfig } from './sip-session.js';

/** A UDP reply is never more than this for a request of `n` bytes. */
export const udpReplyBound = (n: number) => Math.min(4096, 4 * n + 512);

function str(ctx: ServiceContext, key: string): string {
  const v = ctx.config[key];
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  const d = SERVICE_CATALOG['sip']!.config[key]?.default;
  return typeof d === 'string' ? d : '';
}

function ownAddress(ctx: ServiceContext): string {
  if (ctx.bindHost && ctx.bindHost !== '0.0.0.0' && ctx.bindHost !== '::') return ctx.bindHost;
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return '127.0.0.1';
}

export function sipConfig(ctx: ServiceContext, localIp?: string): SipConfig {
  const exts = str(ctx, 'sip_extensions')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  return { server: str(ctx, 'sip_server'), domain: str(ctx, 'sip_domain') || localIp || ownAddress(ctx), extensions: new Set(exts), realm: 'asterisk' };
}

export async function startSip(ctx: ServiceContext): Promise<RunningService> {
  const cfg = sipConfig(ctx);
  const udp = await startUdpService(
    ctx,
    (msg, info, reply) => {
      const p = parse(msg);
      if (p.kind === 'response') return; // stray responses are ignored, as pjsip does
      if (p.kind === 'invalid') {
        if (p.reason !== 'keepalive') ctx.emit({ event: 'protocol_error', ...info, transport: 'udp', reason: p.reason, bytes: msg.length });
        return;
      }
      const peer: Peer = { transport: 'UDP', src_ip: info.src_ip, src_port: info.src_port };
      const out = handleRequest(p, cfg, peer);
      for (const e of out.events) ctx.emit({ ...e, dst_port: info.dst_port });
      if (out.reply && out.reply.length <= udpReplyBound(msg.length)) reply(out.reply);
    },
    { maxDatagram: LIMITS.maxMessage, maxReplyBytes: 4096, repliesPerSecond: 100, replyBurst: 400 },
  );
  const tcp = await startTcpService(ctx, (socket, info) => {
    const local = stripV4Mapped(socket.localAddress);
    const tcfg = ctx.config['sip_domain'] ? cfg : { ...cfg, domain: local || cfg.domain };
    let buf = Buffer.alloc(0);
    let count = 0;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        let s = 0;
        while (s < buf.length && (buf[s] === 0x0d || buf[s] === 0x0a)) s++;
        if (s > 0) buf = buf.subarray(s);
        if (buf.length === 0) return;
        const n = frameLength(buf);
        if (n === 0) return;
        if (n < 0 || ++count > 1000) {
          ctx.emit({ event: 'protocol_error', ...info, transport: 'tcp', reason: n < 0 ? 'message too large' : 'too many messages', bytes: buf.length });
          socket.destroy();
          return;
        }
        const msg = buf.subarray(0, n);
        buf = buf.subarray(n);
        const p = parse(msg);
        if (p.kind === 'response') continue;
        if (p.kind === 'invalid') {
          ctx.emit({ event: 'protocol_error', ...info, transport: 'tcp', reason: p.reason, bytes: msg.length });
          safeWrite(socket, 'SIP/2.0 400 Bad Request\r\nContent-Length:  0\r\n\r\n');
          socket.end();
          return;
        }
        const out = handleRequest(p, tcfg, { transport: 'TCP', src_ip: info.src_ip, src_port: info.src_port });
        for (const e of out.events) ctx.emit({ ...e, dst_port: info.dst_port });
        if (out.reply) safeWrite(socket, out.reply);
      }
    });
  });
  return combineRunning(ctx, { tcp, udp });
}

export const sipService: ServiceModule = {
  name: 'sip',
  start: (ctx) => startSip(ctx),
};
