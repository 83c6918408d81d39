/**
 * LLMNR (5355/udp, group 224.0.0.252) and mDNS (5353/udp, group 224.0.0.251)
 * responder of a Windows decky: answers queries for the decky's own names with
 * its own address, and logs every query (own name or not) as a `name_query`
 * event. The ports of ctx.ports are told apart by their catalogue number (5353
 * is mDNS, anything else LLMNR), or by their order when tests bind port 0.
 */
import type { ServicePort } from '@decnet/api';
import { startUdpService } from '../../runtime/udp.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { ownAddressFor, type Ipv4Interface } from './own-address.js';
import { LIMITS, respond, type Identity, type NameProtocol } from './responder.js';

export const LLMNR_GROUP = '224.0.0.252';
export const MDNS_GROUP = '224.0.0.251';

export interface LlmnrOptions {
  /** fixed own IPv4 (tests); default: the interface the query arrived on */
  ip?: string;
  /** interfaces to choose the own address from (tests); default os.networkInterfaces() */
  interfaces?: Ipv4Interface[];
}

function protocolOf(p: ServicePort, index: number): NameProtocol {
  if (p.port === 5353) return 'mdns';
  if (p.port === 5355) return 'llmnr';
  return index === 0 ? 'llmnr' : 'mdns';
}

/** The names a Windows host answers for itself: its NetBIOS name and its hostname (first label). */
export function ownNames(ctx: ServiceContext): { names: string[]; hostname: string } {
  const first = (ctx.persona.hostname || ctx.hostname).split('.')[0] ?? '';
  const hostname = first || ctx.persona.netbiosName;
  return { names: [...new Set([ctx.persona.netbiosName, hostname].filter(Boolean))], hostname };
}

export async function startLlmnr(ctx: ServiceContext, opts: LlmnrOptions = {}): Promise<RunningService> {
  const { names, hostname } = ownNames(ctx);
  const udpPorts = ctx.ports.filter((p) => p.proto === 'udp');
  const parts: RunningService[] = [];
  try {
    for (const [index, p] of udpPorts.entries()) {
      const protocol = protocolOf(p, index);
      const sub: ServiceContext = { ...ctx, ports: [p] };
      parts.push(
        await startUdpService(
          sub,
          (msg, info, reply) => {
            const id: Identity = { names, hostname, ip: opts.ip ?? ownAddressFor(info.src_ip, opts.interfaces) };
            const r = respond(msg, protocol, id, info.src_port);
            for (const q of r.queries) ctx.emit({ event: 'name_query', ...info, ...q });
            if (r.reply) reply(r.reply);
          },
          { maxDatagram: LIMITS.maxDatagram, multicastGroup: () => (protocol === 'mdns' ? MDNS_GROUP : LLMNR_GROUP) },
        ),
      );
    }
  } catch (err) {
    await Promise.all(parts.map((s) => s.close()));
    throw err;
  }
  return {
    ports: parts.flatMap((s) => s.ports),
    async close() {
      await Promise.all(parts.map((s) => s.close()));
    },
  };
}

export const llmnrService: ServiceModule = {
  name: 'llmnr',
  start: (ctx) => startLlmnr(ctx),
};
