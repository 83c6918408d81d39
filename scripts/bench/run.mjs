#!/usr/bin/env node
/**
 * `npm run bench`: every decnet benchmark in one process run, side by side, so ratios
 * hold on a noisy machine. Needs root, Docker, `npx turbo run build`; installs Debian's
 * docker-compose when missing. Never part of the test command.
 *   converge   1-3: converge / no-op re-apply / +1 decky, decnet vs docker-compose vs engine floor
 *   heal       4: heal latency after `docker kill` (packages/controller/bench/heal.mjs, N=50)
 *   density    5: largest N held with every decky Running, rss per container, controller, idle CPU
 *   registry   6: 100 simulated hosts x 100 deckies (packages/registry/bench/sim.mjs)
 *   honeypots  ssh flood against one service (packages/honeypots/bench/ssh-flood.mjs)
 *   services   idle memory of each service container (packages/honeypots/bench/idle-memory.mjs)
 *   alerts     touch -> webhook latency and cluster-stream events/s (packages/controller/bench/alerts.mjs)
 * Writes bench-results/<date>.json (git-ignored), merges it into benchmarks/latest.json
 * (committed) and regenerates BENCHMARKS.md and benchmarks/converge.svg from it.
 * usage: npm run bench -- [--scenarios converge,heal,density,registry,honeypots,services] [--sizes 10,50,100]
 *   [--reps 3] [--reps-at 100=1] [--parallelism 8] [--density-step 50] [--density-max 1000]
 *   [--density-budget 15] (minutes) [--idle-seconds 30] [--heal-n 50] [--no-report]
 *   [--converge-net K] (fleet benchcK on 10.233.K.0/24, K = 1..3, when benchc's network is stuck)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCompose } from './compose.mjs';
import { convergeFleet, runConverge } from './converge.mjs';
import { runDensity } from './density.mjs';
import { ROOT, cleanupHost, decnetctl, imageEnv, load1, machineInfo, must, run } from './lib.mjs';
import { writeReport } from './report.mjs';

const ALL = ['converge', 'heal', 'density', 'registry', 'honeypots', 'services', 'alerts'];
const { values } = parseArgs({
  options: {
    scenarios: { type: 'string', default: ALL.join(',') },
    sizes: { type: 'string', default: '10,50,100' },
    reps: { type: 'string', default: '3' },
    'reps-at': { type: 'string', default: '' },
    parallelism: { type: 'string', default: '8' },
    'density-step': { type: 'string', default: '50' },
    'density-max': { type: 'string', default: '1000' },
    'density-budget': { type: 'string', default: '15' },
    'idle-seconds': { type: 'string', default: '30' },
    'heal-n': { type: 'string', default: '50' },
    'converge-net': { type: 'string', default: '0' },
    'no-report': { type: 'boolean', default: false },
  },
});
const scenarios = values.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of scenarios) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s} (known: ${ALL.join(', ')})`);
const sizes = values.sizes.split(',').map(Number);
if (sizes.some((n) => !(n >= 1 && n <= 240))) throw new Error('--sizes must be 1..240 (one /24)');
const repsAt = Object.fromEntries(values['reps-at'].split(',').filter(Boolean).map((kv) => kv.split('=').map(Number)));

// one bench run at a time: a second one's cleanup would remove the first one's fleets
const LOCK = join(tmpdir(), 'decnet-bench.lock');
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
if (existsSync(LOCK) && alive(Number(readFileSync(LOCK, 'utf8')))) throw new Error(`another bench run (pid ${readFileSync(LOCK, 'utf8').trim()}) is in progress (${LOCK})`);
writeFileSync(LOCK, String(process.pid));
process.on('exit', () => {
  if (existsSync(LOCK) && readFileSync(LOCK, 'utf8') === String(process.pid)) rmSync(LOCK, { force: true });
});

const t0 = Date.now();
const log = (m) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0)}s] ${m}\n`);
const HOST = 'bench-run';
const FLEETS = [convergeFleet(Number(values['converge-net'])).fleet, 'benchcd'];
const stateDir = mkdtempSync(join(tmpdir(), 'decnet-bench-state-'));
const dir = mkdtempSync(join(tmpdir(), 'decnet-bench-'));
const images = imageEnv();
const env = { ...process.env, ...images, DECNET_HOST_ID: HOST, DECNET_STATE_DIR: stateDir };

/** Runs a sibling bench script and returns the JSON it printed (last JSON line or a file). */
async function external(script, args, extraEnv = {}, jsonFile) {
  const r = await must(process.execPath, [join(ROOT, script), ...args], { env: { ...process.env, ...images, ...extraEnv }, echo: true, what: script });
  if (jsonFile) return JSON.parse(readFileSync(jsonFile, 'utf8'));
  const lines = r.stdout.trim().split('\n');
  const start = lines.findIndex((l) => l.startsWith('{'));
  return JSON.parse(lines.slice(start).join('\n'));
}

