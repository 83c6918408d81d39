/**
 * The SIP UAS of an Asterisk 18 (chan_pjsip) PBX, pure: one request in, at most one
 * response out plus the events to emit. No dialogs are ever established: existing
 * extensions are challenged (401 Digest, realm "asterisk"), credentials are logged and
 * refused (403), other users get 404.
 */
import { createHash, randomBytes } from 'node:crypto';
import { secretFields } from '@decnet/api';
import { encodeResponse, header, parseDigest, uriUser, type SipRequest } from './sip-codec.js';

export interface SipConfig {
  server: string;
  /** the domain / address the decky answers as */
  domain: string;
  extensions: Set<string>;
  realm: string;
  /** fresh nonce (tests may fix it) */
  nonce?: () => string;
  opaque?: () => string;
}

export interface Peer {
  transport: 'UDP' | 'TCP';
  src_ip: string;
  src_port: number;
}

export type SipEvent = { event: string } & Record<string, unknown>;

export interface SipOutcome {
  reply?: Buffer;
  status?: number;
  events: SipEvent[];
}

export const ALLOW = 'OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, MESSAGE, REFER';
export const ACCEPT =
  'application/dialog-info+xml, application/xpidf+xml, application/cpim-pidf+xml, application/simple-message-summary, application/pidf+xml, application/pidf+xml, application/dialog-info+xml, application/simple-message-summary, application/sdp, message/sipfrag;version=2.0';
export const SUPPORTED = '100rel, timer, replaces, norefersub';

const REASONS: Record<number, string> = {
  200: 'OK',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  481: 'Call/Transaction Does Not Exist',
  501: 'Not Implemented',
  400: 'Bad Request',
};

const printable = (s: string, max = 256) => s.slice(0, max).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** Asterisk's nonce shape: "<unix time>/<md5 hex>". */
export function asteriskNonce(): string {
  const t = Math.floor(Date.now() / 1000);
  return `${t}/${createHash('md5').update(`${t}:${randomBytes(16).toString('hex')}`).digest('hex')}`;
}

/** The top Via with received= (always) and rport=<port> (when asked for), as pjsip rewrites it. */
export function rewriteVia(via: string, peer: Peer): string {
  const parts = via.split(';');
  const sentBy = parts.shift()!.trim();
  const params = parts.map((p) => p.trim()).filter((p) => p !== '' && !/^received=/i.test(p));
  const hadRport = params.some((p) => /^rport(=|$)/i.test(p));
  const rest = params.filter((p) => !/^rport(=|$)/i.test(p));
  const head = [sentBy];
  if (hadRport) head.push(`rport=${peer.src_port}`);
  head.push(`received=${peer.src_ip}`);
  return [...head, ...rest].join(';');
}

function hasTag(v: string): boolean {
  const gt = v.lastIndexOf('>');
  return /;\s*tag=/i.test(gt >= 0 ? v.slice(gt) : v);
}

function branchOf(via: string): string | undefined {
  const m = /;\s*branch=([^;,\s]+)/i.exec(via);
  return m?.[1];
}

/** john's `sip` format line: $sip$*server*client*user*realm*method*uriPrefix*uriRest*uriPort*nonce*cnonce*nc*qop*MD5*response */
export function johnSipLine(f: { server: string; client: string; user: string; realm: string; method: string; uri: string; nonce: string; cnonce: string; nc: string; qop: string; response: string }): string | undefined {
  const colon = f.uri.indexOf(':');
  if (colon <= 0) return undefined;
  const fields = [f.server, f.client, f.user, f.realm, f.method, f.uri.slice(0, colon), f.uri.slice(colon + 1), '', f.nonce, f.cnonce, f.nc, f.qop, 'MD5', f.response.toLowerCase()];
  if (fields.some((x) => /[*\r\n]/.test(x))) return undefined;
  if (!/^[0-9a-f]{32}$/.test(fields[13]!)) return undefined;
  return `$sip$*${fields.join('*')}`;
}

