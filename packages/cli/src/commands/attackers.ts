import { Command, Flags } from '@oclif/core';
import { summarizeAttackers } from '@decnet/controller';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { readEvents } from '../lib/events.js';
import { clusterEventFlags, readClusterEvents } from '../lib/cluster-events.js';
import { outputFlag, render } from '../lib/output.js';
import { parseSince } from '../lib/since.js';

export default class Attackers extends Command {
  static override description = 'Per source IP: first/last seen, deckies and services touched, credentials tried, commands run';
  static override flags = {
    ...hostFlags,
    ...clusterEventFlags,
    fleet: Flags.string({ description: 'only this fleet' }),
    since: Flags.string({ description: 'only events newer than this (10m, 2h, or a time)' }),
    output: outputFlag(['table', 'wide', 'json', 'yaml']),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Attackers);
    try {
      // --registry: the cluster's event stream instead of this host
      const local = flags.registry ? undefined : await hostContext(flags);
      const q = { fleet: flags.fleet, since: parseSince(flags.since) };
      const rows = summarizeAttackers(local ? await readEvents(local.engine, local.hostId, q) : await readClusterEvents(flags, q));
      process.stdout.write(
        render(flags.output, rows, [
          { header: 'source', get: (a) => a.ip },
          { header: 'first-seen', get: (a) => a.firstSeen },
          { header: 'last-seen', get: (a) => a.lastSeen },
          { header: 'events', get: (a) => a.events },
          { header: 'deckies', get: (a) => a.deckies.join(',') },
          { header: 'services', get: (a) => a.services.join(',') },
          { header: 'credentials', get: (a) => a.credentials.slice(0, 3).map((c) => `${c.principal}:${c.secret ?? ''}`).join(' ') + (a.credentials.length > 3 ? ` +${a.credentials.length - 3}` : '') },
          { header: 'commands', get: (a) => a.commands.map((c) => c.command).join('; ').slice(0, 100), wide: true },
          { header: 'fingerprints', get: (a) => (Object.entries(a.fingerprints) as [string, string[]][]).flatMap(([k, vs]) => vs.map((v) => `${k}:${v}`)).join(' ') || undefined, wide: true },
        ]),
      );
    } catch (err) {
      fail(this, err);
    }
  }
}
