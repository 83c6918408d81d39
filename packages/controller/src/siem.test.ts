import fc from 'fast-check';
import { EVENT_TYPES, SECRET_KINDS, SEVERITIES, attackerEventSchema, type AttackerEvent } from '@decnet/api';
import { describe, expect, it } from 'vitest';
import { toEcs, toOcsf } from './siem.js';

/*
 * Required attributes per OCSF class, from the OCSF schema repository
 * (github.com/ocsf/ocsf-schema, events/*.json, "requirement": "required", merged down the
 * extends chain; schema.ocsf.io shows the same lists): base_event.json requires
 * activity_id, category_uid, class_uid, metadata, severity_id, time, type_uid; the class
 * or category files add the rest. metadata (objects/metadata.json) requires product, version.
 */
const OCSF_BASE_REQUIRED = ['activity_id', 'category_uid', 'class_uid', 'metadata', 'severity_id', 'time', 'type_uid'];
const OCSF_REQUIRED: Record<number, string[]> = {
  0: OCSF_BASE_REQUIRED, // Base Event
  1007: [...OCSF_BASE_REQUIRED, 'actor', 'device', 'process'], // Process Activity (system.json: actor, device)
  3002: [...OCSF_BASE_REQUIRED, 'user'], // Authentication (+ at_least_one of service, dst_endpoint)
  4001: OCSF_BASE_REQUIRED, // Network Activity (network.json: at_least_one of src_endpoint, dst_endpoint)
  4002: OCSF_BASE_REQUIRED, // HTTP Activity (+ at_least_one of http_request, http_response)
  4003: OCSF_BASE_REQUIRED, // DNS Activity
  4009: [...OCSF_BASE_REQUIRED, 'direction_id', 'email'], // Email Activity
  4010: [...OCSF_BASE_REQUIRED, 'actor', 'file', 'src_endpoint'], // Network File Activity
  6002: [...OCSF_BASE_REQUIRED, 'app'], // Application Lifecycle
};
const OCSF_AT_LEAST_ONE: Record<number, string[]> = { 3002: ['service', 'dst_endpoint'], 4001: ['src_endpoint', 'dst_endpoint'], 4002: ['http_request', 'http_response'] };

/*
 * ECS 8.x categorization allowed values, from the ECS reference
 * (elastic.co/docs/reference/ecs/ecs-allowed-values-event-category, -event-type, -event-kind),
 * with the expected event types per category.
 */
const ECS_KINDS = ['alert', 'asset', 'enrichment', 'event', 'metric', 'state', 'pipeline_error', 'signal'];
const ECS_CATEGORY_TYPES: Record<string, string[]> = {
  api: ['access', 'admin', 'allowed', 'change', 'creation', 'deletion', 'denied', 'end', 'info', 'start', 'user'],
  authentication: ['start', 'end', 'info'],
  configuration: ['access', 'change', 'creation', 'deletion', 'info'],
  database: ['access', 'change', 'info', 'error'],
  driver: ['change', 'end', 'info', 'start'],
  file: ['access', 'change', 'creation', 'deletion', 'info'],
  host: ['access', 'change', 'end', 'info', 'start'],
  iam: ['admin', 'change', 'creation', 'deletion', 'group', 'info', 'user'],
  intrusion_detection: ['allowed', 'denied', 'info'],
  library: ['start'],
  malware: ['info'],
  network: ['access', 'allowed', 'connection', 'denied', 'end', 'info', 'protocol', 'start'],
  package: ['access', 'change', 'deletion', 'info', 'installation', 'start'],
  process: ['access', 'change', 'end', 'info', 'start'],
  registry: ['access', 'change', 'creation', 'deletion'],
  session: ['start', 'end', 'info'],
  threat: ['indicator'],
  vulnerability: ['info'],
  web: ['access', 'error', 'info'],
};
const ECS_TYPES = ['access', 'admin', 'allowed', 'change', 'connection', 'creation', 'deletion', 'denied', 'device', 'end', 'error', 'group', 'indicator', 'info', 'installation', 'protocol', 'start', 'user'];

