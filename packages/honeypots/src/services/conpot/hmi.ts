/**
 * The HMI web page on 80 (pure handler for runtime/http.ts): a SIMATIC-style
 * start page with a process overview from the same ProcessImage, a login form
 * posting to /login whose credentials become auth_attempt (http_form) events.
 */
import { secretFields } from '@decnet/api';
import type { HttpReply, HttpRequest } from '../../runtime/http.js';
import { formatPoint, POINT_NAMES, POINT_UNITS, type PlcIdentity, type ProcessImage } from './identity.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const HTML = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' };

export function hmiPage(id: PlcIdentity, img: ProcessImage, message = '', now = Date.now()): string {
  const rows: string[] = [];
  for (let a = 0; a < 10; a++) {
    rows.push(`<tr><td>IW${a * 2}</td><td>${POINT_NAMES[a % 5]} ${Math.floor(a / 5) + 1}</td><td class="v">${formatPoint(a, img.inputAt(a, now))}</td><td>${POINT_UNITS[a % 5]}</td></tr>`);
  }
  const title = `${esc(id.vendor)} SIMATIC ${esc(id.product)}`;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:Arial,sans-serif;margin:0;background:#eef1f4}#hd{background:#00646e;color:#fff;padding:8px 16px}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:3px 8px}.v{text-align:right}#box{display:flex;gap:32px;padding:16px}</style></head>
<body><div id="hd"><b>${title}</b> &mdash; ${esc(id.plant)}</div>
<div id="box"><div><h3>Process overview</h3>
<table><tr><th>Address</th><th>Tag</th><th>Value</th><th>Unit</th></tr>
${rows.join('\n')}
</table>
<h3>Module</h3><table>
<tr><td>Order number</td><td>${esc(id.orderCode)}</td></tr>
<tr><td>Firmware</td><td>${esc(id.version)}</td></tr>
<tr><td>Serial number</td><td>${esc(id.serial)}</td></tr>
<tr><td>Operating mode</td><td>RUN</td></tr></table></div>
<div><h3>Login</h3>${message ? `<p style="color:#b00">${esc(message)}</p>` : ''}
<form method="post" action="/login"><table>
<tr><td>User</td><td><input type="text" name="Login" maxlength="32"></td></tr>
<tr><td>Password</td><td><input type="password" name="Password" maxlength="32"></td></tr>
<tr><td></td><td><input type="submit" value="Login"></td></tr></table></form></div></div>
</body></html>
`;
}

export function hmiHandler(id: PlcIdentity, img: ProcessImage): (req: HttpRequest) => HttpReply {
  return (req) => {
    const path = req.path;
    if (path === '/login' && req.method === 'POST') {
      const form = new URLSearchParams(req.body.toString('utf8').slice(0, 8192));
      const user = (form.get('Login') ?? form.get('username') ?? form.get('user') ?? '').slice(0, 256);
      const pass = (form.get('Password') ?? form.get('password') ?? form.get('pass') ?? '').slice(0, 1024);
      return {
        status: 200,
        headers: HTML,
        body: hmiPage(id, img, 'Login failed: invalid user name or password'),
        events: [{ event: 'auth_attempt', principal: user, secret_kind: 'http_form', ...secretFields(pass), success: false, path }],
      };
    }
    if (path === '/' || path === '/index.html' || path === '/Portal/Portal.mwsl' || path === '/login') {
      if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') return { status: 405, headers: { ...HTML, Allow: 'GET, HEAD, POST' }, body: '' };
      return { status: 200, headers: HTML, body: hmiPage(id, img) };
    }
    return { status: 404, headers: HTML, body: '<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>' };
  };
}
