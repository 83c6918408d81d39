/**
 * FTP data connections: a one-shot passive listener that only admits the
 * control connection's peer, and the size-capped upload capture that writes
 * into the quarantine directory and hashes what it got.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import net, { type Socket } from 'node:net';
import { join } from 'node:path';
import { safeSocket, stripV4Mapped } from '../../runtime/limits.js';
import { listenTcp } from '../../runtime/tcp.js';

export class PassiveChannel {
  private conn: Socket | undefined;
  private waiter: ((s: Socket | undefined) => void) | undefined;
  private timer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => this.close(), timeoutMs);
  }

  /** Listen on `host` port 0; only a connection from `peerIp` is accepted. */
  static async open(host: string, peerIp: string, timeoutMs = 30_000): Promise<PassiveChannel> {
    const server = net.createServer();
    server.maxConnections = 4;
    server.on('error', () => undefined);
    const port = await listenTcp(server, host, 0);
    const ch = new PassiveChannel(server, port, timeoutMs);
    server.on('connection', (s) => {
      safeSocket(s);
      if (ch.conn || stripV4Mapped(s.remoteAddress) !== peerIp) return void s.destroy();
      ch.conn = s;
      server.close();
      ch.waiter?.(s);
    });
    return ch;
  }

  /** The client's data connection, or undefined if it never came (timeout/close). */
  socket(): Promise<Socket | undefined> {
    if (this.conn || this.closed) return Promise.resolve(this.conn);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.server.close();
    if (!this.conn) this.waiter?.(undefined);
    this.conn?.destroy();
  }
}

/** Send `data` on a data connection and close it; resolves true when all was flushed. */
export function sendData(socket: Socket, data: string | Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    socket.once('close', () => resolve(false));
    socket.end(data, () => resolve(true));
  });
}

export interface UploadResult {
  bytes: number;
  sha256: string;
  /** file name inside the quarantine dir, when stored */
  stored?: string;
  /** the upload hit the size cap or the quarantine budget and was aborted */
  truncated: boolean;
}

/** Shared quarantine budget across uploads of one service. */
export interface QuarantineBudget {
  remaining: number;
}

/** Read a data connection into the quarantine dir, at most `maxBytes` (then abort). */
export function captureUpload(socket: Socket, dir: string, maxBytes: number, budget: QuarantineBudget): Promise<UploadResult> {
  const hash = createHash('sha256');
  const tmp = join(dir, `.part-${randomBytes(6).toString('hex')}`);
  const out = createWriteStream(tmp, { mode: 0o600 });
  let bytes = 0;
  let truncated = false;
  let writeFailed = false;
  out.on('error', () => {
    writeFailed = true;
  });
  return new Promise((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      if (truncated) return;
      const room = Math.min(maxBytes - bytes, budget.remaining);
      const part = chunk.length > room ? chunk.subarray(0, Math.max(0, room)) : chunk;
      bytes += part.length;
      budget.remaining -= part.length;
      hash.update(part);
      if (!writeFailed && part.length && !out.write(part)) {
        socket.pause();
        out.once('drain', () => socket.resume());
      }
      if (part.length < chunk.length) {
        truncated = true;
        socket.destroy();
      }
    });
    socket.once('close', () => {
      out.end(async () => {
        const sha256 = hash.digest('hex');
        let stored: string | undefined;
        try {
          if (writeFailed || bytes === 0) await rm(tmp, { force: true });
          else {
            stored = `${sha256}.bin`;
            await rename(tmp, join(dir, stored));
          }
        } catch {
          stored = undefined;
        }
        resolve({ bytes, sha256, truncated, ...(stored ? { stored } : {}) });
      });
    });
  });
}
