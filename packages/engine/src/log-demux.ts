/**
 * PURE demultiplexer for Docker's non-TTY log stream: frames of an 8-byte header
 * (stream type, 3 zero bytes, big-endian payload size) followed by the payload.
 * Payload bytes are split into lines per stream; `timestamps: true` prefixes are parsed.
 */
import type { LogLine } from './engine.js';

const HEADER = 8;

export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  constructor(private readonly timestamps: boolean) {}

  /** Feeds bytes; returns the complete lines they finish. */
  push(chunk: Buffer): LogLine[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: LogLine[] = [];
    while (this.pending.length >= HEADER) {
      const type = this.pending[0];
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER + size) break;
      const payload = this.pending.subarray(HEADER, HEADER + size).toString('utf8');
      this.pending = this.pending.subarray(HEADER + size);
      const stream = type === 2 ? 'stderr' : 'stdout';
      this.feed(stream, payload, out);
    }
    return out;
  }

  /** Lines still buffered without a trailing newline. */
  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') out.push(this.line(stream, this.partial[stream]));
      this.partial[stream] = '';
    }
    return out;
  }

  private feed(stream: 'stdout' | 'stderr', text: string, out: LogLine[]): void {
    const parts = (this.partial[stream] + text).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const p of parts) out.push(this.line(stream, p.replace(/\r$/, '')));
  }

  private line(stream: 'stdout' | 'stderr', raw: string): LogLine {
    if (this.timestamps) {
      const m = /^(\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})) (.*)$/s.exec(raw);
      if (m?.[1] !== undefined && m[2] !== undefined) return { stream, time: m[1], line: m[2] };
    }
    return { stream, line: raw };
  }
}

/** Builds one frame (used by tests and by anything that needs to fake a stream). */
export function encodeFrame(stream: 'stdout' | 'stderr', payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const header = Buffer.alloc(HEADER);
  header[0] = stream === 'stderr' ? 2 : 1;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}
