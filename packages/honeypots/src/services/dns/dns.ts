/**
 * DNS honeypot: an authoritative-only BIND of `bind_version` for the persona's domain
 * (authority.ts), on 53/udp (per-source reply budget) and 53/tcp (length framed).
 * Every query is a `name_query` event with its type, class and the rcode given.
 */
import { SERVICE_CATALOG } from '@decnet/api';
import { startTcpService } from '../../runtime/tcp.js';
import { combineRunning, startUdpService } from '../../runtime/udp.js';
import { safeWrite } from '../../runtime/limits.js';
import type { ConnInfo, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { ownAddressFor, primaryInterface } from '../llmnr/own-address.js';
import { answer, buildZone, LIMITS, TcpFramer, type AuthorityResult, type Zone } from './authority.js';

function conf(ctx: ServiceContext, key: string): string {
  const v = ctx.config[key];
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  const d = SERVICE_CATALOG['dns']!.config[key]?.default;
  return typeof d === 'string' ? d : '';
}

/** A zone serial as BIND operators write them: YYYYMMDDnn of the day the service started. */
export function dateSerial(now = new Date()): number {
  return Number(`${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}${String(now.getUTCDate()).padStart(2, '0')}01`);
}

export function zoneFor(ctx: ServiceContext, ownIp: string | undefined): Zone {
  return buildZone({
    domain: conf(ctx, 'domain') || ctx.persona.dnsDomain || 'corp.local',
    records: conf(ctx, 'dns_records'),
    ownIp,
    hostname: ctx.persona.hostname || ctx.hostname,
    version: conf(ctx, 'bind_version'),
    serial: dateSerial(),
  });
}

export const dnsService: ServiceModule = {
  name: 'dns',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const zones = new Map<string, Zone>();
    // the own address of a decky is the interface the query arrives on (A of the host and ns1)
    const zoneFrom = (src: string) => {
      const ip = ownAddressFor(src) ?? primaryInterface()?.address;
      const key = ip ?? '';
      let z = zones.get(key);
      if (!z) {
        z = zoneFor(ctx, ip);
        if (zones.size < 8) zones.set(key, z);
      }
      return z;
    };
    const record = (info: ConnInfo, r: AuthorityResult, transport: 'udp' | 'tcp') => {
      if (r.query) ctx.emit({ event: 'name_query', ...info, protocol: 'dns', transport, ...r.query });
      else if (r.malformed) ctx.emit({ event: 'protocol_error', ...info, transport, message: r.malformed });
    };
    const udp = await startUdpService(
      { ...ctx, ports: ctx.ports.filter((p) => p.proto === 'udp') },
      (msg, info, reply) => {
        const r = answer(msg, zoneFrom(info.src_ip), 'udp');
        record(info, r, 'udp');
        if (r.reply) reply(r.reply);
      },
      { maxDatagram: LIMITS.maxMessage, maxReplyBytes: 1232, repliesPerSecond: 20 },
    );
    let tcp: RunningService;
    try {
      tcp = await startTcpService({ ...ctx, ports: ctx.ports.filter((p) => p.proto === 'tcp') }, (socket, info) => {
        const framer = new TcpFramer();
        socket.on('data', (chunk: Buffer) => {
          const { messages, error } = framer.feed(chunk);
          for (const m of messages) {
            const r = answer(m, zoneFrom(info.src_ip), 'tcp');
            record(info, r, 'tcp');
            if (r.reply) {
              const len = Buffer.alloc(2);
              len.writeUInt16BE(r.reply.length);
              safeWrite(socket, Buffer.concat([len, r.reply]));
            }
          }
          if (error) {
            ctx.emit({ event: 'protocol_error', ...info, transport: 'tcp', message: error });
            socket.destroy();
          }
        });
      });
    } catch (err) {
      await udp.close();
      throw err;
    }
    return combineRunning(ctx, { tcp, udp });
  },
};
