/**
 * Scenarios 1-3, side by side: for each size N and repetition, decnet, docker-compose and
 * the engine floor each (in rotating order) converge N deckies x 3 services from nothing,
 * re-apply with no change, add one decky, and tear down. Every contender creates the same
 * containers with the same options (compose file and floor both come from decnet's create
 * bodies). Compose and the floor get the lab plumbing (veth + netns) and the service config
 * files before timing; decnet's apply makes both itself, inside its time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureLab, labNames, removeLab } from '@decnet/engine';
import { compose, composeDocument, composeParallelLimit, writeComposeFile } from './compose.mjs';
import {
  cleanupHost, containerIds, decnetctl, deckyName, docker, emptyHostPlan, fleetManifest, floorUp, load1, prepareFiles, removeHostContainers, removeNetwork, round, run, stats,
} from './lib.mjs';

export const SERVICES = ['ssh', 'http', 'ftp'];
/** Fleet and /24 of the converge runs: benchc on 10.233.0.0/24, or benchcK on 10.233.K.0/24 (K = 1..3). */
export function convergeFleet(k = 0) {
  if (!(Number.isInteger(k) && k >= 0 && k <= 3)) throw new Error('--converge-net must be 0..3');
  return { fleet: k === 0 ? 'benchc' : `benchc${k}`, net: { subnet: `10.233.${k}.0/24`, gateway: `10.233.${k}.1`, ipBase: `10.233.${k}.10` } };
}
let FLEET;
let NET;

/** Checks every container of the host is running; returns how many there are. */
async function assertRunning(hostId, expected, who) {
  const list = await docker.listContainers({ all: true, filters: { label: [`com.decnet.host=${hostId}`] } });
  const running = list.filter((c) => c.State === 'running').length;
  if (list.length !== expected || running !== expected) throw new Error(`${who}: ${running} of ${list.length} containers running, expected ${expected}`);
}

/** Names whose container id changed (or vanished) between two id maps, over `names`. */
function changedIds(before, after) {
  return [...before.keys()].filter((n) => after.get(n) !== before.get(n));
}

async function assertClean(hostId, who) {
  const left = (await containerIds(hostId)).size;
  const nets = await docker.listNetworks({ filters: { name: [`decnet-${FLEET}`] } });
  if (left > 0 || nets.some((n) => n.Name === `decnet-${FLEET}`)) throw new Error(`${who} left ${left} containers / ${nets.length} networks behind`);
}

function prepare(n, ctx) {
  const man = (count) => fleetManifest({ fleet: FLEET, ...NET, count, services: SERVICES });
  const manN = man(n);
  const manN1 = man(n + 1);
  const planN = emptyHostPlan(manN, ctx.hostId, ctx.baseImage);
  const planN1 = emptyHostPlan(manN1, ctx.hostId, ctx.baseImage);
  const parent = labNames(FLEET).parent;
  const docN = composeDocument(planN, { stateDir: ctx.stateDir, parent });
  const docN1 = composeDocument(planN1, { stateDir: ctx.stateDir, parent });
  for (const [k, v] of Object.entries(docN.services)) {
    if (JSON.stringify(v) !== JSON.stringify(docN1.services[k])) throw new Error(`compose: service ${k} differs between the N and N+1 files`);
  }
  const f = (name, text) => {
    const p = join(ctx.dir, name);
    writeFileSync(p, text);
    return p;
  };
  const files = { manN: f(`fleet-${n}.yaml`, manN), manN1: f(`fleet-${n + 1}.yaml`, manN1), composeN: join(ctx.dir, `compose-${n}.yml`), composeN1: join(ctx.dir, `compose-${n + 1}.yml`) };
  writeComposeFile(files.composeN, docN);
  writeComposeFile(files.composeN1, docN1);
  return { planN1, files, added: deckyName(FLEET, n) };
}

async function decnetRun(n, s, ctx) {
  const env = ctx.env;
  const up = await decnetctl(env, 'apply', '-f', s.files.manN, '--timeout', '10m', '--parallelism', String(ctx.par));
  await assertRunning(ctx.hostId, n * 4, 'decnet apply');
  const ids = await containerIds(ctx.hostId);
  const noop = await decnetctl(env, 'apply', '-f', s.files.manN, '--parallelism', String(ctx.par));
  if (!/0 engine writes/.test(noop.stdout)) throw new Error(`decnet no-op re-apply made writes: ${noop.stdout}`);
  const add = await decnetctl(env, 'apply', '-f', s.files.manN1, '--timeout', '10m', '--parallelism', String(ctx.par));
  await assertRunning(ctx.hostId, (n + 1) * 4, 'decnet additive apply');
  const changed = changedIds(ids, await containerIds(ctx.hostId));
  const down = await decnetctl(env, 'delete', 'fleet', FLEET);
  return { up: up.ms, noop: noop.ms, add: add.ms, down: down.ms, survivorsRecreated: changed.length };
}

