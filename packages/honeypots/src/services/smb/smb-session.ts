/**
 * One SMB connection as a pure state machine: NetBIOS session-service packets in,
 * packets + events + uploads out. Handles NBSS, the SMB1 -> SMB2 upgrade, SMB2
 * NEGOTIATE (with 3.1.1 contexts and preauth integrity), SESSION_SETUP over
 * SPNEGO/NTLMSSP (every AUTHENTICATE is captured), signing, compounding and
 * credits; file and pipe commands are in smb-files.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Persona } from '@decnet/api';
import { NtlmServer, ntlmCredentialFields, ntlmServerSignature, verifyNtlmv2, filetime, type NtlmAuthenticate } from '../../protocols/ntlmssp.js';
import { buildNegTokenInit, buildNegTokenResp, buildNegTokenRespMic, mechTypesDer, unwrapSpnego } from '../../protocols/spnego.js';
import type { QuarantineBudget } from '../ftp/ftp-data.js';
import { isSmb1, smb1Dialects, smb1NegotiateDialect } from './smb1.js';
import { cipherKeysFor, decryptMessage, encryptMessage, preauthUpdate, signMessage, signingKeyFor, transformSessionId, type CipherState, type SigningState } from './smb2-crypto.js';
import { Body, CMD, FLAGS, STATUS, align8, buildHeader, errorBody, parseHeader, parseNegotiateRequest, slice, type Smb2Header } from './smb2-messages.js';
import { handleFileCommand, type FileConn, type Open, type Tree } from './smb-files.js';
import type { Share } from './fake-fs.js';

export type SmbEvent = { event: string } & Record<string, unknown>;

export interface SmbUpload {
  share: string;
  path: string;
  principal: string;
  data: Buffer;
  truncated: boolean;
}

export interface SmbOutput {
  /** complete NBSS packets to send */
  packets: Buffer[];
  events: SmbEvent[];
  uploads: SmbUpload[];
  /** close the connection after sending */
  close: boolean;
}

export interface SmbSessionOptions {
  persona: Persona;
  /** NetBIOS session service (port 139): a session request must come first, as on Windows */
  sessionService?: boolean;
  /** accepted logins: lower-case user name -> password */
  users: Map<string, string>;
  guest: boolean;
  shares: Share[];
  serverGuid: Buffer;
  /** FILETIME of the boot, 0 for builds that report none */
  bootTime: bigint;
  budget: QuarantineBudget;
  maxUploadBytes?: number;
  now?: () => Date;
  challenge?: Buffer;
}

export interface SmbSess {
  id: bigint;
  ntlm: NtlmServer;
  valid: boolean;
  preauth: Buffer;
  signing?: SigningState;
  cipher?: CipherState;
  signRequired: boolean;
  user: string;
  principal: string;
  anonymous: boolean;
  trees: Map<number, Tree>;
  mechTypes?: Buffer;
  wrapped: boolean;
}

const MAX_SESSIONS = 4;
const MAX_COMPOUND = 16;
/** credits a client may hold: bounds a single READ/WRITE to 16 x 64 KiB */
export const MAX_CREDITS = 16;
const MAX_STEPS = 6;

/**
 * Global capabilities per dialect as Windows answers: DFS, then LEASING and LARGE_MTU
 * from 2.1; ENCRYPTION on 3.0/3.0.2 only when the client offered it (3.1.1 negotiates
 * ciphers in a context). No multichannel / directory leasing / persistent handles.
 */
const DIALECT_CAPS: Record<number, number> = { 0x0202: 0x1, 0x0210: 0x7, 0x0300: 0x7, 0x0302: 0x7, 0x0311: 0x7, 0x02ff: 0x7 };

export class SmbSession implements FileConn {
  dialect: number | undefined;
  private wildcard = false;
  private connPreauth: Buffer = Buffer.alloc(64);
  private sessions = new Map<bigint, SmbSess>();
  private nextSession = 0x0000100000000001n;
  private credits = 1;
  private steps = new Map<bigint, number>();
  /** cipher agreed in the 3.1.1 ENCRYPTION context (0: none) */
  private cipherId = 0;
  nextTree = 1;
  nextFile = 1n;
  opens = new Map<string, Open>();
  readonly clientGuid = Buffer.alloc(16);
  clientSecurityMode = 0;
  clientCaps = 0;
  out: SmbOutput = { packets: [], events: [], uploads: [], close: false };

  private sessionRequested = false;
  constructor(readonly opts: SmbSessionOptions) {}

