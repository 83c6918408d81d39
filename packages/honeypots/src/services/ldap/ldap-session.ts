/**
 * One LDAP connection to a fake Active Directory domain controller, without
 * sockets: whole LDAPMessages in, encoded replies and events out.
 *
 * - rootDSE: always answered, as AD does before any bind;
 * - simple bind: anonymous accepted; a password is an `auth_attempt`
 *   (plaintext), accepted only for the `users` config, else AD's 52e error;
 * - NTLM: "sicily" binds ([9] discovery, [10] NEGOTIATE, [11] AUTHENTICATE, as
 *   impacket / ldap3 / go-ldap send them) and SASL GSS-SPNEGO carrying raw or
 *   SPNEGO-wrapped NTLMSSP; the AUTHENTICATE is captured as a hashcat line;
 * - searches are `request` events; without a successful bind AD answers
 *   operationsError 000004DC, after one the fake directory answers;
 * - StartTLS (389 only), WhoAmI; writes are refused.
 */
import type { Persona } from '@decnet/api';
import { secretFields } from '@decnet/api';
import { NtlmServer, ntlmCredentialFields, ntlmMessageType, verifyNtlmv2 } from '../../protocols/ntlmssp.js';
import { buildNegTokenInit, buildNegTokenResp, unwrapSpnego } from '../../protocols/spnego.js';
import { adMessages, type AdMessages } from './ad-messages.js';
import { buildDirectory, inScope, type DirEntry } from './directory.js';
import { matches, renderFilter } from './filter.js';
import {
  bindResponse,
  decodeMessage,
  extendedResponse,
  pagedResultsValue,
  RESP,
  resultResponse,
  searchEntry,
  type BindAuth,
  type Control,
  type LdapMessage,
  type SearchRequest,
} from './ldap-codec.js';
import { dcNames, rootDse, selectAttributes } from './rootdse.js';
import { digestChallenge, parseDirectives } from './sasl-digest.js';
import { accountMap, type Account } from '../../runtime/accounts.js';

export const OID_STARTTLS = '1.3.6.1.4.1.1466.20037';
export const OID_WHOAMI = '1.3.6.1.4.1.4203.1.11.3';
export const OID_NOTICE_OF_DISCONNECTION = '1.3.6.1.4.1.1466.20036';
export const OID_PAGED_RESULTS = '1.2.840.113556.1.4.319';

/** Result codes used here (RFC 4511 4.1.9). */
export const RC = { success: 0, operationsError: 1, protocolError: 2, sizeLimitExceeded: 4, authMethodNotSupported: 7, noSuchObject: 32, invalidCredentials: 49, insufficientAccessRights: 50, unwillingToPerform: 53, saslBindInProgress: 14 } as const;

/** The largest number of entries one search returns (AD's MaxPageSize is 1000). */
const MAX_ENTRIES = 1000;
const SCOPES = ['base', 'one', 'sub'];

/** Session events carry no connection info: the socket adapter adds it. */
export interface SessionEvent {
  event: string;
  [field: string]: unknown;
}

export interface SessionOutput {
  replies: Buffer[];
  events: SessionEvent[];
  /** close the connection after writing the replies */
  close?: boolean;
  /** start TLS after writing the replies (StartTLS accepted) */
  startTls?: boolean;
}

export interface SessionOptions {
  persona: Persona;
  config: Record<string, unknown>;
  /** seeds the fake directory: the decky name */
  seed: string;
  /** the connection already runs TLS (636, or after StartTLS) */
  tls: boolean;
  now?: () => Date;
  /** fixed NTLM server challenge (tests) */
  challenge?: Buffer;
}

/** `user:pass,user2:pass2` -> map of lower-cased user -> password. */
export function parseUsers(v: unknown): Map<string, Account> {
  return accountMap(v);
}

/** The account name in a bind name as clients send it: DOMAIN\user, user@domain, CN=user,..., or user. */
export function accountOf(name: string): string {
  const n = name.trim();
  if (n.includes('\\')) return n.slice(n.lastIndexOf('\\') + 1);
  const cn = /^(?:cn|uid)\s*=\s*([^,]+)/i.exec(n);
  if (cn) return cn[1]!.trim();
  if (n.includes('@')) return n.slice(0, n.indexOf('@'));
  return n;
}

export class LdapSession {
  private readonly msg: AdMessages;
  private readonly users: Map<string, { user: string; pass: string }>;
  private readonly now: () => Date;
  private tls: boolean;
  /** the account of a successful bind; anonymous otherwise */
  private boundAs: string | undefined;
  private ntlm: NtlmServer | undefined;
  private ntlmMode: 'sicily' | 'sasl-raw' | 'sasl-spnego' | undefined;
  private directory: DirEntry[] | undefined;
  closed = false;

