/**
 * RFB (VNC) server handshake as a pure state machine: version exchange (3.3, 3.7,
 * 3.8, RFC 6143 and the 3.3/3.7 spec), security type negotiation, VNC
 * authentication (a 16-byte challenge; the client's DES response is kept for
 * offline cracking) and the failure as the server of that version sends it.
 * Every login fails. No I/O: feed() takes the bytes the client sent and returns
 * what to write, what to record and whether to close.
 */
export type RfbVersion = '003.003' | '003.007' | '003.008';

export const VNC_AUTH = 2;
/** the reason RealVNC/TigerVNC-style servers give in a 3.8 SecurityResult failure */
export const AUTH_FAILED_REASON = 'Authentication failed';
/** a client's version line is 12 bytes; nothing before it is longer */
const VERSION_LEN = 12;

export type RfbEvent =
  | { kind: 'version'; client: string; negotiated: RfbVersion }
  | { kind: 'security_type'; type: number }
  | { kind: 'auth'; challenge: Buffer; response: Buffer; version: RfbVersion }
  | { kind: 'error'; message: string };

export interface RfbStep {
  out: Buffer[];
  events: RfbEvent[];
  close: boolean;
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** The server's ProtocolVersion message. */
export const serverHello = (v: RfbVersion): Buffer => Buffer.from(`RFB ${v}\n`, 'latin1');

/**
 * The version both sides speak: the client's, capped at the server's; minors other
 * than 7 and 8 are 3.3 (RFC 6143 7.1.1), 3.889 (Apple) counts as 3.8.
 */
export function negotiate(server: RfbVersion, clientLine: string): RfbVersion | undefined {
  const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(clientLine);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major < 3) return undefined;
  const client = major > 3 || minor >= 8 ? 8 : minor === 7 ? 7 : 3;
  const cap = Number(server.slice(4));
  const v = Math.min(client, cap);
  return v >= 8 ? '003.008' : v === 7 ? '003.007' : '003.003';
}

type State = 'version' | 'sectype' | 'response' | 'done';

export class RfbSession {
  private state: State = 'version';
  private buf = Buffer.alloc(0);
  private version: RfbVersion = '003.003';

  constructor(
    private readonly serverVersion: RfbVersion,
    private readonly challenge: Buffer,
  ) {
    if (challenge.length !== 16) throw new Error('the VNC challenge is 16 bytes');
  }

  get negotiated(): RfbVersion {
    return this.version;
  }

  feed(chunk: Buffer): RfbStep {
    const step: RfbStep = { out: [], events: [], close: false };
    if (this.state === 'done') return step;
    // at most 16 bytes are ever awaited: keep no more than that
    this.buf = Buffer.concat([this.buf, chunk.subarray(0, 64)]);
    for (;;) {
      const before: State = this.state;
      this.advance(step);
      const now = this.state as State;
      if (step.close || now === before || now === 'done') break;
    }
    if (step.close) this.state = 'done';
    return step;
  }

  private take(n: number): Buffer | undefined {
    if (this.buf.length < n) return undefined;
    const b = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return b;
  }

  private fail(step: RfbStep, reason: string): void {
    // 3.3 and 3.7 close without a reason; 3.8 sends it after the failed SecurityResult
    step.out.push(u32(1));
    if (this.version === '003.008') {
      const r = Buffer.from(reason, 'latin1');
      step.out.push(u32(r.length), r);
    }
    step.close = true;
  }

  private advance(step: RfbStep): void {
    switch (this.state) {
      case 'version': {
        if (this.buf.length < VERSION_LEN) {
          // a line ended early is no ProtocolVersion; otherwise wait for the rest
          if (this.buf.indexOf(0x0a) === -1) return;
          this.buf = Buffer.concat([this.buf, Buffer.alloc(VERSION_LEN - this.buf.length)]);
        }
        const line = this.take(VERSION_LEN)!.toString('latin1');
        const v = negotiate(this.serverVersion, line);
        if (!v) {
          step.events.push({ kind: 'error', message: `bad ProtocolVersion ${JSON.stringify(line)}` });
          step.close = true;
          return;
        }
        this.version = v;
        step.events.push({ kind: 'version', client: line.trim(), negotiated: v });
        if (v === '003.003') {
          // 3.3: the server decides; VNC authentication and its challenge at once
          step.out.push(u32(VNC_AUTH), this.challenge);
          this.state = 'response';
        } else {
          step.out.push(Buffer.from([1, VNC_AUTH]));
          this.state = 'sectype';
        }
        return;
      }
      case 'sectype': {
        const t = this.take(1);
        if (!t) return;
        step.events.push({ kind: 'security_type', type: t[0]! });
        if (t[0] !== VNC_AUTH) {
          if (this.version === '003.008') this.fail(step, AUTH_FAILED_REASON);
          else step.close = true;
          return;
        }
        step.out.push(this.challenge);
        this.state = 'response';
        return;
      }
      case 'response': {
        const r = this.take(16);
        if (!r) return;
        step.events.push({ kind: 'auth', challenge: Buffer.from(this.challenge), response: Buffer.from(r), version: this.version });
        this.fail(step, AUTH_FAILED_REASON);
        return;
      }
      case 'done':
        return;
    }
  }
}

/** The capture as john's `vnc` format reads it: $vnc$*CHALLENGE*RESPONSE (hex, upper case). */
export function johnLine(challenge: Buffer, response: Buffer): string {
  return `$vnc$*${challenge.toString('hex').toUpperCase()}*${response.toString('hex').toUpperCase()}`;
}
