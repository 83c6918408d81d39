/**
 * Per source IP summaries of attacker events: the data behind `decnetctl attackers`.
 * Streaming-friendly (AttackerAggregator.add one event at a time) with bounded memory
 * per attacker: distinct commands and credentials are capped, the overflow counted.
 * Folded events (count > 1) weigh as many events.
 */
import type { AttackerEvent } from '@decnet/api';

export interface CredentialSummary {
  principal: string;
  secretKind?: string;
  /** printable form */
  secret?: string;
  secretB64?: string;
  /** attempts with this credential */
  count: number;
  /** of which the fake login accepted */
  accepted: number;
}

export interface CommandSummary {
  command: string;
  count: number;
}

/** Distinct client fingerprints a source showed, first-seen order. */
export interface FingerprintSummary {
  /** ssh client HASSH */
  hassh: string[];
  /** TLS JA3 (md5) */
  ja3: string[];
  ja4: string[];
  /** HTTP header-order fingerprint */
  http_fp: string[];
}

export type FingerprintKind = keyof FingerprintSummary;

/** The event field each fingerprint kind is read from, and the shape its value must have. */
const FINGERPRINT_FIELDS: [FingerprintKind, string, RegExp][] = [
  ['hassh', 'hassh', /^[0-9a-f]{32}$/],
  ['ja3', 'ja3_hash', /^[0-9a-f]{32}$/],
  ['ja4', 'ja4', /^[a-z0-9]{10}_[0-9a-f]{12}_[0-9a-f]{12}$/],
  ['http_fp', 'http_fp', /^[0-9a-f]{12}$/],
];

export interface AttackerSummary {
  ip: string;
  firstSeen: string;
  lastSeen: string;
  /** all events, folded counts included */
  events: number;
  /** per event type, keys sorted */
  eventCounts: Record<string, number>;
  fleets: string[];
  deckies: string[];
  services: string[];
  /** destination ports seen, ascending */
  ports: number[];
  /** most tried first, then by principal */
  credentials: CredentialSummary[];
  credentialsDropped: number;
  /** distinct commands in first-seen order */
  commands: CommandSummary[];
  commandsDropped: number;
  /** distinct client fingerprints (at most maxFingerprints per kind) */
  fingerprints: FingerprintSummary;
}

export interface AttackerOptions {
  /** distinct commands kept per attacker (default 50) */
  maxCommands?: number;
  /** distinct credentials kept per attacker (default 500) */
  maxCredentials?: number;
  /** longest command kept, characters (default 500) */
  maxCommandLength?: number;
  /** distinct fingerprints kept per kind and attacker (default 20) */
  maxFingerprints?: number;
}

interface Acc {
  ip: string;
  first: { ms: number; raw: string };
  last: { ms: number; raw: string };
  events: number;
  eventCounts: Map<string, number>;
  fleets: Set<string>;
  deckies: Set<string>;
  services: Set<string>;
  ports: Set<number>;
  credentials: Map<string, CredentialSummary>;
  credentialsDropped: number;
  commands: Map<string, CommandSummary>;
  commandsDropped: number;
  fingerprints: Record<FingerprintKind, Set<string>>;
}