  get persona(): Persona {
    return this.opts.persona;
  }
  get securityMode(): number {
    return this.opts.persona.domainController ? 0x3 : 0x1;
  }
  capabilitiesFor(d: number): number {
    const enc = (d === 0x0300 || d === 0x0302) && this.clientCaps & 0x40 ? 0x40 : 0;
    return (DIALECT_CAPS[d] ?? 0x7) | enc;
  }
  now(): Date {
    return this.opts.now ? this.opts.now() : new Date();
  }

  /** Feed one NBSS packet (4-byte header included). Never throws. */
  handlePacket(pkt: Buffer): SmbOutput {
    this.out = { packets: [], events: [], uploads: [], close: false };
    try {
      this.dispatchNbss(pkt);
    } catch (err) {
      this.out.events.push({ event: 'request', error: 'internal', detail: String(err).slice(0, 200) });
      this.out.close = true;
    }
    return this.out;
  }

  private send(payload: Buffer): void {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(payload.length & 0x00ffffff);
    this.out.packets.push(Buffer.concat([h, payload]));
  }

  private dispatchNbss(pkt: Buffer): void {
    const type = pkt[0];
    if (type === 0x81) {
      // session request (port 139): positive response
      this.sessionRequested = true;
      this.out.packets.push(Buffer.from([0x82, 0, 0, 0]));
      return;
    }
    if (this.opts.sessionService && !this.sessionRequested && type === 0x00) {
      // a session message before any session request: Windows answers NEGATIVE SESSION
      // RESPONSE "unspecified error" (0x8f) and hangs up (what nmap's 139 match reads)
      this.out.packets.push(Buffer.from([0x83, 0, 0, 1, 0x8f]));
      this.out.close = true;
      return;
    }
    if (type === 0x85) return;
    if (type !== 0x00) {
      this.out.close = true;
      return;
    }
    const msg = pkt.subarray(4);
    if (isSmb1(msg)) return this.onSmb1(msg);
    if (msg.length >= 4 && msg[0] === 0xfe && msg[1] === 0x53) return this.onSmb2(msg);
    const sid = transformSessionId(msg);
    const sess = sid !== undefined ? this.sessions.get(sid) : undefined;
    const plain = sess?.cipher ? decryptMessage(sess.cipher, msg) : undefined;
    if (sess && plain && plain.length >= 64 && plain[0] === 0xfe) return this.onSmb2(plain, sess);
    // undecryptable transform or anything else: Windows hangs up
    this.out.close = true;
  }

  private onSmb1(msg: Buffer): void {
    const dialects = this.dialect === undefined && !this.wildcard ? smb1Dialects(msg) : undefined;
    const pick = dialects ? smb1NegotiateDialect(dialects, this.persona.windows?.smbDialects ?? [0x0202, 0x0210]) : undefined;
    this.out.events.push({ event: 'request', command: 'smb1_negotiate', dialects: (dialects ?? []).slice(0, 16), smb2: pick !== undefined });
    if (pick === undefined) {
      // SMB1 is disabled on this Windows: it resets the connection
      this.out.close = true;
      return;
    }
    if (pick === 0x02ff) this.wildcard = true;
    else this.dialect = pick;
    const resp = this.negotiateResponse(0n, pick, undefined);
    this.send(resp);
  }

  private onSmb2(msg: Buffer, encryptedBy?: SmbSess): void {
    let at = 0;
    const responses: { msg: Buffer; sign?: SigningState }[] = [];
    const compound = { sessionId: 0n, treeId: 0, fileId: undefined as Buffer | undefined };
    for (let i = 0; i < MAX_COMPOUND && at < msg.length; i++) {
      const h = parseHeader(msg.subarray(at));
      if (!h) {
        this.out.close = true;
        break;
      }
      const end = h.nextCommand ? at + h.nextCommand : msg.length;
      if (h.nextCommand && (h.nextCommand < 64 || end > msg.length || h.nextCommand % 8 !== 0)) {
        this.out.close = true;
        break;
      }
      const req = msg.subarray(at, end);
      if (h.flags & FLAGS.RELATED) {
        h.sessionId = compound.sessionId;
        h.treeId = compound.treeId;
      }
      const r = this.onRequest(req, h, compound.fileId);
      compound.sessionId = h.sessionId;
      compound.treeId = r?.treeId ?? h.treeId;
      if (r?.fileId) compound.fileId = r.fileId;
      if (r) responses.push(r);
      if (this.out.close || !h.nextCommand) break;
      at = end;
    }
    if (responses.length === 0) return;
    // chain: pad all but the last to 8 bytes, set NextCommand, then sign each
    const parts = responses.map((r, i) => {
      const last = i === responses.length - 1;
      const m = last ? r.msg : Buffer.concat([r.msg, Buffer.alloc(align8(r.msg.length) - r.msg.length)]);
      if (!last) m.writeUInt32LE(m.length, 20);
      // inside an encrypted message responses are not signed (the AEAD tag covers them)
      if (r.sign && !encryptedBy) signMessage(r.sign, m);
      return m;
    });
    const all = Buffer.concat(parts);
    this.send(encryptedBy?.cipher ? encryptMessage(encryptedBy.cipher, encryptedBy.id, all, this.dialect ?? 0x0300) : all);
  }

