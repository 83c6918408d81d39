/**
 * zod schemas of the manifests (`Fleet`, `Decky`, `DeckySet`, apiVersion
 * decnet.io/v1alpha1). Objects are strict: an unknown field is an error naming
 * the known ones. Single-document rules live here; rules that need several
 * documents (fleet references, IP clashes, ports) live in resolve.
 */
import { z } from 'zod';
import { ARCHETYPE_NAMES } from './catalog-archetypes.js';
import { DISTRO_NAMES } from './catalog-distros.js';
import { serviceDef, SERVICE_NAMES } from './catalog-services.js';
import { CIDR_PATTERN, inSubnet, ipToInt, IPV4_PATTERN, isIPv4, looksLikeIPv6, parseCidr } from './cidr.js';
import { DURATION_PATTERN, parseDuration } from './duration.js';
import { macProblem, MAC_PATTERN, MAC_RE } from './mac-vendors.js';
import { OS_PROFILE_NAMES } from './os-profiles.js';
import { API_VERSION, type ServicePort } from './types.js';

export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
export const SERVICE_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,30}$';
const HOSTNAME_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';
const IMAGE_PATTERN = '^[a-z0-9][A-Za-z0-9._/:@-]{0,254}$';
const LABEL_KEY_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._/-]{0,251}[A-Za-z0-9])?$';
const NIC_PATTERN = '^[A-Za-z0-9_.@-]{1,15}$';
const PORT_PATTERN = '^[0-9]{1,5}(/(tcp|udp))?$';
const LOG_TARGET_PATTERN = '^(udp|tcp)://[^\\s:/]+:[0-9]{1,5}$';

type Shape = Record<string, z.ZodType>;

/** A strict object whose unknown-field error lists the known fields. */
function strict<S extends Shape>(shape: S, note = '') {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== 'unrecognized_keys') return undefined;
      const keys = iss.keys.join(', ');
      return `unknown field${iss.keys.length > 1 ? 's' : ''} ${keys}; known fields: ${known}${note}`;
    },
  });
}

/** A string checked by a pattern with a readable message (the pattern also goes into JSON Schema). */
function patterned(pattern: string, what: string, extra?: (v: string) => string | undefined) {
  const re = new RegExp(pattern);
  return z
    .string()
    .superRefine((v, ctx) => {
      const special = extra?.(v);
      if (special !== undefined) ctx.addIssue({ code: 'custom', message: special });
      else if (!re.test(v)) ctx.addIssue({ code: 'custom', message: `expected ${what}, got ${JSON.stringify(v)}` });
    })
    .meta({ pattern, description: what });
}

const dnsLabel = (what: string, max = 63) =>
  patterned(DNS_LABEL_PATTERN, `${what} (lowercase letters, digits and '-', at most ${max} characters)`, (v) =>
    v.length > max ? `expected at most ${max} characters, got ${v.length}` : undefined,
  );
const ipv6Note = (v: string) => (looksLikeIPv6(v) ? `${v} is IPv6; only IPv4 is supported` : undefined);
export const ipv4Schema = patterned(IPV4_PATTERN, 'an IPv4 address like 10.213.0.10', ipv6Note);
const cidrSchema = patterned(CIDR_PATTERN, 'an IPv4 CIDR subnet like 10.213.0.0/24', (v) => {
  const r = parseCidr(v);
  return r.ok ? undefined : r.reason;
});
const serviceName = patterned(SERVICE_NAME_PATTERN, 'a service name (lowercase letters, digits, _ and -)');
const customServiceName = patterned(SERVICE_NAME_PATTERN, 'a service name (lowercase letters, digits, _ and -)', (v) =>
  serviceDef(v) ? `${v} is a catalogue service; give the custom service another name` : undefined,
);

export const durationSchema = z
  .string({ error: (iss) => `expected a duration like 30s, 15m, 2h or 1d, got ${describeInput(iss.input)}` })
  .superRefine((v, ctx) => {
    if (parseDuration(v) === undefined) ctx.addIssue({ code: 'custom', message: `expected a duration like 30s, 15m, 2h or 1d, got ${JSON.stringify(v)}` });
  })
  .meta({ pattern: DURATION_PATTERN, description: 'duration: a whole number with unit s, m, h or d (30s, 15m, 2h, 1d)' })
  .transform((v) => parseDuration(v) ?? 0);

