/**
 * Alerts, the pure part: which events an alert route takes, how a source's events on
 * one decky are grouped within the route's throttle window, and what each target
 * receives (webhook JSON, Slack and Teams incoming-webhook messages, an e-mail).
 *
 * Grouping: the first matching event of a (route, fleet, decky, source) opens a window
 * and is alerted at once (a touch pages within seconds); the ones that follow within
 * `throttleMs` are counted into one grouped alert sent when the window closes.
 */
import { createHash } from 'node:crypto';
import { eventSeverity, severityRank, type AttackerEvent, type ResolvedAlertRoute, type Severity } from '@decnet/api';

/** Events that are not a touch by anyone: never alerted. */
const NOT_A_TOUCH = new Set(['service_start', 'decky_mutated', 'error', 'disconnect']);
/** events carried in one alert (the count says how many there were) */
export const MAX_EVENTS_PER_ALERT = 20;

export function routeTakes(route: ResolvedAlertRoute, ev: AttackerEvent): boolean {
  if (NOT_A_TOUCH.has(ev.event)) return false;
  const sev = ev.severity ?? eventSeverity(ev);
  if (severityRank(sev) < severityRank(route.minSeverity)) return false;
  if (route.events && !route.events.includes(ev.event)) return false;
  if (route.services && !route.services.includes(ev.service)) return false;
  if (route.deckies && !route.deckies.includes(ev.decky)) return false;
  return true;
}

export interface Alert {
  /** stable id: receivers may dedupe on it (X-Decnet-Alert-Id) */
  id: string;
  route: string;
  type: ResolvedAlertRoute['type'];
  fleet: string;
  host?: string;
  decky: string;
  src_ip?: string;
  severity: Severity;
  services: string[];
  kinds: string[];
  principals: string[];
  /** events in this alert (folded connection counts included) */
  count: number;
  first: string;
  last: string;
  /** true for the first alert of a window, false for the grouped rest */
  opening: boolean;
  events: AttackerEvent[];
}

export interface AlertGroup {
  key: string;
  route: string;
  type: ResolvedAlertRoute['type'];
  fleet: string;
  decky: string;
  src_ip?: string;
  host?: string;
  /** window end (ms) */
  closesAt: number;
  /** identities of the window's recent events: one read twice (the collector is at-least-once across a crash) counts once */
  seen: string[];
  /** events counted since the opening alert */
  pending: Omit<Alert, 'id' | 'route' | 'type' | 'fleet' | 'decky' | 'src_ip' | 'host' | 'opening'> | undefined;
}

export const groupKey = (route: string, ev: AttackerEvent): string => `${route}|${ev.fleet ?? ''}|${ev.decky}|${ev.src_ip ?? ''}`;
const SEEN_MAX = 256;
const eventIdentity = (ev: AttackerEvent): string => createHash('sha1').update(JSON.stringify([ev.time, ev.service, ev.event, ev.src_port, ev.principal, ev.secret, ev['command'], ev.count])).digest('base64').slice(0, 16);
function remember(g: AlertGroup, id: string): void {
  g.seen.push(id);
  if (g.seen.length > SEEN_MAX) g.seen.splice(0, g.seen.length - SEEN_MAX);
}

const maxSev = (a: Severity, b: Severity): Severity => (severityRank(a) >= severityRank(b) ? a : b);
const addTo = (list: string[], v: string | undefined, max = 20) => {
  if (v !== undefined && v !== '' && !list.includes(v) && list.length < max) list.push(v);
};

function fold(into: NonNullable<AlertGroup['pending']>, ev: AttackerEvent): void {
  into.count += ev.count ?? 1;
  into.severity = maxSev(into.severity, ev.severity ?? eventSeverity(ev));
  if (ev.time < into.first) into.first = ev.time;
  if (ev.time > into.last) into.last = ev.time;
  addTo(into.services, ev.service);
  addTo(into.kinds, ev.event);
  addTo(into.principals, ev.principal);
  if (into.events.length < MAX_EVENTS_PER_ALERT) into.events.push(ev);
}

const fresh = (ev: AttackerEvent): NonNullable<AlertGroup['pending']> => {
  const p = { count: 0, severity: 'low' as Severity, first: ev.time, last: ev.time, services: [], kinds: [], principals: [], events: [] };
  fold(p, ev);
  return p;
};

export function alertId(route: string, fleet: string, decky: string, src: string | undefined, first: string, opening: boolean): string {
  return createHash('sha256').update(`${route}\0${fleet}\0${decky}\0${src ?? ''}\0${first}\0${opening ? 'open' : 'group'}`).digest('hex').slice(0, 24);
}

function toAlert(g: AlertGroup, p: NonNullable<AlertGroup['pending']>, opening: boolean): Alert {
  const a: Alert = { id: alertId(g.route, g.fleet, g.decky, g.src_ip, p.first, opening), route: g.route, type: g.type, fleet: g.fleet, decky: g.decky, opening, ...p };
  if (g.src_ip !== undefined) a.src_ip = g.src_ip;
  if (g.host !== undefined) a.host = g.host;
  return a;
}