  private grant(h: Smb2Header): number {
    this.credits = Math.max(0, this.credits - Math.max(1, h.creditCharge));
    const want = Math.max(1, h.credits);
    const g = Math.max(this.credits === 0 ? 1 : 0, Math.min(want, MAX_CREDITS - this.credits));
    this.credits += g;
    return g;
  }

  private onRequest(req: Buffer, h: Smb2Header, relatedFileId: Buffer | undefined): { msg: Buffer; sign?: SigningState; treeId?: number; fileId?: Buffer } | undefined {
    if (h.command === CMD.CANCEL) return undefined;
    if (h.flags & FLAGS.SERVER_TO_REDIR) {
      this.out.close = true;
      return undefined;
    }
    const credits = this.grant(h);
    const base = { command: h.command, messageId: h.messageId, credits, creditCharge: h.creditCharge, treeId: h.treeId, sessionId: h.sessionId, flags: h.flags & FLAGS.RELATED };
    const reply = (status: number, body: Buffer, extra: { sess?: SmbSess; forceSign?: boolean; treeId?: number; fileId?: Buffer } = {}) => {
      const s = extra.sess;
      const hdr = buildHeader({ ...base, status, ...(extra.treeId !== undefined ? { treeId: extra.treeId } : {}) });
      const msg = Buffer.concat([hdr, body]);
      const sign = s?.signing && (extra.forceSign || s.signRequired || (h.flags & FLAGS.SIGNED) !== 0) && status !== STATUS.PENDING ? s.signing : undefined;
      return { msg, ...(sign ? { sign } : {}), ...(extra.treeId !== undefined ? { treeId: extra.treeId } : {}), ...(extra.fileId ? { fileId: extra.fileId } : {}) };
    };

    if (h.command === CMD.NEGOTIATE) {
      if (this.dialect !== undefined) {
        // a second NEGOTIATE on a negotiated connection: Windows drops it
        this.out.close = true;
        return undefined;
      }
      const n = parseNegotiateRequest(req);
      if (!n) return reply(STATUS.INVALID_PARAMETER, errorBody());
      const mine = this.persona.windows?.smbDialects ?? [0x0202, 0x0210, 0x0300, 0x0302, 0x0311];
      const pick = [...mine].reverse().find((d) => n.dialects.includes(d));
      this.out.events.push({ event: 'request', command: 'negotiate', dialects: n.dialects.slice(0, 16).map((d) => '0x' + d.toString(16).padStart(4, '0')), chosen: pick !== undefined ? '0x' + pick.toString(16).padStart(4, '0') : null });
      if (pick === undefined) {
        this.out.close = true;
        return reply(STATUS.NOT_SUPPORTED, errorBody());
      }
      this.dialect = pick;
      n.clientGuid.copy(this.clientGuid);
      this.clientSecurityMode = n.securityMode;
      this.clientCaps = n.capabilities;
      if (pick === 0x0311) this.connPreauth = preauthUpdate(Buffer.alloc(64), req);
      const msg = this.negotiateResponse(h.messageId, pick, n.contexts, credits);
      if (pick === 0x0311) this.connPreauth = preauthUpdate(this.connPreauth, msg);
      return { msg };
    }
    if (this.dialect === undefined) {
      this.out.close = true;
      return undefined;
    }
    if (h.command === CMD.SESSION_SETUP) return this.sessionSetup(req, h, base, reply);
    if (h.command === CMD.ECHO) return reply(STATUS.SUCCESS, Buffer.from([4, 0, 0, 0]));
    const sess = this.sessions.get(h.sessionId);
    if (!sess || !sess.valid) return reply(STATUS.USER_SESSION_DELETED, errorBody());
    if (h.command === CMD.LOGOFF) {
      this.sessions.delete(sess.id);
      for (const [k, o] of this.opens) if (o.sessionId === sess.id) this.opens.delete(k);
      return reply(STATUS.SUCCESS, Buffer.from([4, 0, 0, 0]), { sess });
    }
    const r = handleFileCommand(this, sess, req, h, relatedFileId);
    if (!r) return undefined;
    return reply(r.status, r.body, { sess, ...(r.treeId !== undefined ? { treeId: r.treeId } : {}), ...(r.fileId ? { fileId: r.fileId } : {}) });
  }