const PORT_RE = new RegExp(PORT_PATTERN);
const PORT_MESSAGE = 'expected a port like 8080 or "8080/tcp" or "53/udp" (1-65535)';
export const portSchema = z
  .union([z.number().meta({ type: 'integer', minimum: 1, maximum: 65535 }), z.string().meta({ pattern: PORT_PATTERN })], {
    error: (iss) => `${PORT_MESSAGE}, got ${describeInput(iss.input)}`,
  })
  .superRefine((v, ctx) => {
    const n = typeof v === 'number' ? v : PORT_RE.test(v) ? Number(v.split('/')[0]) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 65535) ctx.addIssue({ code: 'custom', message: `${PORT_MESSAGE}, got ${describeInput(v)}` });
  })
  .transform((v): ServicePort => {
    if (typeof v === 'number') return { port: v, proto: 'tcp' };
    const [port, proto] = v.split('/');
    return { port: Number(port), proto: proto === 'udp' ? 'udp' : 'tcp' };
  });

function describeInput(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v === 'string' ? JSON.stringify(v) : `${typeof v} ${String(v)}`;
}

const enumOf = (values: readonly string[], what: string) =>
  z.enum(values as [string, ...string[]], {
    error: (iss) => `unknown ${what} ${describeInput(iss.input)}; known ${what}s: ${values.join(', ')}`,
  });

const labelsSchema = z
  .record(
    patterned(LABEL_KEY_PATTERN, 'a label key (letters, digits, . _ / -)', (k) =>
      k.startsWith('com.decnet.') ? `label key ${k} uses the reserved prefix com.decnet.` : undefined,
    ),
    z.string({ error: (iss) => `expected a string label value, got ${describeInput(iss.input)} (quote it)` }),
  )
  .describe('free-form labels, copied onto the objects decnet creates');

const metadataSchema = (what: string, max = 63) =>
  strict({ name: dnsLabel(`a ${what} name`, max), labels: labelsSchema.optional() });

/* ------------------------------- Fleet ------------------------------- */

const networkSchema = strict({
  mode: z.enum(['macvlan', 'ipvlan']).optional().describe('macvlan (default) or ipvlan (L2)'),
  parent: patterned(NIC_PATTERN, 'a host network interface name').optional().describe('host NIC; omitted when lab is true'),
  subnet: cidrSchema,
  gateway: ipv4Schema,
});

const customServiceSchema = strict({
  image: patterned(IMAGE_PATTERN, 'a container image reference'),
  command: z.array(z.string()).min(1).optional().describe('command override (argv)'),
  ports: z.array(portSchema).min(1).describe('ports it listens on: 8080, "8080/tcp" or "53/udp"'),
});

/* ---------------------------- Alert routes --------------------------- */

export const ALERT_TYPES = ['webhook', 'slack', 'teams', 'email'] as const;
const EMAIL_PATTERN = '^[^\\s@<>]+@[^\\s@<>]+$';

/** A URL checked without ever echoing it: it carries tokens and passwords. */
const secretUrlSchema = z
  .string({ error: (iss) => `expected a URL, got ${describeInput(iss.input)}` })
  .min(1)
  .superRefine((v, ctx) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a URL like https://hooks.example/x or smtp://user:pass@mail.example:587 (value not shown: it is a secret)' });
      return;
    }
    if (!['http:', 'https:', 'smtp:', 'smtps:'].includes(u.protocol) || u.hostname === '') {
      ctx.addIssue({ code: 'custom', message: `expected an http(s):// or smtp(s):// URL with a host, got a ${u.protocol} URL (value not shown: it is a secret)` });
    }
  })
  .describe('where alerts go; a secret: kept in the state dir, never in labels, env or logs');

const emailList = z.union([patterned(EMAIL_PATTERN, 'an e-mail address'), z.array(patterned(EMAIL_PATTERN, 'an e-mail address')).min(1)]);

