/**
 * PostgreSQL frontend/backend protocol v3, server side, pure (no I/O): the
 * startup-phase codec and a session state machine that always fails the login.
 *
 * Reference bytes were taken from a real PostgreSQL 15.18 (Debian) server:
 * field order S V C M [D] F L R, the ProcessStartupPacket / auth_failed
 * locations, the SASL and MD5 request layouts. Line numbers of the
 * "unsupported frontend protocol" error per release come from nmap's
 * nmap-service-probes (its version detection keys on them).
 */
import { createHash, randomBytes } from 'node:crypto';

export const MAX_STARTUP = 10_000; // MAX_STARTUP_PACKET_LENGTH
export const MAX_AUTH_MESSAGE = 65_535; // PG_MAX_AUTH_TOKEN_LENGTH
export const CANCEL_CODE = 80877102;
export const SSL_CODE = 80877103;
export const GSS_CODE = 80877104;

export interface PgVersion {
  major: number;
  minor: number;
}

export function parseVersion(v: unknown): PgVersion {
  const s = typeof v === 'string' && v.trim() !== '' ? v.trim() : '15.6';
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(s);
  if (!m) return { major: 15, minor: 6 };
  const a = Number(m[1]);
  // 9.6.24 style: major is 9.6, minor the third part
  if (a < 10) return { major: a + Number(m[2] ?? 0) / 10, minor: Number(m[3] ?? 0) };
  return { major: a, minor: Number(m[2] ?? 0) };
}

type Range = [minMinor: number, line: number];
/** postmaster.c (backend_startup.c from 17) line of the "unsupported frontend protocol" ereport, by release. */
const STARTUP_LINES: Record<string, Range[]> = {
  '9.6': [[0, 2008], [2, 2009], [3, 2023], [4, 2031], [7, 2030], [13, 2031], [20, 2050], [24, 2063]],
  '10': [[0, 2065], [2, 2064], [8, 2065], [15, 2086], [19, 2099]],
  '11': [[0, 2015], [3, 2016], [10, 2037], [14, 2050], [18, 2057]],
  '12': [[0, 2060], [3, 2065], [5, 2086], [6, 2087], [9, 2113], [14, 2120]],
  '13': [[0, 2102], [2, 2103], [5, 2127], [10, 2134], [13, 2137], [19, 2139], [23, 2141]],
  '14': [[0, 2108], [1, 2132], [7, 2139], [10, 2142], [16, 2144], [20, 2146]],
  '15': [[0, 2188], [2, 2195], [5, 2198], [11, 2200], [15, 2202], [17, 2222]],
  '16': [[0, 2145], [7, 2147], [11, 2149]],
  '17': [[0, 679]],
  '18': [[0, 707]],
};

/** Source locations the real server reports, for the configured release. */
export interface Locations {
  startupFile: string;
  /** line of "unsupported frontend protocol" */
  unsupported: number;
  /** line of "invalid startup packet layout" */
  layout: number;
  /** line of "no PostgreSQL user name specified" */
  noUser: number;
  /** auth.c line of auth_failed's ereport */
  authFailed: number;
}

export function locationsFor(v: PgVersion): Locations {
  const keys = Object.keys(STARTUP_LINES).map(Number);
  const key = keys.includes(v.major) ? v.major : v.major < 9.6 ? 9.6 : v.major > 18 ? 18 : 15;
  const ranges = STARTUP_LINES[String(key)]!;
  let line = ranges[0]![1];
  for (const [min, l] of ranges) if (v.minor >= min) line = l;
  // offsets measured on 15.18 (2222 -> 2334 / 2351); the same code block in the other releases
  // auth_failed: 334 measured on 15.18; other majors are estimates (unverified)
  const authFailed = key >= 16 ? 323 : key >= 14 ? 334 : key >= 12 ? 333 : 307;
  return { startupFile: key >= 17 ? 'backend_startup.c' : 'postmaster.c', unsupported: line, layout: line + 112, noUser: line + 129, authFailed };
}

