/**
 * HTTP and HTTPS honeypot on the shared HTTP front (runtime/http.ts). Persona
 * (see http-config.ts): server_header, response_code (default page),
 * extra_headers, custom_body, fake_app; https adds its certificate (tls_cn, or
 * the operator's tls_cert/tls_key; by default the decky's snakeoil certificate
 * as Debian's Apache has it). Every request -> `request` event (the front);
 * Basic credentials -> auth_attempt http_basic (the front); fake-app logins ->
 * auth_attempt (http_form).
 */
import { secretFields } from '@decnet/api';
import { certRequestFor } from '../../protocols/tls-cert.js';
import { HTTP_LIMITS, startHttpService, type HttpReply, type HttpRequest } from '../../runtime/http.js';
import { serviceSecureContext } from '../../runtime/tls.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { FAKE_APP_HANDLERS, type AppResponse } from './http-apps.js';
import { readHttpPersona, type HttpPersona } from './http-config.js';
import { defaultPage, notFoundPage, statusPage } from './http-pages.js';
import { pageContentType, productBadRequest, productHead, staticFileHeaders } from './http-products.js';

export { HTTP_LIMITS, parseBasicAuth } from '../../runtime/http.js';

function route(p: HttpPersona, req: HttpRequest, hostname: string, port: number, seed: string): AppResponse {
  const ctype = String(req.headers['content-type'] ?? '').toLowerCase();
  const form = ctype.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(req.body.toString('utf8')) : undefined;
  const { method, path, query, body } = req;
  if (p.fakeApp !== 'none') {
    const r = FAKE_APP_HANDLERS[p.fakeApp]({ method, path, query, form, body, hostname });
    if (r) return r;
  }
  const html = (status: number) => ({ 'Content-Type': pageContentType(p.serverHeader, status) });
  if (path === '/' || path === '/index.html') {
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      return { status: 405, headers: { ...html(405), Allow: 'GET, POST, OPTIONS, HEAD' }, body: statusPage(405, 'Method Not Allowed') };
    }
    const body = p.customBody ?? defaultPage(p.serverHeader);
    // the index page is a file on disk: its Last-Modified, ETag and Accept-Ranges as the product sends them
    const file = p.responseCode === 200 ? Object.fromEntries(staticFileHeaders(p.serverHeader, seed, body)) : {};
    return { status: p.responseCode, headers: { ...html(p.responseCode), ...file }, body };
  }
  return { status: 404, headers: html(404), body: notFoundPage(p.serverHeader, hostname, port) };
}

/** The pure handler: request -> reply (pages, fake apps, form-login captures). */
export function httpHandler(ctx: ServiceContext, p: HttpPersona): (req: HttpRequest) => HttpReply {
  return (req) => {
    const hostHeader = req.headers.host ?? '';
    const hostname = hostHeader.replace(/:\d+$/, '').replace(/[^A-Za-z0-9.[\]:-]/g, '').slice(0, 255) || ctx.hostname;
    let r: AppResponse;
    try {
      r = route(p, req, hostname, req.info.dst_port, ctx.decky);
    } catch (err) {
      ctx.log('http route failed', { err: String(err) });
      r = { status: 500, body: statusPage(500, 'Internal Server Error') };
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of p.extraHeaders) headers[k] = v;
    Object.assign(headers, r.headers ?? { 'Content-Type': 'text/html; charset=iso-8859-1' });
    return {
      status: r.status,
      headers,
      body: r.body,
      ...(p.fakeApp !== 'none' ? { fields: { fake_app: p.fakeApp } } : {}),
      ...(r.auth
        ? {
            events: [
              {
                event: 'auth_attempt',
                principal: r.auth.principal,
                secret_kind: 'http_form',
                ...secretFields(r.auth.secret),
                app: r.auth.app,
                login_method: r.auth.method,
                path: req.url,
                success: false,
              },
            ],
          }
        : {}),
    };
  };
}

function start(ctx: ServiceContext, overTls: boolean): Promise<RunningService> {
  const persona = readHttpPersona(ctx.config);
  for (const e of persona.errors) ctx.log(`http config: ${e}`);
  const request = overTls ? certRequestFor('https', ctx.persona, ctx.config) : undefined;
  const port = ctx.ports[0]?.port ?? (overTls ? 443 : 80);
  const badRequest = (status: number, reason: string) =>
    productBadRequest(persona.serverHeader, status, reason, ctx.hostname, port, new Date().toUTCString()) ??
    `HTTP/1.1 ${status} ${reason}\r\nServer: ${persona.serverHeader}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
  return startHttpService(ctx, httpHandler(ctx, persona), {
    serverHeader: persona.serverHeader,
    badRequest,
    head: (status, headers, st) => productHead(persona.serverHeader, headers, st),
    ...(request
      ? {
          implicitTls: () => true,
          secureContext: () => serviceSecureContext(ctx, request),
        }
      : {}),
  }).then((running) => {
    // make the certificate now (RSA key generation is slow) rather than in the first handshake
    if (request) serviceSecureContext(ctx, request);
    return running;
  });
}

export const httpService: ServiceModule = {
  name: 'http',
  start: (ctx) => start(ctx, false),
};

export const httpsService: ServiceModule = {
  name: 'https',
  start: (ctx) => start(ctx, true),
};
