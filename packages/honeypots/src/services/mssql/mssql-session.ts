/**
 * The SQL Server session as a pure state machine: TDS bytes in, TDS bytes and
 * events out. No sockets and no TLS here: when the PRELOGIN exchange agrees on
 * encryption the step says `startTls` and the socket adapter tunnels a TLS
 * handshake inside PRELOGIN packets (tds-tls.ts), then feeds the decrypted
 * bytes back in; with ENCRYPT_OFF only the LOGIN7 travels inside TLS and the
 * step that answers it says `endTls`.
 *
 * Every login fails like a real server's: ERROR 18456 state 1 class 14
 * "Login failed for user '<user>'." then DONE with the error bit, then close.
 * SQL logins yield the plaintext password; integrated (SSPI) logins go through
 * NTLM (CHALLENGE in an SSPI token, AUTHENTICATE in an SSPI message) and yield
 * a crackable NetNTLM capture.
 */
import { randomInt } from 'node:crypto';
import type { Persona } from '@decnet/api';
import { secretFields } from '@decnet/api';
import { ntlmCredentialFields, NtlmServer } from '../../protocols/ntlmssp.js';
import { buildNegTokenResp, unwrapSpnego } from '../../protocols/spnego.js';
import { Login7Error, parseLogin7, type Login7 } from './login7.js';
import { buildPreloginReply, ENCRYPT, negotiateEncryption, parsePrelogin, type ServerVersion } from './prelogin.js';
import { DONE_ERROR, doneToken, errorToken, framePackets, PKT, sspiToken, TdsReader, type TdsMessage } from './tds.js';

export interface SessionEvent {
  event: string;
  [k: string]: unknown;
}

export interface SessionStep {
  /** bytes to send; the adapter leaves TLS first when `endTls` is set */
  out: Buffer[];
  events: SessionEvent[];
  /** after sending `out`, run a TLS handshake tunnelled in PRELOGIN packets */
  startTls?: boolean;
  /** leave TLS before sending `out` (login-only encryption) */
  endTls?: boolean;
  /** close after sending `out` */
  close?: boolean;
}

export interface SessionOptions {
  persona: Persona;
  version: ServerVersion;
  /** instance name; MSSQLSERVER is the default instance */
  instance: string;
  /** name in ERROR tokens, e.g. "SQL01" or "SQL01\\SQLEXPRESS" */
  serverName: string;
  ntlm?: { challenge?: Buffer; now?: () => Date };
}

type State = 'start' | 'login' | 'sspi' | 'done';

const LOGIN_FAILED = 18456;
const UNTRUSTED_DOMAIN = 18452;

export class MssqlSession {
  private readonly reader = new TdsReader();
  private state: State = 'start';
  private encryption: number = ENCRYPT.NOT_SUP;
  private inTls = false;
  /** whether the LOGIN7 arrived inside TLS */
  private loginTls = false;
  private tdsVersion = 0x74000004;
  private login: Login7 | undefined;
  private readonly ntlm: NtlmServer;
  /** the session id the server assigns at login and shows in the header of its login replies (user SPIDs start at 51) */
  private readonly spid = randomInt(51, 140);

