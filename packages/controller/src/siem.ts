/**
 * Attacker events in the schemas SIEMs read, as pure functions (no I/O):
 *
 * - `toOcsf`: OCSF 1.x (Open Cybersecurity Schema Framework, what AWS Security Lake
 *   stores). One class per event kind: auth_attempt -> Authentication [3002],
 *   connection/disconnect/tls_handshake and non-HTTP requests -> Network Activity [4001],
 *   requests on HTTP services -> HTTP Activity [4002], name_query -> DNS Activity [4003],
 *   mail -> Email Activity [4009], download/upload -> Network File Activity [4010],
 *   command -> Process Activity [1007], service_start/decky_mutated -> Application
 *   Lifecycle [6002], anything else -> Base Event [0] with activity Other. decnet's own
 *   fields (secret, fleet, ...) go under `unmapped`.
 * - `toEcs`: Elastic Common Schema 8.x. decnet's own fields (and the secret) go under
 *   `decnet.*` only, never in a field other ECS users index as a credential.
 */
import { eventSeverity, type AttackerEvent, type Severity } from '@decnet/api';
import { summarizeEvent } from './syslog.js';

export const OCSF_VERSION = '1.3.0';
export const ECS_VERSION = '8.11.0';

const PRODUCT = { name: 'decnet', vendor_name: 'decnet' } as const;
/** OCSF severity_id: 2 Low, 3 Medium, 4 High. */
export const OCSF_SEVERITY_ID: Record<Severity, number> = { low: 2, medium: 3, high: 4 };
const SEVERITY_CAPTION: Record<Severity, string> = { low: 'Low', medium: 'Medium', high: 'High' };

/** Services whose `request` events are HTTP requests (also any request carrying http_version). */
export const HTTP_SERVICES: ReadonlySet<string> = new Set(['http', 'https', 'docker_api', 'k8s', 'elasticsearch', 'conpot']);

/** OCSF HTTP Activity activity_id by request method (others: 99 Other). */
const HTTP_ACTIVITY: Record<string, number> = { CONNECT: 1, DELETE: 2, GET: 3, HEAD: 4, OPTIONS: 5, POST: 6, PUT: 7, TRACE: 8, PATCH: 9 };

/** Fields the mappings place in schema attributes; the rest go to unmapped / decnet.*. */
const CORE = new Set(['time', 'src_ip', 'src_port', 'dst_port', 'principal', 'success']);

type Rec = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const strList = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : str(v) !== undefined ? [v as string] : undefined);

/** Drops undefined values (shallow), so absent facts stay absent. */
function compact<T extends Rec>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

export function severityOf(ev: AttackerEvent): Severity {
  return ev.severity ?? eventSeverity(ev as AttackerEvent & { method?: unknown });
}

const epochMs = (time: string): number => {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? 0 : ms;
};

function extras(ev: AttackerEvent): Rec {
  const out: Rec = {};
  for (const [k, v] of Object.entries(ev)) if (!CORE.has(k) && v !== undefined) out[k] = v;
  return out;
}

const isHttpRequest = (ev: AttackerEvent): boolean => ev.event === 'request' && (HTTP_SERVICES.has(ev.service) || typeof (ev as Rec)['http_version'] === 'string');

const commandLine = (x: Rec): string | undefined => {
  const parts = [x['command'], x['args'] ?? x['argv']].flatMap((p) => (Array.isArray(p) ? p.map(String) : p === undefined || p === null || p === '' ? [] : [typeof p === 'string' ? p : JSON.stringify(p)]));
  return str(x['line']) ?? (parts.length ? parts.join(' ') : undefined);
};

const baseName = (p: string): string => p.split(/[\\/]/).filter(Boolean).pop() ?? p;

/* ------------------------------------------------------------------ */
/* OCSF                                                                */
/* ------------------------------------------------------------------ */

interface OcsfClass {
  category_uid: number;
  category_name: string;
  class_uid: number;
  class_name: string;
  activity_id: number;
  activity_name: string;
  attrs?: Rec;
}

