/**
 * HTTP front for the services that speak HTTP (http, https, elasticsearch, the
 * Kubernetes and Docker APIs): node:http parses requests on connections that
 * startTcpService accepted (plain or implicit TLS, with the connection events
 * and the connection cap), a service's pure handler answers, and this module
 * emits one `request` event per request, captures Basic and Bearer
 * credentials, and bounds headers, bodies and times.
 */
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { secretFields, type ServicePort } from '@decnet/api';
import { startTcpService } from './tcp.js';
import { peerCertificateFields } from './tls.js';
import type { ConnInfo, EmitFields, RunningService, ServiceContext } from './types.js';

export const HTTP_LIMITS = {
  maxBodyKept: 64 * 1024,
  maxBodyTotal: 8 * 1024 * 1024,
  maxHeaderSize: 16 * 1024,
  maxHeadersCount: 100,
  idleMs: 60_000,
  maxConnections: 256,
  bodyPreview: 2048,
  headerValueChars: 512,
  maxUrl: 4096,
};

export interface HttpRequest {
  method: string;
  /** the request target as sent (at most 4 KiB) */
  url: string;
  /** the path part of url, percent-decoding left to the handler */
  path: string;
  query: URLSearchParams;
  /** lower-case names */
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  httpVersion: string;
  /** the first maxBodyKept bytes of the body */
  body: Buffer;
  /** the whole body's size */
  bodySize: number;
  info: ConnInfo;
  tls: boolean;
  peerCertificate?: { subject: string; issuer: string; fingerprint256: string };
}

export interface HttpReply {
  status: number;
  headers?: Record<string, string | number | string[]>;
  body?: string | Buffer;
  /** events besides the request event (connection info is added) */
  events?: EmitFields[];
  /** fields merged into the request event */
  fields?: Record<string, unknown>;
  /** close the connection after the reply */
  close?: boolean;
}