  constructor(private readonly o: SessionOptions) {
    this.ntlm = new NtlmServer(o.persona, o.ntlm ?? {});
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** Bytes the reader holds but has not parsed (handed to the TLS tunnel on startTls). */
  takeRest(): Buffer {
    return this.reader.takeRest();
  }

  /** Feed received bytes (cleartext TDS, or what TLS decrypted). Never throws. */
  feed(chunk: Buffer): SessionStep {
    const step: SessionStep = { out: [], events: [] };
    if (this.state === 'done') return step;
    try {
      this.reader.push(chunk);
      for (let item = this.reader.next(); item; item = this.reader.next()) {
        const s = 'error' in item ? this.fail(`bad TDS framing: ${item.error}`) : this.handle(item);
        step.out.push(...s.out);
        step.events.push(...s.events);
        if (s.endTls) step.endTls = true;
        if (s.close) step.close = true;
        // the rest of the stream belongs to the TLS tunnel (or to nobody)
        if (s.startTls) {
          step.startTls = true;
          break;
        }
        if (s.close) break;
      }
    } catch (err) {
      const s = this.fail(`internal: ${String(err)}`);
      step.events.push(...s.events);
      step.close = true;
    }
    return step;
  }

  private fail(message: string): SessionStep {
    this.state = 'done';
    return { out: [], events: [{ event: 'protocol_error', message }], close: true };
  }

  private handle(msg: TdsMessage): SessionStep {
    if (this.state === 'start' && msg.type === PKT.PRELOGIN) return this.onPrelogin(msg.payload);
    if ((this.state === 'start' || this.state === 'login') && msg.type === PKT.LOGIN7) return this.onLogin7(msg.payload);
    if (this.state === 'sspi' && msg.type === PKT.SSPI) return this.onSspi(msg.payload);
    return this.fail(`unexpected TDS packet type 0x${msg.type.toString(16)} in state ${this.state}`);
  }

  private onPrelogin(payload: Buffer): SessionStep {
    const pre = parsePrelogin(payload);
    if (!pre) return this.fail('malformed PRELOGIN');
    this.encryption = negotiateEncryption(pre.encryption);
    const inst = (pre.instance ?? '').trim();
    const instOpt = inst === '' || inst.toUpperCase() === this.o.instance.toUpperCase() ? 0 : 1;
    const reply = buildPreloginReply(pre, { version: this.o.version, encryption: this.encryption, instOpt });
    this.state = 'login';
    const v = pre.version;
    const event: SessionEvent = {
      event: 'request',
      request: 'prelogin',
      ...(v ? { client_version: `${v.major}.${v.minor}.${v.build}.${v.subBuild}` } : {}),
      ...(pre.encryption !== undefined ? { encryption: pre.encryption } : {}),
      ...(pre.instance !== undefined ? { instance: pre.instance } : {}),
      ...(pre.threadId !== undefined ? { thread_id: pre.threadId } : {}),
    };
    const tls = this.encryption === ENCRYPT.OFF || this.encryption === ENCRYPT.ON;
    if (tls) this.inTls = true;
    return { out: [framePackets(PKT.TABULAR, reply)], events: [event], ...(tls ? { startTls: true } : {}) };
  }

  /** Fields every auth_attempt of this connection carries. */
  private loginFields(l: Login7): Record<string, unknown> {
    return {
      client_hostname: l.hostName,
      app_name: l.appName,
      server_name: l.serverName,
      library_name: l.libraryName,
      client_pid: l.clientPid,
      ...(l.language ? { language: l.language } : {}),
      ...(l.database ? { database: l.database } : {}),
      tds_version: `0x${(l.tdsVersion >>> 0).toString(16).padStart(8, '0')}`,
      tls: this.loginTls,
    };
  }

  private onLogin7(payload: Buffer): SessionStep {
    let l: Login7;
    try {
      l = parseLogin7(payload);
    } catch (err) {
      if (err instanceof Login7Error) return this.fail(`malformed LOGIN7: ${err.message}`);
      throw err;
    }
    this.login = l;
    this.loginTls = this.inTls;
    this.tdsVersion = l.tdsVersion;
    // with ENCRYPT_OFF only the login travels encrypted: answer in the clear
    const endTls = this.inTls && this.encryption === ENCRYPT.OFF;
    if (endTls) this.inTls = false;
    const tlsFlag = endTls ? { endTls: true } : {};
    if (l.integrated && l.sspi.length > 0) {
      const { mechToken, wrapped } = unwrapSpnego(l.sspi);
      const r = mechToken ? this.ntlm.step(mechToken) : { error: 'no NTLMSSP token in SSPI' };
      if (r.reply) {
        this.state = 'sspi';
        const blob = wrapped ? buildNegTokenResp('accept-incomplete', r.reply, true) : r.reply;
        return { out: [framePackets(PKT.TABULAR, sspiToken(blob), { spid: this.spid })], events: [], ...tlsFlag };
      }
      // Kerberos-only or garbage SSPI: the answer a server gives a login it cannot verify
      const ev: SessionEvent = { event: 'request', request: 'sspi_login', error: r.error ?? 'unsupported SSPI', ...this.loginFields(l) };
      return { ...this.deny(UNTRUSTED_DOMAIN, 'Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.', [ev]), ...tlsFlag };
    }
    const ev: SessionEvent = {
      event: 'auth_attempt',
      principal: l.userName,
      secret_kind: 'plaintext',
      ...secretFields(l.password),
      ...this.loginFields(l),
      success: false,
    };
    return { ...this.deny(LOGIN_FAILED, `Login failed for user '${l.userName}'.`, [ev]), ...tlsFlag };
  }

  private onSspi(payload: Buffer): SessionStep {
    const { mechToken } = unwrapSpnego(payload);
    const r = mechToken ? this.ntlm.step(mechToken) : { error: 'no NTLMSSP token' };
    const base = this.login ? this.loginFields(this.login) : {};
    if (!r.auth) return this.deny(LOGIN_FAILED, "Login failed for user ''.", [{ event: 'protocol_error', message: r.error ?? 'bad SSPI', ...base }]);
    const cred = ntlmCredentialFields(r.auth);
    const ev: SessionEvent = { event: 'auth_attempt', ...cred, ...base, success: false };
    const shown = r.auth.version === 'anonymous' && r.auth.user === '' ? '' : cred.principal;
    return this.deny(LOGIN_FAILED, `Login failed for user '${shown}'.`, [ev]);
  }

  /** ERROR + DONE(error) in one TABULAR message, then close: what SQL Server does with a failed login. */
  private deny(number: number, message: string, events: SessionEvent[]): SessionStep {
    this.state = 'done';
    const tokens = Buffer.concat([
      errorToken({ number, state: 1, klass: 14, message, serverName: this.o.serverName, procName: '', line: 1 }, this.tdsVersion),
      doneToken(DONE_ERROR, this.tdsVersion),
    ]);
    return { out: [framePackets(PKT.TABULAR, tokens, { spid: this.spid })], events, close: true };
  }

  /** The client answered the PRELOGIN with cleartext instead of a TLS handshake. */
  tlsAbandoned(): void {
    this.inTls = false;
  }
}