// ---------------------------------------------------------------- encoders

export interface PgError {
  code: string;
  message: string;
  detail?: string;
  file: string;
  line: number;
  routine: string;
}

function frame(type: string, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type.charCodeAt(0);
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
}

const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');

/** ErrorResponse, severity FATAL, fields in the order the server sends them. */
export function buildError(e: PgError, withV = true): Buffer {
  const parts = [cstr('SFATAL'), ...(withV ? [cstr('VFATAL')] : []), cstr(`C${e.code}`), cstr(`M${e.message}`)];
  if (e.detail) parts.push(cstr(`D${e.detail}`));
  parts.push(cstr(`F${e.file}`), cstr(`L${e.line}`), cstr(`R${e.routine}`), Buffer.from([0]));
  return frame('E', Buffer.concat(parts));
}

/** A protocol-2 error: 'E' and one string (what a v3 server sends to a pre-3 startup). */
export function buildV2Error(message: string): Buffer {
  return Buffer.concat([Buffer.from('E'), cstr(`FATAL:  ${message}\n`)]);
}

export function buildAuthMd5(salt: Buffer): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(5);
  salt.copy(b, 4, 0, 4);
  return frame('R', b);
}

export function buildAuthSasl(mechs: string[]): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(10);
  return frame('R', Buffer.concat([n, ...mechs.map(cstr), Buffer.from([0])]));
}

export function buildAuthSaslContinue(data: string): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(11);
  return frame('R', Buffer.concat([n, Buffer.from(data, 'utf8')]));
}

export function buildNegotiateProtocol(newest: number, unrecognized: string[]): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(newest);
  h.writeUInt32BE(unrecognized.length, 4);
  return frame('v', Buffer.concat([h, ...unrecognized.map(cstr)]));
}

// ---------------------------------------------------------------- decoders

export interface StartupParams {
  params: Record<string, string>;
  /** _pq_.* options, reported back as unrecognized */
  pqOptions: string[];
  layoutOk: boolean;
}

const MAX_PARAMS = 64;

/** Parse the key/value list of a startup packet body (after length and version). */
export function parseStartupParams(body: Buffer): StartupParams {
  const params: Record<string, string> = {};
  const pqOptions: string[] = [];
  const len = body.length;
  let off = 0;
  let count = 0;
  while (off < len && count < MAX_PARAMS * 4) {
    const nameEnd = body.indexOf(0, off);
    if (nameEnd === off) break;
    const name = body.toString('utf8', off, nameEnd < 0 ? len : nameEnd);
    if (nameEnd < 0) {
      off = len;
      break;
    }
    const valOff = nameEnd + 1;
    if (valOff >= len) {
      off = valOff;
      break;
    }
    const valEnd = body.indexOf(0, valOff);
    const value = body.toString('utf8', valOff, valEnd < 0 ? len : valEnd);
    count++;
    if (name.startsWith('_pq_.')) {
      if (pqOptions.length < MAX_PARAMS) pqOptions.push(name.slice(0, 256));
    } else if (Object.keys(params).length < MAX_PARAMS && !(name in params)) {
      params[name.slice(0, 256)] = value.slice(0, 1024);
    }
    off = valEnd < 0 ? len : valEnd + 1;
  }
  return { params, pqOptions, layoutOk: off === len - 1 && body[len - 1] === 0 };
}

/** SCRAM attribute list "k=v,k=v" (bounded). */
export function scramAttrs(s: string): { key: string; value: string }[] {
  return s
    .split(',', 32)
    .map((p) => ({ key: p.slice(0, 1), value: p.slice(2), ok: p[1] === '=' }))
    .map(({ key, value }) => ({ key, value }));
}

export interface ClientFirst {
  cbindFlag: string;
  authzid?: string;
  bare: string;
  user: string;
  nonce: string;
}

export class ScramError extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}

