/**
 * Socket hygiene shared by every TCP honeypot: bounded line reading, idle
 * timeouts, error handlers that make "unhandled 'error' event" impossible,
 * and connection info for events.
 */
import type { Socket } from 'node:net';
import type { ConnInfo } from './types.js';

export interface LineReaderOptions {
  /** max bytes in one line (excluding the terminator); default 4096 */
  maxLine?: number;
  /** max bytes held while waiting for a terminator; default 4 * maxLine */
  maxBuffered?: number;
  /** called for each complete line, terminator (\n, \r\n) stripped */
  onLine: (line: Buffer) => void;
  /** called once when a line exceeds maxLine; the reader drops further input */
  onOverflow: () => void;
}

export interface LineReader {
  push(chunk: Buffer): void;
  /** bytes currently buffered */
  readonly buffered: number;
  /** stop delivering lines (e.g. on close) */
  stop(): void;
}

/** A bounded line splitter. Lines end at \n; a preceding \r is stripped. */
export function createLineReader(opts: LineReaderOptions): LineReader {
  const maxLine = opts.maxLine ?? 4096;
  const maxBuffered = opts.maxBuffered ?? maxLine * 4;
  let buf: Buffer = Buffer.alloc(0);
  let stopped = false;
  const overflow = () => {
    stopped = true;
    buf = Buffer.alloc(0);
    opts.onOverflow();
  };
  return {
    push(chunk: Buffer) {
      if (stopped) return;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let nl: number;
      while (!stopped && (nl = buf.indexOf(0x0a)) !== -1) {
        let end = nl;
        if (end > 0 && buf[end - 1] === 0x0d) end -= 1;
        if (end > maxLine) return overflow();
        const line = buf.subarray(0, end);
        buf = buf.subarray(nl + 1);
        opts.onLine(Buffer.from(line));
      }
      if (!stopped && (buf.length > maxLine || buf.length > maxBuffered)) overflow();
    },
    get buffered() {
      return buf.length;
    },
    stop() {
      stopped = true;
      buf = Buffer.alloc(0);
    },
  };
}

/** Destroy the socket after `ms` without traffic in either direction. */
export function idleTimeout(socket: Socket, ms: number, onTimeout?: () => void): void {
  socket.setTimeout(ms);
  socket.once('timeout', () => {
    try {
      onTimeout?.();
    } catch {
      /* ignore */
    }
    socket.destroy();
  });
}

/** Attach error handlers so socket errors (ECONNRESET, EPIPE, ...) are never unhandled. */
export function safeSocket(socket: Socket, onError?: (err: Error) => void): Socket {
  socket.on('error', (err) => {
    try {
      onError?.(err);
    } catch {
      /* ignore */
    }
    socket.destroy();
  });
  return socket;
}

/** Write without ever throwing (the peer may be gone). */
export function safeWrite(socket: Socket, data: string | Buffer): void {
  try {
    if (!socket.destroyed && socket.writable) socket.write(data);
  } catch {
    /* ignore */
  }
}

export function stripV4Mapped(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

export function connInfo(socket: Socket): ConnInfo {
  return {
    src_ip: stripV4Mapped(socket.remoteAddress),
    src_port: socket.remotePort ?? 0,
    dst_port: socket.localPort ?? 0,
  };
}

/** Tracks live sockets of a server so close() can end them, and enforces a connection cap. */
export class ConnectionTracker {
  private readonly live = new Set<Socket>();
  constructor(readonly max: number = 256) {}
  /**
   * Returns false when the cap is reached, and closes the socket cleanly (FIN, never a
   * reset): what a client that speaks first already sent is read and dropped, so closing
   * with unread bytes cannot turn into a RST; destroyed after 2 s whatever the peer does.
   */
  admit(socket: Socket): boolean {
    if (this.live.size >= this.max) {
      socket.on('data', () => undefined);
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
      return false;
    }
    this.live.add(socket);
    socket.once('close', () => this.live.delete(socket));
    return true;
  }
  get size(): number {
    return this.live.size;
  }
  destroyAll(): void {
    for (const s of this.live) s.destroy();
    this.live.clear();
  }
}