function ocsfClass(ev: AttackerEvent): OcsfClass {
  const x = ev as Rec;
  const user = ev.principal !== undefined ? { name: ev.principal } : undefined;
  const net = (activity_id: number, activity_name: string): OcsfClass => ({ category_uid: 4, category_name: 'Network Activity', class_uid: 4001, class_name: 'Network Activity', activity_id, activity_name });
  switch (ev.event) {
    case 'auth_attempt':
      return {
        category_uid: 3,
        category_name: 'Identity & Access Management',
        class_uid: 3002,
        class_name: 'Authentication',
        activity_id: 1,
        activity_name: 'Logon',
        attrs: {
          user: user ?? { type_id: 0, type: 'Unknown' },
          service: { name: ev.service },
          is_remote: true,
          ...(ev.success === true ? { status_id: 1, status: 'Success' } : ev.success === false ? { status_id: 2, status: 'Failure' } : { status_id: 0, status: 'Unknown' }),
        },
      };
    case 'connection':
      return net(1, 'Open');
    case 'disconnect':
      return net(2, 'Close');
    case 'tls_handshake':
      return net(6, 'Traffic');
    case 'request': {
      if (!isHttpRequest(ev)) return net(6, 'Traffic');
      const method = str(x['method'])?.toUpperCase();
      const activity_id = (method && HTTP_ACTIVITY[method]) || 99;
      return {
        category_uid: 4,
        category_name: 'Network Activity',
        class_uid: 4002,
        class_name: 'HTTP Activity',
        activity_id,
        activity_name: activity_id === 99 ? (method ?? 'Other') : method!.charAt(0) + method!.slice(1).toLowerCase(),
        attrs: {
          http_request: compact({
            http_method: method,
            url: compact({ path: str(x['path']) ?? '/', hostname: str(x['http_host']) }),
            user_agent: str(x['user_agent']),
            version: str(x['http_version']),
            length: num(x['content_length']),
          }),
          ...(num(x['status']) !== undefined ? { http_response: { code: x['status'] } } : {}),
        },
      };
    }
    case 'name_query':
      return {
        category_uid: 4,
        category_name: 'Network Activity',
        class_uid: 4003,
        class_name: 'DNS Activity',
        activity_id: 1,
        activity_name: 'Query',
        attrs: { query: compact({ hostname: str(x['name']) ?? '', type: str(x['qtype']) ?? (num(x['qtype']) !== undefined ? String(x['qtype']) : undefined) }) },
      };
    case 'mail':
      return {
        category_uid: 4,
        category_name: 'Network Activity',
        class_uid: 4009,
        class_name: 'Email Activity',
        activity_id: 2,
        activity_name: 'Receive',
        attrs: compact({
          direction_id: 1,
          direction: 'Inbound',
          email: compact({ from: str(x['mail_from']) ?? '', to: strList(x['rcpt_to']) ?? [], subject: str(x['subject']), size: num(x['size']) }),
          smtp_hello: str(x['helo']),
        }),
      };
    case 'download_attempt':
    case 'upload_attempt': {
      const path = str(x['path']) ?? str(x['filename']) ?? str(x['file']) ?? '';
      const up = ev.event === 'upload_attempt';
      return {
        category_uid: 4,
        category_name: 'Network Activity',
        class_uid: 4010,
        class_name: 'Network File Activity',
        activity_id: up ? 1 : 2,
        activity_name: up ? 'Upload' : 'Download',
        attrs: {
          actor: user ? { user } : { app_name: ev.service },
          file: compact({ name: baseName(path), path: path || undefined, type_id: 1, type: 'Regular File', size: num(x['size']) }),
        },
      };
    }
    case 'command':
      return {
        category_uid: 1,
        category_name: 'System Activity',
        class_uid: 1007,
        class_name: 'Process Activity',
        activity_id: 1,
        activity_name: 'Launch',
        attrs: {
          actor: user ? { user } : { app_name: ev.service },
          device: { type_id: 1, type: 'Server', hostname: ev.decky },
          process: compact({ cmd_line: commandLine(x), uid: str(x['session']) ?? `${ev.decky}/${ev.service}/${ev.src_ip ?? '-'}:${ev.src_port ?? '-'}` }),
        },
      };
    case 'service_start':
    case 'decky_mutated':
      return {
        category_uid: 6,
        category_name: 'Application Activity',
        class_uid: 6002,
        class_name: 'Application Lifecycle',
        activity_id: ev.event === 'service_start' ? 3 : 8,
        activity_name: ev.event === 'service_start' ? 'Start' : 'Update',
        attrs: { app: { name: ev.service, vendor_name: PRODUCT.vendor_name } },
      };
    default:
      return { category_uid: 0, category_name: 'Uncategorized', class_uid: 0, class_name: 'Base Event', activity_id: 99, activity_name: ev.event || 'Other' };
  }
}

/** The event as an OCSF 1.x event of the class its kind maps to. */
export function toOcsf(ev: AttackerEvent): Record<string, unknown> {
  const c = ocsfClass(ev);
  const sev = severityOf(ev);
  return compact({
    category_uid: c.category_uid,
    category_name: c.category_name,
    class_uid: c.class_uid,
    class_name: c.class_name,
    activity_id: c.activity_id,
    activity_name: c.activity_name,
    type_uid: c.class_uid * 100 + c.activity_id,
    type_name: `${c.class_name}: ${c.activity_name}`,
    severity_id: OCSF_SEVERITY_ID[sev],
    severity: SEVERITY_CAPTION[sev],
    time: epochMs(ev.time),
    message: summarizeEvent(ev),
    count: ev.count,
    metadata: compact({ version: OCSF_VERSION, product: { ...PRODUCT }, original_time: ev.time, event_code: ev.event, log_name: ev.fleet }),
    src_endpoint: compact({ ip: ev.src_ip, port: ev.src_port }),
    dst_endpoint: compact({ hostname: ev.decky, port: ev.dst_port, svc_name: ev.service }),
    ...c.attrs,
    unmapped: extras(ev),
  });
}