  constructor(private readonly o: SessionOptions) {
    this.msg = adMessages(o.persona);
    this.users = parseUsers(o.config['users']);
    this.now = o.now ?? (() => new Date());
    this.tls = o.tls;
  }

  /** The stream is not LDAP (or a message is over the size bound): AD's notice of disconnection. */
  invalidStream(reason: string): SessionOutput {
    this.closed = true;
    return {
      replies: [extendedResponse(0, { code: RC.protocolError, message: this.msg.decodingError }, OID_NOTICE_OF_DISCONNECTION)],
      events: [{ event: 'protocol_error', message: reason }],
      close: true,
    };
  }

  /** Handle one whole LDAPMessage frame. Never throws. */
  handle(frame: Buffer): SessionOutput {
    if (this.closed) return { replies: [], events: [] };
    const m = decodeMessage(frame);
    if ('error' in m) return this.invalidStream(m.error);
    try {
      return this.dispatch(m);
    } catch (err) {
      return this.invalidStream(`internal: ${String(err)}`);
    }
  }

  private dispatch(m: LdapMessage): SessionOutput {
    const { req } = m;
    switch (req.op) {
      case 'bind':
        return this.bind(m.id, req.version, req.name, req.auth);
      case 'unbind':
        this.closed = true;
        return { replies: [], events: [], close: true };
      case 'abandon':
        return { replies: [], events: [] };
      case 'search':
        return this.search(m.id, req, m.controls);
      case 'extended':
        return this.extended(m.id, req.oid, req.value);
      default: {
        const tag = { modify: RESP.modify, add: RESP.add, delete: RESP.delete, modifyDN: RESP.modifyDN, compare: RESP.compare }[req.op];
        const r = this.boundAs ? { code: RC.insufficientAccessRights, message: this.msg.insufficientAccess } : { code: RC.operationsError, message: this.msg.bindRequired };
        return { replies: [resultResponse(m.id, tag, r)], events: [{ event: 'request', op: req.op, dn: req.dn, result_code: r.code }] };
      }
    }
  }

  // ------------------------------------------------------------ binds

  private bind(id: number, version: number, name: string, auth: BindAuth): SessionOutput {
    const base = { ldap_version: version, bind_name: name, tls: this.tls };
    if (auth.kind !== 'sicilyResponse' && auth.kind !== 'sasl') this.ntlm = undefined;
    switch (auth.kind) {
      case 'simple': {
        this.boundAs = undefined;
        if (auth.password.length === 0) {
          // anonymous (or unauthenticated: a name without password), which AD accepts
          return { replies: [bindResponse(id, { code: RC.success })], events: [{ event: 'request', op: 'bind', bind_method: 'anonymous', ...base }] };
        }
        const pw = auth.password.toString('utf8');
        const acct = this.users.get(accountOf(name).toLowerCase());
        const ok = acct !== undefined && acct.pass === pw;
        const ev: SessionEvent = { event: 'auth_attempt', principal: name, secret_kind: 'plaintext', ...secretFields(auth.password), bind_method: 'simple', ...base, success: ok };
        if (ok) {
          this.boundAs = acct.user;
          return { replies: [bindResponse(id, { code: RC.success })], events: [ev] };
        }
        return { replies: [bindResponse(id, { code: RC.invalidCredentials, message: this.msg.invalidCredentials })], events: [ev] };
      }
      case 'sicilyDiscovery':
        return { replies: [bindResponse(id, { code: RC.success, matchedDN: 'NTLM' })], events: [{ event: 'request', op: 'bind', bind_method: 'sicily_discovery', ...base }] };
      case 'sicilyNegotiate':
      case 'sicilyResponse':
        return this.ntlmStep(id, auth.token, 'sicily', base);
      case 'sasl':
        return this.sasl(id, auth.mechanism, auth.credentials, base);
      default:
        return { replies: [bindResponse(id, { code: RC.authMethodNotSupported, message: this.msg.saslNotSupported })], events: [{ event: 'request', op: 'bind', bind_method: `unknown_0x${auth.tag.toString(16)}`, ...base }] };
    }
  }

