/**
 * TLS for the honeypot services: the certificate a service presents (the
 * operator's PEM, else the identity made for the decky at apply time, else one
 * made now), implicit TLS on a fresh connection and STARTTLS-style upgrades.
 * Both read the client's ClientHello first (bounded) and record its JA3 and
 * JA4, then hand the bytes to node:tls, which does the handshake.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { fingerprint, readClientHello, type TlsFingerprint } from '../protocols/tls-hello.js';
import { tlsIdentityFor, type CertRequest, type TlsIdentity } from '../protocols/tls-cert.js';
import type { ConnInfo, ServiceContext } from './types.js';

export type { TlsFingerprint } from '../protocols/tls-hello.js';

/** How long a client may take to send its ClientHello before the connection is dropped. */
export const HELLO_TIMEOUT_MS = 15_000;

/** The identity a service presents: tls_cert/tls_key of its config, else the apply-time one of `fallback.style`, else one made now. */
export function serviceIdentity(ctx: ServiceContext, fallback: CertRequest): TlsIdentity {
  const own = tlsIdentityFor(ctx.config, fallback);
  const operator = typeof ctx.config['tls_cert'] === 'string' && typeof ctx.config['tls_key'] === 'string' && ctx.config['tls_cert'].includes('-----BEGIN');
  if (operator) return own;
  return ctx.tls?.[fallback.style] ?? own;
}

const contexts = new WeakMap<ServiceContext, Map<string, tls.SecureContext>>();

/** A secure context for the service's identity (memoised per service context and options). */
export function serviceSecureContext(
  ctx: ServiceContext,
  fallback: CertRequest,
  opts: { requestCert?: boolean; minVersion?: tls.SecureVersion; maxVersion?: tls.SecureVersion } = {},
): tls.SecureContext {
  let byKey = contexts.get(ctx);
  if (!byKey) contexts.set(ctx, (byKey = new Map()));
  const key = `${fallback.style}\0${fallback.cn}\0${opts.minVersion ?? ''}\0${opts.maxVersion ?? ''}`;
  let sc = byKey.get(key);
  if (!sc) {
    const id = serviceIdentity(ctx, fallback);
    sc = tls.createSecureContext({
      cert: id.cert,
      key: id.key,
      minVersion: opts.minVersion ?? 'TLSv1',
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      // old clients (and scanners) still offer SHA-1 era suites; most real servers accept them
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    byKey.set(key, sc);
  }
  return sc;
}

export interface TlsOptions {
  /** ask for a client certificate (never required; any certificate is accepted and recorded) */
  requestCert?: boolean;
  /** ALPN protocols the server selects from, in its order of preference */
  alpn?: string[];
}

/** The fields a client certificate adds to events. */
export function peerCertificateFields(s: tls.TLSSocket): { subject: string; issuer: string; fingerprint256: string } | undefined {
  try {
    const c = s.getPeerCertificate();
    if (!c || !c.subject || Object.keys(c).length === 0) return undefined;
    const dn = (o: Record<string, unknown> | undefined) =>
      Object.entries(o ?? {})
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
        .join(', ')
        .slice(0, 512);
    return { subject: dn(c.subject as unknown as Record<string, unknown>), issuer: dn(c.issuer as unknown as Record<string, unknown>), fingerprint256: c.fingerprint256 ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * Read the ClientHello from `raw`, then hand the connection to node:tls.
 * `onHello` sees the fingerprint (undefined when the first bytes are no TLS
 * handshake, or nothing came); `onSecure` gets the TLS socket, which reads the
 * already consumed bytes first. A client that sends no valid hello is closed.
 */
export function acceptTls(
  ctx: ServiceContext,
  raw: Socket,
  info: ConnInfo,
  sc: tls.SecureContext,
  onSecure: (s: tls.TLSSocket, fp: TlsFingerprint | undefined) => void,
  opts: TlsOptions & { onHello?: (fp: TlsFingerprint | undefined) => void } = {},
): void {
  let buf: Buffer = Buffer.alloc(0);
  let done = false;
  const timer = setTimeout(() => finish(undefined, 'no ClientHello'), HELLO_TIMEOUT_MS);
  timer.unref?.();
  const onData = (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const r = readClientHello(buf);
    if (r.state === 'need-more') return;
    if (r.state === 'hello') finish(fingerprint(r.hello));
    else finish(undefined, r.state === 'not-tls' ? 'not a TLS handshake' : 'malformed ClientHello');
  };
  const onEnd = () => finish(undefined, 'closed before the ClientHello');
  raw.on('data', onData);
  raw.once('end', onEnd);
  raw.once('close', onEnd);

  function finish(fp: TlsFingerprint | undefined, problem?: string): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    raw.off('data', onData);
    raw.off('end', onEnd);
    raw.off('close', onEnd);
    try {
      opts.onHello?.(fp);
    } catch (err) {
      ctx.log('tls onHello threw', { err: String(err) });
    }
    if (problem) {
      if (!raw.destroyed) {
        ctx.emit({ event: 'protocol_error', ...info, message: `tls: ${problem}`, ...(buf.length > 0 ? { first_bytes: buf.subarray(0, 64).toString('hex') } : {}) });
        // a real TLS server answers garbage with a fatal alert (handshake_failure) and closes
        raw.end(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28]));
      }
      return;
    }
    const secure = new tls.TLSSocket(replay(raw, buf), {
      isServer: true,
      secureContext: sc,
      ...(opts.requestCert ? { requestCert: true, rejectUnauthorized: false } : {}),
      ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}),
    });
    secure.on('error', (err) => {
      ctx.emit({ event: 'protocol_error', ...info, message: `tls: ${err.message}`.slice(0, 200) });
      raw.destroy();
    });
    try {
      onSecure(secure, fp);
    } catch (err) {
      ctx.log('tls handler threw', { err: String(err) });
      raw.destroy();
    }
  }
}

/**
 * STARTTLS: the protocol has said "go ahead"; the next bytes are the ClientHello.
 * Emits a `tls_handshake` event with the client's fingerprint.
 */
export function startTls(
  ctx: ServiceContext,
  raw: Socket,
  info: ConnInfo,
  sc: tls.SecureContext,
  onSecure: (s: tls.TLSSocket, fp: TlsFingerprint | undefined) => void,
  opts: TlsOptions = {},
): void {
  acceptTls(ctx, raw, info, sc, onSecure, {
    ...opts,
    onHello: (fp) => {
      if (fp) ctx.emit({ event: 'tls_handshake', ...info, starttls: true, ...fp });
    },
  });
}

/**
 * A duplex over `socket` that first yields `prefix` (bytes already read from
 * it), for node:tls or a protocol parser to start from the beginning.
 */
export function replay(socket: Socket, prefix: Buffer): Duplex {
  const inner = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed) return cb();
      socket.write(chunk, () => cb());
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  if (prefix.length > 0) inner.push(prefix);
  socket.on('data', (d: Buffer) => {
    if (!inner.push(d)) socket.pause();
  });
  socket.once('end', () => inner.push(null));
  socket.once('close', () => inner.destroy());
  return inner;
}
