/**
 * Bounded framing for binary protocols (NetBIOS session service, TPKT, TDS, BER):
 * bytes in, whole frames out. `frameLength` looks at the buffered prefix and says
 * how long the next frame is (undefined: need more bytes, a negative number: the
 * stream is not this protocol). Nothing is buffered beyond `maxFrame`.
 */
export interface FrameReaderOptions {
  frameLength(buf: Buffer): number | undefined;
  /** the largest frame accepted; a larger one is an overflow */
  maxFrame: number;
  onFrame(frame: Buffer): void;
  /** called once, for a frame over maxFrame or an invalid header; the reader stops */
  onError(reason: 'overflow' | 'invalid'): void;
}

export interface FrameReader {
  push(chunk: Buffer): void;
  stop(): void;
  readonly buffered: number;
}

export function createFrameReader(opts: FrameReaderOptions): FrameReader {
  let buf: Buffer = Buffer.alloc(0);
  let stopped = false;
  const fail = (reason: 'overflow' | 'invalid') => {
    stopped = true;
    buf = Buffer.alloc(0);
    opts.onError(reason);
  };
  return {
    push(chunk) {
      if (stopped) return;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (!stopped && buf.length > 0) {
        let len: number | undefined;
        try {
          len = opts.frameLength(buf);
        } catch {
          len = -1;
        }
        if (len === undefined) {
          if (buf.length > opts.maxFrame) fail('overflow');
          return;
        }
        if (!Number.isInteger(len) || len <= 0) return fail('invalid');
        if (len > opts.maxFrame) return fail('overflow');
        if (buf.length < len) return;
        const frame = Buffer.from(buf.subarray(0, len));
        buf = buf.subarray(len);
        opts.onFrame(frame);
      }
    },
    stop() {
      stopped = true;
      buf = Buffer.alloc(0);
    },
    get buffered() {
      return buf.length;
    },
  };
}