  private sasl(id: number, mechanism: string, creds: Buffer | undefined, base: Record<string, unknown>): SessionOutput {
    const mech = mechanism.toUpperCase();
    if (mech === 'GSS-SPNEGO' || mech === 'GSSAPI') {
      if (!creds || creds.length === 0) {
        this.ntlm = undefined;
        return { replies: [bindResponse(id, { code: RC.saslBindInProgress }, buildNegTokenInit())], events: [] };
      }
      const { mechToken, wrapped } = unwrapSpnego(creds);
      if (mechToken && ntlmMessageType(mechToken)) return this.ntlmStep(id, mechToken, wrapped ? 'sasl-spnego' : 'sasl-raw', { ...base, sasl_mechanism: mech });
      // Kerberos (or anything else): nothing to capture offline but the attempt itself
      this.ntlm = undefined;
      return {
        replies: [bindResponse(id, { code: RC.invalidCredentials, message: this.msg.invalidCredentials })],
        events: [{ event: 'auth_attempt', principal: '', secret_kind: 'kerberos', ...secretFields(creds.subarray(0, 2048)), bind_method: 'sasl', sasl_mechanism: mech, ...base, success: false }],
      };
    }
    if (mech === 'NTLM') {
      // not advertised by AD, but cyrus-sasl clients (ldapsearch -Y NTLM) send raw NTLMSSP this way: capture it
      if (creds && ntlmMessageType(creds)) return this.ntlmStep(id, creds, 'sasl-raw', { ...base, sasl_mechanism: mech });
      this.ntlm = undefined;
      return { replies: [bindResponse(id, { code: RC.saslBindInProgress }, Buffer.alloc(0))], events: [] };
    }
    this.ntlm = undefined;
    if (mech === 'DIGEST-MD5') return this.digest(id, creds, base);
    const ev: SessionEvent = { event: 'request', op: 'bind', bind_method: 'sasl', sasl_mechanism: mechanism.slice(0, 64), ...base };
    if (mech === 'EXTERNAL') return { replies: [bindResponse(id, { code: RC.invalidCredentials, message: this.msg.invalidCredentials })], events: [ev] };
    return { replies: [bindResponse(id, { code: RC.authMethodNotSupported, message: this.msg.saslNotSupported })], events: [ev] };
  }

  private digestNonce: string | undefined;

  private digest(id: number, creds: Buffer | undefined, base: Record<string, unknown>): SessionOutput {
    const fail = bindResponse(id, { code: RC.invalidCredentials, message: this.msg.invalidCredentials });
    if (!creds || creds.length === 0 || !this.digestNonce) {
      const { challenge, nonce } = digestChallenge(dcNames(this.o.persona, this.o.config).dnsDomain);
      this.digestNonce = nonce;
      return { replies: [bindResponse(id, { code: RC.saslBindInProgress }, challenge)], events: [] };
    }
    this.digestNonce = undefined;
    const d = parseDirectives(creds);
    if (!d) return { replies: [fail], events: [{ event: 'protocol_error', message: 'bad DIGEST-MD5 response', bind_method: 'sasl_digest_md5' }] };
    const pick = (k: string) => (d.get(k) ?? '').slice(0, 256);
    const ev: SessionEvent = {
      event: 'auth_attempt',
      principal: pick('username'),
      secret_kind: 'sasl_digest_md5',
      ...secretFields(creds),
      digest_realm: pick('realm'),
      digest_nonce: pick('nonce'),
      digest_cnonce: pick('cnonce'),
      digest_nc: pick('nc'),
      digest_qop: pick('qop'),
      digest_uri: pick('digest-uri'),
      digest_response: pick('response'),
      bind_method: 'sasl_digest_md5',
      sasl_mechanism: 'DIGEST-MD5',
      ...base,
      success: false,
    };
    return { replies: [fail], events: [ev] };
  }

  private ntlmStep(id: number, token: Buffer, mode: 'sicily' | 'sasl-raw' | 'sasl-spnego', base: Record<string, unknown>): SessionOutput {
    const type = ntlmMessageType(token);
    if (type === 1 || !this.ntlm) {
      this.ntlm = new NtlmServer(this.o.persona, { ...(this.o.challenge ? { challenge: this.o.challenge } : {}), now: this.now });
      this.ntlmMode = mode;
    }
    const r = this.ntlm.step(token);
    const method = mode === 'sicily' ? 'sicily_ntlm' : 'sasl_ntlm';
    if (r.reply) {
      // sicily carries the CHALLENGE in matchedDN of a success; SASL in serverSaslCreds of saslBindInProgress
      if (mode === 'sicily') return { replies: [bindResponse(id, { code: RC.success, matchedDN: r.reply })], events: [] };
      const creds = mode === 'sasl-spnego' ? buildNegTokenResp('accept-incomplete', r.reply, true) : r.reply;
      return { replies: [bindResponse(id, { code: RC.saslBindInProgress }, creds)], events: [] };
    }
    this.ntlm = undefined;
    const fail = bindResponse(id, { code: RC.invalidCredentials, message: this.msg.invalidCredentials });
    if (!r.auth) return { replies: [fail], events: [{ event: 'protocol_error', message: `ntlm: ${r.error ?? 'failed'}`, bind_method: method }] };
    const auth = r.auth;
    // an accepted account may log in over sicily (no SASL security layer to fake)
    const acct = this.users.get(auth.user.toLowerCase());
    const ok = this.ntlmMode === 'sicily' && acct !== undefined && verifyNtlmv2(auth, acct.pass) !== undefined;
    const ev: SessionEvent = { event: 'auth_attempt', ...ntlmCredentialFields(auth), bind_method: method, ...base, success: ok };
    if (ok) {
      this.boundAs = acct.user;
      return { replies: [bindResponse(id, { code: RC.success })], events: [ev] };
    }
    this.boundAs = undefined;
    return { replies: [fail], events: [ev] };
  }