export function handleRequest(req: SipRequest, cfg: SipConfig, peer: Peer): SipOutcome {
  const events: SipEvent[] = [];
  const method = req.method.toUpperCase();
  const from = header(req, 'From') ?? '';
  const to = header(req, 'To') ?? '';
  const via = header(req, 'Via');
  const callId = header(req, 'Call-ID');
  const cseq = header(req, 'CSeq');
  const ua = header(req, 'User-Agent') ?? '';
  const base = { transport: peer.transport.toLowerCase(), src_ip: peer.src_ip, src_port: peer.src_port };
  events.push({
    event: 'request',
    ...base,
    method: printable(req.method, 32),
    uri: printable(req.uri),
    from: printable(from),
    to: printable(to),
    user_agent: printable(ua),
    ...(callId ? { call_id: printable(callId, 128) } : {}),
  });
  if (!via || !callId || !cseq || !from || !to) {
    // pjsip drops requests missing a mandatory header without answering
    events.push({ event: 'protocol_error', ...base, reason: 'missing mandatory header', method: printable(req.method, 32) });
    return { events };
  }
  if (method === 'ACK') return { events };

  const toTag = branchOf(via) ?? randomBytes(8).toString('hex');
  const build = (status: number, extra: [string, string][] = []): SipOutcome => {
    const headers: [string, string][] = [
      ['Via', rewriteVia(via, peer)],
      ['Call-ID', callId],
      ['From', from],
      ['To', hasTag(to) ? to : `${to};tag=${toTag}`],
      ['CSeq', cseq],
      ...extra,
      ['Server', cfg.server],
    ];
    return { reply: encodeResponse({ status, reason: REASONS[status] ?? 'Unknown', headers }), status, events };
  };

  const target = method === 'REGISTER' ? uriUser(to) || uriUser(req.uri) : uriUser(req.uri);

  switch (method) {
    case 'OPTIONS':
      if (target !== '' && !cfg.extensions.has(target)) return build(404);
      return build(200, [
        ['Accept', ACCEPT],
        ['Allow', ALLOW],
        ['Supported', SUPPORTED],
        ['Accept-Encoding', 'text/plain'],
        ['Accept-Language', 'en'],
      ]);
    case 'REGISTER':
    case 'INVITE':
    case 'SUBSCRIBE':
    case 'MESSAGE': {
      if (!cfg.extensions.has(target)) return build(404);
      const cred = header(req, 'Authorization') ?? header(req, 'Proxy-Authorization');
      if (cred) {
        const d = parseDigest(cred);
        const user = d?.['username'] ?? '';
        const line = d
          ? johnSipLine({
              server: cfg.domain,
              client: peer.src_ip,
              user,
              realm: d['realm'] ?? '',
              method,
              uri: d['uri'] ?? '',
              nonce: d['nonce'] ?? '',
              cnonce: d['cnonce'] ?? '',
              nc: d['nc'] ?? '',
              qop: d['qop'] ?? '',
              response: d['response'] ?? '',
            })
          : undefined;
        events.push({
          event: 'auth_attempt',
          ...base,
          principal: printable(user || target),
          secret_kind: 'sip_digest',
          ...secretFields((d?.['response'] ?? cred).slice(0, 256)),
          success: false,
          method,
          realm: printable(d?.['realm'] ?? ''),
          ...(line ? { hashcat: line } : {}),
        });
        return build(403);
      }
      const nonce = cfg.nonce?.() ?? asteriskNonce();
      const opaque = cfg.opaque?.() ?? randomBytes(8).toString('hex');
      return build(401, [['WWW-Authenticate', `Digest realm="${cfg.realm}",nonce="${nonce}",opaque="${opaque}",algorithm=md5,qop="auth"`]]);
    }
    case 'BYE':
    case 'CANCEL':
    case 'NOTIFY':
    case 'PRACK':
    case 'UPDATE':
    case 'REFER':
      return build(481);
    case 'PUBLISH':
      return build(target !== '' && !cfg.extensions.has(target) ? 404 : 481);
    default:
      return build(501, [['Allow', ALLOW]]);
  }
}
