/**
 * RFC 5424 rendering of attacker events in the original DECNET's shape, so existing
 * collectors keep working:
 *
 *   <134>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [relay@55555 k="v" ...] msg
 *
 * with HOSTNAME = decky, APP-NAME = service, MSGID = event type, PRI 134 = local0.info.
 * Plus the log target (`udp://host:port`, `tcp://host:port`) and transport framing:
 * one datagram per line over UDP, octet counting (RFC 6587) over TCP.
 */
import { DecnetError, type AttackerEvent } from '@decnet/api';

export const SYSLOG_PRI = 134; // facility local0 (16) * 8 + severity info (6)
export const SD_ID = 'relay@55555';
const NIL = '-';

/** Header/SD fields that RFC 5424 wants printable US-ASCII (33..126): others become '_'. */
function printAscii(s: string, max: number): string {
  const out = s.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return out === '' ? NIL : out;
}

/** SD-NAME: 1..32 printable US-ASCII except '=', ' ', ']' and '"'. */
export function sanitizeParamName(name: string): string {
  return name.replace(/[^\x21-\x7e]|[=\]"]/g, '_').slice(0, 32);
}

/** Control characters are rendered as \xNN (as secretFields does) so one event stays one line. */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** PARAM-VALUE escaping per RFC 5424 section 6.3.3: '"', '\' and ']' get a backslash. */
export function escapeParamValue(value: string): string {
  return printable(value.replace(/["\\\]]/g, (c) => `\\${c}`));
}

const RFC5424_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** The event time if it is a valid RFC 5424 TIMESTAMP, else normalised to UTC, else '-'. */
export function syslogTimestamp(time: string): string {
  if (RFC5424_TIME.test(time) && !Number.isNaN(Date.parse(time))) return time;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? NIL : new Date(ms).toISOString();
}

const HEADER_FIELDS = new Set(['time', 'decky', 'service', 'event']);
const FIELD_ORDER = ['host', 'fleet', 'src_ip', 'src_port', 'dst_port', 'principal', 'secret_kind', 'secret', 'secret_b64', 'success', 'count'];

function paramValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** The structured-data element: known fields in schema order, then the others sorted by name. */
export function structuredData(ev: AttackerEvent): string {
  const rec = ev as Record<string, unknown>;
  const extra = Object.keys(rec)
    .filter((k) => !HEADER_FIELDS.has(k) && !FIELD_ORDER.includes(k))
    .sort();
  const params: string[] = [];
  const used = new Set<string>();
  for (const key of [...FIELD_ORDER, ...extra]) {
    const value = paramValue(rec[key]);
    const name = sanitizeParamName(key);
    if (value === undefined || name === '' || used.has(name)) continue;
    used.add(name);
    params.push(`${name}="${escapeParamValue(value)}"`);
  }
  return params.length === 0 ? NIL : `[${SD_ID} ${params.join(' ')}]`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A short human summary of the event (the MSG part). */
export function summarizeEvent(ev: AttackerEvent): string {
  const rec = ev as Record<string, unknown>;
  const from = ev.src_ip ? ` from ${ev.src_ip}${ev.src_port !== undefined ? `:${ev.src_port}` : ''}` : '';
  let msg: string;
  switch (ev.event) {
    case 'connection':
      msg = `connection${from}${ev.dst_port !== undefined ? ` to port ${ev.dst_port}` : ''}`;
      break;
    case 'disconnect':
      msg = `disconnect${from}`;
      break;
    case 'auth_attempt': {
      const outcome = ev.success === true ? ' accepted' : ev.success === false ? ' rejected' : '';
      msg = `login attempt${from}${ev.principal !== undefined ? ` user=${JSON.stringify(ev.principal)}` : ''}${outcome}`;
      break;
    }
    case 'command': {
      const cmd = str(rec.command) ?? str(rec.cmd) ?? str(rec.input);
      msg = `command${from}${cmd !== undefined ? `: ${cmd}` : ''}`;
      break;
    }
    case 'request': {
      const what = [str(rec.method), str(rec.path) ?? str(rec.url)].filter(Boolean).join(' ');
      msg = `request${from}${what ? `: ${what}` : ''}`;
      break;
    }
    default:
      msg = `${ev.event.replace(/_/g, ' ')}${from}`;
  }
  if (ev.count !== undefined && ev.count > 1) msg += ` (x${ev.count})`;
  msg = printable(msg);
  return msg.length > 512 ? `${msg.slice(0, 509)}...` : msg;
}

/** One RFC 5424 line (no trailing newline). */
export function formatSyslog(ev: AttackerEvent): string {
  return [
    `<${SYSLOG_PRI}>1`,
    syslogTimestamp(ev.time),
    printAscii(ev.decky, 255),
    printAscii(ev.service, 48),
    NIL,
    printAscii(ev.event, 32),
    structuredData(ev),
    summarizeEvent(ev),
  ].join(' ');
}

/** The same header with no structured data and a JSON document (e.g. OCSF or ECS) as MSG. */
export function formatSyslogJson(ev: AttackerEvent, doc: unknown): string {
  return [`<${SYSLOG_PRI}>1`, syslogTimestamp(ev.time), printAscii(ev.decky, 255), printAscii(ev.service, 48), NIL, printAscii(ev.event, 32), NIL, JSON.stringify(doc)].join(' ');
}

/* ------------------------------------------------------------------ */
/* Log target and framing                                              */
/* ------------------------------------------------------------------ */

export interface SyslogTarget {
  proto: 'udp' | 'tcp';
  /** host name or IP (IPv6 without brackets) */
  host: string;
  port: number;
}

const TARGET = /^(udp|tcp):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?\/?$/;

/** Parses a fleet's logTarget; the port defaults to 514. */
export function parseLogTarget(target: string): SyslogTarget {
  const m = TARGET.exec(target.trim());
  const port = m?.[3] === undefined ? 514 : Number(m[3]);
  if (!m || port < 1 || port > 65535) {
    throw new DecnetError(
      'InvalidLogTarget',
      `invalid log target ${JSON.stringify(target)}`,
      'use udp://HOST:PORT or tcp://HOST:PORT, e.g. udp://127.0.0.1:5514',
    );
  }
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { proto: m[1] as 'udp' | 'tcp', host, port };
}

/** The bytes to send for one line: the line itself over UDP, `LEN SP line` over TCP. */
export function frameSyslog(line: string, proto: SyslogTarget['proto']): Buffer {
  const body = Buffer.from(line, 'utf8');
  if (proto === 'udp') return body;
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/** Splits an octet-counted TCP stream back into lines (for tests and local sinks). */
export function parseOctetCounted(data: Buffer): { lines: string[]; rest: Buffer } {
  const lines: string[] = [];
  let pos = 0;
  for (;;) {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = Number(data.subarray(pos, sp).toString('ascii'));
    if (!Number.isInteger(len) || len < 0) throw new DecnetError('InvalidFrame', 'octet-counted frame without a valid length');
    if (data.length < sp + 1 + len) break;
    lines.push(data.subarray(sp + 1, sp + 1 + len).toString('utf8'));
    pos = sp + 1 + len;
  }
  return { lines, rest: data.subarray(pos) };
}
