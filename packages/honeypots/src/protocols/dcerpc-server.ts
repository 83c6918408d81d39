/**
 * The server side of one connection-oriented DCE/RPC association over a message-mode
 * named pipe: splits the client's byte stream into PDUs, answers binds, reassembles
 * fragmented requests, dispatches them to an interface and queues the reply PDUs as
 * separate pipe messages (one per fragment, as Windows writes them). Every buffer is
 * bounded and nothing thrown by an interface escapes: it becomes a FAULT.
 */
import { randomInt } from 'node:crypto';
import {
  BIND_NAK_REASON,
  CONTEXT_RESULT,
  COMMON_HEADER_LEN,
  NCA,
  PFC,
  PTYPE,
  type BindPdu,
  type RequestPdu,
  type SyntaxId,
  buildBindAck,
  buildBindNak,
  buildFault,
  buildResponse,
  negotiateContext,
  parseHeader,
  parsePdu,
} from './dcerpc.js';
import { NdrError } from './ndr.js';

export type CallResult = { stub: Buffer } | { fault: number };

export interface RpcInterface {
  syntax: SyntaxId;
  /** the operation's name for events ("NetrShareEnum"); undefined beyond the interface's opnum range */
  operation(opnum: number): string | undefined;
  /** run one call (faulting nca_s_op_rng_error for operations not served); may throw NdrError for malformed stubs */
  call(opnum: number, stub: Buffer, littleEndian: boolean): CallResult;
}

export interface RpcServerOptions {
  /** secondary address of the BIND_ACK, e.g. "\\PIPE\\srvsvc" */
  secondaryAddress: string;
  interfaces: RpcInterface[];
  onCall?: (call: { opnum: number; operation: string }) => void;
}

/** What Windows offers as its fragment sizes; clients get min(theirs, this). */
const SERVER_MAX_FRAG = 4280;
/** C706: every implementation accepts fragments of at least this size. */
const MIN_FRAG = 1432;
/** Largest reassembled request stub: the calls we serve take a few hundred bytes. */
export const MAX_REQUEST_STUB = 256 * 1024;
/** Reply bytes queued but not yet read; beyond this new requests are not answered. */
export const MAX_PENDING_OUTPUT = 1024 * 1024;
/** Largest PDU: frag_length is 16 bits. */
const MAX_PDU = 0xffff;

interface Reassembly {
  callId: number;
  contextId: number;
  opnum: number;
  littleEndian: boolean;
  parts: Buffer[];
  size: number;
}

const clampFrag = (n: number) => Math.min(SERVER_MAX_FRAG, Math.max(MIN_FRAG, n));

export class RpcServer {
  private inbuf = Buffer.alloc(0);
  private readonly out: Buffer[] = [];
  private outBytes = 0;
  private readonly contexts = new Map<number, RpcInterface>();
  private bound = false;
  private xmitFrag = SERVER_MAX_FRAG;
  private assocGroup = 0;
  private pending: Reassembly | undefined;

  constructor(private readonly opts: RpcServerOptions) {}

  /** Bytes the client wrote to the pipe. */
  write(data: Buffer): void {
    try {
      this.inbuf = this.inbuf.length ? Buffer.concat([this.inbuf, data]) : Buffer.from(data);
      while (this.inbuf.length >= COMMON_HEADER_LEN) {
        const header = parseHeader(this.inbuf);
        if (!header) {
          // not DCE/RPC: a Windows server would drop the pipe; we drop the bytes
          this.inbuf = Buffer.alloc(0);
          return;
        }
        if (this.inbuf.length < header.fragLength) break;
        const pdu = this.inbuf.subarray(0, header.fragLength);
        this.inbuf = this.inbuf.subarray(header.fragLength);
        this.handle(pdu);
      }
      if (this.inbuf.length > MAX_PDU) this.inbuf = Buffer.alloc(0);
      else this.inbuf = Buffer.from(this.inbuf); // do not pin a large write's memory
    } catch {
      this.inbuf = Buffer.alloc(0);
      this.pending = undefined;
    }
  }

  /** Up to `max` bytes of the next reply message (the rest of it stays for the next read). */
  read(max: number): Buffer {
    const head = this.out[0];
    if (!head || max <= 0) return Buffer.alloc(0);
    if (head.length <= max) {
      this.out.shift();
      this.outBytes -= head.length;
      return head;
    }
    this.out[0] = head.subarray(max);
    this.outBytes -= max;
    return head.subarray(0, max);
  }

  /** Bytes left in the reply message a read would return now (0 when none). */
  get available(): number {
    return this.out[0]?.length ?? 0;
  }

  /** Bytes currently held for reassembly and unread output (for bound checks). */
  get buffered(): { input: number; reassembly: number; output: number } {
    return { input: this.inbuf.length, reassembly: this.pending?.size ?? 0, output: this.outBytes };
  }

