import type { ConfigValue } from '@decnet/api';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import { parseExtraHeaders, readHttpPersona } from './http-config.js';
import { httpService, parseBasicAuth } from './http.js';

let t: TestContext | undefined;
let svc: RunningService | undefined;

async function start(config: Record<string, ConfigValue> = {}): Promise<{ t: TestContext; base: string; port: number }> {
  t = makeTestContext('http', config);
  svc = await httpService.start(t.ctx);
  const port = svc.ports[0]!;
  return { t, base: `http://127.0.0.1:${port}`, port };
}
afterEach(async () => {
  await svc?.close();
  t?.cleanup();
  svc = undefined;
  t = undefined;
});

/** curl -i: returns status, lowercased headers and body */
async function curl(...args: string[]) {
  const r = await run('curl', ['-sS', '-i', '--max-time', '10', ...args]);
  const [head = '', ...rest] = r.stdout.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(lines[0]?.split(' ')[1]), headers, body: rest.join('\r\n\r\n'), stderr: r.stderr };
}

describe.skipIf(!hasBinary('curl'))('http with curl', () => {
  it('serves the default page with the persona Server header, code and extra headers', async () => {
    const { t, base, port } = await start({ server_header: 'nginx/1.18.0 (Ubuntu)', response_code: 203, extra_headers: 'X-Powered-By: PHP/8.1.2; X-Foo: bar' });
    const r = await curl('-A', 'Mozilla/5.0 scanner', '-H', 'X-Forwarded-For: 1.2.3.4', `${base}/`);
    expect(r.status).toBe(203);
    expect(r.headers['server']).toBe('nginx/1.18.0 (Ubuntu)');
    expect(r.headers['x-powered-by']).toBe('PHP/8.1.2');
    expect(r.headers['x-foo']).toBe('bar');
    expect(r.body).toContain('Welcome to nginx!');
    const ev = await t.waitFor((e) => e.event === 'request');
    expect(ev).toMatchObject({ method: 'GET', path: '/', user_agent: 'Mozilla/5.0 scanner', http_host: `127.0.0.1:${port}`, status: 203, body_size: 0 });
    expect((ev.headers as Record<string, string>)['x-forwarded-for']).toBe('1.2.3.4');
    expect(t.events[0]).toMatchObject({ event: 'connection', src_ip: '127.0.0.1', dst_port: port });
  });

  it('uses custom_body and 404s other paths in the server family style', async () => {
    const { base } = await start({ custom_body: '<h1>Intranet</h1>' });
    const r = await curl(`${base}/`);
    expect(r.headers['server']).toBe('Apache/2.4.57 (Debian)');
    expect(r.body).toBe('<h1>Intranet</h1>');
    const nf = await curl(`${base}/.env`);
    expect(nf.status).toBe(404);
    expect(nf.body).toContain('Apache/2.4.57 (Debian) Server at 127.0.0.1 Port');
  });

  it('logs Basic credentials as http_basic', async () => {
    const { t, base } = await start({ fake_app: 'tomcat' });
    const r = await curl('-u', 'tomcat:s3cret:x', `${base}/manager/html`);
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Basic realm="Tomcat Manager Application"');
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev).toMatchObject({ principal: 'tomcat', secret_kind: 'http_basic', secret: 's3cret:x', path: '/manager/html', success: false });
    expect((await t.waitFor((e) => e.event === 'request')).headers).toMatchObject({ authorization: 'Basic' });
  });

  it('wordpress: login form, POST logged as http_form, WP error page', async () => {
    const { t, base } = await start({ fake_app: 'wordpress' });
    const form = await curl(`${base}/wp-login.php`);
    expect(form.body).toContain('name="log"');
    expect(form.body).toContain('name="pwd"');
    const r = await curl('--data-urlencode', 'log=admin', '--data-urlencode', 'pwd=P@ss w0rd&1', '-d', 'wp-submit=Log+In', `${base}/wp-login.php`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('The password you entered for the username <strong>admin</strong> is incorrect');
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev).toMatchObject({ principal: 'admin', secret_kind: 'http_form', secret: 'P@ss w0rd&1', app: 'wordpress' });
    const req = await t.waitFor((e) => e.event === 'request' && e.method === 'POST');
    expect(req.body).toContain('log=admin');
    expect(req.content_length).toBe(req.body_size);
  });

  it('wordpress: xmlrpc brute force is captured', async () => {
    const { t, base } = await start({ fake_app: 'wordpress' });
    const xml = '<?xml version="1.0"?><methodCall><methodName>wp.getUsersBlogs</methodName><params><param><value><string>editor</string></value></param><param><value><string>a&amp;b</string></value></param></params></methodCall>';
    const r = await curl('-H', 'Content-Type: text/xml', '--data-binary', xml, `${base}/xmlrpc.php`);
    expect(r.body).toContain('Incorrect username or password.');
    expect(await t.waitFor((e) => e.event === 'auth_attempt')).toMatchObject({ principal: 'editor', secret: 'a&b', login_method: 'xmlrpc:wp.getUsersBlogs' });
  });

  it('phpmyadmin and jenkins forms are captured', async () => {
    const { t, base } = await start({ fake_app: 'phpmyadmin' });
    expect((await curl(`${base}/phpmyadmin/`)).body).toContain('name="pma_username"');
    const r = await curl('-d', 'pma_username=root&pma_password=toor&server=1', `${base}/phpmyadmin/index.php?route=/`);
    expect(r.body).toContain("Access denied for user 'root'@'localhost' (using password: YES)");
    expect(await t.waitFor((e) => e.event === 'auth_attempt')).toMatchObject({ principal: 'root', secret: 'toor', app: 'phpmyadmin' });
    await svc!.close();
    t.cleanup();

    const j = await start({ fake_app: 'jenkins' });
    expect((await curl(`${j.base}/`)).status).toBe(403);
    const login = await curl(`${j.base}/login`);
    expect(login.body).toContain('name="j_username"');
    expect(login.headers['x-jenkins']).toBeDefined();
    const post = await curl('-d', 'j_username=jenkins&j_password=jenkins123&from=%2F&Submit=', `${j.base}/j_spring_security_check`);
    expect(post.status).toBe(302);
    expect(post.headers['location']).toBe('/loginError');
    expect(await j.t.waitFor((e) => e.event === 'auth_attempt')).toMatchObject({ principal: 'jenkins', secret: 'jenkins123', app: 'jenkins' });
  });

  it('reads at most 64 KiB of a body but counts all of it', async () => {
    const { t, base } = await start();
    await run('sh', ['-c', `head -c 200000 /dev/zero | tr '\\0' 'A' | curl -sS -o /dev/null --data-binary @- ${base}/upload`]);
    const ev = await t.waitFor((e) => e.event === 'request');
    expect(ev.body_size).toBe(200000);
    expect(ev.body_truncated).toBe(true);
    expect((ev.body as string).length).toBe(2048);
  });
});

