/**
 * TFTP transfer state machines (pure, no sockets or timers): option negotiation,
 * a read (we send DATA, await ACKs) and a write (we receive DATA into a capped buffer).
 * The shell feeds packets and timeouts in and sends what comes out.
 */
import { encode, ERR, type Packet } from './tftp-codec.js';

export const BLKSIZE_DEFAULT = 512;
/** the largest block that fits an Ethernet frame (1500 - IP 20 - UDP 8 - TFTP 4) */
export const BLKSIZE_MAX = 1468;
export const RETRIES = 3;
export const TIMEOUT_S = 1;

export interface Negotiated {
  blksize: number;
  timeoutS: number;
  /** options to acknowledge in an OACK; empty means no OACK */
  oack: Record<string, string>;
}

/** Honour blksize/tsize/timeout only when asked (RFC 2347); `size` answers tsize on a read. */
export function negotiate(options: Record<string, string>, size: number | undefined): Negotiated {
  const oack: Record<string, string> = {};
  let blksize = BLKSIZE_DEFAULT;
  let timeoutS = TIMEOUT_S;
  const num = (v: string | undefined) => (v !== undefined && /^\d{1,6}$/.test(v) ? Number(v) : NaN);
  const b = num(options['blksize']);
  if (b >= 8) {
    blksize = Math.min(b, BLKSIZE_MAX);
    oack['blksize'] = String(blksize);
  }
  const t = num(options['timeout']);
  if (t >= 1 && t <= 255) {
    timeoutS = Math.min(t, 5);
    oack['timeout'] = String(t);
  }
  const s = num(options['tsize']);
  if (!Number.isNaN(s)) oack['tsize'] = String(size ?? s);
  return { blksize, timeoutS, oack };
}

export interface Step {
  /** packet to send now (also the one to retransmit on timeout) */
  send?: Buffer;
  /** the transfer is over: close after sending */
  done?: boolean;
  /** why it ended, for the event */
  outcome?: 'complete' | 'aborted' | 'timeout' | 'too_large';
}

/** We serve a file: DATA n, wait ACK n, ... a final short block ends it. */
/** What both directions share: the last packet sent, retransmitted on timeout up to RETRIES times. */
abstract class Retransmitting {
  protected last: Buffer | undefined;
  protected retries = 0;
  protected finished = false;
  onTimeout(): Step {
    if (this.finished) return { done: true };
    if (this.retries >= RETRIES) return this.end('timeout');
    this.retries += 1;
    return this.last ? { send: this.last } : {};
  }
  protected end(outcome: Step['outcome']): Step {
    this.finished = true;
    return { done: true, outcome };
  }
}

export class ReadTransfer extends Retransmitting {
  private block = 0;
  readonly neg: Negotiated;
  constructor(private readonly content: Buffer, options: Record<string, string>) {
    super();
    this.neg = negotiate(options, content.length);
  }
  private blocks(): number {
    return Math.floor(this.content.length / this.neg.blksize) + 1;
  }
  private dataFor(n: number): Buffer {
    const start = (n - 1) * this.neg.blksize;
    return encode.data(n, this.content.subarray(start, start + this.neg.blksize));
  }
  start(): Step {
    if (Object.keys(this.neg.oack).length > 0) {
      this.last = encode.oack(this.neg.oack);
      return { send: this.last };
    }
    return this.next();
  }
  private next(): Step {
    this.block += 1;
    this.retries = 0;
    this.last = this.dataFor(this.block);
    return { send: this.last };
  }
  onPacket(p: Packet): Step {
    if (this.finished) return { done: true };
    if (p.kind === 'error') return this.end('aborted');
    if (p.kind !== 'ack') return {};
    if (p.block !== (this.block & 0xffff)) return {}; // duplicate/old ACK: ignore (no Sorcerer's Apprentice)
    if (this.block >= this.blocks()) return this.end('complete');
    return this.next();
  }
  get bytesSent(): number {
    return Math.min(this.content.length, this.block * this.neg.blksize);
  }
}

/** We accept a file: ACK 0 (or OACK), then DATA n -> ACK n until a short block. */
export class WriteTransfer extends Retransmitting {
  private expect = 1;
  private chunks: Buffer[] = [];
  private size = 0;
  readonly neg: Negotiated;
  constructor(options: Record<string, string>, private readonly maxBytes: number) {
    super();
    this.neg = negotiate(options, undefined);
  }
  start(): Step {
    const declared = Number(this.neg.oack['tsize']);
    if (declared > this.maxBytes) {
      this.finished = true;
      return { send: encode.error(ERR.DISK_FULL), done: true, outcome: 'too_large' };
    }
    this.last = Object.keys(this.neg.oack).length > 0 ? encode.oack(this.neg.oack) : encode.ack(0);
    return { send: this.last };
  }
  onPacket(p: Packet): Step {
    if (this.finished) {
      // duplicate final DATA: re-ACK it (dally)
      if (p.kind === 'data' && p.block === ((this.expect - 1) & 0xffff) && this.last) return { send: this.last, done: true };
      return { done: true };
    }
    if (p.kind === 'error') return this.end('aborted');
    if (p.kind !== 'data') return {};
    if (p.block === ((this.expect - 1) & 0xffff)) return this.last ? { send: this.last } : {};
    if (p.block !== (this.expect & 0xffff)) return {};
    if (p.data.length > this.neg.blksize) return {};
    if (this.size + p.data.length > this.maxBytes) {
      this.finished = true;
      return { send: encode.error(ERR.DISK_FULL), done: true, outcome: 'too_large' };
    }
    this.chunks.push(p.data);
    this.size += p.data.length;
    this.last = encode.ack(this.expect);
    this.expect += 1;
    this.retries = 0;
    if (p.data.length < this.neg.blksize) {
      this.finished = true;
      return { send: this.last, outcome: 'complete' };
    }
    return { send: this.last };
  }
  get complete(): boolean {
    return this.finished;
  }
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }
  get bytes(): number {
    return this.size;
  }
}