const SCENARIOS = {
  converge: () => runConverge({ netIndex: Number(values['converge-net']), sizes, reps: Number(values.reps), repsAt, par: Number(values.parallelism), hostId: HOST, stateDir, dir, env, baseImage: images.DECNET_BASE_IMAGE, log }),
  heal: () => external('packages/controller/bench/heal.mjs', [], { BENCH_N: values['heal-n'] }),
  density: () =>
    runDensity({ step: Number(values['density-step']), max: Number(values['density-max']), budgetMs: Number(values['density-budget']) * 60_000, idleSeconds: Number(values['idle-seconds']), stepTimeout: '5m', par: Number(values.parallelism), hostId: `${HOST}-density`, env, dir, log }),
  registry: () => {
    const f = join(dir, 'registry.json');
    return external('packages/registry/bench/sim.mjs', ['--hosts', '100', '--deckies', '100', '--reps', values.reps, '--json', f], {}, f);
  },
  honeypots: () => external('packages/honeypots/bench/ssh-flood.mjs', ['--json']),
  services: () => external('packages/honeypots/bench/idle-memory.mjs', ['--json']),
  alerts: () => external('packages/controller/bench/alerts.mjs', []),
};

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { interrupted = true; log(`${sig}: finishing the current step, then cleaning up`); });

const result = { ...(await machineInfo()), options: { scenarios, sizes, reps: Number(values.reps), repsAt, parallelism: Number(values.parallelism) }, scenarios: {} };
try {
  if (scenarios.includes('converge')) result.versions.dockerCompose = await ensureCompose(log);
  if ((await run('docker', ['image', 'inspect', images.DECNET_BASE_IMAGE])).code !== 0) {
    log(`building ${images.DECNET_BASE_IMAGE}`);
    await must('bash', [join(ROOT, 'scripts/build-runtime-base.sh'), images.DECNET_BASE_IMAGE]);
  }
  await decnetctl(env, 'images', 'build', '-q'); // decnet/honeypot:<version>, before any timing
  for (const name of scenarios) {
    if (interrupted) break;
    const started = new Date().toISOString();
    const loadBefore = load1();
    const s0 = Date.now();
    log(`scenario ${name}`);
    try {
      const data = await SCENARIOS[name]();
      result.scenarios[name] = { startedAt: started, durationS: Math.round((Date.now() - s0) / 1000), loadAvg1m: { before: loadBefore, after: load1() }, data };
    } catch (err) {
      log(`scenario ${name} failed: ${err.stack ?? err}`);
      result.scenarios[name] = { startedAt: started, loadAvg1m: { before: loadBefore, after: load1() }, error: String(err.message ?? err).slice(0, 2000) };
    } finally {
      await cleanupHost(HOST, FLEETS).catch((e) => log(`cleanup: ${e.message}`));
      await cleanupHost(`${HOST}-density`, FLEETS).catch((e) => log(`cleanup: ${e.message}`));
    }
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}
result.finishedAt = new Date().toISOString();
result.machine.loadAvgEnd = load1();

const outDir = join(ROOT, 'bench-results');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `${result.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
log(`wrote ${file}`);

// benchmarks/latest.json: this run's scenarios replace the previous ones; the others stay,
// each with the machine, versions and date of the run that measured it
const latestPath = join(ROOT, 'benchmarks/latest.json');
mkdirSync(join(ROOT, 'benchmarks'), { recursive: true });
const prev = existsSync(latestPath) ? JSON.parse(readFileSync(latestPath, 'utf8')) : { scenarios: {} };
const meta = { date: result.date, finishedAt: result.finishedAt, machine: result.machine, versions: result.versions, options: result.options };
const latest = { generatedAt: result.finishedAt, scenarios: { ...prev.scenarios } };
for (const [k, v] of Object.entries(result.scenarios)) if (!v.error || !prev.scenarios[k]) latest.scenarios[k] = { run: meta, ...v };
writeFileSync(latestPath, JSON.stringify(latest, null, 2) + '\n');
if (!values['no-report']) {
  writeReport(latest, ROOT);
  log('regenerated BENCHMARKS.md and benchmarks/converge.svg');
}
const failed = Object.entries(result.scenarios).filter(([, v]) => v.error);
if (failed.length > 0) {
  log(`failed: ${failed.map(([k]) => k).join(', ')}`);
  process.exitCode = 1;
}
