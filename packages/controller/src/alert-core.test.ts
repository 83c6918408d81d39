import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttackerEvent, ResolvedAlertRoute } from '@decnet/api';
import { AlertGrouper, emailMessage, routeTakes, slackBody, teamsBody, webhookBody } from './alert-core.js';
import { webhookRequest } from './alert-targets.js';

const route = (over: Partial<ResolvedAlertRoute> = {}): ResolvedAlertRoute => ({
  name: 'soc',
  type: 'webhook',
  minSeverity: 'low',
  throttleMs: 60_000,
  maxPerMinute: 30,
  tlsVerify: true,
  secretsDigest: 'x',
  ...over,
});
const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const ev = (over: Partial<AttackerEvent> = {}, dt = 0): AttackerEvent => ({
  time: new Date(T0 + dt).toISOString(),
  host: 'h1',
  fleet: 'lab',
  decky: 'web-01',
  service: 'ssh',
  event: 'auth_attempt',
  src_ip: '10.213.0.250',
  src_port: 40000,
  principal: 'root',
  severity: 'medium',
  ...over,
});

describe('routeTakes', () => {
  it('filters by severity, kind, service and decky; never non-touches', () => {
    expect(routeTakes(route(), ev())).toBe(true);
    expect(routeTakes(route({ minSeverity: 'high' }), ev())).toBe(false);
    expect(routeTakes(route({ minSeverity: 'high' }), ev({ event: 'command', severity: 'high' }))).toBe(true);
    expect(routeTakes(route({ events: ['command'] }), ev())).toBe(false);
    expect(routeTakes(route({ services: ['http'] }), ev())).toBe(false);
    expect(routeTakes(route({ deckies: ['web-01'] }), ev())).toBe(true);
    expect(routeTakes(route({ deckies: ['db-01'] }), ev())).toBe(false);
    for (const k of ['service_start', 'decky_mutated', 'error', 'disconnect']) expect(routeTakes(route(), ev({ event: k, severity: 'low' }))).toBe(false);
    // severity missing (an event not from the collector): computed
    const { severity: _s, ...bare } = ev({ event: 'command' });
    expect(routeTakes(route({ minSeverity: 'high' }), bare as AttackerEvent)).toBe(true);
  });
});