  /** The SMB2 NEGOTIATE response Windows sends for `dialect` (0x02FF: the SMB1 upgrade answer). */
  negotiateResponse(messageId: bigint, dialect: number, contexts: { type: number; data: Buffer }[] | undefined, credits = 1): Buffer {
    const hdr = buildHeader({ command: CMD.NEGOTIATE, status: 0, messageId, credits });
    const sec = buildNegTokenInit();
    const body = Buffer.alloc(64);
    body.writeUInt16LE(65, 0);
    body.writeUInt16LE(this.securityMode, 2);
    body.writeUInt16LE(dialect, 4);
    this.opts.serverGuid.copy(body, 8);
    body.writeUInt32LE(this.capabilitiesFor(dialect), 24);
    const max = dialect === 0x0202 ? 65536 : 8 * 1024 * 1024;
    body.writeUInt32LE(max, 28);
    body.writeUInt32LE(max, 32);
    body.writeUInt32LE(max, 36);
    filetime(this.now()).copy(body, 40);
    body.writeBigUInt64LE(this.opts.bootTime, 48);
    body.writeUInt16LE(128, 56);
    body.writeUInt16LE(sec.length, 58);
    let ctxBuf = Buffer.alloc(0);
    if (dialect === 0x0311) {
      const list = this.negotiateContexts(contexts ?? []);
      body.writeUInt16LE(list.length, 6);
      const start = align8(128 + sec.length);
      body.writeUInt32LE(start, 60);
      const padded = list.map((c, i) => (i < list.length - 1 ? Buffer.concat([c, Buffer.alloc(align8(c.length) - c.length)]) : c));
      ctxBuf = Buffer.concat([Buffer.alloc(start - 128 - sec.length), ...padded]);
    }
    return Buffer.concat([hdr, body, sec, ctxBuf]);
  }

  private negotiateContexts(client: { type: number; data: Buffer }[]): Buffer[] {
    const ctx = (type: number, data: Buffer) => {
      const h = Buffer.alloc(8);
      h.writeUInt16LE(type, 0);
      h.writeUInt16LE(data.length, 2);
      return Buffer.concat([h, data]);
    };
    const out: Buffer[] = [];
    const salt = randomBytes(32);
    const pre = Buffer.alloc(6);
    pre.writeUInt16LE(1, 0);
    pre.writeUInt16LE(32, 2);
    pre.writeUInt16LE(1, 4);
    out.push(ctx(1, Buffer.concat([pre, salt])));
    const enc = client.find((c) => c.type === 2);
    if (enc && enc.data.length >= 2) {
      const n = Math.min(enc.data.readUInt16LE(0), (enc.data.length - 2) >> 1);
      const offered = Array.from({ length: n }, (_, i) => enc.data.readUInt16LE(2 + i * 2));
      // Windows prefers AES-128-GCM, then AES-128-CCM; 0 means "none in common"
      const pick = [2, 1].find((c) => offered.includes(c)) ?? 0;
      this.cipherId = pick;
      const d = Buffer.alloc(4);
      d.writeUInt16LE(1, 0);
      d.writeUInt16LE(pick, 2);
      out.push(ctx(2, d));
    }
    // Server 2022 / Windows 11 also answer SIGNING_CAPABILITIES; this server signs with AES-CMAC only
    const sig = client.find((c) => c.type === 8);
    if (sig && (this.persona.windows?.build ?? 0) >= 20348 && sig.data.length >= 2) {
      const d = Buffer.alloc(4);
      d.writeUInt16LE(1, 0);
      d.writeUInt16LE(1, 2);
      out.push(ctx(8, d));
    }
    return out;
  }

