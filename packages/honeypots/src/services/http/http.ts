/**
 * HTTP honeypot (node:http). Persona (see http-config.ts): server_header,
 * response_code (default page), extra_headers, custom_body, fake_app.
 * Every request -> `request` event; Basic credentials -> auth_attempt
 * (http_basic); fake-app logins -> auth_attempt (http_form). Bodies are read up
 * to 64 KiB (the rest is counted and dropped, > 8 MiB closes the connection);
 * header size, header count and request time are bounded.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { secretFields } from '@decnet/api';
import { ConnectionTracker, connInfo, safeSocket } from '../../runtime/limits.js';
import { closeServer, listenTcp } from '../../runtime/tcp.js';
import type { ConnInfo, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { FAKE_APP_HANDLERS, type AppResponse } from './http-apps.js';
import { readHttpPersona, type HttpPersona } from './http-config.js';
import { defaultPage, notFoundPage, statusPage } from './http-pages.js';

export const HTTP_LIMITS = {
  maxBodyKept: 64 * 1024,
  maxBodyTotal: 8 * 1024 * 1024,
  maxHeaderSize: 16 * 1024,
  maxHeadersCount: 100,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 30_000,
  idleMs: 60_000,
  maxConnections: 256,
  bodyPreview: 2048,
  headerValueChars: 512,
};

/** Headers echoed in the request event (authorization is reduced to its scheme). */
function selectedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length && Object.keys(out).length < 32; i += 2) {
    const name = raw[i]!.toLowerCase().slice(0, 64);
    let value = raw[i + 1]!;
    if (name === 'authorization' || name === 'proxy-authorization') value = value.split(' ')[0] ?? '';
    out[name] = out[name] === undefined ? value.slice(0, HTTP_LIMITS.headerValueChars) : `${out[name]}, ${value}`.slice(0, HTTP_LIMITS.headerValueChars);
  }
  return out;
}

/** Decode `Authorization: Basic ...`; undefined when absent or not Basic. */
export function parseBasicAuth(header: string | undefined): { user: string; pass: Buffer } | undefined {
  const m = /^\s*basic\s+([A-Za-z0-9+/=_-]*)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const raw = Buffer.from(m[1]!, 'base64');
  const i = raw.indexOf(0x3a);
  return i < 0 ? { user: raw.toString('utf8'), pass: Buffer.alloc(0) } : { user: raw.subarray(0, i).toString('utf8'), pass: raw.subarray(i + 1) };
}

function route(p: HttpPersona, req: IncomingMessage, path: string, body: Buffer, hostname: string, port: number): AppResponse {
  const ctype = (req.headers['content-type'] ?? '').toLowerCase();
  const form = ctype.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(body.toString('utf8')) : undefined;
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const method = req.method ?? 'GET';
  if (p.fakeApp !== 'none') {
    const r = FAKE_APP_HANDLERS[p.fakeApp]({ method, path, query, form, body, hostname });
    if (r) return r;
  }
  const html = { 'Content-Type': 'text/html; charset=UTF-8' };
  if (path === '/' || path === '/index.html') {
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      return { status: 405, headers: { ...html, Allow: 'GET, POST, OPTIONS, HEAD' }, body: statusPage(405, 'Method Not Allowed') };
    }
    return { status: p.responseCode, headers: html, body: p.customBody ?? defaultPage(p.serverHeader) };
  }
  return { status: 404, headers: html, body: notFoundPage(p.serverHeader, hostname, port) };
}