/**
 * The throttle: `push` returns the alerts to queue now (an opening alert), `due`
 * the grouped alerts of closed windows. State is plain data (`snapshot`/`restore`)
 * so the controller can keep it on disk across restarts.
 */
export class AlertGrouper {
  private groups = new Map<string, AlertGroup>();

  push(route: ResolvedAlertRoute, ev: AttackerEvent, now: number): Alert[] {
    const key = groupKey(route.name, ev);
    const g = this.groups.get(key);
    const id = eventIdentity(ev);
    if (g && now < g.closesAt) {
      if (g.seen.includes(id)) return [];
      remember(g, id);
      if (g.pending) fold(g.pending, ev);
      else g.pending = fresh(ev);
      return [];
    }
    const out: Alert[] = [];
    if (g?.pending) out.push(toAlert(g, g.pending, false));
    const ng: AlertGroup = { key, route: route.name, type: route.type, fleet: ev.fleet ?? '', decky: ev.decky, closesAt: now + route.throttleMs, seen: [id], pending: undefined };
    if (ev.src_ip !== undefined) ng.src_ip = ev.src_ip;
    if (ev.host !== undefined) ng.host = ev.host;
    this.groups.set(key, ng);
    out.push(toAlert(ng, fresh(ev), true));
    return out;
  }

  /** grouped alerts of windows closed by `now`; closed windows without events are forgotten */
  due(now: number): Alert[] {
    const out: Alert[] = [];
    for (const [k, g] of this.groups) {
      if (now < g.closesAt) continue;
      if (g.pending) out.push(toAlert(g, g.pending, false));
      this.groups.delete(k);
    }
    return out;
  }

  size(): number {
    return this.groups.size;
  }

  snapshot(): AlertGroup[] {
    return [...this.groups.values()].map((g) => structuredClone(g));
  }

  restore(groups: readonly AlertGroup[]): void {
    this.groups = new Map(groups.filter((g) => g && typeof g.key === 'string' && typeof g.closesAt === 'number').map((g) => [g.key, { ...structuredClone(g), seen: Array.isArray(g.seen) ? [...g.seen] : [] }]));
  }
}

/* ------------------------------ rendering ------------------------------ */

export function alertTitle(a: Alert): string {
  const what = a.kinds.join(', ');
  const who = a.src_ip ?? 'an unknown source';
  return `decnet ${a.severity}: ${who} touched decky ${a.decky} (${a.services.join(', ')}: ${what}${a.count > 1 ? `, ${a.count} events` : ''})`;
}

function summaryLines(a: Alert): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['Fleet', a.fleet],
    ['Decky', a.decky],
    ['Service', a.services.join(', ')],
    ['Source', a.src_ip ?? '?'],
    ['Severity', a.severity],
    ['Events', `${a.count} (${a.kinds.join(', ')})`],
    ['First', a.first],
    ['Last', a.last],
  ];
  if (a.principals.length) rows.splice(4, 0, ['Principal', a.principals.join(', ')]);
  if (a.host) rows.push(['Host', a.host]);
  return rows;
}

/** The webhook body: the alert as JSON. */
export function webhookBody(a: Alert): Record<string, unknown> {
  return {
    id: a.id,
    title: alertTitle(a),
    route: a.route,
    fleet: a.fleet,
    ...(a.host !== undefined ? { host: a.host } : {}),
    decky: a.decky,
    service: a.services[0],
    services: a.services,
    event: a.kinds[0],
    events_kinds: a.kinds,
    severity: a.severity,
    src_ip: a.src_ip ?? null,
    principal: a.principals[0] ?? null,
    principals: a.principals,
    count: a.count,
    first: a.first,
    last: a.last,
    grouped: !a.opening,
    events: a.events,
  };
}

const mdEscape = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);

/** Slack incoming webhook: text plus one section block of fields. */
export function slackBody(a: Alert): Record<string, unknown> {
  const lines = summaryLines(a).map(([k, v]) => `*${k}:* ${mdEscape(v)}`);
  return {
    text: mdEscape(alertTitle(a)),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: alertTitle(a).slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
    ],
  };
}

const TEAMS_COLOUR: Record<Severity, string> = { low: '2EB886', medium: 'DAA038', high: 'D00000' };

/** Microsoft Teams incoming webhook (MessageCard). */
export function teamsBody(a: Alert): Record<string, unknown> {
  return {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    summary: alertTitle(a),
    themeColor: TEAMS_COLOUR[a.severity],
    title: alertTitle(a),
    sections: [{ facts: summaryLines(a).map(([name, value]) => ({ name, value })) }],
  };
}

/** An e-mail: subject and a plain-text body. */
export function emailMessage(a: Alert): { subject: string; text: string } {
  const rows = summaryLines(a).map(([k, v]) => `${k.padEnd(10)} ${v}`);
  const evs = a.events.map((e) => `  ${e.time} ${e.service} ${e.event}${e.principal ? ` ${e.principal}` : ''}${typeof e['command'] === 'string' ? ` ${String(e['command']).slice(0, 200)}` : ''}`);
  return { subject: alertTitle(a), text: `${rows.join('\n')}\n\nEvents${a.count > a.events.length ? ` (first ${a.events.length} of ${a.count})` : ''}:\n${evs.join('\n')}\n` };
}
