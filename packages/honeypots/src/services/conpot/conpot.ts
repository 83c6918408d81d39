/**
 * conpot: an ICS persona (Siemens S7-300 CPU by default) on four listeners:
 * modbus/TCP 502, s7comm 102 (ISO-on-TCP), snmp 161/udp (the snmp service's
 * agent with a PLC sysDescr) and an HMI web page on 80. Thin shell: the codecs
 * are modbus.ts, s7.ts and hmi.ts; the persona and process image identity.ts.
 */
import type { Socket } from 'node:net';
import { startHttpService } from '../../runtime/http.js';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import type { ConnInfo, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { combineRunning } from '../../runtime/udp.js';
import { startSnmp } from '../snmp/snmp.js';

import { hmiHandler } from './hmi.js';
import { identityFrom, ProcessImage, type PlcIdentity } from './identity.js';
import { encodeFrame, handlePdu, MODBUS_LIMITS, takeFrame } from './modbus.js';
import { handleTpkt, newSession, takeTpkt } from './s7.js';

/** Siemens SIMATIC NET's enterprise (4196, as its SNMP manuals give for its CPs), products subtree. */
const PLC_SYS_OBJECT_ID = '1.3.6.1.4.1.4196.1.1.5.2';

/** sysDescr a CPU with integrated PROFINET reports: "Siemens, SIMATIC S7, CPU315-2 PN/DP, 6ES7 ..., HW: 4, FW: V3.2.6". */
export function plcSysDescr(id: PlcIdentity): string {
  return `${id.vendor}, SIMATIC S7, ${id.product.replace(/^CPU\s+/, 'CPU')}, ${id.orderCode}, HW: 4, FW: ${id.version}`;
}

function modbusConn(ctx: ServiceContext, id: PlcIdentity, img: ProcessImage, socket: Socket, info: ConnInfo): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    try {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MODBUS_LIMITS.maxBuffered) buf = buf.subarray(0, MODBUS_LIMITS.maxBuffered);
      for (let n = 0; n < 64; n++) {
        const r = takeFrame(buf);
        if (r.kind === 'more') return;
        if (r.kind === 'error') {
          ctx.emit({ event: 'protocol_error', ...info, protocol: 'modbus', reason: r.reason, bytes: buf.length });
          socket.destroy();
          return;
        }
        buf = Buffer.from(r.rest);
        if (r.frame.proto !== 0) {
          ctx.emit({ event: 'protocol_error', ...info, protocol: 'modbus', reason: `protocol id ${r.frame.proto}` });
          continue; // a real stack ignores non-modbus protocol ids
        }
        const res = handlePdu(r.frame.pdu, r.frame.unit, id, img);
        ctx.emit({ event: 'command', ...info, protocol: 'modbus', ...res.command });
        safeWrite(socket, encodeFrame(r.frame.tid, r.frame.unit, res.reply));
      }
    } catch (err) {
      ctx.log('modbus handler failed', { err: String(err) });
      socket.destroy();
    }
  });
}

function s7Conn(ctx: ServiceContext, id: PlcIdentity, socket: Socket, info: ConnInfo): void {
  let buf = Buffer.alloc(0);
  const s = newSession(0x0001);
  socket.on('data', (chunk: Buffer) => {
    try {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > 4096) buf = buf.subarray(0, 4096);
      for (let n = 0; n < 32; n++) {
        const r = takeTpkt(buf);
        if (r.kind === 'more') return;
        if (r.kind === 'error') {
          ctx.emit({ event: 'protocol_error', ...info, protocol: 's7comm', reason: r.reason });
          socket.destroy();
          return;
        }
        buf = Buffer.from(r.rest);
        const step = handleTpkt(r.payload, s, id);
        if (step.event) ctx.emit({ event: 'command', ...info, protocol: 's7comm', ...step.event });
        if (step.error) ctx.emit({ event: 'protocol_error', ...info, protocol: 's7comm', reason: step.error });
        for (const rep of step.replies) safeWrite(socket, rep);
        if (step.close) {
          socket.end();
          return;
        }
      }
    } catch (err) {
      ctx.log('s7 handler failed', { err: String(err) });
      socket.destroy();
    }
  });
}

function combineTcp(parts: RunningService[]): RunningService {
  return { ports: parts.flatMap((p) => p.ports), close: async () => void (await Promise.all(parts.map((p) => p.close()))) };
}

export async function startConpot(ctx: ServiceContext): Promise<RunningService> {
  const id = identityFrom(ctx);
  const img = new ProcessImage(ctx.decky);
  const tcpParts: RunningService[] = [];
  try {
    for (const p of ctx.ports) {
      if (p.proto !== 'tcp') continue;
      const sub: ServiceContext = { ...ctx, ports: [p] };
      if (p.port === 80) tcpParts.push(await startHttpService(sub, hmiHandler(id, img), {}));
      else if (p.port === 102) tcpParts.push(await startTcpService(sub, (socket, info) => s7Conn(ctx, id, socket, info)));
      else tcpParts.push(await startTcpService(sub, (socket, info) => modbusConn(ctx, id, img, socket, info)));
    }
    const udp = ctx.ports.some((p) => p.proto === 'udp') ? await startSnmp(ctx, { defaultSysDescr: plcSysDescr(id), sysObjectId: PLC_SYS_OBJECT_ID }) : undefined;
    return combineRunning(ctx, { tcp: combineTcp(tcpParts), udp });
  } catch (err) {
    await Promise.all(tcpParts.map((p) => p.close()));
    throw err;
  }
}

export const conpotService: ServiceModule = {
  name: 'conpot',
  start: (ctx) => startConpot(ctx),
};
