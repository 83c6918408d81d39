/**
 * A tiny raw TCP client for service tests: collects everything received and
 * waits for patterns, so tests read like a conversation.
 */
import net from 'node:net';

export interface RawClient {
  socket: net.Socket;
  /** all bytes received so far */
  received(): Buffer;
  /** text received since the last `expect` (latin1, so bytes are preserved) */
  expect(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  send(data: string | Buffer): void;
  /** resolves when the server closes the connection */
  closed: Promise<void>;
  close(): void;
}

export function rawConnect(port: number, host = '127.0.0.1'): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let all = Buffer.alloc(0);
    let mark = 0;
    let notify: (() => void) | undefined;
    socket.on('data', (d: Buffer) => {
      all = Buffer.concat([all, d]);
      notify?.();
    });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => all,
        closed,
        send: (d) => {
          if (!socket.destroyed) socket.write(d);
        },
        close: () => socket.destroy(),
        expect(pattern, timeoutMs = 5000) {
          return new Promise((res, rej) => {
            const check = () => {
              const text = all.subarray(mark).toString('latin1');
              const hit = typeof pattern === 'string' ? text.indexOf(pattern) : text.search(pattern);
              if (hit >= 0) {
                const m = typeof pattern === 'string' ? pattern : (text.slice(hit).match(pattern)?.[0] ?? '');
                const upto = hit + m.length;
                mark += Buffer.byteLength(text.slice(0, upto), 'latin1');
                clearTimeout(timer);
                notify = undefined;
                res(text.slice(0, upto));
                return true;
              }
              return false;
            };
            const timer = setTimeout(() => {
              notify = undefined;
              rej(new Error(`timeout waiting for ${String(pattern)}; got ${JSON.stringify(all.subarray(mark).toString('latin1'))}`));
            }, timeoutMs);
            if (!check()) notify = () => void check();
          });
        },
      }),
    );
    socket.once('error', reject);
  });
}
