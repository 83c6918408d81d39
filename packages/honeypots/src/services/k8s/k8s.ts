/**
 * Kubernetes API server honeypot (kube-apiserver with anonymous auth and RBAC,
 * as kubeadm sets it up) on the shared HTTP front. Port 6443 is TLS with the
 * kubeadm apiserver certificate (or the operator's tls_cert/tls_key) and asks
 * for a client certificate; port 8080 answers the same API in plain HTTP (the
 * old insecure port's address, but with the secure port's authentication:
 * nothing is ever served to an unauthenticated caller beyond what anonymous
 * gets on 6443).
 *
 * Events: every request (the front) carries k8s_verb / k8s_resource /
 * k8s_namespace / ... ; bearer tokens -> auth_attempt bearer_token (the front
 * for Authorization, here for the WebSocket subprotocol form); client
 * certificates -> auth_attempt x509_client_cert (once per connection).
 */
import { randomUUID, createHash } from 'node:crypto';
import { secretFields } from '@decnet/api';
import { certRequestFor } from '../../protocols/tls-cert.js';
import { goBadRequest, startHttpService, type HttpReply, type HttpRequest } from '../../runtime/http.js';
import { serviceSecureContext } from '../../runtime/tls.js';
import type { ConnInfo, EmitFields, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { DEFAULT_K8S_VERSION, handleK8s, versionInfo, type VersionInfo } from './k8s-api.js';

/** A stable UUID (v4-shaped) per decky and name: the cluster's FlowSchema / PriorityLevel object UIDs. */
function stableUid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function cnOf(subject: string): string {
  const m = /(?:^|,\s*)CN=([^,]*)/.exec(subject);
  return m ? m[1]! : '';
}

function serverAddressOf(host: string | undefined, port: number): string {
  const h = (host ?? '').replace(/:\d+$/, '');
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) ? `${h}:${port}` : `127.0.0.1:${port}`;
}

/** The pure handler (plus events) for one request. */
export function k8sHandler(ctx: ServiceContext, version: VersionInfo): (req: HttpRequest) => HttpReply {
  const uid = (name: string) => stableUid(`${ctx.decky}\0${name}`);
  const certSeen = new WeakSet<ConnInfo>();
  return (req) => {
    const cn = req.peerCertificate ? cnOf(req.peerCertificate.subject) : undefined;
    const r = handleK8s({ method: req.method, url: req.url, headers: req.headers, ...(cn !== undefined ? { clientCertCn: cn } : {}) }, version, serverAddressOf(req.headers.host, 6443));
    const events: EmitFields[] = [];
    if (req.peerCertificate && !certSeen.has(req.info)) {
      certSeen.add(req.info);
      const pc = req.peerCertificate;
      const groups = [...pc.subject.matchAll(/(?:^|,\s*)O=([^,]*)/g)].map((m) => m[1]!);
      events.push({
        event: 'auth_attempt',
        principal: cn ?? '',
        secret_kind: 'x509_client_cert',
        ...secretFields(pc.fingerprint256),
        cert_subject: pc.subject,
        cert_issuer: pc.issuer,
        cert_fingerprint256: pc.fingerprint256,
        ...(groups.length ? { k8s_groups: groups } : {}),
        path: req.url,
        success: false,
      });
    }
    const ws = /(?:^|[\s,])base64url\.bearer\.authorization\.k8s\.io\.([A-Za-z0-9_-]{1,8192})/.exec(String(req.headers['sec-websocket-protocol'] ?? ''));
    if (ws) events.push({ event: 'auth_attempt', secret_kind: 'bearer_token', ...secretFields(Buffer.from(ws[1]!, 'base64url')), via: 'websocket-subprotocol', path: req.url, success: false });
    const body = Buffer.from(r.body, 'utf8');
    if (r.raw400) return { status: 400, headers: { 'Content-Type': r.contentType, 'Content-Length': body.length }, body, fields: r.fields, close: true, ...(events.length ? { events } : {}) };
    // Go writes the handler's headers sorted, then Date and Content-Length
    const headers: Record<string, string | number> = {
      'Audit-Id': randomUUID(),
      'Cache-Control': 'no-cache, private',
      'Content-Type': r.contentType,
    };
    for (const [k, v] of Object.entries(r.extraHeaders ?? {})) headers[k] = v;
    if (r.nosniff) headers['X-Content-Type-Options'] = 'nosniff';
    if (r.apf) {
      headers['X-Kubernetes-Pf-Flowschema-Uid'] = uid(`flowschema/${r.apf.flowSchema}`);
      headers['X-Kubernetes-Pf-Prioritylevel-Uid'] = uid(`prioritylevel/${r.apf.priorityLevel}`);
    }
    headers['Date'] = new Date().toUTCString();
    headers['Content-Length'] = body.length;
    return { status: r.status, headers, body, fields: r.fields, ...(events.length ? { events } : {}) };
  };
}

async function start(ctx: ServiceContext): Promise<RunningService> {
  const configured = typeof ctx.config['k8s_version'] === 'string' && ctx.config['k8s_version'] !== '' ? ctx.config['k8s_version'] : DEFAULT_K8S_VERSION;
  const v = versionInfo(configured);
  if (v.error) ctx.log(`k8s config: ${v.error}`);
  const request = certRequestFor('k8s', ctx.persona, ctx.config)!;
  // kube-apiserver's secure serving defaults to TLS 1.2 as the lowest version
  const secureContext = () => serviceSecureContext(ctx, request, { minVersion: 'TLSv1.2' });
  const running = await startHttpService(ctx, k8sHandler(ctx, v.info), {
    implicitTls: (p) => p.port === 6443,
    secureContext,
    requestCert: true,
    keepAliveHeader: false,
    connectionHeader: false,
    badRequest: goBadRequest,
  });
  // make the certificate now (RSA key generation is slow) rather than in the first handshake
  secureContext();
  return running;
}

export const k8sService: ServiceModule = { name: 'k8s', start };
