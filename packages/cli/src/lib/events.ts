/**
 * Reading attacker events. Two sources, same filters and output:
 * - the stream the controller collects (`<stateDir>/events/events.jsonl` and its
 *   rotated files), used when a controller runs (fresh status file or live pid file):
 *   already enriched and folded by the collector, and it keeps events of containers
 *   since removed;
 * - otherwise this host's service containers' stdout through the engine's logs,
 *   enriched with host and fleet from labels, connection floods folded here.
 */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { groupObserved, type AttackerEvent } from '@decnet/api';
import { EventFolder, collectorRunning, eventsFilePath, foldEvents, parseEventLine, rotatedFiles } from '@decnet/controller';
import type { Engine } from '@decnet/engine';

export interface EventQuery {
  fleet?: string;
  decky?: string;
  service?: string;
  /** unix seconds */
  since?: number;
  /** auto (default): the collected stream when a controller runs, else the engine's logs */
  source?: EventSourceKind;
}

export type EventSourceKind = 'auto' | 'collected' | 'engine';

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

/** Filters of the collected stream, which holds every decky of the state dir. */
function matchesCollected(ev: AttackerEvent, hostId: string, q: EventQuery): boolean {
  if (ev.host !== undefined && ev.host !== hostId) return false;
  if ((q.fleet && ev.fleet !== q.fleet) || (q.decky && ev.decky !== q.decky) || (q.service && ev.service !== q.service)) return false;
  return matches(ev, q);
}

/** Which source `decnetctl events` reads. */
export async function resolveSource(engine: Engine, hostId: string, q: EventQuery): Promise<'collected' | 'engine'> {
  if (q.source === 'collected' || q.source === 'engine') return q.source;
  return (await collectorRunning(engine.stateDir, hostId)).running ? 'collected' : 'engine';
}

function parseJsonLine(line: string): AttackerEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(line) as AttackerEvent;
    return typeof v === 'object' && v !== null && typeof v.event === 'string' && typeof v.time === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Every collected event (rotated files oldest first), filtered, in time order. */
export async function readCollectedEvents(stateDir: string, hostId: string, q: EventQuery): Promise<AttackerEvent[]> {
  const out: AttackerEvent[] = [];
  for (const file of rotatedFiles(eventsFilePath(stateDir))) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const ev = parseJsonLine(line);
      if (ev && matchesCollected(ev, hostId, q)) out.push(ev);
    }
  }
  return out.sort(byTime);
}

/**
 * Tails the collected file from its current end (after printing what --since asks for),
 * following rotations, until the signal aborts.
 */
export async function followCollected(stateDir: string, hostId: string, q: EventQuery, onEvent: (ev: AttackerEvent) => void, signal: AbortSignal, pollMs = 200): Promise<void> {
  const path = eventsFilePath(stateDir);
  if (q.since !== undefined) (await readCollectedEvents(stateDir, hostId, q)).forEach(onEvent);
  let fh: FileHandle | undefined;
  let ino = -1;
  let pos = 0;
  let partial = '';
  const openFile = async (fromEnd: boolean) => {
    try {
      fh = await open(path, 'r');
      const st = await fh.stat();
      ino = st.ino;
      pos = fromEnd ? st.size : 0;
    } catch {
      fh = undefined;
    }
  };
  const drain = async () => {
    if (!fh) return;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      const lines = (partial + buf.subarray(0, bytesRead).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const ev = parseJsonLine(line);
        if (ev && matchesCollected(ev, hostId, q)) onEvent(ev);
      }
    }
  };
  await openFile(true);
  try {
    while (!signal.aborted) {
      await drain();
      const st = await stat(path).catch(() => undefined);
      if (st && st.ino !== ino) {
        // rotated (or created): finish the old file, continue with the new one from its start
        await drain();
        await fh?.close();
        partial = '';
        await openFile(false);
        continue;
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, pollMs);
        signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      });
    }
  } finally {
    await fh?.close();
  }
}

/** Every event so far, oldest first, folded (from the collected stream when a controller runs). */
export async function readEvents(engine: Engine, hostId: string, q: EventQuery): Promise<AttackerEvent[]> {
  if ((await resolveSource(engine, hostId, q)) === 'collected') return readCollectedEvents(engine.stateDir, hostId, q);
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

/** Follow new events (the collected file, else every matching container) until the signal aborts. */
export async function followEvents(engine: Engine, hostId: string, q: EventQuery, onEvent: (ev: AttackerEvent) => void, signal: AbortSignal): Promise<void> {
  if ((await resolveSource(engine, hostId, q)) === 'collected') return followCollected(engine.stateDir, hostId, q, onEvent, signal);
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
