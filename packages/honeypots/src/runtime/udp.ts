/**
 * UDP listener plumbing for services (NetBIOS name service, LLMNR, mDNS, SNMP,
 * SIP, TFTP, DNS): one dgram socket per udp port of the context, bounded
 * datagrams, and a per-source reply budget so a decky can never be used as a
 * reflection amplifier: replies to one source are capped at `repliesPerSecond`
 * (after a burst of `replyBurst`) and are never more than `maxReplyBytes`.
 */
import dgram from 'node:dgram';
import os from 'node:os';
import type { ServicePort } from '@decnet/api';
import type { ConnInfo, RunningService, ServiceContext } from './types.js';
import { stripV4Mapped } from './limits.js';

export interface UdpServiceOptions {
  /** datagrams longer than this are dropped unread; default 4096 */
  maxDatagram?: number;
  /** replies one source may get per second; default 20 */
  repliesPerSecond?: number;
  /** replies one source may get at once before the rate applies; default repliesPerSecond */
  replyBurst?: number;
  /** a reply larger than this is not sent; default 1472 (one Ethernet frame) */
  maxReplyBytes?: number;
  /** distinct sources tracked for the reply budget before the table is reset; default 4096 */
  maxSources?: number;
  /** a clock, for tests */
  now?: () => number;
  /**
   * multicast group to join on a port (LLMNR 224.0.0.252, mDNS 224.0.0.251), best
   * effort: a container without a multicast-capable interface keeps unicast working
   */
  multicastGroup?: (port: ServicePort) => string | undefined;
}

export type UdpReply = (data: Buffer) => void;
export type UdpHandler = (msg: Buffer, info: ConnInfo, reply: UdpReply) => void;

/**
 * Per-source budget of replies: a token bucket refilled at `perSecond`, holding at most
 * `burst` (default `perSecond`) so a scanner's quick burst is answered while a steady
 * flood is capped at the rate. Pure state, no sockets.
 */
export class ReplyBudget {
  private readonly seen = new Map<string, { at: number; tokens: number }>();
  private readonly burst: number;
  constructor(
    private readonly perSecond: number,
    private readonly maxSources: number,
    private readonly now: () => number = Date.now,
    burst?: number,
  ) {
    this.burst = Math.max(1, burst ?? perSecond);
  }
  take(source: string): boolean {
    const t = this.now();
    let e = this.seen.get(source);
    if (!e) {
      if (this.seen.size >= this.maxSources) this.seen.clear();
      e = { at: t, tokens: this.burst };
      this.seen.set(source, e);
    } else {
      e.tokens = Math.min(this.burst, e.tokens + ((t - e.at) * this.perSecond) / 1000);
      e.at = t;
    }
    if (e.tokens < 1) return false;
    e.tokens -= 1;
    return true;
  }
}

/** Join `group` on every non-internal IPv4 interface (else the default one); never throws. */
function joinGroup(ctx: ServiceContext, sock: dgram.Socket, group: string): void {
  // a socket bound to loopback (tests) never receives multicast: do not join on the host's LAN
  if (/^127\./.test(ctx.bindHost)) return;
  const addrs = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
  let joined = 0;
  for (const addr of addrs.length > 0 ? addrs : [undefined]) {
    try {
      if (addr) sock.addMembership(group, addr);
      else sock.addMembership(group);
      joined += 1;
    } catch (err) {
      ctx.log('udp multicast join failed', { group, iface: addr ?? 'default', err: String(err) });
    }
  }
  if (joined === 0) ctx.log('udp multicast unavailable, unicast only', { group });
}

function bindUdp(sock: dgram.Socket, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once('error', onError);
    sock.bind(port, host, () => {
      sock.off('error', onError);
      resolve(sock.address().port);
    });
  });
}

export async function startUdpService(ctx: ServiceContext, onMessage: UdpHandler, opts: UdpServiceOptions = {}): Promise<RunningService> {
  const maxDatagram = opts.maxDatagram ?? 4096;
  const maxReply = opts.maxReplyBytes ?? 1472;
  const budget = new ReplyBudget(opts.repliesPerSecond ?? 20, opts.maxSources ?? 4096, opts.now, opts.replyBurst);
  const sockets: dgram.Socket[] = [];
  const ports: number[] = [];
  for (const p of ctx.ports.filter((x) => x.proto === 'udp')) {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    sock.on('error', (err) => ctx.log('udp socket error', { err: err.message }));
    sock.on('message', (msg, rinfo) => {
      if (msg.length > maxDatagram) return;
      const info: ConnInfo = { src_ip: stripV4Mapped(rinfo.address), src_port: rinfo.port, dst_port: p.port || sock.address().port };
      const reply: UdpReply = (data) => {
        if (data.length > maxReply || !budget.take(info.src_ip)) return;
        try {
          sock.send(data, rinfo.port, rinfo.address);
        } catch {
          /* socket closed */
        }
      };
      try {
        onMessage(msg, info, reply);
      } catch (err) {
        ctx.log('udp handler threw', { err: String(err) });
      }
    });
    ports.push(await bindUdp(sock, ctx.bindHost, ctx.listenPort?.(p) ?? p.port));
    sockets.push(sock);
    const group = opts.multicastGroup?.(p);
    if (group) joinGroup(ctx, sock, group);
  }
  return {
    ports,
    async close() {
      await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/**
 * One RunningService made of several (a service with tcp and udp ports): ports in the
 * order of ctx.ports, closing closes all.
 */
export function combineRunning(ctx: ServiceContext, parts: { tcp?: RunningService; udp?: RunningService }): RunningService {
  const tcp = [...(parts.tcp?.ports ?? [])];
  const udp = [...(parts.udp?.ports ?? [])];
  const ports = ctx.ports.map((p) => (p.proto === 'tcp' ? tcp.shift() : udp.shift()) ?? p.port);
  return {
    ports,
    async close() {
      await Promise.all([parts.tcp?.close(), parts.udp?.close()]);
    },
  };
}
