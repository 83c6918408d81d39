/**
 * Reading attacker events from this host's service containers (their stdout,
 * through the engine's logs), enriched with host and fleet from labels and with
 * connection floods folded. The controller's collected file replaces this source
 * when a controller runs.
 */
import { groupObserved, type AttackerEvent } from '@decnet/api';
import { EventFolder, foldEvents, parseEventLine } from '@decnet/controller';
import type { Engine } from '@decnet/engine';

export interface EventQuery {
  fleet?: string;
  decky?: string;
  service?: string;
  /** unix seconds */
  since?: number;
}

interface Source {
  container: string;
  host: string;
  fleet?: string;
  decky: string;
  service: string;
}

async function sources(engine: Engine, hostId: string, q: EventQuery): Promise<Source[]> {
  const g = groupObserved(await engine.observe(hostId));
  const out: Source[] = [];
  for (const d of g.deckies) {
    if ((q.decky && d.name !== q.decky) || (q.fleet && d.fleet !== q.fleet)) continue;
    for (const c of d.containers) {
      if (c.role !== 'service' || !c.service || (q.service && c.service !== q.service)) continue;
      out.push({ container: c.container.name, host: hostId, fleet: d.fleet, decky: d.name, service: c.service });
    }
  }
  return out;
}

const byTime = (a: AttackerEvent, b: AttackerEvent) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0);

function matches(ev: AttackerEvent, q: EventQuery): boolean {
  return ev.event !== 'service_start' && (q.since === undefined || Date.parse(ev.time) >= q.since * 1000);
}

/** Every event so far, oldest first, folded. */
export async function readEvents(engine: Engine, hostId: string, q: EventQuery): Promise<AttackerEvent[]> {
  const all: AttackerEvent[] = [];
  await Promise.all(
    (await sources(engine, hostId, q)).map(async (s) => {
      for await (const l of engine.logs(s.container, { since: q.since })) {
        if (l.stream !== 'stdout') continue;
        const r = parseEventLine(l.line, { host: s.host, fleet: s.fleet, decky: s.decky, service: s.service });
        if (r.kind === 'event' && matches(r.event, q)) all.push(r.event);
      }
    }),
  );
  return foldEvents(all.sort(byTime));
}

/** Follow new events from every matching container until the signal aborts. */
export async function followEvents(engine: Engine, hostId: string, q: EventQuery, onEvent: (ev: AttackerEvent) => void, signal: AbortSignal): Promise<void> {
  const folder = new EventFolder();
  const tick = setInterval(() => folder.tick(Date.now()).forEach(onEvent), 500);
  try {
    await Promise.all(
      (await sources(engine, hostId, q)).map(async (s) => {
        try {
          for await (const l of engine.logs(s.container, { follow: true, since: q.since ?? Math.floor(Date.now() / 1000), signal })) {
            if (l.stream !== 'stdout') continue;
            const r = parseEventLine(l.line, { host: s.host, fleet: s.fleet, decky: s.decky, service: s.service });
            if (r.kind === 'event' && matches(r.event, q)) folder.push(r.event).forEach(onEvent);
          }
        } catch (err) {
          if (!signal.aborted) process.stderr.write(`events: ${s.container}: ${(err as Error).message}\n`);
        }
      }),
    );
  } finally {
    clearInterval(tick);
    folder.flush().forEach(onEvent);
  }
}