/** The command text an event carries (services name it command, cmd or input). */
export function commandOf(ev: AttackerEvent): string | undefined {
  const rec = ev as Record<string, unknown>;
  for (const k of ['command', 'cmd', 'input']) {
    const v = rec[k];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return undefined;
}

export class AttackerAggregator {
  private readonly byIp = new Map<string, Acc>();
  private readonly maxCommands: number;
  private readonly maxCredentials: number;
  private readonly maxCommandLength: number;
  private readonly maxFingerprints: number;
  /** events without a source IP (not attributable) */
  skipped = 0;

  constructor(opts: AttackerOptions = {}) {
    this.maxCommands = opts.maxCommands ?? 50;
    this.maxCredentials = opts.maxCredentials ?? 500;
    this.maxCommandLength = opts.maxCommandLength ?? 500;
    this.maxFingerprints = opts.maxFingerprints ?? 20;
  }

  add(ev: AttackerEvent): void {
    if (!ev.src_ip) {
      this.skipped++;
      return;
    }
    const n = ev.count !== undefined && ev.count > 0 ? ev.count : 1;
    const ms = Date.parse(ev.time);
    let a = this.byIp.get(ev.src_ip);
    if (!a) {
      a = {
        ip: ev.src_ip,
        first: { ms, raw: ev.time },
        last: { ms, raw: ev.time },
        events: 0,
        eventCounts: new Map(),
        fleets: new Set(),
        deckies: new Set(),
        services: new Set(),
        ports: new Set(),
        credentials: new Map(),
        credentialsDropped: 0,
        commands: new Map(),
        commandsDropped: 0,
        fingerprints: { hassh: new Set(), ja3: new Set(), ja4: new Set(), http_fp: new Set() },
      };
      this.byIp.set(ev.src_ip, a);
    }
    if (!Number.isNaN(ms)) {
      if (Number.isNaN(a.first.ms) || ms < a.first.ms) a.first = { ms, raw: ev.time };
      if (Number.isNaN(a.last.ms) || ms > a.last.ms) a.last = { ms, raw: ev.time };
    }
    a.events += n;
    a.eventCounts.set(ev.event, (a.eventCounts.get(ev.event) ?? 0) + n);
    if (ev.fleet) a.fleets.add(ev.fleet);
    a.deckies.add(ev.decky);
    a.services.add(ev.service);
    if (ev.dst_port !== undefined) a.ports.add(ev.dst_port);
    // only login attempts are credentials: commands, downloads, ... carry the
    // logged-in principal as context, not as a new try
    if (ev.event === 'auth_attempt' && ev.principal !== undefined) this.addCredential(a, ev, n);
    const cmd = commandOf(ev);
    if (cmd !== undefined) this.addCommand(a, cmd.slice(0, this.maxCommandLength), n);
    const rec = ev as Record<string, unknown>;
    for (const [kind, field, shape] of FINGERPRINT_FIELDS) {
      const v = rec[field];
      const set = a.fingerprints[kind];
      if (typeof v === 'string' && set.size < this.maxFingerprints && shape.test(v)) set.add(v);
    }
  }

  private addCredential(a: Acc, ev: AttackerEvent, n: number): void {
    const key = JSON.stringify([ev.principal, ev.secret_kind ?? '', ev.secret_b64 ?? ev.secret ?? '']);
    let c = a.credentials.get(key);
    if (!c) {
      if (a.credentials.size >= this.maxCredentials) {
        a.credentialsDropped += n;
        return;
      }
      c = { principal: ev.principal!, count: 0, accepted: 0 };
      if (ev.secret_kind !== undefined) c.secretKind = ev.secret_kind;
      if (ev.secret !== undefined) c.secret = ev.secret;
      if (ev.secret_b64 !== undefined) c.secretB64 = ev.secret_b64;
      a.credentials.set(key, c);
    }
    c.count += n;
    if (ev.success === true) c.accepted += n;
  }

  private addCommand(a: Acc, command: string, n: number): void {
    const c = a.commands.get(command);
    if (c) c.count += n;
    else if (a.commands.size < this.maxCommands) a.commands.set(command, { command, count: n });
    else a.commandsDropped += n;
  }

  get(ip: string): AttackerSummary | undefined {
    const a = this.byIp.get(ip);
    return a && summary(a);
  }

  /** All attackers, most recently seen first (ties by IP). */
  summaries(): AttackerSummary[] {
    return [...this.byIp.values()]
      .sort((x, y) => (y.last.ms || 0) - (x.last.ms || 0) || (x.ip < y.ip ? -1 : x.ip > y.ip ? 1 : 0))
      .map(summary);
  }
}

const sorted = (s: Set<string>) => [...s].sort();

function summary(a: Acc): AttackerSummary {
  return {
    ip: a.ip,
    firstSeen: a.first.raw,
    lastSeen: a.last.raw,
    events: a.events,
    eventCounts: Object.fromEntries([...a.eventCounts].sort(([x], [y]) => (x < y ? -1 : 1))),
    fleets: sorted(a.fleets),
    deckies: sorted(a.deckies),
    services: sorted(a.services),
    ports: [...a.ports].sort((x, y) => x - y),
    credentials: [...a.credentials.values()]
      .map((c) => ({ ...c }))
      .sort((x, y) => y.count - x.count || (x.principal < y.principal ? -1 : x.principal > y.principal ? 1 : 0)),
    credentialsDropped: a.credentialsDropped,
    commands: [...a.commands.values()].map((c) => ({ ...c })),
    commandsDropped: a.commandsDropped,
    fingerprints: { hassh: [...a.fingerprints.hassh], ja3: [...a.fingerprints.ja3], ja4: [...a.fingerprints.ja4], http_fp: [...a.fingerprints.http_fp] },
  };
}

/** Summaries of a batch of events. */
export function summarizeAttackers(events: Iterable<AttackerEvent>, opts: AttackerOptions = {}): AttackerSummary[] {
  const agg = new AttackerAggregator(opts);
  for (const ev of events) agg.add(ev);
  return agg.summaries();
}
