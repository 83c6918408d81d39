import { Command, Flags } from '@oclif/core';
import { summarizeAttackers } from '@decnet/controller';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { readEvents } from '../lib/events.js';
import { outputFlag, render } from '../lib/output.js';
import { parseSince } from '../lib/since.js';

export default class Attackers extends Command {
  static override description = 'Per source IP: first/last seen, deckies and services touched, credentials tried, commands run';
  static override flags = {
    ...hostFlags,
    fleet: Flags.string({ description: 'only this fleet' }),
    since: Flags.string({ description: 'only events newer than this (10m, 2h, or a time)' }),
    output: outputFlag(['table', 'wide', 'json', 'yaml']),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Attackers);
    try {
      const { hostId, engine } = await hostContext(flags);
      const rows = summarizeAttackers(await readEvents(engine, hostId, { fleet: flags.fleet, since: parseSince(flags.since) }));
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
        ]),
      );
    } catch (err) {
      fail(this, err);
    }
  }
}