describe('AlertGrouper (throttle)', () => {
  it('alerts the first touch at once and groups the rest of the window into one alert with counts and first/last', () => {
    const g = new AlertGrouper();
    const r = route();
    const first = g.push(r, ev(), T0);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ opening: true, count: 1, decky: 'web-01', src_ip: '10.213.0.250', principals: ['root'], severity: 'medium' });
    for (let i = 1; i <= 50; i++) expect(g.push(r, ev({ principal: `u${i % 3}`, event: i === 50 ? 'command' : 'auth_attempt', severity: i === 50 ? 'high' : 'medium' }, i * 100), T0 + i * 100)).toEqual([]);
    expect(g.due(T0 + 59_999)).toEqual([]);
    const grouped = g.due(T0 + 60_000);
    expect(grouped).toHaveLength(1);
    expect(grouped[0]).toMatchObject({ opening: false, count: 50, severity: 'high', first: new Date(T0 + 100).toISOString(), last: new Date(T0 + 5000).toISOString(), kinds: ['auth_attempt', 'command'] });
    expect(grouped[0]!.principals.sort()).toEqual(['u0', 'u1', 'u2']);
    expect(grouped[0]!.events).toHaveLength(20);
    expect(grouped[0]!.id).not.toBe(first[0]!.id);
    expect(g.size()).toBe(0);
  });

  it('keeps sources, deckies and routes apart; folded connection counts add up; a window without more events sends nothing more', () => {
    const g = new AlertGrouper();
    const r = route({ minSeverity: 'low' });
    expect(g.push(r, ev({ event: 'connection', severity: 'low' }), T0)).toHaveLength(1);
    expect(g.push(r, ev({ src_ip: '10.213.0.251' }), T0)).toHaveLength(1);
    expect(g.push(r, ev({ decky: 'db-01' }), T0)).toHaveLength(1);
    expect(g.push(route({ name: 'mail' }), ev(), T0)).toHaveLength(1);
    g.push(r, ev({ event: 'connection', severity: 'low', count: 7 }, 10), T0 + 10);
    const due = g.due(T0 + 60_000);
    expect(due).toHaveLength(1);
    expect(due[0]!.count).toBe(7);
  });

  it('a late event after the window opens a new window (and flushes the old one first)', () => {
    const g = new AlertGrouper();
    const r = route({ throttleMs: 1000 });
    g.push(r, ev(), T0);
    g.push(r, ev({}, 500), T0 + 500);
    const out = g.push(r, ev({}, 2000), T0 + 2000);
    expect(out.map((a) => [a.opening, a.count])).toEqual([
      [false, 1],
      [true, 1],
    ]);
  });

  it('an event read twice (collector replay after a crash) counts once', () => {
    const g = new AlertGrouper();
    const r = route();
    const e = ev({}, 5);
    g.push(r, ev(), T0);
    g.push(r, e, T0 + 5);
    const g2 = new AlertGrouper();
    g2.restore(JSON.parse(JSON.stringify(g.snapshot())));
    expect(g2.push(r, ev(), T0 + 10)).toEqual([]);
    expect(g2.push(r, e, T0 + 10)).toEqual([]);
    expect(g2.due(T0 + 60_000)[0]!.count).toBe(1);
  });

  it('survives a snapshot/restore (what the controller keeps on disk)', () => {
    const g = new AlertGrouper();
    g.push(route(), ev(), T0);
    g.push(route(), ev({}, 1), T0 + 1);
    const g2 = new AlertGrouper();
    g2.restore(JSON.parse(JSON.stringify(g.snapshot())));
    expect(g2.due(T0 + 60_000)).toEqual(g.due(T0 + 60_000));
  });

  it('never throws and counts every event (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ src: fc.constantFrom('a', 'b'), dt: fc.nat(5000), n: fc.integer({ min: 1, max: 9 }) }), { maxLength: 60 }), (xs) => {
        const g = new AlertGrouper();
        const r = route({ throttleMs: 1000 });
        let total = 0;
        let t = T0;
        const alerts = [];
        for (const [i, x] of xs.entries()) {
          t += x.dt;
          total += x.n;
          alerts.push(...g.push(r, ev({ src_ip: x.src, src_port: 1000 + i, event: 'connection', severity: 'low', count: x.n }, t - T0), t));
        }
        alerts.push(...g.due(t + 10_000));
        expect(alerts.reduce((s, a) => s + a.count, 0)).toBe(total);
      }),
      { seed: 14, numRuns: 300 },
    );
  });
});

describe('target formats', () => {
  const a = new AlertGrouper().push(route(), ev({ event: 'command', command: 'cat /etc/shadow', severity: 'high' }), T0)[0]!;
  it('webhook: the fields an on-call tool needs, signed with HMAC-SHA256 when a secret is set', () => {
    const body = webhookBody(a);
    expect(body).toMatchObject({ fleet: 'lab', decky: 'web-01', service: 'ssh', event: 'command', severity: 'high', src_ip: '10.213.0.250', principal: 'root', count: 1, grouped: false });
    const req = webhookRequest(a, { type: 'webhook' }, { url: 'http://x', secret: 'k' });
    expect(req.headers['x-decnet-signature']).toBe(`sha256=${createHmac('sha256', 'k').update(req.body).digest('hex')}`);
    expect(webhookRequest(a, { type: 'webhook' }, { url: 'http://x' }).headers).not.toHaveProperty('x-decnet-signature');
  });
  it('slack and teams incoming-webhook shapes; e-mail text', () => {
    const s = slackBody(a) as { text: string; blocks: Array<{ type: string; text: { type: string; text: string } }> };
    expect(s.text).toMatch(/^decnet high: 10\.213\.0\.250 touched decky web-01/);
    expect(s.blocks.map((b) => b.type)).toEqual(['header', 'section']);
    expect(s.blocks[1]!.text.type).toBe('mrkdwn');
    const t = teamsBody(a) as Record<string, unknown>;
    expect(t).toMatchObject({ '@type': 'MessageCard', '@context': 'https://schema.org/extensions', themeColor: 'D00000' });
    const m = emailMessage(a);
    expect(m.subject).toContain('web-01');
    expect(m.text).toContain('cat /etc/shadow');
    expect(m.text).toMatch(/Principal\s+root/);
  });
});
