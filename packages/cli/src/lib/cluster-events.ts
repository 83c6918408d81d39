/**
 * `events --registry` / `attackers --registry`: read the cluster's event stream
 * (`decnet:{<cluster>}:events` in the shard registry, fed by every controller)
 * instead of this host. Same filters as the local sources (lib/events.ts).
 */
import type { AttackerEvent } from '@decnet/api';
import { ClusterEventStream, type EventFilter } from '@decnet/registry';
import type { EventQuery } from './events.js';

export { registryFlags as clusterEventFlags } from './registry-apply.js';

export interface ClusterSourceFlags {
  registry?: string;
  cluster?: string;
}

function filterOf(q: EventQuery & { host?: string }): EventFilter {
  const f: EventFilter = {};
  if (q.fleet) f.fleet = q.fleet;
  if (q.decky) f.decky = q.decky;
  if (q.service) f.service = q.service;
  if (q.host) f.host = q.host;
  if (q.since !== undefined) f.since = q.since * 1000;
  return f;
}

/** as the local sources: service_start is bookkeeping, not an attacker event */
const shown = (ev: AttackerEvent) => ev.event !== 'service_start';
const byTime = (a: AttackerEvent, b: AttackerEvent) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0);

async function connect(flags: ClusterSourceFlags): Promise<ClusterEventStream> {
  return ClusterEventStream.connect({ url: flags.registry!, cluster: flags.cluster ?? 'default', connectionName: 'decnetctl' });
}

/** Every matching event of the cluster stream, in time order (spooled events arrive late). */
export async function readClusterEvents(flags: ClusterSourceFlags, q: EventQuery & { host?: string }): Promise<AttackerEvent[]> {
  const stream = await connect(flags);
  try {
    return (await stream.readEvents(filterOf(q))).map((e) => e.event).filter(shown).sort(byTime);
  } finally {
    await stream.close();
  }
}

/** Matching events as they are appended (after those since q.since), until the signal aborts. */
export async function followClusterEvents(flags: ClusterSourceFlags, q: EventQuery & { host?: string }, onEvent: (ev: AttackerEvent) => void, signal: AbortSignal): Promise<void> {
  const stream = await connect(flags);
  let down = false;
  try {
    await stream.followEvents(
      filterOf(q),
      (e) => {
        down = false;
        if (shown(e.event)) onEvent(e.event);
      },
      signal,
      {
        onError: (err) => {
          if (!down) process.stderr.write(`events: ${err.message} (retrying)\n`);
          down = true;
        },
      },
    );
  } finally {
    await stream.close();
  }
}