/** client-first-message: gs2 header, then "n=user,r=nonce[,ext]". */
export function parseClientFirst(msg: string): ClientFirst {
  const flag = msg[0];
  let rest: string;
  let cbindFlag: string;
  if (flag === 'n' || flag === 'y') {
    if (msg[1] !== ',') throw new ScramError(`Comma expected, but found character "${sanitizeChar(msg[1])}".`);
    cbindFlag = flag;
    rest = msg.slice(2);
  } else if (flag === 'p') {
    if (msg[1] !== '=') throw new ScramError('Expected character "=" for attribute "p".');
    const c = msg.indexOf(',', 2);
    if (c < 0) throw new ScramError('Comma expected');
    cbindFlag = msg.slice(0, c);
    rest = msg.slice(c + 1);
  } else {
    throw new ScramError(`Unexpected channel-binding flag "${sanitizeChar(msg[0])}".`);
  }
  const c2 = rest.indexOf(',');
  if (c2 < 0) throw new ScramError('Comma expected');
  const authz = rest.slice(0, c2);
  const bare = rest.slice(c2 + 1);
  const attrs = scramAttrs(bare);
  const user = attrs[0];
  const nonce = attrs[1];
  if (!user || user.key !== 'n') throw new ScramError('Expected attribute "n"');
  if (!nonce || nonce.key !== 'r' || nonce.value === '') throw new ScramError('Expected attribute "r"');
  return { cbindFlag, ...(authz.startsWith('a=') ? { authzid: authz.slice(2) } : {}), bare, user: user.value, nonce: nonce.value };
}

export interface ClientFinal {
  withoutProof: string;
  cbind: string;
  nonce: string;
  proof: Buffer;
}

export function parseClientFinal(msg: string): ClientFinal {
  const p = msg.lastIndexOf(',p=');
  if (p < 0) throw new ScramError('Proof extension not at the end of the message');
  const withoutProof = msg.slice(0, p);
  const attrs = scramAttrs(withoutProof);
  if (attrs[0]?.key !== 'c') throw new ScramError('Expected attribute "c"');
  if (attrs[1]?.key !== 'r') throw new ScramError('Expected attribute "r"');
  const proofB64 = msg.slice(p + 3);
  const proof = Buffer.from(proofB64, 'base64');
  if (proof.length !== 32) throw new ScramError('Malformed proof in client-final-message.');
  return { withoutProof, cbind: attrs[0].value, nonce: attrs[1].value, proof };
}

/** How the server quotes one offending character in a SCRAM error detail. */
function sanitizeChar(c: string | undefined): string {
  if (c === undefined || c === '') return '0x00';
  const code = c.charCodeAt(0);
  return code >= 0x21 && code <= 0x7e ? `'${c}'` : `0x${(code & 0xff).toString(16).padStart(2, '0')}`;
}

function sanitize(s: string): string {
  return [...s].map((ch) => (ch >= ' ' && ch <= '~' ? ch : '?')).join('');
}

// ---------------------------------------------------------------- session

export interface SessionEvent {
  event: string;
  [k: string]: unknown;
}

export interface Step {
  out: Buffer[];
  events: SessionEvent[];
  /** answer 'S' was sent: the next bytes are a ClientHello */
  startTls?: boolean;
  close?: boolean;
}

export interface SessionOptions {
  version: PgVersion;
  /** key for the per-user SCRAM salt (a real server keeps one salt per role) */
  saltKey: string;
  random?: (n: number) => Buffer;
}

type State = 'startup' | 'md5' | 'sasl-init' | 'sasl-final' | 'done';

export class PgSession {
  private buf: Buffer = Buffer.alloc(0);
  private state: State = 'startup';
  private ssl = false;
  private sslDone = false;
  private gssDone = false;
  private user = '';
  private database = '';
  private salt: Buffer = Buffer.alloc(0);
  private scram?: { first: ClientFirst; serverFirst: string; serverNonce: string; salt: Buffer; mech: string };
  private readonly loc: Locations;
  private readonly rnd: (n: number) => Buffer;
  private readonly withV: boolean;

