/**
 * TFTP server (69/udp) of a network device / provisioning host, tftpd-hpa flavoured.
 * Requests arrive on the listening port (runtime/udp.ts: bounded datagrams, reply
 * budget); each accepted transfer runs on its own ephemeral socket (its transfer id,
 * RFC 1350) with 1 s retransmits, 3 retries. Reads serve the fake tree of files.ts;
 * writes are taken into memory (capped) and stored in the quarantine dir by sha256.
 */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startUdpService } from '../../runtime/udp.js';
import { stripV4Mapped } from '../../runtime/limits.js';
import type { ConnInfo, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { encode, ERR, ERR_MSG, fromNetascii, LIMITS, parse, toNetascii, type Packet } from './tftp-codec.js';
import { ReadTransfer, WriteTransfer, type Step } from './tftp-transfer.js';
import { fileTree, isTraversal } from './files.js';

export interface TftpLimits {
  maxTransfers: number;
  maxPerSource: number;
  maxUploadBytes: number;
  quarantineBytes: number;
}
export const TFTP_LIMITS: TftpLimits = { maxTransfers: 64, maxPerSource: 4, maxUploadBytes: 1024 * 1024, quarantineBytes: 64 * 1024 * 1024 };

const MODES = new Set(['netascii', 'octet']);

/** printable form of attacker strings for events */
const printable = (s: string) => s.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export async function startTftp(ctx: ServiceContext, limits: TftpLimits = TFTP_LIMITS): Promise<RunningService> {
  const files = fileTree({ hostname: ctx.hostname, persona: ctx.persona });
  const active = new Set<{ close(): void; src: string }>();
  const perSource = new Map<string, number>();
  let quarantineUsed = 0;

  const runTransfer = (info: ConnInfo, peerAddr: string, t: ReadTransfer | WriteTransfer, onEnd: (s: Step) => void) => {
    const sock = dgram.createSocket('udp4');
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const entry = {
      src: info.src_ip,
      close: () => {
        if (closed) return;
        closed = true;
        if (timer) clearTimeout(timer);
        active.delete(entry);
        const n = (perSource.get(info.src_ip) ?? 1) - 1;
        if (n <= 0) perSource.delete(info.src_ip);
        else perSource.set(info.src_ip, n);
        try {
          sock.close();
        } catch {
          /* already closed */
        }
      },
    };
    active.add(entry);
    perSource.set(info.src_ip, (perSource.get(info.src_ip) ?? 0) + 1);
    const send = (b: Buffer) => {
      if (closed || b.length > 4 + t.neg.blksize) return;
      sock.send(b, info.src_port, peerAddr, () => {});
    };
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => apply(t.onTimeout()), t.neg.timeoutS * 1000);
    };
    let ended = false;
    const apply = (s: Step) => {
      if (s.send) send(s.send);
      if (s.outcome && !ended) {
        ended = true;
        onEnd(s);
      }
      if (s.done) {
        // let the last packet leave before closing
        setImmediate(entry.close);
        return;
      }
      arm();
    };
    sock.on('error', (err) => {
      ctx.log('tftp transfer socket error', { err: err.message });
      entry.close();
    });
    sock.on('message', (msg, rinfo) => {
      // packets from another transfer id are dropped
      if (rinfo.port !== info.src_port || stripV4Mapped(rinfo.address) !== info.src_ip) return;
      if (msg.length > LIMITS.maxPacket) return;
      const p: Packet = parse(msg);
      if (p.kind === 'invalid') {
        ctx.emit({ event: 'protocol_error', ...info, reason: p.reason, bytes: msg.length });
        return;
      }
      apply(t.onPacket(p));
    });
    sock.bind(0, ctx.bindHost, () => apply(t.start()));
  };

  const store = (info: ConnInfo, filename: string, mode: string, w: WriteTransfer, outcome: Step['outcome']) => {
    let data = w.received;
    if (mode === 'netascii') data = fromNetascii(data);
    const sha256 = createHash('sha256').update(data).digest('hex');
    let stored: string | undefined;
    if (outcome === 'complete' && data.length > 0 && quarantineUsed + data.length <= limits.quarantineBytes) {
      try {
        stored = `${sha256}.bin`;
        writeFileSync(join(ctx.quarantineDir, stored), data);
        quarantineUsed += data.length;
      } catch (err) {
        stored = undefined;
        ctx.log('tftp quarantine write failed', { err: String(err) });
      }
    }
    ctx.emit({
      event: 'upload_attempt',
      ...info,
      filename,
      mode,
      size: data.length,
      sha256,
      outcome: outcome ?? 'complete',
      truncated: outcome === 'too_large',
      ...(stored ? { stored } : {}),
    });
  };

  return startUdpService(
    ctx,
    (msg, info, reply) => {
      const p = parse(msg);
      if (p.kind === 'invalid') {
        ctx.emit({ event: 'protocol_error', ...info, reason: p.reason, bytes: msg.length });
        return;
      }
      if (p.kind !== 'rrq' && p.kind !== 'wrq') {
        // a stray DATA/ACK to port 69 is not a request: tftpd-hpa ignores it, we log it
        if (p.kind !== 'error') ctx.emit({ event: 'protocol_error', ...info, reason: `unexpected ${p.kind} on port 69` });
        return;
      }
      const filename = printable(p.filename);
      const mode = printable(p.mode);
      const options = Object.fromEntries(Object.entries(p.options).map(([k, v]) => [printable(k), printable(v)]));
      const base = { ...info, filename, mode, options };
      const event = p.kind === 'rrq' ? 'download_attempt' : 'request';
      if (!MODES.has(p.mode)) {
        ctx.emit({ event, ...base, op: p.kind, result: 'bad_mode' });
        reply(encode.error(ERR.ILLEGAL, 'Unknown mode'));
        return;
      }
      if (isTraversal(p.filename)) {
        ctx.emit({ event, ...base, op: p.kind, result: 'access_violation' });
        reply(encode.error(ERR.ACCESS));
        return;
      }
      const content = p.kind === 'rrq' ? files.get(p.filename) : undefined;
      if (p.kind === 'rrq' && !content) {
        ctx.emit({ event, ...base, op: p.kind, result: 'not_found' });
        reply(encode.error(ERR.NOT_FOUND));
        return;
      }
      if (active.size >= limits.maxTransfers || (perSource.get(info.src_ip) ?? 0) >= limits.maxPerSource) {
        ctx.emit({ event, ...base, op: p.kind, result: 'busy' });
        reply(encode.error(ERR.UNDEF, ERR_MSG[ERR.UNDEF]));
        return;
      }
      if (p.kind === 'rrq') {
        const data = p.mode === 'netascii' ? toNetascii(content!) : content!;
        ctx.emit({ event, ...base, op: 'rrq', result: 'sent', size: data.length });
        runTransfer(info, info.src_ip, new ReadTransfer(data, p.options), () => {});
      } else {
        ctx.emit({ event, ...base, op: 'wrq', result: 'accepted' });
        const w = new WriteTransfer(p.options, limits.maxUploadBytes);
        runTransfer(info, info.src_ip, w, (s) => store(info, filename, p.mode, w, s.outcome));
      }
    },
    { maxDatagram: LIMITS.maxRequest, maxReplyBytes: 516 },
  ).then((svc) => ({
    ports: svc.ports,
    async close() {
      for (const t of [...active]) t.close();
      await svc.close();
    },
  }));
}

export const tftpService: ServiceModule = {
  name: 'tftp',
  start: (ctx) => startTftp(ctx),
};
