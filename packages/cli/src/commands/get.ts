import { Args, Command, Flags } from '@oclif/core';
import { groupObserved, toManifests } from '@decnet/api';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { outputFlag, render, type Column } from '../lib/output.js';
import { age, deckyViews, withControllerStatus, type DeckyView } from '../lib/view.js';
import { watchDeckies } from '../lib/watch.js';
import { registryFlags } from '../lib/registry-apply.js';
import { getFromRegistry } from '../lib/registry-view.js';

interface FleetRow {
  name: string;
  network: string;
  mode: string;
  subnet: string;
  gateway: string;
  lab: boolean;
  deckies: number;
  ready: number;
  parent?: string;
}

const deckyColumns: Column<DeckyView>[] = [
  { header: 'name', get: (d) => d.name },
  { header: 'fleet', get: (d) => d.fleet },
  { header: 'ip', get: (d) => d.ip },
  { header: 'services', get: (d) => d.services.join(',') },
  { header: 'phase', get: (d) => d.phase },
  { header: 'ready', get: (d) => `${d.containers.filter((c) => c.state === 'running').length}/${d.services.length + 1}` },
  { header: 'age', get: (d) => age(d.createdAt) },
  { header: 'hostname', get: (d) => d.hostname, wide: true },
  { header: 'os', get: (d) => d.nmapOS, wide: true },
  { header: 'distro', get: (d) => d.distro, wide: true },
  { header: 'gen', get: (d) => d.generation, wide: true },
  { header: 'mac', get: (d) => d.mac, wide: true },
  { header: 'mutated', get: (d) => (d.mutation ? `${age(d.mutation.lastMutated)} ago (was ${d.mutation.previousServices.join(',')})` : undefined), wide: true },
  { header: 'host', get: (d) => d.host, wide: true },
];

const fleetColumns: Column<FleetRow>[] = [
  { header: 'name', get: (f) => f.name },
  { header: 'subnet', get: (f) => f.subnet },
  { header: 'gateway', get: (f) => f.gateway },
  { header: 'mode', get: (f) => f.mode },
  { header: 'lab', get: (f) => String(f.lab) },
  { header: 'deckies', get: (f) => `${f.ready}/${f.deckies}` },
  { header: 'network', get: (f) => f.network, wide: true },
  { header: 'parent', get: (f) => f.parent, wide: true },
];

export default class Get extends Command {
  static override description = 'List deckies or fleets of this host, built only from labels and container state';
  static override examples = ['decnetctl get deckies', 'decnetctl get deckies -o wide --fleet lab', 'decnetctl get deckies -o yaml > fleet.yaml', 'decnetctl get fleets', 'decnetctl get hosts --registry redis://10.0.0.5:6379'];
  static override args = {
    kind: Args.string({ description: 'deckies | fleets | hosts (hosts: with --registry)', required: true, options: ['deckies', 'decky', 'fleets', 'fleet', 'hosts', 'host'] }),
    name: Args.string({ description: 'only this one' }),
  };
  static override flags = {
    ...hostFlags,
    fleet: Flags.string({ description: 'only deckies of this fleet' }),
    watch: Flags.boolean({ char: 'w', description: 'after listing, stream changes (deckies)' }),
    output: outputFlag(),
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Get);
    try {
      if (flags.registry) return void process.stdout.write(await getFromRegistry(args.kind, args.name, flags));
      if (args.kind.startsWith('host')) throw new Error('get hosts needs --registry URL (or $DECNET_REGISTRY)');
      const { hostId, engine } = await hostContext(flags);
      const g = groupObserved(await engine.observe(hostId));
      if (args.kind.startsWith('fleet')) {
        const views = deckyViews(g);
        const rows: FleetRow[] = g.fleets
          .filter((f) => !args.name || f.name === args.name)
          .map((f) => {
            const ds = views.filter((d) => d.fleet === f.name);
            return {
              name: f.name,
              network: f.network.name,
              mode: f.spec?.network.mode ?? f.network.driver,
              subnet: f.spec?.network.subnet ?? f.network.subnet ?? '',
              gateway: f.spec?.network.gateway ?? f.network.gateway ?? '',
              lab: f.spec?.lab ?? false,
              parent: f.network.parent,
              deckies: ds.length,
              ready: ds.filter((d) => d.phase === 'Running').length,
            };
          });
        if (args.name && rows.length === 0) throw new Error(`fleet ${args.name} not found on host ${hostId}`);
        const specs = g.fleets.filter((f) => rows.some((r) => r.name === f.name)).flatMap((f) => (f.spec ? [f.spec] : []));
        process.stdout.write(render(flags.output, rows, fleetColumns, { json: rows, yaml: toManifests(specs, []) }));
        return;
      }
      const rows = (await withControllerStatus(deckyViews(g), engine.stateDir, hostId)).filter((d) => (!args.name || d.name === args.name) && (!flags.fleet || d.fleet === flags.fleet));
      if (args.name && rows.length === 0) throw new Error(`decky ${args.name} not found on host ${hostId}`);
      const specs = rows.flatMap((d) => (d.spec ? [d.spec] : []));
      const fleets = g.fleets.flatMap((f) => (f.spec && specs.some((s) => s.fleet === f.name) ? [f.spec] : []));
      const json = rows.map(({ spec, ...rest }) => ({ ...rest, spec }));
      process.stdout.write(render(flags.output, rows, deckyColumns, { json, yaml: toManifests(fleets, specs) }));
      if (flags.watch) await watchDeckies(engine, hostId, rows, { fleet: flags.fleet, name: args.name, output: flags.output });
    } catch (err) {
      fail(this, err);
    }
  }
}