  constructor(private readonly opts: SessionOptions) {
    this.loc = locationsFor(opts.version);
    this.rnd = opts.random ?? randomBytes;
    this.withV = opts.version.major >= 9.6;
  }

  get closed(): boolean {
    return this.state === 'done';
  }

  /** The TLS handshake finished: parse a fresh startup packet over it. */
  tlsStarted(): void {
    this.ssl = true;
    this.buf = Buffer.alloc(0);
  }

  feed(chunk: Buffer): Step {
    const step: Step = { out: [], events: [] };
    if (this.state === 'done') return step;
    if (this.buf.length + chunk.length > MAX_AUTH_MESSAGE + 5 + MAX_STARTUP) {
      step.events.push({ event: 'protocol_error', message: 'message too large' });
      return this.finish(step);
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while ((this.state as State) !== 'done' && !step.startTls) {
      const progressed = this.state === 'startup' ? this.startupPacket(step) : this.authMessage(step);
      if (!progressed) break;
    }
    return step;
  }

  private finish(step: Step, err?: Buffer): Step {
    if (err) step.out.push(err);
    step.close = true;
    this.state = 'done';
    this.buf = Buffer.alloc(0);
    return step;
  }

  private fatal(step: Step, e: Omit<PgError, 'file' | 'line' | 'routine'> & Partial<PgError>, file: string, line: number, routine: string): false {
    this.finish(step, buildError({ ...e, file, line, routine }, this.withV));
    return false;
  }

  private startupPacket(step: Step): boolean {
    if (this.buf.length < 4) return false;
    const len = this.buf.readUInt32BE(0);
    if (len < 8 || len > MAX_STARTUP) {
      // COMMERROR "invalid length of startup packet": logged, nothing sent
      step.events.push({ event: 'protocol_error', message: 'invalid length of startup packet', length: len, first_bytes: this.buf.subarray(0, 32).toString('hex') });
      this.finish(step);
      return false;
    }
    if (this.buf.length < len) return false;
    const pkt = this.buf.subarray(0, len);
    this.buf = this.buf.subarray(len);
    const proto = pkt.readUInt32BE(4);
    const major = proto >>> 16;
    const minor = proto & 0xffff;
    if (proto === CANCEL_CODE && len === 16) {
      step.events.push({ event: 'command', command: 'cancel_request', backend_pid: pkt.readUInt32BE(8), cancel_key: pkt.readUInt32BE(12) });
      this.finish(step);
      return false;
    }
    if (proto === SSL_CODE && !this.sslDone) {
      this.sslDone = true;
      if (this.buf.length > 0) {
        // plaintext after the SSLRequest (CVE-2021-23214): 15.18 answers 'S', then drops the connection
        step.events.push({ event: 'protocol_error', message: 'received unencrypted data after SSL request' });
        this.finish(step, Buffer.from('S'));
        return false;
      }
      step.events.push({ event: 'command', command: 'ssl_request' });
      step.out.push(Buffer.from('S'));
      step.startTls = true;
      return false;
    }
    if (proto === GSS_CODE && !this.gssDone) {
      this.gssDone = true;
      step.events.push({ event: 'command', command: 'gssenc_request' });
      step.out.push(Buffer.from('N'));
      return true;
    }
    const earliest = this.opts.version.major >= 14 ? 3 : 2;
    if (major < earliest || major > 3) {
      const msg = `unsupported frontend protocol ${major}.${minor}: server supports ${earliest}.0 to 3.0`;
      step.events.push({ event: 'protocol_error', message: msg, first_bytes: pkt.subarray(0, 32).toString('hex') });
      if (major < 3) {
        this.finish(step, buildV2Error(msg));
        return false;
      }
      return this.fatal(step, { code: '0A000', message: msg }, this.loc.startupFile, this.loc.unsupported, 'ProcessStartupPacket');
    }
    if (major < 3) {
      // a protocol-2 client of an old server: not spoken here
      step.events.push({ event: 'protocol_error', message: `protocol ${major}.${minor} startup` });
      this.finish(step, buildV2Error(`unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0`));
      return false;
    }
    const sp = parseStartupParams(pkt.subarray(8));
    if (!sp.layoutOk) {
      step.events.push({ event: 'protocol_error', message: 'invalid startup packet layout' });
      return this.fatal(step, { code: '08P01', message: 'invalid startup packet layout: expected terminator as last byte' }, this.loc.startupFile, this.loc.layout, 'ProcessStartupPacket');
    }
    const user = sp.params['user'] ?? '';
    const database = sp.params['database'] || user;
    step.events.push({
      event: 'command',
      command: 'startup',
      params: sp.params,
      ...(user ? { user } : {}),
      database,
      ...(sp.params['application_name'] !== undefined ? { application_name: sp.params['application_name'] } : {}),
      protocol: `${major}.${minor}`,
      ssl: this.ssl,
    });
    if (!user) {
      return this.fatal(step, { code: '28000', message: 'no PostgreSQL user name specified in startup packet' }, this.loc.startupFile, this.loc.noUser, 'ProcessStartupPacket');
    }
    this.user = user;
    this.database = database;
    if (minor > 0 || sp.pqOptions.length > 0) step.out.push(buildNegotiateProtocol(0x00030000, sp.pqOptions));
    if (this.opts.version.major <= 13) {
      this.salt = this.rnd(4);
      step.out.push(buildAuthMd5(this.salt));
      this.state = 'md5';
    } else {
      step.out.push(buildAuthSasl(this.ssl ? ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] : ['SCRAM-SHA-256']));
      this.state = 'sasl-init';
    }
    return true;
  }