async function composeRun(n, s, ctx) {
  const lim = composeParallelLimit((n + 1) * 4);
  const t0 = performance.now();
  await ensureLab(FLEET, NET.subnet, NET.gateway);
  const lab = performance.now() - t0;
  const up = await compose(FLEET, s.files.composeN, ['up', '-d'], lim);
  await assertRunning(ctx.hostId, n * 4, 'compose up');
  const ids = await containerIds(ctx.hostId);
  const noop = await compose(FLEET, s.files.composeN, ['up', '-d'], lim);
  const noopChanged = changedIds(ids, await containerIds(ctx.hostId));
  const add = await compose(FLEET, s.files.composeN1, ['up', '-d'], lim);
  await assertRunning(ctx.hostId, (n + 1) * 4, 'compose additive up');
  const changed = changedIds(ids, await containerIds(ctx.hostId));
  // a loaded engine can refuse the network removal for endpoints of containers it has just
  // removed; `down` is idempotent, so it is run again (its time counts) up to 3 times
  let downMs = 0;
  for (let i = 0; ; i++) {
    const d = await run('docker-compose', ['--ansi', 'never', '-p', FLEET, '-f', s.files.composeN1, 'down'], { env: { ...process.env, COMPOSE_PARALLEL_LIMIT: String(lim), COMPOSE_HTTP_TIMEOUT: '600' }, timeoutMs: 15 * 60_000 });
    downMs += d.ms;
    if (d.code === 0) break;
    if (!/active endpoints/.test(d.stderr) || i >= 2) throw new Error(`docker-compose down failed (${d.code}): ${d.stderr.trim().slice(-1000)}`);
  }
  const down = { ms: downMs };
  await removeLab(FLEET);
  return { up: up.ms, noop: noop.ms, add: add.ms, down: down.ms, lab, survivorsRecreated: changed.length, noopRecreated: noopChanged.length };
}

async function floorRun(n, s, ctx) {
  let t = performance.now();
  const lab = await ensureLab(FLEET, NET.subnet, NET.gateway);
  const labMs = performance.now() - t;
  const deckiesN = Array.from({ length: n }, (_, i) => deckyName(FLEET, i));
  t = performance.now();
  await floorUp(s.planN1, { stateDir: ctx.stateDir, parent: lab.parent, par: ctx.par, deckies: deckiesN });
  const up = performance.now() - t;
  await assertRunning(ctx.hostId, n * 4, 'floor');
  const ids = await containerIds(ctx.hostId);
  // the least a no-op can cost: one filtered list of what exists
  t = performance.now();
  await docker.listContainers({ all: true, filters: { label: [`com.decnet.host=${ctx.hostId}`, `com.decnet.fleet=${FLEET}`] } });
  const noop = performance.now() - t;
  t = performance.now();
  await floorUp(s.planN1, { stateDir: ctx.stateDir, parent: lab.parent, par: ctx.par, deckies: [s.added], createNetwork: false });
  const add = performance.now() - t;
  await assertRunning(ctx.hostId, (n + 1) * 4, 'floor additive');
  const changed = changedIds(ids, await containerIds(ctx.hostId));
  t = performance.now();
  await removeHostContainers(ctx.hostId, ctx.par);
  await removeNetwork(`decnet-${FLEET}`);
  const down = performance.now() - t;
  await removeLab(FLEET);
  return { up, noop, add, down, lab: labMs, survivorsRecreated: changed.length };
}