function handle(ctx: ServiceContext, p: HttpPersona, req: IncomingMessage, res: ServerResponse): void {
  const info: ConnInfo = connInfo(req.socket);
  const chunks: Buffer[] = [];
  let kept = 0;
  let received = 0;
  let aborted = false;
  req.on('error', () => {});
  req.on('data', (c: Buffer) => {
    received += c.length;
    if (kept < HTTP_LIMITS.maxBodyKept) {
      const part = c.subarray(0, HTTP_LIMITS.maxBodyKept - kept);
      chunks.push(part);
      kept += part.length;
    }
    if (received > HTTP_LIMITS.maxBodyTotal && !aborted) {
      aborted = true;
      finish(413);
    }
  });
  req.on('end', () => {
    if (!aborted) finish();
  });

  function finish(forceStatus?: number): void {
    const body = Buffer.concat(chunks);
    const url = (req.url ?? '/').slice(0, 4096);
    const path = url.split('?')[0] ?? '/';
    const hostHeader = req.headers.host ?? '';
    const hostname = hostHeader.replace(/:\d+$/, '').replace(/[^A-Za-z0-9.[\]:-]/g, '').slice(0, 255) || ctx.hostname;
    let r: AppResponse;
    try {
      r = forceStatus ? { status: forceStatus, body: statusPage(forceStatus, 'Request Entity Too Large') } : route(p, req, path, body, hostname, info.dst_port);
    } catch (err) {
      ctx.log('http route failed', { err: String(err) });
      r = { status: 500, body: statusPage(500, 'Internal Server Error') };
    }
    const cl = req.headers['content-length'];
    ctx.emit({
      event: 'request',
      ...info,
      method: (req.method ?? '').slice(0, 32),
      path: url,
      http_version: req.httpVersion,
      http_host: hostHeader.slice(0, 255),
      user_agent: (req.headers['user-agent'] ?? '').slice(0, 1024),
      ...(cl !== undefined ? { content_length: Number(cl) || 0 } : {}),
      body_size: received,
      ...(received > 0 ? { body: secretFields(body.subarray(0, HTTP_LIMITS.bodyPreview)).secret, body_truncated: received > HTTP_LIMITS.bodyPreview } : {}),
      headers: selectedHeaders(req),
      status: r.status,
      ...(p.fakeApp !== 'none' ? { fake_app: p.fakeApp } : {}),
    });
    const basic = parseBasicAuth(req.headers.authorization);
    if (basic) {
      ctx.emit({ event: 'auth_attempt', ...info, principal: basic.user, secret_kind: 'http_basic', ...secretFields(basic.pass), path: url, success: false });
    }
    if (r.auth) {
      ctx.emit({
        event: 'auth_attempt',
        ...info,
        principal: r.auth.principal,
        secret_kind: 'http_form',
        ...secretFields(r.auth.secret),
        app: r.auth.app,
        login_method: r.auth.method,
        path: url,
        success: false,
      });
    }
    send(res, p, r, req.method === 'HEAD', aborted);
  }
}

function send(res: ServerResponse, p: HttpPersona, r: AppResponse, head: boolean, close: boolean): void {
  try {
    const payload = Buffer.from(r.body, 'utf8');
    res.statusCode = r.status;
    res.setHeader('Server', p.serverHeader);
    for (const [k, v] of p.extraHeaders) res.setHeader(k, v);
    for (const [k, v] of Object.entries(r.headers ?? { 'Content-Type': 'text/html; charset=iso-8859-1' })) res.setHeader(k, v);
    res.setHeader('Content-Length', payload.length);
    if (close) res.setHeader('Connection', 'close');
    res.end(head ? undefined : payload);
    if (close) res.once('finish', () => res.socket?.destroy());
  } catch {
    res.socket?.destroy();
  }
}

export const httpService: ServiceModule = {
  name: 'http',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const persona = readHttpPersona(ctx.config);
    for (const e of persona.errors) ctx.log(`http config: ${e}`);
    const tracker = new ConnectionTracker(HTTP_LIMITS.maxConnections);
    const servers: http.Server[] = [];
    const ports: number[] = [];
    for (const port of ctx.ports.filter((x) => x.proto === 'tcp')) {
      const server = http.createServer(
        {
          maxHeaderSize: HTTP_LIMITS.maxHeaderSize,
          requestTimeout: HTTP_LIMITS.requestTimeoutMs,
          headersTimeout: HTTP_LIMITS.headersTimeoutMs,
          keepAliveTimeout: 5_000,
          connectionsCheckingInterval: 5_000,
        },
        (req, res) => {
          try {
            handle(ctx, persona, req, res);
          } catch (err) {
            ctx.log('http handler threw', { err: String(err) });
            res.socket?.destroy();
          }
        },
      );
      server.maxHeadersCount = HTTP_LIMITS.maxHeadersCount;
      server.maxRequestsPerSocket = 100;
      server.timeout = HTTP_LIMITS.idleMs;
      server.on('connection', (socket: Socket) => {
        safeSocket(socket, (err) => ctx.log('socket error', { err: err.message }));
        if (!tracker.admit(socket)) return;
        const info = connInfo(socket);
        ctx.emit({ event: 'connection', ...info });
        socket.once('close', () => ctx.emit({ event: 'disconnect', ...info }));
      });
      server.on('clientError', (err: Error & { code?: string }, socket) => {
        const info = connInfo(socket as Socket);
        ctx.emit({ event: 'protocol_error', ...info, message: err.code ?? err.message });
        if (socket.writable && err.code !== 'ECONNRESET') {
          const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
          socket.end(`HTTP/1.1 ${status}\r\nServer: ${persona.serverHeader}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        } else socket.destroy();
      });
      server.on('error', (err) => ctx.log('server error', { err: err.message }));
      ports.push(await listenTcp(server, ctx.bindHost, port.port));
      servers.push(server);
    }
    return {
      ports,
      async close() {
        tracker.destroyAll();
        for (const s of servers) s.closeAllConnections();
        await Promise.all(servers.map(closeServer));
      },
    };
  },
};
