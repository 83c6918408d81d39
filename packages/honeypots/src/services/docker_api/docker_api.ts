/**
 * Docker Engine API honeypot (an exposed dockerd) on the shared HTTP front:
 * 2375 plain, 2376 TLS with an internal-CA style certificate (or the operator's
 * tls_cert/tls_key), client certificates asked for and recorded. Go's net/http
 * framing (no Keep-Alive header). The engine is docker-api.ts; every request is
 * an event with the docker operation, image, command, binds and privilege flags
 * it carries. Nothing is pulled, created or run.
 */
import { createHash } from 'node:crypto';
import { secretFields } from '@decnet/api';
import { certRequestFor } from '../../protocols/tls-cert.js';
import { goBadRequest, startHttpService, type HttpReply, type HttpRequest } from '../../runtime/http.js';
import { serviceSecureContext } from '../../runtime/tls.js';
import type { ConnInfo, EmitFields, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { DEFAULT_DOCKER_VERSION, DockerEngine } from './docker-api.js';

export function dockerHandler(engine: DockerEngine): (req: HttpRequest) => HttpReply {
  const certSeen = new WeakSet<ConnInfo>();
  return (req) => {
    const r = engine.handle({ method: req.method, path: req.path, query: req.query, body: req.body });
    const events: EmitFields[] = [];
    if (req.peerCertificate && !certSeen.has(req.info)) {
      certSeen.add(req.info);
      const pc = req.peerCertificate;
      events.push({ event: 'auth_attempt', principal: /(?:^|,\s*)CN=([^,]*)/.exec(pc.subject)?.[1] ?? '', secret_kind: 'x509_client_cert', ...secretFields(pc.fingerprint256), cert_subject: pc.subject, cert_issuer: pc.issuer, success: false });
    }
    const h: Record<string, string | number> = r.bare ? {} : { ...engine.headers() };
    let body: Buffer;
    if (r.text !== undefined) {
      body = Buffer.from(r.text, 'utf8');
      h['Content-Type'] = 'text/plain; charset=utf-8';
      if (req.path.endsWith('/_ping')) {
        h['Builder-Version'] = '2';
        h['Cache-Control'] = 'no-cache, no-store, must-revalidate';
        h['Pragma'] = 'no-cache';
      }
    } else if (r.json !== undefined) {
      body = Buffer.from(`${JSON.stringify(r.json)}\n`, 'utf8');
      h['Content-Type'] = 'application/json';
    } else body = Buffer.alloc(0);
    // Go writes a handler's headers sorted by name, then Date and Content-Length
    const headers: Record<string, string | number> = Object.fromEntries(Object.entries(h).sort(([a], [b]) => (a < b ? -1 : 1)));
    headers['Date'] = new Date().toUTCString();
    if (r.status !== 204 && r.status !== 304) headers['Content-Length'] = body.length;
    return { status: r.status, headers, body: r.status === 204 || r.status === 304 ? Buffer.alloc(0) : body, fields: r.fields, ...(events.length ? { events } : {}) };
  };
}

async function start(ctx: ServiceContext): Promise<RunningService> {
  const version = typeof ctx.config['docker_version'] === 'string' && ctx.config['docker_version'] !== '' ? ctx.config['docker_version'] : DEFAULT_DOCKER_VERSION;
  const seed = createHash('sha256').update(ctx.decky).digest('hex');
  const engine = new DockerEngine({
    version,
    hostname: ctx.hostname,
    kernel: '5.15.0-91-generic',
    operatingSystem: 'Ubuntu 22.04.3 LTS',
    ncpu: 4 + (parseInt(seed.slice(0, 2), 16) % 2) * 4,
    memTotal: 16_764_502_016,
    seed,
  });
  const request = certRequestFor('docker_api', ctx.persona, ctx.config)!;
  const secureContext = () => serviceSecureContext(ctx, request, { minVersion: 'TLSv1.2' });
  const running = await startHttpService(ctx, dockerHandler(engine), {
    implicitTls: (p) => p.port === 2376,
    secureContext,
    requestCert: true,
    keepAliveHeader: false,
    connectionHeader: false,
    // Go answers an HTTP/1.0 request in HTTP/1.0 and closes (nmap's docker match reads that)
    rawHttp10: true,
    badRequest: goBadRequest,
  });
  secureContext();
  return running;
}

export const dockerApiService: ServiceModule = { name: 'docker_api', start };