const base = { time: '2026-11-21T23:40:25.922Z', host: 'h1', fleet: 'lab', decky: 'web-01', src_ip: '10.213.0.1', src_port: 51514 };
const samples: Array<[AttackerEvent, number, number]> = [
  [{ ...base, service: 'ssh', event: 'auth_attempt', dst_port: 22, principal: 'root', secret_kind: 'plaintext', secret: 'hunter2', secret_b64: 'aHVudGVyMg==', success: false, severity: 'medium' }, 3002, 1],
  [{ ...base, service: 'ssh', event: 'connection', dst_port: 22, count: 3, severity: 'low' }, 4001, 1],
  [{ ...base, service: 'ssh', event: 'disconnect', dst_port: 22 }, 4001, 2],
  [{ ...base, service: 'https', event: 'tls_handshake', dst_port: 443, ja3: 'abc' }, 4001, 6],
  [{ ...base, service: 'http', event: 'request', dst_port: 80, method: 'POST', path: '/login', http_version: '1.1', user_agent: 'curl/8', status: 200 }, 4002, 6],
  [{ ...base, service: 'smb', event: 'request', dst_port: 445, command: 'negotiate' }, 4001, 6],
  [{ ...base, service: 'dns', event: 'name_query', dst_port: 53, name: 'example.com', qtype: 'A' }, 4003, 1],
  [{ ...base, service: 'smtp', event: 'mail', dst_port: 25, mail_from: 'a@x', rcpt_to: ['b@y'], subject: 'hi' }, 4009, 2],
  [{ ...base, service: 'ftp', event: 'download_attempt', dst_port: 21, path: '/etc/passwd', principal: 'anonymous' }, 4010, 2],
  [{ ...base, service: 'ftp', event: 'upload_attempt', dst_port: 21, path: '/pub/x.sh' }, 4010, 1],
  [{ ...base, service: 'ssh', event: 'command', dst_port: 22, principal: 'root', command: 'uname -a' }, 1007, 1],
  [{ ...base, service: 'ssh', event: 'service_start' }, 6002, 3],
  [{ ...base, service: 'decnet', event: 'decky_mutated', services: ['ssh'], previous_services: ['ftp'] }, 6002, 8],
  [{ ...base, service: 'redis', event: 'error', error: 'boom' }, 0, 99],
  [{ ...base, service: 'vnc', event: 'client_version' }, 0, 99],
];

describe('toOcsf', () => {
  it.each(samples)('maps %o to its class with the required attributes', (ev, classUid, activityId) => {
    const o = toOcsf(ev);
    expect(o['class_uid']).toBe(classUid);
    expect(o['category_uid']).toBe(Math.floor(classUid / 1000));
    expect(o['activity_id']).toBe(activityId);
    expect(o['type_uid']).toBe(classUid * 100 + activityId);
    for (const attr of OCSF_REQUIRED[classUid]!) expect(o, `${classUid} ${attr}`).toHaveProperty(attr);
    const one = OCSF_AT_LEAST_ONE[classUid];
    if (one) expect(one.some((a) => o[a] !== undefined)).toBe(true);
    expect(o['metadata']).toMatchObject({ version: expect.stringMatching(/^1\.\d+\.\d+$/), product: { name: 'decnet', vendor_name: 'decnet' } });
    expect(o['time']).toBe(Date.parse(ev.time));
    expect(o['src_endpoint']).toEqual({ ip: '10.213.0.1', port: 51514 });
    expect(o['dst_endpoint']).toMatchObject({ hostname: 'web-01' });
  });

  it('maps severity low/medium/high to severity_id 2/3/4 (computed when absent)', () => {
    expect(toOcsf(samples[1]![0])['severity_id']).toBe(2);
    expect(toOcsf(samples[0]![0])['severity_id']).toBe(3);
    expect(toOcsf(samples[10]![0])['severity_id']).toBe(4);
    expect(toOcsf({ ...base, service: 'ssh', event: 'command' })['severity_id']).toBe(4);
  });

  it('puts the user, status and decnet-specific fields of an authentication in place', () => {
    const o = toOcsf(samples[0]![0]);
    expect(o).toMatchObject({ user: { name: 'root' }, status_id: 2, status: 'Failure', dst_endpoint: { port: 22, hostname: 'web-01' } });
    expect(o['unmapped']).toMatchObject({ secret: 'hunter2', secret_kind: 'plaintext', fleet: 'lab' });
    expect(toOcsf({ ...samples[0]![0], success: true })).toMatchObject({ status_id: 1, status: 'Success' });
  });

  it('fills the HTTP request of an HTTP Activity', () => {
    expect(toOcsf(samples[4]![0])).toMatchObject({ http_request: { http_method: 'POST', url: { path: '/login' }, user_agent: 'curl/8' }, http_response: { code: 200 } });
  });
});

