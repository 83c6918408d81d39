/**
 * How nginx, Apache httpd and IIS write a response head, so that the order of the
 * headers (which fingerprinting tools read, not only the Server value), the Date and
 * the keep-alive headers, the static-file headers of the index page and the answer to
 * a request that does not parse are those of the product in `server_header`. Pure:
 * (status, headers, state) -> ordered headers; no sockets.
 *
 * Facts (from the products' responses, not their code):
 *  - nginx: Server, Date, Content-Type, Content-Length, Last-Modified, Connection,
 *    ETag "<mtime hex>-<length hex>", Accept-Ranges; no Keep-Alive header; 400 pages
 *    "<html>\r\n<head><title>400 Bad Request</title>..." with the version in <hr><center>.
 *  - Apache 2.4: Date, Server, Last-Modified, ETag "<length hex>-<mtime usec hex>",
 *    Accept-Ranges, Content-Length, Vary, Keep-Alive: timeout=5, max=N (counting down
 *    per request on the connection), Connection: Keep-Alive, Content-Type last; error
 *    pages in text/html; charset=iso-8859-1.
 *  - IIS 10: Content-Type, Last-Modified, Accept-Ranges, ETag "<FILETIME hex>:0",
 *    Server, X-Powered-By: ASP.NET, Date, Content-Length; no Connection header on a
 *    kept HTTP/1.1 connection; requests it cannot parse are answered by HTTP.SYS as
 *    Microsoft-HTTPAPI/2.0.
 */
import { createHash } from 'node:crypto';
import { serverFamily } from './http-pages.js';

export type Header = [string, string];

export interface HeadState {
  /** RFC 7231 date of the reply */
  date: string;
  /** the connection closes after this reply */
  close: boolean;
  /** requests left on this connection after this one (Apache's Keep-Alive max) */
  remaining: number;
}

const ORDER: Record<'nginx' | 'apache' | 'iis', string[]> = {
  nginx: ['server', 'date', 'content-type', 'content-length', 'last-modified', 'connection', 'location', 'etag', 'accept-ranges'],
  apache: ['date', 'server', 'last-modified', 'etag', 'accept-ranges', 'content-length', 'vary', 'location', 'keep-alive', 'connection', 'content-type'],
  iis: ['content-type', 'last-modified', 'accept-ranges', 'etag', 'location', 'server', 'x-powered-by', 'date', 'connection', 'content-length'],
};

/**
 * The reply's headers as the product writes them: its own Date, Server and connection
 * headers added, known headers in the product's order, others (extra_headers, app
 * headers) after them in the order given. undefined for other products (node's order).
 */
export function productHead(serverHeader: string, headers: readonly Header[], st: HeadState): Header[] | undefined {
  const family = serverFamily(serverHeader);
  if (family === 'other') return undefined;
  const byName = new Map<string, Header>();
  for (const h of headers) if (!['server', 'date', 'connection', 'keep-alive'].includes(h[0].toLowerCase())) byName.set(h[0].toLowerCase(), h);
  byName.set('server', ['Server', serverHeader]);
  byName.set('date', ['Date', st.date]);
  if (family === 'nginx') byName.set('connection', ['Connection', st.close ? 'close' : 'keep-alive']);
  if (family === 'apache') {
    if (st.close) byName.set('connection', ['Connection', 'close']);
    else {
      byName.set('keep-alive', ['Keep-Alive', `timeout=5, max=${Math.max(0, st.remaining)}`]);
      byName.set('connection', ['Connection', 'Keep-Alive']);
    }
  }
  if (family === 'iis') {
    if (st.close) byName.set('connection', ['Connection', 'close']);
    if (!byName.has('x-powered-by')) byName.set('x-powered-by', ['X-Powered-By', 'ASP.NET']);
  }
  const out: Header[] = [];
  for (const name of ORDER[family]) {
    const h = byName.get(name);
    if (h) {
      out.push(h);
      byName.delete(name);
    }
  }
  return [...out, ...byName.values()];
}

/** Static-file headers of a page served from disk: Last-Modified, ETag in the product's format, Accept-Ranges. */
export function staticFileHeaders(serverHeader: string, seed: string, body: string | Buffer): Header[] {
  const family = serverFamily(serverHeader);
  const length = Buffer.byteLength(body);
  // a fixed install time per decky: 30..400 days before 2026-01-01, at a whole second
  const h = createHash('sha256').update(`mtime:${seed}`).digest();
  const mtime = Date.UTC(2026, 0, 1) - (30 + (h.readUInt32BE(0) % 370)) * 86_400_000 - (h.readUInt32BE(4) % 86_400) * 1000;
  const lastModified = new Date(mtime).toUTCString();
  const sec = Math.floor(mtime / 1000);
  let etag: string;
  if (family === 'apache') etag = `"${length.toString(16)}-${(BigInt(sec) * 1_000_000n + BigInt(h.readUInt32BE(8) % 1_000_000)).toString(16)}"`;
  else if (family === 'iis') etag = `"${((BigInt(sec) + 11_644_473_600n) * 10_000_000n).toString(16)}:0"`;
  else etag = `"${sec.toString(16)}-${length.toString(16)}"`;
  return [
    ['Last-Modified', lastModified],
    ['ETag', etag],
    ['Accept-Ranges', 'bytes'],
  ];
}

/** Content-Type of the product's own pages (default page and errors). */
export function pageContentType(serverHeader: string, status: number): string {
  switch (serverFamily(serverHeader)) {
    case 'apache':
      return status >= 400 ? 'text/html; charset=iso-8859-1' : 'text/html';
    case 'nginx':
    case 'iis':
      return 'text/html';
    default:
      return 'text/html; charset=UTF-8';
  }
}

/** The raw answer to a request the server cannot parse, as the product sends it. */
export function productBadRequest(serverHeader: string, status: number, reason: string, host: string, port: number, date: string): string | undefined {
  const family = serverFamily(serverHeader);
  const head = (hs: Header[], body: string) => `HTTP/1.1 ${status} ${reason}\r\n${hs.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
  if (family === 'nginx') {
    const body = `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>${serverHeader}</center>\r\n</body>\r\n</html>\r\n`;
    return head([['Server', serverHeader], ['Date', date], ['Content-Type', 'text/html'], ['Content-Length', String(body.length)], ['Connection', 'close']], body);
  }
  if (family === 'apache') {
    const body = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${status} ${reason}</title>\n</head><body>\n<h1>${reason}</h1>\n<p>Your browser sent a request that this server could not understand.<br />\n</p>\n<hr>\n<address>${serverHeader} Server at ${host} Port ${port}</address>\n</body></html>\n`;
    return head([['Date', date], ['Server', serverHeader], ['Content-Length', String(body.length)], ['Connection', 'close'], ['Content-Type', 'text/html; charset=iso-8859-1']], body);
  }
  if (family === 'iis') {
    const body = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n<HTML><HEAD><TITLE>Bad Request</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n<BODY><h2>Bad Request - Invalid Verb</h2>\r\n<hr><p>HTTP Error 400. The request verb is invalid.</p>\r\n</BODY></HTML>\r\n`;
    return `HTTP/1.1 400 Bad Request\r\nContent-Type: text/html; charset=us-ascii\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: ${date}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  }
  return undefined;
}