/* ------------------------------------------------------------------ */
/* ECS                                                                 */
/* ------------------------------------------------------------------ */

interface EcsCategory {
  category: string[];
  type: string[];
}

function ecsCategory(ev: AttackerEvent): EcsCategory {
  switch (ev.event) {
    case 'auth_attempt':
      return { category: ['authentication'], type: ['start'] };
    case 'connection':
      return { category: ['network'], type: ['connection', 'start'] };
    case 'disconnect':
      return { category: ['network'], type: ['connection', 'end'] };
    case 'request':
      return isHttpRequest(ev) ? { category: ['network', 'web'], type: ['access'] } : { category: ['network'], type: ['protocol'] };
    case 'command':
      return { category: ['process'], type: ['start'] };
    case 'download_attempt':
      return { category: ['file'], type: ['access'] };
    case 'upload_attempt':
      return { category: ['file'], type: ['creation'] };
    case 'mail':
    case 'name_query':
    case 'tls_handshake':
      return { category: ['network'], type: ['protocol'] };
    case 'service_start':
      return { category: ['process'], type: ['start'] };
    case 'decky_mutated':
      return { category: ['configuration'], type: ['change'] };
    default:
      return { category: ['network'], type: ['info'] };
  }
}

/** The event as an Elastic Common Schema 8.x document. */
export function toEcs(ev: AttackerEvent): Record<string, unknown> {
  const x = ev as Rec;
  const sev = severityOf(ev);
  const ms = Date.parse(ev.time);
  const { category, type } = ecsCategory(ev);
  const http = isHttpRequest(ev);
  const path = str(x['path']);
  const cmd = ev.event === 'command' ? commandLine(x) : undefined;
  return compact({
    '@timestamp': Number.isNaN(ms) ? ev.time : new Date(ms).toISOString(),
    message: summarizeEvent(ev),
    ecs: { version: ECS_VERSION },
    event: compact({
      kind: sev === 'high' ? 'alert' : 'event',
      category,
      type,
      action: ev.event,
      outcome: ev.event === 'auth_attempt' ? (ev.success === true ? 'success' : ev.success === false ? 'failure' : 'unknown') : undefined,
      severity: OCSF_SEVERITY_ID[sev],
      dataset: 'decnet.events',
      module: 'decnet',
    }),
    source: ev.src_ip !== undefined || ev.src_port !== undefined ? compact({ ip: ev.src_ip, port: ev.src_port }) : undefined,
    destination: ev.dst_port !== undefined ? { port: ev.dst_port } : undefined,
    host: { name: ev.decky },
    observer: compact({ hostname: ev.host, name: ev.host, type: 'honeypot', vendor: PRODUCT.vendor_name, product: PRODUCT.name }),
    service: { name: ev.service },
    user: ev.principal !== undefined ? { name: ev.principal } : undefined,
    related: compact({ ip: ev.src_ip !== undefined ? [ev.src_ip] : undefined, user: ev.principal !== undefined ? [ev.principal] : undefined }),
    http: http ? compact({ request: compact({ method: str(x['method']) }), response: num(x['status']) !== undefined ? { status_code: x['status'] } : undefined, version: str(x['http_version']) }) : undefined,
    url: http && path !== undefined ? compact({ path, domain: str(x['http_host']) }) : undefined,
    user_agent: http && str(x['user_agent']) !== undefined ? { original: x['user_agent'] } : undefined,
    process: cmd !== undefined ? { command_line: cmd } : undefined,
    file: (ev.event === 'download_attempt' || ev.event === 'upload_attempt') && path !== undefined ? { path, name: baseName(path) } : undefined,
    dns: ev.event === 'name_query' && str(x['name']) !== undefined ? compact({ type: 'query', question: compact({ name: x['name'], type: str(x['qtype']) }) }) : undefined,
    email: ev.event === 'mail' ? compact({ from: str(x['mail_from']) !== undefined ? { address: [x['mail_from']] } : undefined, to: strList(x['rcpt_to']) ? { address: strList(x['rcpt_to']) } : undefined, subject: str(x['subject']), direction: 'inbound' }) : undefined,
    decnet: extras(ev),
  });
}
