import { Command, Flags } from '@oclif/core';
import type { AttackerEvent } from '@decnet/api';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { followEvents, readEvents, type EventSourceKind } from '../lib/events.js';
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
    fleet: Flags.string({ description: 'only this fleet' }),
    decky: Flags.string({ description: 'only this decky' }),
    service: Flags.string({ description: 'only this service' }),
    since: Flags.string({ description: 'only events newer than this (10m, 2h, or a time)' }),
    follow: Flags.boolean({ char: 'f', description: 'keep streaming new events' }),
    source: Flags.string({ description: 'auto: the stream the controller collects when one runs, else the containers\' logs', options: ['auto', 'collected', 'engine'], default: 'auto' }),
    output: outputFlag(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Events);
    try {
      const { hostId, engine } = await hostContext(flags);
      const q = { fleet: flags.fleet, decky: flags.decky, service: flags.service, since: parseSince(flags.since), source: flags.source as EventSourceKind };
      const json = flags.output === 'json';
      if (!flags.follow) {
        const evs = await readEvents(engine, hostId, q);
        process.stdout.write(json ? renderJson(evs) : evs.length ? renderTable(evs, columns) : '');
        return;
      }
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      process.once('SIGTERM', () => ac.abort());
      await followEvents(engine, hostId, q, (e) => process.stdout.write(json ? `${JSON.stringify(e)}\n` : `${columns.map((c) => c.get(e) ?? '').join('  ')}\n`), ac.signal);
    } catch (err) {
      fail(this, err);
    }
  }
}