/** Go's net/http answer to a request it cannot parse (Docker, Kubernetes: the `badRequest` option). */
export function goBadRequest(status: number, reason: string): string {
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status} ${reason}`;
}

export type HttpHandler = (req: HttpRequest) => HttpReply | Promise<HttpReply>;

export interface HttpServiceOptions {
  implicitTls?: (p: ServicePort) => boolean;
  secureContext?: () => tls.SecureContext;
  /** ask TLS clients for a certificate (any is accepted; its subject is on the request) */
  requestCert?: boolean;
  /** Server header of every reply (none when undefined) */
  serverHeader?: string;
  /** capture Basic/Bearer Authorization headers as auth_attempt (default true) */
  captureAuth?: boolean;
  /**
   * Go's net/http sends no Keep-Alive header (Docker, Kubernetes); Apache and
   * node do. Default true.
   */
  keepAliveHeader?: boolean;
  /**
   * false: no `Connection: keep-alive` on replies that keep the connection, and
   * none on HTTP/1.0 replies (Go's net/http). Default true (node's headers).
   */
  connectionHeader?: boolean;
  /** the answer to a request node:http cannot parse (default: a bare 400 with the Server header) */
  badRequest?: (status: number, reason: string) => string;
  /** false: no Date header (default true, node's) */
  sendDate?: boolean;
  /**
   * Answer HTTP/1.0 requests with an `HTTP/1.0` status line, written as is: the
   * reply's headers (names as given, in order), Content-Length when the reply has
   * none, no Date/Connection/Server, then close (Netty). Default false.
   */
  rawHttp10?: boolean;
  /**
   * The reply's head as the emulated product writes it: given the status and the
   * reply's headers (Content-Length included), the full ordered header list (its own
   * Date, Server and connection headers); undefined keeps node's order.
   */
  head?: (status: number, headers: [string, string][], state: { date: string; close: boolean; remaining: number }) => [string, string][] | undefined;
}

/** Headers echoed in the request event (authorization is reduced to its scheme). */
function selectedHeaders(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length && Object.keys(out).length < 32; i += 2) {
    const name = raw[i]!.toLowerCase().slice(0, 64);
    let value = raw[i + 1]!;
    if (name === 'authorization' || name === 'proxy-authorization') value = value.split(' ')[0] ?? '';
    out[name] = out[name] === undefined ? value.slice(0, HTTP_LIMITS.headerValueChars) : `${out[name]}, ${value}`.slice(0, HTTP_LIMITS.headerValueChars);
  }
  return out;
}

/** Longest `http_header_order` kept (names beyond it are dropped whole). */
export const MAX_HEADER_ORDER = 1024;

/**
 * The client's header-order fingerprint: lower-case header names in the order
 * received, comma-joined (at most MAX_HEADER_ORDER characters, names cut to 64),
 * and `http_fp`, the first 12 hex of its SHA-256.
 */
export function headerOrderFingerprint(raw: string[]): { http_header_order: string; http_fp: string } {
  let order = '';
  for (let i = 0; i < raw.length && i < 2 * HTTP_LIMITS.maxHeadersCount; i += 2) {
    const name = raw[i]!.toLowerCase().replace(/[^\x21-\x7e]/g, '?').slice(0, 64);
    const next = order === '' ? name : `${order},${name}`;
    if (next.length > MAX_HEADER_ORDER) break;
    order = next;
  }
  return { http_header_order: order, http_fp: createHash('sha256').update(order).digest('hex').slice(0, 12) };
}

/** Decode `Authorization: Basic ...`; undefined when absent or not Basic. */
export function parseBasicAuth(header: string | undefined): { user: string; pass: Buffer } | undefined {
  const m = /^\s*basic\s+([A-Za-z0-9+/=_-]*)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const raw = Buffer.from(m[1]!, 'base64');
  const i = raw.indexOf(0x3a);
  return i < 0 ? { user: raw.toString('utf8'), pass: Buffer.alloc(0) } : { user: raw.subarray(0, i).toString('utf8'), pass: raw.subarray(i + 1) };
}

/** The token of `Authorization: Bearer ...`, bounded; undefined when absent. */
export function parseBearer(header: string | undefined): string | undefined {
  const m = /^\s*bearer\s+(\S{1,8192})\s*$/i.exec(header ?? '');
  return m ? m[1] : undefined;
}

/** Requests one connection may carry (Apache's MaxKeepAliveRequests default). */
const MAX_REQUESTS_PER_SOCKET = 100;

function statusLine(status: number): string {
  return `${status} ${http.STATUS_CODES[status] ?? 'Unknown'}`;
}

export async function startHttpService(ctx: ServiceContext, handle: HttpHandler, opts: HttpServiceOptions = {}): Promise<RunningService> {
  const infoOf = new WeakMap<object, ConnInfo>();
  const server = http.createServer({ maxHeaderSize: HTTP_LIMITS.maxHeaderSize, keepAliveTimeout: opts.keepAliveHeader === false ? 0 : 5_000 }, (req, res) => {
    try {
      onRequest(req, res);
    } catch (err) {
      ctx.log('http handler threw', { err: String(err) });
      res.socket?.destroy();
    }
  });
  server.maxHeadersCount = HTTP_LIMITS.maxHeadersCount;
  server.maxRequestsPerSocket = MAX_REQUESTS_PER_SOCKET;
  server.timeout = HTTP_LIMITS.idleMs;
  server.on('clientError', (err: Error & { code?: string }, socket) => {
    const info = infoOf.get(socket) ?? { src_ip: '', src_port: 0, dst_port: 0 };
    ctx.emit({ event: 'protocol_error', ...info, message: err.code ?? err.message });
    if (socket.writable && err.code !== 'ECONNRESET') {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const text =
        opts.badRequest?.(status, http.STATUS_CODES[status] ?? '') ??
        `HTTP/1.1 ${statusLine(status)}\r\n${opts.serverHeader ? `Server: ${opts.serverHeader}\r\n` : ''}Content-Length: 0\r\nConnection: close\r\n\r\n`;
      socket.end(text);
    } else socket.destroy();
  });

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const info = infoOf.get(req.socket) ?? { src_ip: '', src_port: 0, dst_port: 0 };
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
        void finish(413);
      }
    });
    req.on('end', () => {
      if (!aborted) void finish();
    });

    async function finish(forceStatus?: number): Promise<void> {
      const url = (req.url ?? '/').slice(0, HTTP_LIMITS.maxUrl);
      const q = url.indexOf('?');
      const secure = info.tls === true;
      const peer = secure && opts.requestCert ? peerCertificateFields(req.socket as tls.TLSSocket) : undefined;
      const request: HttpRequest = {
        method: (req.method ?? 'GET').slice(0, 32),
        url,
        path: q < 0 ? url : url.slice(0, q),
        query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        httpVersion: req.httpVersion,
        body: Buffer.concat(chunks),
        bodySize: received,
        info,
        tls: secure,
        ...(peer ? { peerCertificate: peer } : {}),
      };
      let r: HttpReply;
      try {
        r = forceStatus ? { status: forceStatus, body: '', close: true } : await handle(request);
      } catch (err) {
        ctx.log('http route failed', { err: String(err) });
        r = { status: 500, body: '' };
      }
      const cl = req.headers['content-length'];
      const host = req.headers.host ?? '';
      ctx.emit({
        event: 'request',
        ...info,
        method: request.method,
        path: url,
        http_version: req.httpVersion,
        http_host: host.slice(0, 255),
        user_agent: (req.headers['user-agent'] ?? '').slice(0, 1024),
        ...(cl !== undefined ? { content_length: Number(cl) || 0 } : {}),
        body_size: received,
        ...(received > 0 ? { body: secretFields(request.body.subarray(0, HTTP_LIMITS.bodyPreview)).secret, body_truncated: received > HTTP_LIMITS.bodyPreview } : {}),
        headers: selectedHeaders(req.rawHeaders),
        ...headerOrderFingerprint(req.rawHeaders),
        status: r.status,
        ...(peer ? { client_cert_subject: peer.subject, client_cert_issuer: peer.issuer } : {}),
        ...r.fields,
      });
      if (opts.captureAuth !== false) {
        const basic = parseBasicAuth(req.headers.authorization);
        if (basic) ctx.emit({ event: 'auth_attempt', ...info, principal: basic.user, secret_kind: 'http_basic', ...secretFields(basic.pass), path: url, success: false });
        const bearer = parseBearer(req.headers.authorization);
        if (bearer) ctx.emit({ event: 'auth_attempt', ...info, secret_kind: 'bearer_token', ...secretFields(bearer), path: url, success: false });
      }
      for (const ev of r.events ?? []) ctx.emit({ ...ev, ...info });
      if (opts.rawHttp10 && req.httpVersion === '1.0') sendRaw10(res, r, request.method === 'HEAD');
      else send(res, r, request.method === 'HEAD', aborted || r.close === true);
    }
  }

  function sendRaw10(res: ServerResponse, r: HttpReply, head: boolean): void {
    try {
      const payload = r.body === undefined ? Buffer.alloc(0) : typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body;
      let text = `HTTP/1.0 ${statusLine(r.status)}\r\n`;
      let hasLength = false;
      for (const [k, v] of Object.entries(r.headers ?? {})) {
        if (k.toLowerCase() === 'content-length') hasLength = true;
        for (const one of Array.isArray(v) ? v : [v]) text += `${k}: ${String(one).replace(/[\r\n]/g, '')}\r\n`;
      }
      if (!hasLength) text += `content-length: ${payload.length}\r\n`;
      const out = Buffer.concat([Buffer.from(`${text}\r\n`, 'latin1'), head ? Buffer.alloc(0) : payload]);
      res.socket?.end(out, () => res.socket?.destroy());
    } catch {
      res.socket?.destroy();
    }
  }

  const served = new WeakMap<object, number>();

  function send(res: ServerResponse, r: HttpReply, head: boolean, close: boolean): void {
    try {
      if (opts.sendDate === false) res.sendDate = false;
      const payload = r.body === undefined ? Buffer.alloc(0) : typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body;
      // res.socket is null while a pipelined reply waits its turn: count on the request's socket
      const sock = res.req.socket;
      if (opts.head && sock) {
        const n = (served.get(sock) ?? 0) + 1;
        served.set(sock, n);
        const given: [string, string][] = [];
        for (const [k, v] of Object.entries(r.headers ?? {})) for (const one of Array.isArray(v) ? v : [v]) given.push([k, String(one)]);
        if (!given.some(([k]) => k.toLowerCase() === 'content-length')) given.push(['Content-Length', String(payload.length)]);
        const closing = close || !res.shouldKeepAlive || n >= MAX_REQUESTS_PER_SOCKET;
        const ordered = opts.head(r.status, given, { date: new Date().toUTCString(), close: closing, remaining: MAX_REQUESTS_PER_SOCKET - n });
        if (ordered) {
          res.sendDate = false;
          // node adds no Connection/Keep-Alive of its own once the head names them or this is removed
          if (!ordered.some(([k]) => k.toLowerCase() === 'connection')) res.removeHeader('Connection');
          res.writeHead(r.status, ordered.flatMap(([k, v]) => [k, v.replace(/[\r\n]/g, '')]));
          res.end(head ? undefined : payload);
          if (closing) res.once('finish', () => sock.destroy());
          return;
        }
      }
      res.statusCode = r.status;
      if (opts.serverHeader) res.setHeader('Server', opts.serverHeader);
      const hasLength = Object.keys(r.headers ?? {}).some((k) => k.toLowerCase() === 'content-length');
      for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
      if (!hasLength) res.setHeader('Content-Length', payload.length);
      if (close) res.setHeader('Connection', 'close');
      else if (opts.connectionHeader === false && (res.shouldKeepAlive || res.req.httpVersion === '1.0')) res.removeHeader('Connection');
      res.end(head ? undefined : payload);
      if (close) res.once('finish', () => res.socket?.destroy());
    } catch {
      res.socket?.destroy();
    }
  }

  const running = await startTcpService(
    ctx,
    (socket: Socket, info) => {
      infoOf.set(socket, info);
      server.emit('connection', socket);
    },
    {
      idleMs: HTTP_LIMITS.idleMs,
      maxConnections: HTTP_LIMITS.maxConnections,
      ...(opts.implicitTls ? { implicitTls: opts.implicitTls } : {}),
      ...(opts.secureContext ? { secureContext: opts.secureContext } : {}),
      ...(opts.requestCert ? { tlsOptions: { requestCert: true } } : {}),
    },
  );
  return {
    ports: running.ports,
    async close() {
      server.closeAllConnections();
      await running.close();
    },
  };
}
