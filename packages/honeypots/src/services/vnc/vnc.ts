/**
 * VNC honeypot: an RFB server of `vnc_version` (3.3, 3.7 or 3.8) offering VNC
 * authentication only. The challenge and the client's response become an
 * `auth_attempt` (secret_kind vnc_challenge) with the `$vnc$*challenge*response`
 * line john cracks offline; then the login fails as the real server's does.
 */
import { randomBytes } from 'node:crypto';
import { SERVICE_CATALOG } from '@decnet/api';
import { startTcpService } from '../../runtime/tcp.js';
import { safeWrite } from '../../runtime/limits.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { johnLine, RfbSession, serverHello, type RfbVersion } from './rfb.js';

const VERSIONS: readonly RfbVersion[] = ['003.003', '003.007', '003.008'];
const SECURITY_NAMES: Record<number, string> = { 0: 'Invalid', 1: 'None', 2: 'VNC Authentication', 16: 'Tight', 18: 'TLS', 19: 'VeNCrypt' };

export function configuredVersion(config: Record<string, unknown>): RfbVersion {
  const v = config['vnc_version'];
  const def = SERVICE_CATALOG['vnc']!.config['vnc_version']!.default as RfbVersion;
  return typeof v === 'string' && (VERSIONS as readonly string[]).includes(v.trim()) ? (v.trim() as RfbVersion) : def;
}

export const vncService: ServiceModule = {
  name: 'vnc',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const version = configuredVersion(ctx.config);
    return startTcpService(ctx, (socket, info) => {
      const session = new RfbSession(version, randomBytes(16));
      safeWrite(socket, serverHello(version));
      socket.on('data', (chunk: Buffer) => {
        const step = session.feed(chunk);
        for (const e of step.events) {
          switch (e.kind) {
            case 'version':
              ctx.emit({ event: 'request', ...info, client_version: e.client, rfb_version: e.negotiated });
              break;
            case 'security_type':
              ctx.emit({ event: 'request', ...info, security_type: e.type, security_name: SECURITY_NAMES[e.type] ?? `type ${e.type}` });
              break;
            case 'auth':
              ctx.emit({
                event: 'auth_attempt',
                ...info,
                principal: '',
                secret_kind: 'vnc_challenge',
                secret: e.response.toString('hex'),
                secret_b64: e.response.toString('base64'),
                challenge: e.challenge.toString('hex'),
                john: johnLine(e.challenge, e.response),
                rfb_version: e.version,
                success: false,
              });
              break;
            case 'error':
              ctx.emit({ event: 'protocol_error', ...info, message: e.message });
              break;
          }
        }
        for (const b of step.out) safeWrite(socket, b);
        if (step.close) socket.end();
      });
    });
  },
};