/** The distinct error lines of a failed command (compose prints one per container), counted. */
function summarizeError(msg) {
  const lines = msg.split('\n').map((l) => l.trim()).filter((l) => /error|fail|timed out|killed/i.test(l));
  const counts = new Map();
  for (const l of lines) {
    const key = l.replace(/^ERROR: for \S+\s+/, 'ERROR: ').slice(0, 200);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const out = [...counts].map(([l, c]) => (c > 1 ? `${l} (x${c})` : l)).join('; ');
  return (out || msg).slice(0, 600);
}

const RUNNERS = { decnet: decnetRun, compose: composeRun, floor: floorRun };

/** Runs scenarios 1-3 for every size; returns the per-size results (ms, median and spread). */
export async function runConverge(ctx) {
  ({ fleet: FLEET, net: NET } = convergeFleet(ctx.netIndex ?? 0));
  // what a process start costs each CLI (decnet: node + oclif; compose: python), for reading no-op times
  const startup = { decnet: [], compose: [] };
  for (let i = 0; i < 3; i++) {
    startup.decnet.push((await decnetctl(ctx.env, 'version')).ms);
    startup.compose.push((await run('docker-compose', ['version', '--short'])).ms);
  }
  const out = [];
  let aborted;
  try {
    for (const n of ctx.sizes) {
      const reps = ctx.repsAt[n] ?? ctx.reps;
      ctx.log(`converge N=${n} (${n * 3} service + ${n} base containers), ${reps} rep(s)`);
      await cleanupHost(ctx.hostId, [FLEET]);
      const s = prepare(n, ctx);
      await prepareFiles(s.planN1, ctx.stateDir);
      const raw = { decnet: [], compose: [], floor: [] };
      const failures = { decnet: [], compose: [], floor: [] };
      const loads = [];
      for (let r = 0; r < reps; r++) {
        const order = ['decnet', 'compose', 'floor'].map((_, i, a) => a[(i + r) % 3]);
        for (const who of order) {
          loads.push(load1());
          try {
            const res = await RUNNERS[who](n, s, ctx);
            raw[who].push(res);
            ctx.log(`  rep ${r + 1} ${who}: up ${Math.round(res.up)} ms, no-op ${Math.round(res.noop)} ms, +1 ${Math.round(res.add)} ms, down ${Math.round(res.down)} ms${res.survivorsRecreated ? `, ${res.survivorsRecreated} survivors recreated` : ''} (load ${loads.at(-1)})`);
          } catch (err) {
            // a contender that fails is a result too: recorded, and the others go on
            const msg = String(err.message ?? err);
            failures[who].push({ rep: r + 1, loadAvg1m: loads.at(-1), error: summarizeError(msg) });
            ctx.log(`  rep ${r + 1} ${who} FAILED: ${summarizeError(msg)}`);
          } finally {
            await cleanupHost(ctx.hostId, [FLEET]);
          }
          await assertClean(ctx.hostId, who);
        }
      }
      const agg = (who, k) => (raw[who].length > 0 ? stats(raw[who].map((x) => x[k])) : null);
      const row = { deckies: n, containers: n * 4, reps, loadAvg1m: { min: Math.min(...loads), max: Math.max(...loads) } };
      for (const who of Object.keys(raw)) {
        row[who] = { converge: agg(who, 'up'), noop: agg(who, 'noop'), add: agg(who, 'add'), teardown: agg(who, 'down'), survivorsRecreated: Math.max(0, ...raw[who].map((x) => x.survivorsRecreated)), failures: failures[who] };
        if (who !== 'decnet') row[who].labSetupUntimed = agg(who, 'lab');
        if (who === 'compose') row[who].noopRecreated = Math.max(0, ...raw[who].map((x) => x.noopRecreated));
      }
      const ratio = (k, other) => (row.decnet[k] && row[other][k] ? round(row.decnet[k].median / row[other][k].median) : null);
      row.ratios = {
        converge: { vsCompose: ratio('converge', 'compose'), vsFloor: ratio('converge', 'floor') },
        noop: { vsCompose: ratio('noop', 'compose'), vsFloor: ratio('noop', 'floor') },
        add: { vsCompose: ratio('add', 'compose'), vsFloor: ratio('add', 'floor') },
        teardown: { vsCompose: ratio('teardown', 'compose'), vsFloor: ratio('teardown', 'floor') },
      };
      ctx.log(`  N=${n} ratios decnet/compose ${row.ratios.converge.vsCompose}, decnet/floor ${row.ratios.converge.vsFloor} (converge)`);
      out.push(row);
    }
  } catch (err) {
    // keep the sizes already measured; say where and why it stopped
    aborted = summarizeError(String(err.message ?? err));
    ctx.log(`converge aborted: ${aborted}`);
  }
  if (out.length === 0) throw new Error(aborted ?? 'no size measured');
  return { fleet: FLEET, subnet: NET.subnet, ...(aborted ? { aborted } : {}), cliStartupMs: { decnet: stats(startup.decnet), compose: stats(startup.compose) }, sizes: out };
}
