import { Args, Command, Flags } from '@oclif/core';
import { groupObserved, type AttackerEvent } from '@decnet/api';
import { JsonlFileSink, SyslogSink, eventsFilePath, mutateDecky, seededRandom, type EventSink } from '@decnet/controller';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { outputFlag, renderJson } from '../lib/output.js';

export default class Mutate extends Command {
  static override description = "Rotate a decky's services now (a new random set of 1-3 from its archetype's pool or the catalogue; IP and OS stay). Only the service containers involved are recreated; the mutation is recorded in labels and as a decky_mutated event in the collected stream and the fleet's logTarget";
  static override examples = ['decnetctl mutate decky web-01', 'decnetctl mutate decky web-01 --seed 7 -o json'];
  static override args = {
    kind: Args.string({ description: 'what to mutate', options: ['decky'], required: true }),
    name: Args.string({ description: 'decky name', required: true }),
  };
  static override flags = {
    ...hostFlags,
    seed: Flags.integer({ description: 'seed for the random pick (reproducible mutations)' }),
    output: outputFlag(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Mutate);
    try {
      const { hostId, engine } = await hostContext(flags);
      const file = new JsonlFileSink({ path: eventsFilePath(engine.stateDir), onError: (e) => process.stderr.write(`warning: event not recorded: ${e.message}\n`) });
      const syslog = new SyslogSink();
      const sinks: EventSink[] = [file, syslog];
      let event: AttackerEvent | undefined;
      const r = await mutateDecky({
        engine,
        hostId,
        name: args.name,
        random: flags.seed !== undefined ? seededRandom(flags.seed) : Math.random,
        emit: (ev) => (event = ev),
      });
      syslog.setFleets(groupObserved(await engine.observe(hostId)).fleets.flatMap((f) => (f.spec ? [f.spec] : [])));
      if (event) for (const s of sinks) s.write(event);
      await Promise.all(sinks.map(async (s) => (await s.flush?.(), await s.close())));
      if (flags.output === 'json') {
        process.stdout.write(renderJson({ decky: r.decky, fleet: r.fleet, previous: r.previous, services: r.services, pool: r.pool, writes: r.summary.writes, event: r.event }));
        return;
      }
      process.stdout.write(`${r.decky}: ${r.previous.join(',')} -> ${r.services.join(',')} (${r.summary.writes} engine writes in ${r.summary.durationMs} ms)\n${JSON.stringify(r.event)}\n`);
    } catch (err) {
      fail(this, err);
    }
  }
}