  private queue(msg: Buffer): void {
    if (this.outBytes + msg.length > MAX_PENDING_OUTPUT) return;
    this.out.push(msg);
    this.outBytes += msg.length;
  }

  private handle(raw: Buffer): void {
    const pdu = parsePdu(raw);
    if (!pdu) {
      const h = parseHeader(raw);
      if (h && (h.ptype === PTYPE.bind || h.ptype === PTYPE.alterContext)) this.queue(buildBindNak(h.callId, BIND_NAK_REASON.notSpecified));
      else if (h && h.ptype === PTYPE.request) this.queue(buildFault(h.callId, 0, NCA.protoError));
      return;
    }
    if (pdu.kind === 'bind' || pdu.kind === 'alter_context') return this.handleBind(pdu);
    if (pdu.kind === 'request') return this.handleRequest(pdu);
    const { ptype, callId } = pdu.header;
    if ((ptype === PTYPE.coCancel || ptype === PTYPE.orphaned) && this.pending?.callId === callId) this.pending = undefined;
    // AUTH3, SHUTDOWN and PDUs only a server sends need no answer
  }

  private handleBind(pdu: BindPdu): void {
    const alter = pdu.kind === 'alter_context';
    if (pdu.contexts.length === 0 || (alter && !this.bound)) {
      this.queue(buildBindNak(pdu.header.callId, BIND_NAK_REASON.notSpecified));
      return;
    }
    if (!alter) {
      this.xmitFrag = clampFrag(pdu.maxRecvFrag);
      this.assocGroup = pdu.assocGroup || randomInt(0x1000, 0x20000);
      this.bound = true;
    }
    const results = pdu.contexts.map((ctx) => {
      const iface = this.opts.interfaces.find((i) => i.syntax.uuid === ctx.abstract.uuid && i.syntax.major === ctx.abstract.major && ctx.abstract.minor <= i.syntax.minor);
      const r = negotiateContext(ctx, () => iface !== undefined);
      if (r.result === CONTEXT_RESULT.acceptance && iface) this.contexts.set(ctx.contextId, iface);
      return r;
    });
    this.queue(
      buildBindAck({
        callId: pdu.header.callId,
        alter,
        maxXmitFrag: this.xmitFrag,
        maxRecvFrag: alter ? this.xmitFrag : clampFrag(pdu.maxXmitFrag),
        assocGroup: this.assocGroup,
        secondaryAddress: this.opts.secondaryAddress,
        results,
      }),
    );
  }

  private handleRequest(pdu: RequestPdu): void {
    const { callId, flags, littleEndian } = pdu.header;
    if (!this.bound) {
      this.queue(buildFault(callId, pdu.contextId, NCA.protoError));
      return;
    }
    const first = (flags & PFC.firstFrag) !== 0;
    const last = (flags & PFC.lastFrag) !== 0;
    if (first) this.pending = { callId, contextId: pdu.contextId, opnum: pdu.opnum, littleEndian, parts: [], size: 0 };
    const call = this.pending;
    if (!call || call.callId !== callId) {
      this.queue(buildFault(callId, pdu.contextId, NCA.protoError));
      return;
    }
    call.size += pdu.stub.length;
    if (call.size > MAX_REQUEST_STUB) {
      this.pending = undefined;
      this.queue(buildFault(callId, call.contextId, NCA.protoError));
      return;
    }
    call.parts.push(pdu.stub);
    if (!last) return;
    this.pending = undefined;
    this.dispatch(call, Buffer.concat(call.parts, call.size));
  }

  private dispatch(call: Reassembly, stub: Buffer): void {
    if (this.outBytes >= MAX_PENDING_OUTPUT) return;
    const iface = this.contexts.get(call.contextId);
    if (!iface) {
      this.queue(buildFault(call.callId, call.contextId, NCA.unknownInterface));
      return;
    }
    const name = iface.operation(call.opnum);
    this.opts.onCall?.({ opnum: call.opnum, operation: name ?? `opnum_${call.opnum}` });
    if (name === undefined) {
      this.queue(buildFault(call.callId, call.contextId, NCA.opRangeError));
      return;
    }
    let result: CallResult;
    try {
      result = iface.call(call.opnum, stub, call.littleEndian);
    } catch (e) {
      result = { fault: e instanceof NdrError ? NCA.badStubData : NCA.protoError };
    }
    if ('fault' in result) {
      this.queue(buildFault(call.callId, call.contextId, result.fault));
      return;
    }
    const frags = buildResponse(call.callId, call.contextId, result.stub, this.xmitFrag);
    // all fragments or none: a half-queued reply would desynchronise the client
    if (this.outBytes + frags.reduce((n, f) => n + f.length, 0) > MAX_PENDING_OUTPUT) return;
    for (const frag of frags) this.queue(frag);
  }
}
