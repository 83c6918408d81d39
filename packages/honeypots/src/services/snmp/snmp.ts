/**
 * SNMP agent (161/udp): v1/v2c GET, GETNEXT, GETBULK and SET (refused), v3 USM
 * discovery answered with a Report so scanners see a net-snmp engine. Wrong
 * communities get no answer but are logged as auth_attempt events.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { secretFields, SERVICE_CATALOG } from '@decnet/api';
import { startUdpService } from '../../runtime/udp.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { BULK_REPLY_BYTES, handle } from './agent.js';
import { LIMITS } from './ber.js';
import { buildMib, defaultSysDescr } from './mib.js';

/** MAC of the first non-internal interface (the container's eth0), else a stable made-up one. */
export function ownMac(seed: string): Buffer {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (!a.internal && a.mac && a.mac !== '00:00:00:00:00:00') return Buffer.from(a.mac.split(':').map((h) => parseInt(h, 16)));
    }
  }
  const h = createHash('sha256').update(seed).digest();
  return Buffer.from([0x02, 0x42, h[0]!, h[1]!, h[2]!, h[3]!]);
}

/** A stable engine id for the decky: enterprise by OS (net-snmp 8072, Microsoft 311, Cisco 9), format 0x80 (octets). */
export function engineIdFor(decky: string, osName: string): Buffer {
  const ent = osName.startsWith('windows') ? 311 : osName === 'cisco' ? 9 : 8072;
  const h = createHash('sha256').update(`snmp-engine:${decky}`).digest();
  const head = Buffer.from([0x80, 0, (ent >> 8) & 0xff, ent & 0xff, 0x80]);
  return Buffer.concat([head, h.subarray(0, 12)]);
}

function str(ctx: ServiceContext, key: string): string {
  const v = ctx.config[key];
  if (typeof v === 'string' && v !== '') return v;
  const d = SERVICE_CATALOG['snmp']!.config[key]?.default;
  return typeof d === 'string' ? d : '';
}

export interface SnmpIdentityOptions {
  /** sysDescr used when the sys_descr config key is unset (default: derived from the OS profile) */
  defaultSysDescr?: string;
  /** sysObjectID of the device (default: the OS profile's) */
  sysObjectId?: string;
}

export async function startSnmp(ctx: ServiceContext, opts: SnmpIdentityOptions = {}): Promise<RunningService> {
  const started = Date.now();
  const uptime = () => Math.floor((Date.now() - started) / 10) + Math.floor(process.uptime() * 100);
  const hostname = ctx.persona.hostname || ctx.hostname;
  const mib = buildMib({
    os: ctx.persona.os,
    hostname,
    sysDescr: str(ctx, 'sys_descr') || opts.defaultSysDescr || defaultSysDescr(ctx.persona.os, hostname, ctx.persona.windows?.build),
    sysContact: str(ctx, 'sys_contact'),
    sysLocation: str(ctx, 'sys_location'),
    ...(opts.sysObjectId !== undefined ? { sysObjectId: opts.sysObjectId } : {}),
    mac: ownMac(ctx.decky),
    uptime,
  });
  const community = str(ctx, 'snmp_community');
  const cfg = { community, mib, engineId: engineIdFor(ctx.decky, ctx.persona.os), engineBoots: 1, engineTime: () => Math.floor((Date.now() - started) / 1000) + Math.floor(process.uptime()) };
  const lastOk = new Map<string, number>();
  return startUdpService(
    ctx,
    (msg, info, reply) => {
      const r = handle(msg, cfg);
      if (r.kind === 'drop') {
        ctx.emit({ event: 'protocol_error', ...info, reason: r.reason, bytes: msg.length });
        return;
      }
      if (r.kind === 'v3') {
        ctx.emit({ event: 'auth_attempt', ...info, principal: secretFields(r.user).secret, secret_kind: 'snmpv3_usm', ...secretFields(r.user), success: false, snmp_version: 3, engine_id: r.engineId.toString('hex') });
        if (r.reply) reply(r.reply);
        return;
      }
      const version = r.version === 0 ? 'v1' : 'v2c';
      if (!r.ok) {
        ctx.emit({ event: 'auth_attempt', ...info, principal: '', secret_kind: 'snmp_community', ...secretFields(r.community), success: false, snmp_version: version });
        return;
      }
      const now = Date.now();
      const last = lastOk.get(info.src_ip);
      if (last === undefined || now - last >= 60_000) {
        if (lastOk.size >= 4096) lastOk.clear();
        lastOk.set(info.src_ip, now);
        ctx.emit({ event: 'auth_attempt', ...info, principal: '', secret_kind: 'snmp_community', ...secretFields(r.community), success: true, snmp_version: version });
      }
      ctx.emit({ event: 'request', ...info, snmp_version: version, pdu: r.pdu, oids: r.oids ?? [] });
      if (r.reply) reply(r.reply);
    },
    // a walk is one request per object: 100 replies a second per source (each at most 8x its request, GETBULK 1472 bytes)
    { maxDatagram: LIMITS.maxDatagram, maxReplyBytes: BULK_REPLY_BYTES, repliesPerSecond: 100 },
  );
}

export const snmpService: ServiceModule = {
  name: 'snmp',
  start: (ctx) => startSnmp(ctx),
};
