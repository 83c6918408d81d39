import { Command, Flags } from '@oclif/core';
import { readAlertState } from '@decnet/controller';
import { resolveStateDir } from '@decnet/engine';
import { hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { outputFlag, render } from '../lib/output.js';

interface Row {
  state: 'queued' | 'sent' | 'failed';
  time: string;
  fleet: string;
  route: string;
  type: string;
  decky: string;
  source: string;
  severity: string;
  count: number;
  attempts: number;
  detail: string;
  id: string;
}

export default class Alerts extends Command {
  static override description = "Alert deliveries of this host's controller: queued (waiting or retrying, with the last error), sent and failed";
  static override examples = ['decnetctl alerts', 'decnetctl alerts --state queued', 'decnetctl alerts -o json'];
  static override flags = {
    ...hostFlags,
    state: Flags.string({ description: 'only deliveries in this state', options: ['queued', 'sent', 'failed'] }),
    limit: Flags.integer({ description: 'at most this many recorded deliveries (newest)', default: 200, min: 1 }),
    output: outputFlag(['table', 'wide', 'json', 'yaml']),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Alerts);
    try {
      const st = await readAlertState(resolveStateDir(flags['state-dir']), { limit: flags.limit });
      const rows: Row[] = [
        ...st.deliveries.map((d): Row => ({ state: d.state, time: d.at, fleet: d.fleet, route: d.route, type: d.type, decky: d.decky, source: d.src_ip ?? '', severity: d.severity, count: d.count, attempts: d.attempts, detail: d.error ?? (d.latencyMs !== undefined ? `${d.latencyMs} ms after the touch` : ''), id: d.id })),
        ...st.queued.map((q): Row => ({ state: 'queued', time: new Date(q.queuedAt).toISOString(), fleet: q.alert.fleet, route: q.alert.route, type: q.alert.type, decky: q.alert.decky, source: q.alert.src_ip ?? '', severity: q.alert.severity, count: q.alert.count, attempts: q.attempts, detail: q.lastError ?? 'waiting', id: q.alert.id })),
      ].filter((r) => flags.state === undefined || r.state === flags.state);
      process.stdout.write(
        render(flags.output, rows, [
          { header: 'state', get: (r) => r.state },
          { header: 'time', get: (r) => r.time },
          { header: 'fleet/route', get: (r) => `${r.fleet}/${r.route}` },
          { header: 'type', get: (r) => r.type, wide: true },
          { header: 'decky', get: (r) => r.decky },
          { header: 'source', get: (r) => r.source },
          { header: 'severity', get: (r) => r.severity },
          { header: 'events', get: (r) => r.count },
          { header: 'attempts', get: (r) => r.attempts },
          { header: 'detail', get: (r) => r.detail.slice(0, 80) },
          { header: 'id', get: (r) => r.id, wide: true },
        ]),
      );
    } catch (err) {
      fail(this, err);
    }
  }
}
