/**
 * Fake web applications of the http honeypot (fake_app): WordPress,
 * phpMyAdmin, Tomcat manager, Jenkins. Pure request -> response routing; a
 * captured form login comes back in `auth` for the server to emit.
 */
import { randomBytes } from 'node:crypto';
import type { FakeAppName } from './http-config.js';
import {
  esc,
  jenkinsAuthRequired,
  jenkinsLoginPage,
  pmaLoginPage,
  tomcat401,
  tomcatHome,
  wpHomePage,
  wpLoginPage,
  xmlrpcFault,
} from './http-pages.js';

export interface AppRequest {
  method: string;
  /** path without the query string, percent-decoding not applied */
  path: string;
  query: URLSearchParams;
  /** parsed application/x-www-form-urlencoded body, when there is one */
  form: URLSearchParams | undefined;
  body: Buffer;
  hostname: string;
}

export interface AppResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
  /** a login captured from a form or an API call */
  auth?: { principal: string; secret: string; app: string; method: string };
}

export type FakeApp = (req: AppRequest) => AppResponse | undefined;

const HTML = { 'Content-Type': 'text/html; charset=UTF-8' };
const isGetLike = (m: string) => m === 'GET' || m === 'HEAD';

function wordpress(req: AppRequest): AppResponse | undefined {
  const site = req.hostname;
  const p = req.path;
  if (p === '/wp-login.php') {
    if (req.method === 'POST') {
      const user = req.form?.get('log') ?? '';
      const pass = req.form?.get('pwd') ?? '';
      const error = user === '' ? '<strong>Error:</strong> The username field is empty.' :
        `<strong>Error:</strong> The password you entered for the username <strong>${esc(user)}</strong> is incorrect. <a href="/wp-login.php?action=lostpassword">Lost your password?</a>`;
      return {
        status: 200,
        headers: { ...HTML, 'Set-Cookie': 'wordpress_test_cookie=WP%20Cookie%20check; path=/; HttpOnly' },
        body: wpLoginPage({ siteName: site, error, user, redirectTo: req.form?.get('redirect_to') ?? '/wp-admin/' }),
        auth: { principal: user, secret: pass, app: 'wordpress', method: 'wp-login' },
      };
    }
    return { status: 200, headers: HTML, body: wpLoginPage({ siteName: site, redirectTo: req.query.get('redirect_to') ?? '/wp-admin/' }) };
  }
  if (p === '/wp-admin' || p.startsWith('/wp-admin/')) {
    const target = `/wp-login.php?redirect_to=${encodeURIComponent(`http://${site}${p}`)}&reauth=1`;
    return { status: 302, headers: { ...HTML, Location: target }, body: '' };
  }
  if (p === '/xmlrpc.php') {
    if (req.method !== 'POST') return { status: 405, headers: { 'Content-Type': 'text/plain;charset=UTF-8', Allow: 'POST' }, body: 'XML-RPC server accepts POST requests only.' };
    const xml = req.body.toString('utf8');
    const method = /<methodName>\s*([^<]{1,100})\s*<\/methodName>/.exec(xml)?.[1] ?? '';
    const strings = [...xml.matchAll(/<string>([^<]{0,512})<\/string>/g)].map((m) => decodeXml(m[1]!));
    const loginMethod = /^(wp\.getUsersBlogs|wp\.getProfile|wp\.getPosts|metaWeblog\.getUsersBlogs)$/.test(method);
    const [user, pass] = method === 'wp.getUsersBlogs' || method === 'metaWeblog.getUsersBlogs' ? [strings[0], strings[1]] : [strings[1], strings[2]];
    return {
      status: 200,
      headers: { 'Content-Type': 'text/xml; charset=UTF-8' },
      body: loginMethod ? xmlrpcFault(403, 'Incorrect username or password.') : xmlrpcFault(-32601, 'server error. requested method does not exist.'),
      ...(loginMethod && user !== undefined ? { auth: { principal: user, secret: pass ?? '', app: 'wordpress', method: `xmlrpc:${method}` } } : {}),
    };
  }
  if (p === '/' && isGetLike(req.method)) return { status: 200, headers: { ...HTML, Link: '</wp-json/>; rel="https://api.w.org/"' }, body: wpHomePage(site) };
  return undefined;
}

const decodeXml = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

function phpmyadmin(req: AppRequest): AppResponse | undefined {
  const m = /^(\/phpmyadmin|\/pma|\/phpMyAdmin)?\/(index\.php)?$/.exec(req.path);
  if (!m) return undefined;
  const base = m[1] ? `${m[1]}/` : '/';
  const token = randomBytes(16).toString('hex');
  const headers = { ...HTML, 'Set-Cookie': `phpMyAdmin=${randomBytes(13).toString('hex')}; path=${base}; HttpOnly; SameSite=Strict` };
  if (req.method === 'POST' && req.form?.has('pma_username')) {
    const user = req.form.get('pma_username') ?? '';
    const pass = req.form.get('pma_password') ?? '';
    const error = `mysqli::real_connect(): (HY000/1045): Access denied for user '${esc(user)}'@'localhost' (using password: ${pass === '' ? 'NO' : 'YES'})`;
    return { status: 200, headers, body: pmaLoginPage({ token, error, user, base }), auth: { principal: user, secret: pass, app: 'phpmyadmin', method: 'login-form' } };
  }
  return { status: 200, headers, body: pmaLoginPage({ token, base }) };
}

function tomcat(req: AppRequest): AppResponse | undefined {
  const p = req.path;
  if (/^\/(manager|host-manager)(\/|$)/.test(p)) {
    const realm = p.startsWith('/host') ? 'Tomcat Host Manager Application' : 'Tomcat Manager Application';
    return { status: 401, headers: { ...HTML, 'WWW-Authenticate': `Basic realm="${realm}"` }, body: tomcat401() };
  }
  if (p === '/' && isGetLike(req.method)) return { status: 200, headers: HTML, body: tomcatHome('9.0.83') };
  return undefined;
}

function jenkins(req: AppRequest): AppResponse | undefined {
  const p = req.path;
  const headers = { ...HTML, 'X-Jenkins': '2.426.2', 'X-Hudson': '1.395', 'X-Jenkins-Session': randomBytes(4).toString('hex') };
  if ((p === '/j_spring_security_check' || p === '/login' || p === '/j_acegi_security_check') && req.method === 'POST') {
    return {
      status: 302,
      headers: { ...headers, Location: '/loginError' },
      body: '',
      auth: { principal: req.form?.get('j_username') ?? '', secret: req.form?.get('j_password') ?? '', app: 'jenkins', method: 'login-form' },
    };
  }
  if (p === '/login') return { status: 200, headers, body: jenkinsLoginPage({ error: false, from: req.query.get('from') ?? '/' }) };
  if (p === '/loginError') return { status: 401, headers, body: jenkinsLoginPage({ error: true, from: '/' }) };
  if (p === '/' || p.startsWith('/script') || p.startsWith('/manage') || p.startsWith('/api') || p.startsWith('/job')) {
    return { status: 403, headers: { ...headers, 'X-You-Are-Authenticated-As': 'anonymous' }, body: jenkinsAuthRequired(p) };
  }
  return undefined;
}

export const FAKE_APP_HANDLERS: Record<Exclude<FakeAppName, 'none'>, FakeApp> = { wordpress, phpmyadmin, tomcat, jenkins };