export const alertRouteSchema = strict({
  name: dnsLabel('an alert route name'),
  type: enumOf(ALERT_TYPES, 'alert type'),
  url: secretUrlSchema,
  secret: z.string().min(1).optional().describe('webhook only: HMAC-SHA256 key; the body is signed in X-Decnet-Signature: sha256=<hex> (a secret)'),
  minSeverity: enumOf(['low', 'medium', 'high'], 'severity').optional().describe('least severity sent (default low: every touch)'),
  events: z.array(z.string().min(1)).min(1).optional().describe('only these event kinds (default: all)'),
  services: z.array(serviceName).min(1).optional().describe('only events of these services'),
  deckies: z.array(dnsLabel('a decky name')).min(1).optional().describe('only events of these deckies'),
  throttle: durationSchema.optional().describe("one alert per source and decky within this window, counting the rest (default 1m)"),
  maxPerMinute: z.int().min(1).max(10000).optional().describe('rate limit of this target; the excess waits in the queue (default 30)'),
  to: emailList.optional().describe('email only: recipients'),
  from: patterned(EMAIL_PATTERN, 'an e-mail address').optional().describe('email only: sender'),
  tlsVerify: z.boolean().optional().describe("verify the target's TLS certificate (default true)"),
}).superRefine((r, ctx) => {
  const proto = /^([a-z]+):/i.exec(r.url)?.[1]?.toLowerCase();
  if (r.type === 'email') {
    if (proto !== undefined && proto !== 'smtp' && proto !== 'smtps') ctx.addIssue({ code: 'custom', path: ['url'], message: 'an email route needs an smtp:// or smtps:// URL' });
    if (r.to === undefined) ctx.addIssue({ code: 'custom', path: ['to'], message: 'missing required field for an email route: the recipients' });
    if (r.from === undefined) ctx.addIssue({ code: 'custom', path: ['from'], message: 'missing required field for an email route: the sender' });
  } else {
    if (proto !== undefined && proto !== 'http' && proto !== 'https') ctx.addIssue({ code: 'custom', path: ['url'], message: `a ${r.type} route needs an http:// or https:// URL` });
    for (const k of ['to', 'from'] as const) if (r[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `only for email routes, not ${r.type}` });
  }
  if (r.secret !== undefined && r.type !== 'webhook') ctx.addIssue({ code: 'custom', path: ['secret'], message: `only webhook routes are signed, not ${r.type}` });
});

export const fleetSpecSchema = strict({
  network: networkSchema,
  lab: z.boolean().optional().describe('isolated veth parent + attacker namespace; never touches a physical NIC'),
  mutateInterval: durationSchema.optional().describe('default mutation interval of its deckies'),
  logTarget: patterned(LOG_TARGET_PATTERN, 'a syslog target like udp://127.0.0.1:5514').optional(),
  customServices: z.record(customServiceName, customServiceSchema).optional().describe('bring-your-own services, referenced by name'),
  reservedIPs: z.array(ipv4Schema).optional().describe('addresses never given to a decky'),
  alerts: z.array(alertRouteSchema).optional().describe('where a touch of any decky of the fleet pages the team (changing them recreates nothing)'),
}).superRefine((spec, ctx) => {
  const seenRoutes = new Set<string>();
  (spec.alerts ?? []).forEach((r, i) => {
    if (seenRoutes.has(r.name)) ctx.addIssue({ code: 'custom', path: ['alerts', i, 'name'], message: `alert route ${r.name} is declared twice` });
    seenRoutes.add(r.name);
  });
  if (spec.lab === true && spec.network.parent !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['network', 'parent'], message: 'must be omitted when spec.lab is true (the lab veth pair is the parent)' });
  }
  if (spec.lab !== true && spec.network.parent === undefined) {
    ctx.addIssue({ code: 'custom', path: ['network', 'parent'], message: 'missing required field (the host NIC, e.g. eth1) unless spec.lab is true' });
  }
  const cidr = parseCidr(spec.network.subnet);
  if (cidr.ok && isIPv4(spec.network.gateway)) {
    const gw = ipToInt(spec.network.gateway);
    if (!inSubnet(cidr.subnet, gw)) {
      ctx.addIssue({ code: 'custom', path: ['network', 'gateway'], message: `${spec.network.gateway} is outside the subnet ${spec.network.subnet}` });
    } else if (gw === cidr.subnet.network || gw === cidr.subnet.broadcast) {
      const which = gw === cidr.subnet.network ? 'network' : 'broadcast';
      ctx.addIssue({ code: 'custom', path: ['network', 'gateway'], message: `${spec.network.gateway} is the ${which} address of ${spec.network.subnet}` });
    }
    (spec.reservedIPs ?? []).forEach((ip, i) => {
      if (isIPv4(ip) && !inSubnet(cidr.subnet, ipToInt(ip))) {
        ctx.addIssue({ code: 'custom', path: ['reservedIPs', i], message: `${ip} is outside the fleet subnet ${spec.network.subnet}` });
      }
    });
  }
});

/* ------------------------------- Decky ------------------------------- */

const serviceListSchema = z
  .array(serviceName)
  .min(1, { error: 'expected at least one service' })
  .superRefine((list, ctx) => {
    list.forEach((s, i) => {
      if (list.indexOf(s) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `service ${s} is listed twice` });
    });
  })
  .describe(`services: ${SERVICE_NAMES.join(', ')}, or a custom service of the fleet`);

const configValueSchema = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())], {
  error: (iss) => `expected a string, number, boolean or list of strings, got ${describeInput(iss.input)}`,
});