describe('http over raw sockets', () => {
  it('answers malformed requests with 400 and oversized headers with 431', async () => {
    const { t, port } = await start();
    const c = await RawClient.connect(port);
    c.send('GARBAGE\x00\x01\r\n\r\n');
    await c.waitClosed();
    expect(c.text).toMatch(/^HTTP\/1.1 400 Bad Request\r\nDate: [^\r]+\r\nServer: Apache\/2.4.57 \(Debian\)/);
    const big = await RawClient.connect(port);
    big.send(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
    await big.waitClosed();
    expect(big.text).toMatch(/^HTTP\/1.1 431/);
    expect(t.events.filter((e) => e.event === 'protocol_error').length).toBe(2);
  });

  it('HEAD gets headers only; keep-alive serves several requests', async () => {
    const { t, port } = await start();
    const c = await RawClient.connect(port);
    c.send('HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await c.waitClosed();
    expect(c.text.match(/HTTP\/1.1 /g)).toHaveLength(2);
    expect(c.text).not.toContain('It works!');
    expect(t.events.filter((e) => e.event === 'request').map((e) => [e.method, e.status])).toEqual([
      ['HEAD', 200],
      ['GET', 404],
    ]);
  });
});

describe('http config', () => {
  it('parses extra_headers in both forms and rejects bad entries', () => {
    expect(parseExtraHeaders('X-A: 1; Set-Cookie: a=b; Path=/\nX-B: two').headers).toEqual([
      ['X-A', '1'],
      ['Set-Cookie', 'a=b; Path=/'],
      ['X-B', 'two'],
    ]);
    expect(parseExtraHeaders('{"X-Powered-By":"ASP.NET","X-N":3}').headers).toEqual([
      ['X-Powered-By', 'ASP.NET'],
      ['X-N', '3'],
    ]);
    const bad = parseExtraHeaders('Bad Name: x; Content-Length: 5; X-Ok: y');
    expect(bad.headers).toEqual([['X-Ok', 'y']]);
    expect(bad.errors).toHaveLength(2);
    expect(parseExtraHeaders('{nope').errors).toEqual(['extra_headers is not valid JSON']);
  });

  it('validates response_code and fake_app with defaults', () => {
    const p = readHttpPersona({ response_code: 999, fake_app: 'drupal' });
    expect(p.responseCode).toBe(200);
    expect(p.fakeApp).toBe('none');
    expect(p.errors).toHaveLength(2);
    expect(readHttpPersona({ response_code: '302' }).responseCode).toBe(302);
  });

  it('parses Basic authorization', () => {
    expect(parseBasicAuth(`Basic ${Buffer.from('a:b:c').toString('base64')}`)).toEqual({ user: 'a', pass: Buffer.from('b:c') });
    expect(parseBasicAuth('Bearer x')).toBeUndefined();
    expect(parseBasicAuth(undefined)).toBeUndefined();
  });
});

describe('response heads of the product in server_header', () => {
  const headNames = (text: string, n = 0) => text.split('HTTP/1.1 ').filter(Boolean)[n]!.split('\r\n\r\n')[0]!.split('\r\n').slice(1).map((l) => l.split(':')[0]);
  async function exchange(config: Record<string, ConfigValue>, raw: string, until: RegExp): Promise<string> {
    const { port } = await start(config);
    const c = await RawClient.connect(port);
    c.send(raw);
    const text = await c.waitFor(until);
    c.close();
    return text;
  }
  const GET = (path: string, close = false) => `GET ${path} HTTP/1.1\r\nHost: web01\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;

  it('nginx: Server first, then Date, the file headers in its order, no Keep-Alive header', async () => {
    const text = await exchange({ server_header: 'nginx/1.22.1' }, GET('/'), /Accept-Ranges: bytes\r\n\r\n/);
    expect(headNames(text)).toEqual(['Server', 'Date', 'Content-Type', 'Content-Length', 'Last-Modified', 'Connection', 'ETag', 'Accept-Ranges']);
    expect(text).toMatch(/^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r$/m);
    expect(text).toMatch(/^ETag: "[0-9a-f]+-[0-9a-f]+"\r$/m);
    expect(text).toContain('Connection: keep-alive\r\n');
    expect(text).not.toMatch(/Keep-Alive:/);
  });

  it('Apache: Date first, Keep-Alive max counting down per request, Content-Type last; 404 in iso-8859-1', async () => {
    const text = await exchange({ server_header: 'Apache/2.4.62 (Debian)' }, GET('/') + GET('/nope'), /<\/address>\n<\/body><\/html>\n/);
    expect(headNames(text, 0)).toEqual(['Date', 'Server', 'Last-Modified', 'ETag', 'Accept-Ranges', 'Content-Length', 'Keep-Alive', 'Connection', 'Content-Type']);
    expect(text).toContain('Keep-Alive: timeout=5, max=99\r\nConnection: Keep-Alive\r\n');
    expect(text).toContain('Keep-Alive: timeout=5, max=98\r\n');
    expect(headNames(text, 1)).toEqual(['Date', 'Server', 'Content-Length', 'Keep-Alive', 'Connection', 'Content-Type']);
    expect(text).toContain('Content-Type: text/html; charset=iso-8859-1\r\n');
  });

  it('IIS: Content-Type first, X-Powered-By, Date before Content-Length, no Connection on a kept connection, its 404 page', async () => {
    const text = await exchange({ server_header: 'Microsoft-IIS/10.0' }, GET('/') + GET('/nope'), /<\/html>\r\n$/);
    expect(headNames(text, 0)).toEqual(['Content-Type', 'Last-Modified', 'Accept-Ranges', 'ETag', 'Server', 'X-Powered-By', 'Date', 'Content-Length']);
    expect(text).toMatch(/^ETag: "[0-9a-f]{15,16}:0"\r$/m);
    expect(text).not.toMatch(/Connection:/);
    expect(text).toContain('<title>404 - File or directory not found.</title>');
  });

  it('a request that does not parse gets the product\'s own 400 (IIS: HTTP.SYS)', async () => {
    expect(await exchange({ server_header: 'nginx/1.22.1' }, 'GARBAGE\r\n\r\n', /<\/html>\r\n/)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nServer: nginx\/1\.22\.1\r\nDate: [^\r]+\r\nContent-Type: text\/html\r\nContent-Length: 157\r\nConnection: close\r\n\r\n<html>\r\n<head><title>400 Bad Request<\/title>/);
    await svc?.close();
    svc = undefined;
    expect(await exchange({ server_header: 'Apache/2.4.62 (Debian)' }, 'GARBAGE\r\n\r\n', /<\/html>\n/)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nDate: [^\r]+\r\nServer: Apache\/2\.4\.62 \(Debian\)\r\n[\s\S]*Your browser sent a request that this server could not understand/);
    await svc?.close();
    svc = undefined;
    expect(await exchange({ server_header: 'Microsoft-IIS/10.0' }, 'GARBAGE\r\n\r\n', /<\/HTML>\r\n/)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nContent-Type: text\/html; charset=us-ascii\r\nServer: Microsoft-HTTPAPI\/2\.0\r\n[\s\S]*Bad Request - Invalid Verb/);
  });

  it('an unknown product keeps the generic head', async () => {
    const text = await exchange({ server_header: 'lighttpd/1.4.69' }, GET('/', true), /\r\n\r\n/);
    expect(headNames(text)[0]).toBe('Server');
  });
});