  /** One typed message during authentication. */
  private authMessage(step: Step): boolean {
    if (this.buf.length < 1) return false;
    const type = this.buf[0]!;
    if (type !== 0x70 /* p */) {
      const sasl = this.state !== 'md5';
      step.events.push({ event: 'protocol_error', message: `unexpected message type ${type} during authentication` });
      if (sasl) {
        const v15 = this.opts.version.major >= 15;
        return this.fatal(step, { code: '08P01', message: `expected SASL response, got message type ${type}` }, v15 ? 'auth-sasl.c' : 'auth.c', v15 ? 95 : 1001, v15 ? 'CheckSASLAuth' : 'CheckSCRAMAuth');
      }
      return this.fatal(step, { code: '08P01', message: `expected password response, got message type ${type}` }, 'auth.c', 718, 'recv_password_packet');
    }
    if (this.buf.length < 5) return false;
    const len = this.buf.readUInt32BE(1);
    if (len < 4 || len > MAX_AUTH_MESSAGE) {
      step.events.push({ event: 'protocol_error', message: 'invalid message length', length: len });
      this.finish(step);
      return false;
    }
    if (this.buf.length < 1 + len) return false;
    const body = Buffer.from(this.buf.subarray(5, 1 + len));
    this.buf = this.buf.subarray(1 + len);
    if (this.state === 'md5') return this.md5Response(step, body);
    if (this.state === 'sasl-init') return this.saslInitial(step, body);
    return this.saslFinal(step, body);
  }

  private authFailed(step: Step): false {
    return this.fatal(step, { code: '28P01', message: `password authentication failed for user "${this.user}"` }, 'auth.c', this.loc.authFailed, 'auth_failed');
  }

  private md5Response(step: Step, body: Buffer): boolean {
    const nul = body.indexOf(0);
    const pw = body.subarray(0, nul < 0 ? body.length : nul);
    if (pw.length === 0) {
      step.events.push({ event: 'auth_attempt', principal: this.user, secret_kind: 'none', secret: '', secret_b64: '', database: this.database, success: false });
      return this.fatal(step, { code: '28P01', message: 'empty password returned by client' }, 'auth.c', 757, 'recv_password_packet');
    }
    const text = pw.toString('utf8');
    const md5 = /^md5[0-9a-f]{32}$/.test(text);
    const user = this.user;
    step.events.push({
      event: 'auth_attempt',
      principal: user,
      secret_kind: md5 ? 'postgres_md5' : 'plaintext',
      secretBytes: pw,
      salt_hex: this.salt.toString('hex'),
      ...(md5 && Buffer.byteLength(user) <= 32 && !/[*:]/.test(user) ? { hashcat: `$postgres$${user}*${this.salt.toString('hex')}*${text.slice(3)}`, hashcat_mode: 11100 } : {}),
      database: this.database,
      success: false,
    });
    return this.authFailed(step);
  }

