/**
 * TLS inside TDS, as SQL Server does it (MS-TDS 3.3.5.1 / 3.2.5.1): the TLS
 * handshake records travel as the payload of PRELOGIN (0x12) packets; once the
 * handshake is done TLS records flow raw on the TCP stream, carrying TDS
 * packets. With ENCRYPT_OFF only the LOGIN7 is sent that way and the stream
 * goes back to cleartext TDS.
 *
 * `TlsDemux` splits the raw client stream into PRELOGIN-wrapped handshake
 * bytes, raw TLS records, or (anything else) cleartext that ends the tunnel.
 * `PreloginTlsTransport` is the Duplex node:tls runs over: it wraps what TLS
 * writes in PRELOGIN packets until the client's first raw record shows the
 * handshake is over.
 */
import { Duplex } from 'node:stream';
import { framePackets, HEADER_LEN, MAX_PACKET, PKT } from './tds.js';

/** TLS record content types: change_cipher_spec, alert, handshake, application_data */
const TLS_CCS = 0x14;
const TLS_APPDATA = 0x17;
/** a TLS record holds at most 2^14 bytes plus expansion */
const MAX_RECORD = 16_384 + 2_048;

export type DemuxItem =
  | { kind: 'wrapped'; data: Buffer }
  | { kind: 'record'; data: Buffer; appData: boolean }
  | { kind: 'clear'; data: Buffer }
  | { kind: 'error'; message: string };

/** Bounded splitter of the raw client stream while the tunnel is up. */
export class TlsDemux {
  private buf: Buffer = Buffer.alloc(0);
  private dead = false;

  get buffered(): number {
    return this.buf.length;
  }

  /** Whatever has not been consumed yet (the cleartext that follows the tunnel). */
  takeRest(): Buffer {
    const r = this.buf;
    this.buf = Buffer.alloc(0);
    return r;
  }

  feed(chunk: Buffer): DemuxItem[] {
    if (this.dead) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: DemuxItem[] = [];
    while (this.buf.length > 0) {
      const first = this.buf[0]!;
      if (first === PKT.PRELOGIN) {
        if (this.buf.length < HEADER_LEN) break;
        const len = this.buf.readUInt16BE(2);
        if (len < HEADER_LEN || len > MAX_PACKET) return this.kill(out, `bad PRELOGIN packet length ${len}`);
        if (this.buf.length < len) break;
        out.push({ kind: 'wrapped', data: Buffer.from(this.buf.subarray(HEADER_LEN, len)) });
        this.buf = this.buf.subarray(len);
      } else if (first >= TLS_CCS && first <= TLS_APPDATA) {
        if (this.buf.length < 5) break;
        const len = this.buf.readUInt16BE(3);
        if (len > MAX_RECORD) return this.kill(out, `bad TLS record length ${len}`);
        if (this.buf.length < 5 + len) break;
        out.push({ kind: 'record', data: Buffer.from(this.buf.subarray(0, 5 + len)), appData: first === TLS_APPDATA });
        this.buf = this.buf.subarray(5 + len);
      } else {
        // not TLS: a client that skipped the handshake and talks cleartext TDS
        this.dead = true;
        out.push({ kind: 'clear', data: this.takeRest() });
        return out;
      }
    }
    if (this.buf.length > MAX_PACKET + MAX_RECORD) return this.kill(out, 'tunnel buffer overflow');
    return out;
  }

  private kill(out: DemuxItem[], message: string): DemuxItem[] {
    this.dead = true;
    this.buf = Buffer.alloc(0);
    out.push({ kind: 'error', message });
    return out;
  }
}

/** The stream node:tls reads ciphertext from and writes ciphertext to. */
export class PreloginTlsTransport extends Duplex {
  /** wrap outgoing bytes in PRELOGIN packets (the handshake phase) */
  wrapping = true;
  /** once detached every write is dropped (no alert may reach a cleartext stream) */
  detached = false;

  constructor(private readonly sendRaw: (b: Buffer) => void) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.detached) this.sendRaw(this.wrapping ? framePackets(PKT.PRELOGIN, chunk, { packetId: 1 }) : chunk);
    cb();
  }

  override _read(): void {
    /* data is pushed by deliver() */
  }

  /** Ciphertext from the client (already unwrapped). */
  deliver(data: Buffer): void {
    if (!this.detached) this.push(data);
  }

  detach(): void {
    this.detached = true;
  }
}
