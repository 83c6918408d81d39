import { Command, Flags } from '@oclif/core';
import type { AttackerEvent } from '@decnet/api';
import { toEcs, toOcsf } from '@decnet/controller';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { followEvents, readEvents, type EventSourceKind } from '../lib/events.js';
import { clusterEventFlags, followClusterEvents, readClusterEvents } from '../lib/cluster-events.js';
import { outputFlag, renderJson, renderTable, type Column } from '../lib/output.js';
import { parseSince } from '../lib/since.js';

const detail = (e: AttackerEvent): string => {
  const x = e as Record<string, unknown>;
  if (e.event === 'decky_mutated') return `${String((x['previous_services'] as string[] | undefined)?.join(',') ?? '')} -> ${String((x['services'] as string[] | undefined)?.join(',') ?? '')}`;
  if (e.principal !== undefined) return `${e.principal}:${e.secret ?? ''}${e.success ? ' (accepted)' : ''}`;
  for (const k of ['command', 'path', 'argv', 'mail_from', 'rcpt_to']) if (x[k] !== undefined) return `${x['method'] ? `${String(x['method'])} ` : ''}${Array.isArray(x[k]) ? (x[k] as unknown[]).join(' ') : String(x[k])}`;
  return e.count && e.count > 1 ? `x${e.count}` : '';
};

const columns: Column<AttackerEvent>[] = [
  { header: 'time', get: (e) => e.time },
  { header: 'decky', get: (e) => e.decky },
  { header: 'service', get: (e) => e.service },
  { header: 'event', get: (e) => e.event },
  { header: 'source', get: (e) => (e.src_ip ? `${e.src_ip}:${e.src_port ?? ''}` : '') },
  { header: 'detail', get: (e) => detail(e).slice(0, 80) },
];

export default class Events extends Command {
  static override description = "Attacker events from this host's honeypot services: the stream the controller collects when one runs, else the containers' logs (one JSON object per event with -o json)";
  static override examples = ['decnetctl events --since 10m', 'decnetctl events --decky web-01 --service ssh -o json', 'decnetctl events -f'];
  static override flags = {
    ...hostFlags,
    ...clusterEventFlags,
    fleet: Flags.string({ description: 'only this fleet' }),
    decky: Flags.string({ description: 'only this decky' }),
    service: Flags.string({ description: 'only this service' }),
    since: Flags.string({ description: 'only events newer than this (10m, 2h, or a time)' }),
    follow: Flags.boolean({ char: 'f', description: 'keep streaming new events' }),
    source: Flags.string({ description: 'auto: the stream the controller collects when one runs, else the containers\' logs', options: ['auto', 'collected', 'engine'], default: 'auto' }),
    output: outputFlag(['table', 'json', 'ocsf', 'ecs'], 'table'),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Events);
    try {
      // --registry: the cluster's event stream instead of this host
      const local = flags.registry ? undefined : await hostContext(flags);
      const q = { fleet: flags.fleet, decky: flags.decky, service: flags.service, since: parseSince(flags.since), source: flags.source as EventSourceKind };
      const json = flags.output === 'json';
      const mapped = flags.output === 'ocsf' ? toOcsf : flags.output === 'ecs' ? toEcs : undefined;
      const line = (e: AttackerEvent): string => (mapped ? `${JSON.stringify(mapped(e))}\n` : json ? `${JSON.stringify(e)}\n` : `${columns.map((c) => c.get(e) ?? '').join('  ')}\n`);
      if (!flags.follow) {
        const evs = local ? await readEvents(local.engine, local.hostId, q) : await readClusterEvents(flags, q);
        process.stdout.write(mapped ? evs.map(line).join('') : json ? renderJson(evs) : evs.length ? renderTable(evs, columns) : '');
        return;
      }
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      process.once('SIGTERM', () => ac.abort());
      const onEvent = (e: AttackerEvent) => process.stdout.write(line(e));
      await (local ? followEvents(local.engine, local.hostId, q, onEvent, ac.signal) : followClusterEvents(flags, q, onEvent, ac.signal));
    } catch (err) {
      fail(this, err);
    }
  }
}