  // ------------------------------------------------------------ search

  private search(id: number, req: SearchRequest, controls: Control[]): SessionOutput {
    const filter = renderFilter(req.filter);
    const ev: SessionEvent = {
      event: 'request',
      op: 'search',
      base: req.base,
      scope: SCOPES[req.scope] ?? String(req.scope),
      filter,
      attributes: req.attributes.slice(0, 64),
      size_limit: req.sizeLimit,
      authenticated: this.boundAs !== undefined,
      ...(this.boundAs ? { bound_as: this.boundAs } : {}),
      ...(controls.length ? { controls: controls.map((c) => c.oid).slice(0, 16) } : {}),
    };
    const done = (code: number, message = '', matchedDN = '', count = 0, respControls: Control[] = []): SessionOutput => ({
      replies: [resultResponse(id, RESP.searchDone, { code, message, matchedDN }, respControls)],
      events: [{ ...ev, result_code: code, entries: count }],
    });
    if (req.base === '' && req.scope === 0) {
      const all = rootDse(this.o.persona, this.o.config, this.o.seed, this.now());
      const lookup = (k: string) => (k === 'objectclass' ? ['top'] : all.find((a) => a.name.toLowerCase() === k)?.values.map(String));
      if (!matches(req.filter, lookup)) return done(RC.success);
      const out = done(RC.success, '', '', 1);
      out.replies.unshift(searchEntry(id, '', selectAttributes(all, req.attributes), req.typesOnly));
      return out;
    }
    if (!this.boundAs) return done(RC.operationsError, this.msg.bindRequired);
    if (req.scope < 0 || req.scope > 2) return done(RC.protocolError);
    const dir = this.dir();
    const scoped = inScope(dir, req.base, req.scope);
    if (!scoped) return done(RC.noSuchObject, this.msg.noSuchObject(dcNames(this.o.persona, this.o.config).baseDn), dcNames(this.o.persona, this.o.config).baseDn);
    const hits = scoped.filter((e) => matches(req.filter, (k) => e.match.get(k)));
    const limit = Math.min(req.sizeLimit > 0 ? req.sizeLimit : MAX_ENTRIES, MAX_ENTRIES);
    const sent = hits.slice(0, limit);
    const paged = controls.find((c) => c.oid === OID_PAGED_RESULTS);
    const respControls: Control[] = paged ? [{ oid: OID_PAGED_RESULTS, critical: false, value: pagedResultsValue(0, Buffer.alloc(0)) }] : [];
    const out = done(hits.length > limit ? RC.sizeLimitExceeded : RC.success, '', '', sent.length, respControls);
    out.replies.unshift(...sent.map((e) => searchEntry(id, e.dn, selectAttributes(e.attrs, req.attributes), req.typesOnly)));
    return out;
  }

  private dir(): DirEntry[] {
    this.directory ??= buildDirectory({
      persona: this.o.persona,
      config: this.o.config,
      seed: this.o.seed,
      accounts: [...this.users.values()].map((u) => u.user),
      now: this.now(),
    });
    return this.directory;
  }

  // ------------------------------------------------------------ extended

  private extended(id: number, oid: string, value: Buffer | undefined): SessionOutput {
    const ev: SessionEvent = { event: 'request', op: 'extended', oid: oid.slice(0, 128), ...(value ? { value_b64: value.subarray(0, 1024).toString('base64') } : {}) };
    if (oid === OID_STARTTLS) {
      if (this.tls) return { replies: [extendedResponse(id, { code: RC.operationsError, message: this.msg.decodingError.replace('Error decoding ldap message', 'Error initializing SSL/TLS') }, OID_STARTTLS)], events: [ev] };
      this.tls = true;
      return { replies: [extendedResponse(id, { code: RC.success }, OID_STARTTLS)], events: [ev], startTls: true };
    }
    if (oid === OID_WHOAMI) {
      const who = this.boundAs ? `u:${this.o.persona.netbiosDomain}\\${this.boundAs}` : '';
      return { replies: [extendedResponse(id, { code: RC.success }, undefined, Buffer.from(who, 'utf8'))], events: [ev] };
    }
    return { replies: [extendedResponse(id, { code: RC.protocolError, message: this.msg.unknownExtended })], events: [ev] };
  }
}
