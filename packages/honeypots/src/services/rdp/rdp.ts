/**
 * RDP honeypot (3389/tcp) for Windows deckies: the socket side of RdpSession.
 * Before TLS it feeds the raw socket; when the session asks, it wraps the same
 * socket in TLS (node:tls, server side) with a certificate shaped like the one
 * TermService makes for itself, and feeds the decrypted stream from then on.
 *
 * Config: nla (default true): require CredSSP (NLA) and capture NetNTLMv2; false
 * selects plain TLS when offered, so the client's password arrives in the clear
 * in its Client Info PDU. tls_cert/tls_key (PEM) replace the generated certificate.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { certRequestFor, type TlsIdentity } from '../../protocols/tls-cert.js';
import { replay, serviceIdentity } from '../../runtime/tls.js';
import { RdpSession, type Step } from './rdp-session.js';

/** the name TermService puts in its self-signed certificate: the FQDN when joined, else the computer name */
export function rdpCertName(ctx: ServiceContext): string {
  return certRequestFor('rdp', ctx.persona, ctx.config)!.cn;
}

/** Schannel on Windows 10 / Server 2019 offers TLS 1.2 at most; 1.3 came with Server 2022 and Windows 11. */
function tlsOptions(ctx: ServiceContext, id: TlsIdentity) {
  const build = ctx.persona.windows?.build ?? 17763;
  return {
    isServer: true,
    cert: id.cert,
    key: id.key,
    minVersion: 'TLSv1.2' as const,
    maxVersion: build >= 20348 ? ('TLSv1.3' as const) : ('TLSv1.2' as const),
    // schannel's order: ECDHE-GCM first, then ECDHE-CBC, then plain RSA
    ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:AES128-SHA',
    honorCipherOrder: true,
  };
}

/**
 * A duplex over `socket` that first yields `prefix`: bytes already read off the socket
 * (a ClientHello that came first, in the Direct Approach) which TLS must still see.
 */
export const rdpService: ServiceModule = {
  name: 'rdp',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const nla = ctx.config['nla'] !== false && ctx.config['nla'] !== 'false';
    // generated once per process (slow), shared by every connection
    const identity = serviceIdentity(ctx, certRequestFor('rdp', ctx.persona, ctx.config)!);
    return startTcpService(
      ctx,
      (socket, info) => {
        const session = new RdpSession({ persona: ctx.persona, nla, info, emit: ctx.emit });
        let out: Socket | TLSSocket = socket;
        const perform = (step: Step) => {
          for (const b of step.out) safeWrite(out, b);
          if (step.close) {
            out.end();
            // a client that never reads must not keep the socket: destroy shortly after
            setTimeout(() => socket.destroy(), 2000).unref();
            return;
          }
          if (step.startTls) startTls(step.tlsPrefix);
        };
        const onPlain = (chunk: Buffer) => perform(session.feed(chunk));
        const startTls = (prefix?: Buffer) => {
          socket.off('data', onPlain);
          const tls = new TLSSocket(prefix ? replay(socket, prefix) : socket, tlsOptions(ctx, identity));
          out = tls;
          tls.on('error', (err) => {
            ctx.log('tls error', { err: err.message });
            socket.destroy();
          });
          tls.on('data', (chunk: Buffer) => {
            if (!session.closed) perform(session.feed(chunk));
          });
          tls.on('secure', () => ctx.emit({ event: 'tls_handshake', ...info, tls_version: tls.getProtocol() ?? '', tls_cipher: tls.getCipher()?.name ?? '' }));
        };
        socket.on('data', onPlain);
      },
      { idleMs: 60_000 },
    );
  },
};
