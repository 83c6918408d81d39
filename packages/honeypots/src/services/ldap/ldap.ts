/**
 * LDAP honeypot socket adapter: an Active Directory domain controller on
 * 389/tcp (plain, with StartTLS) and 636/tcp (implicit TLS). The protocol
 * lives in LdapSession; this file frames the byte stream into whole
 * LDAPMessages (bounded), runs TLS and adds connection info to the events.
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { createFrameReader } from '../../runtime/frames.js';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import type { ConnInfo, EmitFields, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { certRequestFor } from '../../protocols/tls-cert.js';
import { serviceIdentity } from '../../runtime/tls.js';
import { ldapFrameLength, MAX_MESSAGE } from './ldap-codec.js';
import { LdapSession, type SessionOutput } from './ldap-session.js';

/** Ports that speak TLS from the first byte: LDAPS and the global catalog over SSL. */
const IMPLICIT_TLS_PORTS = new Set([636, 3269]);

function secureContext(ctx: ServiceContext): tls.SecureContext {
  const id = serviceIdentity(ctx, certRequestFor('ldap', ctx.persona, ctx.config)!);
  return tls.createSecureContext({ cert: id.cert, key: id.key, minVersion: 'TLSv1' });
}

/**
 * Start the service; `implicitTls[i]` says whether the i-th tcp port of the
 * context is an LDAPS port (default: by its number, 636 / 3269).
 */
export async function startLdapService(ctx: ServiceContext, implicitTls?: boolean[]): Promise<RunningService> {
  const tcpPorts = ctx.ports.filter((p) => p.proto === 'tcp');
  const tlsFlags = implicitTls ?? tcpPorts.map((p) => IMPLICIT_TLS_PORTS.has(p.port));
  let sc: tls.SecureContext | undefined;
  const context = () => (sc ??= secureContext(ctx));
  const tlsLocalPorts = new Set<number>();

  const running = await startTcpService(
    ctx,
    (socket, info) => {
      const session = new LdapSession({ persona: ctx.persona, config: ctx.config, seed: ctx.decky, tls: tlsLocalPorts.has(info.dst_port) });
      if (tlsLocalPorts.has(info.dst_port)) {
        const secure = wrapTls(ctx, socket, context(), info);
        serve(ctx, secure, socket, session, info, context);
      } else serve(ctx, socket, socket, session, info, context);
    },
    { idleMs: 120_000 },
  );
  running.ports.forEach((p, i) => {
    if (tlsFlags[i]) tlsLocalPorts.add(p);
  });
  // make the certificate now (RSA key generation is slow) rather than during the first TLS handshake
  if (tlsLocalPorts.size > 0) context();
  return running;
}

function wrapTls(ctx: ServiceContext, raw: Socket, secureContext: tls.SecureContext, info: ConnInfo): tls.TLSSocket {
  const secure = new tls.TLSSocket(raw, { isServer: true, secureContext });
  secure.on('error', (err) => {
    ctx.emit({ event: 'protocol_error', ...info, message: `tls: ${err.message}`.slice(0, 200) });
    raw.destroy();
  });
  return secure;
}

/** Read LDAP messages from `io` (the raw socket or its TLS wrapper) and answer on it. */
function serve(ctx: ServiceContext, io: Socket, raw: Socket, session: LdapSession, info: ConnInfo, context: () => tls.SecureContext): void {
  let upgraded = false;
  const apply = (out: SessionOutput) => {
    for (const ev of out.events) ctx.emit({ ...ev, ...info } as unknown as EmitFields);
    for (const r of out.replies) safeWrite(io, r);
    if (out.startTls && !upgraded) {
      upgraded = true;
      reader.stop();
      io.removeListener('data', onData);
      const secure = wrapTls(ctx, raw, context(), info);
      serve(ctx, secure, raw, session, info, context);
      return;
    }
    if (out.close) io.end();
  };
  const reader = createFrameReader({
    frameLength: ldapFrameLength,
    maxFrame: MAX_MESSAGE,
    onFrame: (frame) => {
      if (upgraded) return;
      try {
        apply(session.handle(frame));
      } catch (err) {
        ctx.log('ldap session threw', { err: String(err) });
        raw.destroy();
      }
    },
    onError: (reason) => apply(session.invalidStream(reason === 'overflow' ? 'message too large' : 'not an LDAP message')),
  });
  const onData = (chunk: Buffer) => reader.push(chunk);
  io.on('data', onData);
}

export const ldapService: ServiceModule = {
  name: 'ldap',
  start: (ctx) => startLdapService(ctx),
};