describe('toEcs', () => {
  it.each(samples)('maps %o with allowed categorization values', (ev) => {
    const d = toEcs(ev) as { event: { kind: string; category: string[]; type: string[] } } & Record<string, unknown>;
    expect(ECS_KINDS).toContain(d.event.kind);
    expect(d.event.category.length).toBeGreaterThan(0);
    for (const c of d.event.category) {
      expect(Object.keys(ECS_CATEGORY_TYPES)).toContain(c);
      for (const t of d.event.type) {
        expect(ECS_TYPES).toContain(t);
        expect(ECS_CATEGORY_TYPES[c], `${c}/${t}`).toContain(t);
      }
    }
    expect(d).toMatchObject({ '@timestamp': ev.time, host: { name: 'web-01' }, observer: { hostname: 'h1' }, service: { name: ev.service }, source: { ip: '10.213.0.1', port: 51514 } });
    expect(d.event).toMatchObject({ action: ev.event, dataset: 'decnet.events', module: 'decnet', severity: expect.any(Number) });
  });

  it('keeps the secret under decnet.* only', () => {
    const d = toEcs(samples[0]![0]);
    expect(d).toMatchObject({ user: { name: 'root' }, destination: { port: 22 }, event: { category: ['authentication'], outcome: 'failure' }, decnet: { secret: 'hunter2', secret_b64: 'aHVudGVyMg==' } });
    const { decnet: _d, ...rest } = d;
    expect(JSON.stringify(rest)).not.toContain('hunter2');
    expect(JSON.stringify(rest)).not.toContain('aHVudGVyMg==');
  });
});

const kind = fc.oneof(fc.constantFrom(...EVENT_TYPES), fc.string({ maxLength: 12 }));
const eventArb: fc.Arbitrary<AttackerEvent> = fc.record(
  {
    time: fc.oneof(fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 30 })),
    host: fc.string({ maxLength: 12 }),
    fleet: fc.string({ maxLength: 12 }),
    decky: fc.string({ maxLength: 12 }),
    service: fc.oneof(fc.constantFrom('ssh', 'http', 'smb', 'dns', 'smtp', 'ftp', 'k8s'), fc.string({ maxLength: 8 })),
    event: kind,
    src_ip: fc.ipV4(),
    src_port: fc.integer({ min: 0, max: 65535 }),
    dst_port: fc.integer({ min: 0, max: 65535 }),
    principal: fc.string({ maxLength: 12 }),
    secret_kind: fc.constantFrom(...SECRET_KINDS),
    secret: fc.string({ maxLength: 12 }),
    success: fc.boolean(),
    count: fc.integer({ min: 1, max: 100 }),
    severity: fc.constantFrom(...SEVERITIES),
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT'), fc.string({ maxLength: 6 })),
    path: fc.string({ maxLength: 20 }),
    command: fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 5 }))),
    name: fc.string({ maxLength: 20 }),
    rcpt_to: fc.oneof(fc.array(fc.string({ maxLength: 5 })), fc.string()),
    status: fc.integer({ min: 100, max: 599 }),
  },
  { requiredKeys: ['time', 'decky', 'service', 'event'] },
);

describe('properties', () => {
  it('every valid AttackerEvent maps without throwing and keeps src_ip and time', () => {
    fc.assert(
      fc.property(eventArb, (ev) => {
        expect(attackerEventSchema.safeParse(ev).success).toBe(true);
        const o = toOcsf(ev);
        const e = toEcs(ev) as Record<string, Record<string, unknown> | undefined>;
        const ms = Date.parse(ev.time);
        expect(o['time']).toBe(Number.isNaN(ms) ? 0 : ms);
        expect((o['metadata'] as Record<string, unknown>)['original_time']).toBe(ev.time);
        expect(e['@timestamp']).toBe(Number.isNaN(ms) ? ev.time : new Date(ms).toISOString());
        expect((o['src_endpoint'] as Record<string, unknown>)['ip']).toBe(ev.src_ip);
        expect(e['source']?.['ip']).toBe(ev.src_ip);
        const cls = o['class_uid'] as number;
        for (const attr of OCSF_REQUIRED[cls]!) expect(o).toHaveProperty(attr);
        expect(o['type_uid']).toBe(cls * 100 + (o['activity_id'] as number));
        expect(() => JSON.stringify(o) + JSON.stringify(e)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});
