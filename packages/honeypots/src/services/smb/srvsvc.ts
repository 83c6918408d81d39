/**
 * Named-pipe endpoints of the SMB decoy (\PIPE\srvsvc, \PIPE\wkssvc): the SMB2 layer
 * hands each opened pipe's WRITE / READ / FSCTL_PIPE_TRANSCEIVE bytes to a
 * PipeEndpoint, which speaks DCE/RPC (protocols/dcerpc*.ts) and answers share and
 * server enumeration from the persona and the configured share list, so
 * `smbclient -L`, impacket and nmap list the decoy's shares.
 */
import type { Persona } from '@decnet/api';
import { RpcServer, type RpcInterface } from '../../protocols/dcerpc-server.js';
import { srvsvcInterface } from './srvsvc-ops.js';
import { wkssvcInterface } from './wkssvc-ops.js';

export interface ShareInfo {
  name: string;
  /** STYPE: 0 disk, 1 print queue, 3 IPC, | 0x80000000 for special shares (ADMIN$, C$, IPC$) */
  type: number;
  comment: string;
}

export type PipeCallListener = (call: { pipe: string; opnum: number; operation: string }) => void;

export class PipeEndpoint {
  private readonly rpc: RpcServer;

  constructor(
    readonly pipe: string,
    persona: Persona,
    shares: ShareInfo[],
    onCall?: PipeCallListener,
  ) {
    const name = pipeName(pipe);
    const interfaces: RpcInterface[] = name === 'wkssvc' ? [wkssvcInterface(persona)] : name === 'srvsvc' ? [srvsvcInterface(persona, shares)] : [];
    this.rpc = new RpcServer({
      secondaryAddress: `\\PIPE\\${name}`,
      interfaces,
      ...(onCall ? { onCall: (c: { opnum: number; operation: string }) => onCall({ pipe: name, ...c }) } : {}),
    });
  }

  /** The client wrote bytes to the pipe (SMB2 WRITE). */
  write(data: Buffer): void {
    this.rpc.write(data);
  }

  /**
   * Up to `max` bytes of the next reply message; empty when none. Replies are kept as
   * separate messages (one per RPC fragment): when `available` is still non-zero after
   * a read, the message was longer than `max` (STATUS_BUFFER_OVERFLOW on a message pipe).
   */
  read(max: number): Buffer {
    return this.rpc.read(max);
  }

  /** Bytes left in the current reply message (0 when nothing is waiting). */
  get available(): number {
    return this.rpc.available;
  }

  /** FSCTL_PIPE_TRANSCEIVE: write a request, return (up to maxOut bytes of) its reply. */
  transceive(data: Buffer, maxOut: number): Buffer {
    this.write(data);
    return this.read(maxOut);
  }

  /** Held bytes (input, reassembly, unread output), for bound checks in tests. */
  get buffered(): { input: number; reassembly: number; output: number } {
    return this.rpc.buffered;
  }
}

/** "\\PIPE\\SrvSvc" / "srvsvc" -> "srvsvc". */
function pipeName(name: string): string {
  return name
    .replace(/^[\\/]+/, '')
    .replace(/^pipe[\\/]+/i, '')
    .toLowerCase();
}

const PIPES = new Set(['srvsvc', 'wkssvc']);

/** The endpoint for a pipe the decoy serves ('srvsvc', 'wkssvc', case-insensitive, with or without \PIPE\); undefined otherwise. */
export function pipeFor(name: string, persona: Persona, shares: ShareInfo[], onCall?: PipeCallListener): PipeEndpoint | undefined {
  return PIPES.has(pipeName(name)) ? new PipeEndpoint(name, persona, shares, onCall) : undefined;
}