  private saslInitial(step: Step, body: Buffer): boolean {
    const nul = body.indexOf(0);
    const mech = body.toString('utf8', 0, nul < 0 ? body.length : nul);
    const valid = mech === 'SCRAM-SHA-256' || (this.ssl && mech === 'SCRAM-SHA-256-PLUS');
    if (!valid || nul < 0 || body.length < nul + 5) {
      step.events.push({ event: 'protocol_error', message: `SASL mechanism ${sanitize(mech.slice(0, 64))}` });
      return this.fatal(step, { code: '08P01', message: 'client selected an invalid SASL authentication mechanism' }, 'auth-scram.c', 256, 'scram_init');
    }
    const ilen = body.readInt32BE(nul + 1);
    const data = ilen < 0 ? '' : body.toString('utf8', nul + 5, nul + 5 + Math.min(ilen, body.length - nul - 5));
    let first: ClientFirst;
    try {
      first = parseClientFirst(data);
    } catch (err) {
      const detail = err instanceof ScramError ? err.detail : 'malformed';
      step.events.push({ event: 'protocol_error', message: `malformed SCRAM client-first: ${detail}` });
      return this.fatal(step, { code: '08P01', message: 'malformed SCRAM message', detail }, 'auth-scram.c', 1025, 'read_client_first_message');
    }
    const salt = createHash('sha256').update(`pg-scram-salt\0${this.opts.saltKey}\0${this.user}`).digest().subarray(0, 16);
    const serverNonce = this.rnd(18).toString('base64');
    const serverFirst = `r=${first.nonce}${serverNonce},s=${salt.toString('base64')},i=4096`;
    this.scram = { first, serverFirst, serverNonce, salt, mech };
    step.out.push(buildAuthSaslContinue(serverFirst));
    this.state = 'sasl-final';
    return true;
  }

  private saslFinal(step: Step, body: Buffer): boolean {
    const s = this.scram!;
    const msg = body.toString('utf8');
    let fin: ClientFinal;
    try {
      fin = parseClientFinal(msg);
    } catch (err) {
      const detail = err instanceof ScramError ? err.detail : 'malformed';
      step.events.push({ event: 'protocol_error', message: `malformed SCRAM client-final: ${detail}` });
      return this.fatal(step, { code: '08P01', message: 'malformed SCRAM message', detail }, 'auth-scram.c', 1286, 'read_client_final_message');
    }
    const authMessage = `${s.first.bare},${s.serverFirst},${fin.withoutProof}`;
    step.events.push({
      event: 'auth_attempt',
      principal: this.user,
      secret_kind: 'postgres_scram',
      secretBytes: fin.proof,
      mechanism: s.mech,
      scram: {
        client_first: s.first.bare,
        server_first: s.serverFirst,
        client_final_without_proof: fin.withoutProof,
        auth_message: authMessage,
        salt_b64: s.salt.toString('base64'),
        iterations: 4096,
        proof_b64: fin.proof.toString('base64'),
        cbind_flag: s.first.cbindFlag,
      },
      database: this.database,
      success: false,
    });
    if (fin.nonce !== `${s.first.nonce}${s.serverNonce}`) {
      return this.fatal(step, { code: '08P01', message: 'invalid SCRAM response', detail: 'Nonce does not match.' }, 'auth-scram.c', 1100, 'read_client_final_message');
    }
    return this.authFailed(step);
  }
}