const placementSchema = strict({
  host: z.string().min(1).optional().describe('id of the host that runs the decky (swarm)'),
  hostSelector: z.record(z.string(), z.string()).optional(),
});

const deckyCommon = {
  archetype: enumOf(ARCHETYPE_NAMES, 'archetype').optional(),
  services: serviceListSchema.optional(),
  nmapOS: enumOf(OS_PROFILE_NAMES, 'nmapOS profile').optional(),
  distro: enumOf(DISTRO_NAMES, 'distro').optional(),
  serviceConfig: z
    .record(serviceName, z.record(z.string(), configValueSchema))
    .optional()
    .describe('persona config per service: service -> key -> value'),
  mutateInterval: durationSchema.optional(),
  placement: placementSchema.optional(),
  baseImage: patterned(IMAGE_PATTERN, 'a container image reference').optional().describe("base container image (default: the distro's image)"),
};

export const deckySpecSchema = strict({
  fleet: dnsLabel('a fleet name'),
  ip: ipv4Schema.optional().describe('auto-allocated when absent'),
  mac: patterned(MAC_PATTERN, 'a MAC address like 00:1a:2f:12:34:56', (v) => (MAC_RE.test(v) ? macProblem(v) : undefined))
    .optional()
    .describe("MAC address on the fleet's LAN (default: derived from the name under a vendor OUI that fits the OS profile and archetype)"),
  hostname: patterned(HOSTNAME_PATTERN, 'a hostname like SRV-ALPHA-12 or web12.localdomain', (v) =>
    v.length > 253 ? `expected at most 253 characters, got ${v.length}` : undefined,
  ).optional(),
  ...deckyCommon,
});

export const deckyTemplateSchema = strict(deckyCommon, ' (fleet, ip and hostname are set per replica)');

export const deckySetSpecSchema = strict({
  fleet: dnsLabel('a fleet name'),
  replicas: z.int({ error: (iss) => `expected an integer from 1 to 100, got ${describeInput(iss.input)}` }).min(1).max(100),
  template: deckyTemplateSchema,
});

/* ------------------------------ Manifests ---------------------------- */

const apiVersionSchema = z.literal(API_VERSION, { error: (iss) => `expected ${API_VERSION}, got ${describeInput(iss.input)}` });
const kindLiteral = <K extends string>(kind: K) => z.literal(kind);

export const fleetManifestSchema = strict({
  apiVersion: apiVersionSchema,
  kind: kindLiteral('Fleet'),
  metadata: metadataSchema('fleet'),
  spec: fleetSpecSchema,
}).describe('decnet Fleet: one LAN of deckies');

export const deckyManifestSchema = strict({
  apiVersion: apiVersionSchema,
  kind: kindLiteral('Decky'),
  metadata: metadataSchema('decky'),
  spec: deckySpecSchema,
}).describe('decnet Decky: one fake machine');

export const deckySetManifestSchema = strict({
  apiVersion: apiVersionSchema,
  kind: kindLiteral('DeckySet'),
  metadata: metadataSchema('decky set', 60),
  spec: deckySetSpecSchema,
}).describe('decnet DeckySet: N deckies <name>-01 .. <name>-NN from one template');

export const MANIFEST_KINDS = ['Fleet', 'Decky', 'DeckySet'] as const;
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

export const manifestSchemas = {
  Fleet: fleetManifestSchema,
  Decky: deckyManifestSchema,
  DeckySet: deckySetManifestSchema,
} as const;

/** Any of the three kinds (for JSON Schema / editors). */
export const manifestSchema = z.discriminatedUnion('kind', [fleetManifestSchema, deckyManifestSchema, deckySetManifestSchema]);

/** Manifests as validated (durations in seconds, ports as {port, proto}). */
export type FleetManifest = z.output<typeof fleetManifestSchema>;
export type DeckyManifest = z.output<typeof deckyManifestSchema>;
export type DeckySetManifest = z.output<typeof deckySetManifestSchema>;
export type Manifest = FleetManifest | DeckyManifest | DeckySetManifest;
export type DeckySpec = DeckyManifest['spec'];
export type DeckyTemplate = DeckySetManifest['spec']['template'];

/** Manifests as written (what YAML holds, what toManifests produces). */
export type FleetManifestInput = z.input<typeof fleetManifestSchema>;
export type DeckyManifestInput = z.input<typeof deckyManifestSchema>;
export type DeckySetManifestInput = z.input<typeof deckySetManifestSchema>;
export type ManifestInput = FleetManifestInput | DeckyManifestInput | DeckySetManifestInput;
export type AlertRouteManifest = z.output<typeof alertRouteSchema>;
