/**
 * The attacker event: one JSON object per line on a service container's stdout.
 * Services fill what they know (decky, service, connection data); collectors
 * (`decnetctl events`, the controller) enrich with host and fleet from labels.
 */
import { z } from 'zod';

export const EVENT_TYPES = [
  'connection',
  'disconnect',
  'auth_attempt',
  'command',
  'request',
  'download_attempt',
  'upload_attempt',
  'mail',
  'name_query',
  'tls_handshake',
  'service_start',
  'decky_mutated',
  'error',
] as const;

export const SECRET_KINDS = [
  'plaintext',
  'http_basic',
  'http_form',
  'bearer_token',
  'mysql_native',
  'postgres_md5',
  'postgres_scram',
  'mongodb_scram',
  'netntlmv2',
  'netntlmv1',
  'ssh_key',
  'x509_client_cert',
  'snmp_community',
  'snmpv3_usm',
  'sip_digest',
  'vnc_challenge',
  'none',
] as const;

/** Alert severities, lowest first. */
export const SEVERITIES = ['low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const attackerEventSchema = z
  .object({
    time: z.string().describe('RFC 3339 time with milliseconds'),
    host: z.string().optional().describe('decnet host id (added by collectors)'),
    fleet: z.string().optional().describe('fleet name (added by collectors)'),
    decky: z.string(),
    service: z.string(),
    event: z.string().describe(`event type: ${EVENT_TYPES.join(', ')}, or a service-specific kind`),
    src_ip: z.string().optional(),
    src_port: z.number().int().optional(),
    dst_port: z.number().int().optional(),
    principal: z.string().optional().describe('user name / login tried'),
    secret_kind: z.string().optional().describe(`how the secret was presented: ${SECRET_KINDS.join(', ')}`),
    secret: z.string().optional().describe('the secret, printable (non-printable bytes escaped)'),
    secret_b64: z.string().optional().describe('the secret bytes, base64'),
    success: z.boolean().optional().describe('for auth_attempt: whether the fake login was accepted'),
    count: z.number().int().optional().describe('number of folded connection events (>1 when folded)'),
    severity: z
      .enum(SEVERITIES)
      .optional()
      .describe('added by collectors: low (connection, disconnect, name_query, tls_handshake, protocol_error), medium (request, auth_attempt), high (command, download_attempt, upload_attempt, mail, Docker/Kubernetes API write calls)'),
  })
  .catchall(z.unknown())
  .describe('decnet attacker event');

export type AttackerEvent = z.infer<typeof attackerEventSchema>;

/** Render bytes as a printable string (non-printables as \xNN) plus base64. */
export function secretFields(secret: string | Buffer): { secret: string; secret_b64: string } {
  const buf = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  let printable = '';
  const text = buf.toString('utf8');
  const roundTrips = Buffer.from(text, 'utf8').equals(buf);
  if (roundTrips) {
    for (const ch of text) {
      const c = ch.codePointAt(0)!;
      printable += c < 0x20 || c === 0x7f ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
    }
  } else {
    for (const b of buf) printable += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return { secret: printable, secret_b64: buf.toString('base64') };
}

const HIGH_KINDS = new Set(['command', 'download_attempt', 'upload_attempt', 'mail', 'mail_from', 'rcpt_to']);
const MEDIUM_KINDS = new Set(['request', 'auth_attempt', 'tls_request', 'client_version']);
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** services whose write calls are remote code execution or cluster changes, not page views */
const CONTROL_PLANE_SERVICES = new Set(['docker_api', 'k8s']);

/**
 * The severity of an event, the one place it is decided (documented in the events schema):
 * low: connection, disconnect, name_query, tls_handshake, protocol_error and other touches;
 * medium: request, auth_attempt; high: command, download/upload, mail, and write calls
 * (POST, PUT, PATCH, DELETE) on the Docker or Kubernetes API.
 */
export function eventSeverity(ev: Pick<AttackerEvent, 'event' | 'service'> & { method?: unknown }): Severity {
  if (HIGH_KINDS.has(ev.event)) return 'high';
  if (ev.event === 'request' && CONTROL_PLANE_SERVICES.has(ev.service) && typeof ev.method === 'string' && WRITE_METHODS.has(ev.method.toUpperCase())) return 'high';
  if (MEDIUM_KINDS.has(ev.event)) return 'medium';
  return 'low';
}

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);
