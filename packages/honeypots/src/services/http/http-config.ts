/**
 * Persona config of the http honeypot, read from ctx.config with defaults.
 *
 * extra_headers accepts two forms:
 *  - a JSON object of string values: `{"X-Powered-By": "PHP/8.1.2", "X-Foo": "bar"}`
 *  - header lines `Name: value`, separated by newlines or by `;` when the next
 *    piece starts a new `Name:` (so `Set-Cookie: a=b; Path=/` stays one header):
 *    `X-Powered-By: PHP/8.1.2; X-Foo: bar`
 * Names must be RFC 7230 tokens, values must not contain control characters;
 * framing headers (Content-Length, Transfer-Encoding, Connection, ...) cannot be
 * overridden. Invalid entries are reported in `errors` and skipped.
 */
import type { ConfigValue } from '@decnet/api';

export const FAKE_APPS = ['none', 'wordpress', 'phpmyadmin', 'tomcat', 'jenkins'] as const;
export type FakeAppName = (typeof FAKE_APPS)[number];

export interface HttpPersona {
  serverHeader: string;
  responseCode: number;
  fakeApp: FakeAppName;
  extraHeaders: [string, string][];
  customBody: string | undefined;
  /** problems found in the config (logged by the service, never fatal) */
  errors: string[];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const RESERVED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'trailer', 'te', 'host']);
const MAX_HEADERS = 32;

export function parseExtraHeaders(value: ConfigValue | undefined): { headers: [string, string][]; errors: string[] } {
  const headers: [string, string][] = [];
  const errors: string[] = [];
  if (value === undefined || value === '') return { headers, errors };
  let pairs: [string, unknown][] = [];
  if (Array.isArray(value)) pairs = value.map(splitLine);
  else if (typeof value !== 'string') errors.push('extra_headers must be a string');
  else if (value.trim().startsWith('{')) {
    try {
      const obj: unknown = JSON.parse(value);
      if (obj && typeof obj === 'object' && !Array.isArray(obj)) pairs = Object.entries(obj);
      else errors.push('extra_headers JSON must be an object');
    } catch {
      errors.push('extra_headers is not valid JSON');
    }
  } else {
    pairs = value
      .split(/\r?\n|;\s*(?=[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*:)/)
      .filter((l) => l.trim() !== '')
      .map(splitLine);
  }
  for (const [rawName, v] of pairs) {
    const name = rawName.trim();
    if (!TOKEN.test(name)) errors.push(`invalid header name ${JSON.stringify(name)}`);
    else if (typeof v !== 'string' && typeof v !== 'number') errors.push(`header ${name}: value must be a string`);
    else if (BAD_VALUE.test(String(v))) errors.push(`header ${name}: value contains control characters`);
    else if (RESERVED.has(name.toLowerCase())) errors.push(`header ${name} cannot be overridden`);
    else if (headers.length >= MAX_HEADERS) errors.push(`more than ${MAX_HEADERS} extra headers`);
    else headers.push([name, String(v).trim()]);
  }
  return { headers, errors };
}

function splitLine(line: string): [string, unknown] {
  const i = line.indexOf(':');
  return i < 0 ? [line, undefined] : [line.slice(0, i), line.slice(i + 1)];
}

export function readHttpPersona(config: Record<string, ConfigValue>): HttpPersona {
  const errors: string[] = [];
  const sh = config['server_header'];
  let serverHeader = typeof sh === 'string' && sh.trim() !== '' ? sh.trim() : 'Apache/2.4.57 (Debian)';
  if (BAD_VALUE.test(serverHeader)) {
    errors.push('server_header contains control characters');
    serverHeader = 'Apache/2.4.57 (Debian)';
  }
  let responseCode = 200;
  const rc = config['response_code'];
  if (rc !== undefined) {
    const n = typeof rc === 'number' ? rc : Number(rc);
    if (Number.isInteger(n) && n >= 100 && n <= 599) responseCode = n;
    else errors.push(`response_code ${JSON.stringify(rc)} is not an HTTP status (100-599)`);
  }
  let fakeApp: FakeAppName = 'none';
  const fa = config['fake_app'];
  if (typeof fa === 'string' && fa !== '') {
    if ((FAKE_APPS as readonly string[]).includes(fa)) fakeApp = fa as FakeAppName;
    else errors.push(`fake_app ${JSON.stringify(fa)} is not one of ${FAKE_APPS.join(', ')}`);
  }
  const extra = parseExtraHeaders(config['extra_headers']);
  const cb = config['custom_body'];
  return {
    serverHeader,
    responseCode,
    fakeApp,
    extraHeaders: extra.headers,
    customBody: typeof cb === 'string' && cb !== '' ? cb : undefined,
    errors: [...errors, ...extra.errors],
  };
}