  private sessionSetup(
    req: Buffer,
    h: Smb2Header,
    base: { sessionId: bigint },
    reply: (status: number, body: Buffer, extra?: { sess?: SmbSess; forceSign?: boolean }) => { msg: Buffer; sign?: SigningState },
  ) {
    const b = new Body(req);
    const token = slice(req, b.u16(12), b.u16(14));
    let sess = h.sessionId ? this.sessions.get(h.sessionId) : undefined;
    if (h.sessionId && (!sess || sess.valid)) return reply(STATUS.USER_SESSION_DELETED, errorBody());
    if (!sess) {
      if (this.sessions.size >= MAX_SESSIONS) return reply(STATUS.INSUFFICIENT_RESOURCES, errorBody());
      const id = this.nextSession++;
      sess = {
        id,
        ntlm: new NtlmServer(this.persona, { ...(this.opts.challenge ? { challenge: this.opts.challenge } : {}), now: () => this.now() }),
        valid: false,
        preauth: this.connPreauth,
        signRequired: false,
        user: '',
        principal: '',
        anonymous: false,
        trees: new Map(),
        wrapped: true,
      };
      this.sessions.set(id, sess);
    }
    base.sessionId = sess.id;
    const steps = (this.steps.get(sess.id) ?? 0) + 1;
    this.steps.set(sess.id, steps);
    if (this.dialect === 0x0311) sess.preauth = preauthUpdate(sess.preauth, req);
    const fail = (status: number) => {
      this.sessions.delete(sess.id);
      return reply(status, errorBody());
    };
    if (!token || steps > MAX_STEPS) return fail(STATUS.INVALID_PARAMETER);
    const { mechToken, wrapped } = unwrapSpnego(token);
    if (!sess.mechTypes) {
      const mt = mechTypesDer(token);
      if (mt) sess.mechTypes = mt;
    }
    sess.wrapped = wrapped;
    const body = (sec: Buffer, flags = 0) => {
      const x = Buffer.alloc(8);
      x.writeUInt16LE(9, 0);
      x.writeUInt16LE(flags, 2);
      x.writeUInt16LE(sec.length ? 72 : 0, 4);
      x.writeUInt16LE(sec.length, 6);
      return Buffer.concat([x, sec]);
    };
    const more = (sec: Buffer) => {
      const r = reply(STATUS.MORE_PROCESSING_REQUIRED, body(sec));
      if (this.dialect === 0x0311) sess.preauth = preauthUpdate(sess.preauth, r.msg);
      return r;
    };
    if (!mechToken || mechToken.subarray(0, 8).toString('latin1') !== 'NTLMSSP\0') {
      // Kerberos or another mech first: steer the client to NTLMSSP
      if (wrapped) return more(buildNegTokenResp('accept-incomplete', undefined, true));
      return fail(STATUS.LOGON_FAILURE);
    }
    const step = sess.ntlm.step(mechToken);
    if (step.reply) return more(wrapped ? buildNegTokenResp('accept-incomplete', step.reply, true) : step.reply);
    if (!step.auth) return fail(STATUS.LOGON_FAILURE);
    const auth = step.auth;
    const decision = this.decide(auth);
    this.out.events.push({ event: 'auth_attempt', ...ntlmCredentialFields(auth), success: decision.ok, method: 'ntlmssp', ...(decision.guest ? { guest: true } : {}) });
    if (!decision.ok) return fail(STATUS.LOGON_FAILURE);
    sess.valid = true;
    sess.user = auth.user;
    sess.principal = `${auth.domain}\\${auth.user}`;
    sess.anonymous = auth.version === 'anonymous';
    this.steps.delete(sess.id);
    let flags = 0;
    if (decision.key) {
      sess.signing = signingKeyFor(this.dialect!, decision.key, sess.preauth);
      const cipher = cipherKeysFor(this.dialect!, decision.key, this.dialect === 0x0311 ? this.cipherId : 1, sess.preauth);
      if (cipher) sess.cipher = cipher;
      sess.signRequired = this.persona.domainController || (b.u8(3) & 0x2) !== 0;
    } else flags = sess.anonymous ? 0x2 : 0x1;
    let sec: Buffer = Buffer.alloc(0);
    if (wrapped) sec = decision.key && sess.mechTypes ? buildNegTokenRespMic(ntlmServerSignature(auth, decision.key, sess.mechTypes)) : buildNegTokenResp('accept-completed');
    return reply(STATUS.SUCCESS, body(sec, flags), { sess, forceSign: this.dialect === 0x0311 || sess.signRequired });
  }

  private decide(auth: NtlmAuthenticate): { ok: boolean; key?: Buffer; guest?: boolean } {
    if (auth.version === 'anonymous') return { ok: this.opts.guest, guest: this.opts.guest };
    const pw = this.opts.users.get(auth.user.toLowerCase());
    if (pw !== undefined) {
      const key = verifyNtlmv2(auth, pw);
      return key ? { ok: true, key } : { ok: false };
    }
    return this.opts.guest ? { ok: true, guest: true } : { ok: false };
  }

  /** Stable 16-byte GUID for a decky name. */
  static guidFor(name: string): Buffer {
    return createHash('sha256').update(`smb-server-guid:${name}`).digest().subarray(0, 16);
  }
}
