#!/usr/bin/env node
/**
 * Alerts and cluster-stream bench (real engine, real Redis), scenario `alerts` of `npm run bench`:
 *  1. touch -> webhook: one lab decky with ssh (fleet e2l-bench, 10.243.9.0/24, host id
 *     bench-alerts) whose fleet routes auth_attempt to a webhook receiver on loopback
 *     (throttle 1s), `decnetctl controller`, and K failed ssh logins from the lab namespace,
 *     each from its own source address (so none is grouped). Measured per touch: from the
 *     start of the login to the webhook's arrival; the floor in the same run is from the
 *     start of the same login to the event's line in the service container's log
 *     (`docker logs -f`), i.e. what any log-shipping pipeline starts from.
 *  2. events/s into the cluster stream: the controller's ClusterStreamSink (batched,
 *     deduplicated appends) against a raw pipelined XADD of the same events by ioredis,
 *     both on one local redis-server.
 * Env: BENCH_TOUCHES (default 20), BENCH_STREAM_EVENTS (default 50000). Prints JSON.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const pexec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'packages/cli/bin/run.js');
const K = Number(process.env.BENCH_TOUCHES ?? 20);
const NEV = Number(process.env.BENCH_STREAM_EVENTS ?? 50_000);
const FLEET = 'e2l-bench';
const NETNS = `decnet-lab-${FLEET}`;
const IP = '10.243.9.10';
const HOOK_PORT = 19977;
const state = mkdtempSync(join(tmpdir(), 'decnet-bench-alerts-'));
const env = { ...process.env, DECNET_HOST_ID: 'bench-alerts', DECNET_STATE_DIR: state, DECNET_BASE_IMAGE: 'decnet/runtime-base:0.1.0', DECNET_IMAGE_BASE: 'decnet/runtime-base:0.1.0' };
const log = (m) => process.stderr.write(`[bench:alerts] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cli = (args) => pexec(process.execPath, [CLI, ...args], { env, maxBuffer: 64 << 20 });
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const summary = (xs) => ({ median: Math.round(pct(xs, 50)), p95: Math.round(pct(xs, 95)), max: Math.round(Math.max(...xs)), n: xs.length });

async function touchToWebhook() {
  const arrivals = new Map(); // src_ip -> ms
  const hook = createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => {
      const body = JSON.parse(b);
      if (!arrivals.has(body.src_ip)) arrivals.set(body.src_ip, Date.now());
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => hook.listen(HOOK_PORT, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'decnet-bench-alerts-m-'));
  writeFileSync(
    join(dir, 'fleet.yaml'),
    `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: ${FLEET} }
spec:
  network: { subnet: 10.243.9.0/24, gateway: 10.243.9.1 }
  lab: true
  alerts:
    - { name: soc, type: webhook, url: "http://127.0.0.1:${HOOK_PORT}/hook", events: [auth_attempt], throttle: 1s }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2l-bench-ssh }
spec: { fleet: ${FLEET}, ip: ${IP}, services: [ssh], distro: debian }
`,
  );
  let ctl;
  let logs;
  try {
    await cli(['apply', '-f', join(dir, 'fleet.yaml'), '--timeout', '5m']);
    ctl = spawn(process.execPath, [CLI, 'controller', '--metrics-addr', 'off', '--resync', '30s', '--no-mutate'], { env: { ...env, DECNET_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
    // the log floor: every auth_attempt line of the service container, as it appears
    const inLog = new Map();
    logs = spawn('docker', ['logs', '-f', '--since', '0s', 'e2l-bench-ssh-ssh'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    logs.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /"event":"auth_attempt".*"src_ip":"([0-9.]+)"/.exec(line) ?? /"src_ip":"([0-9.]+)".*"event":"auth_attempt"/.exec(line);
        if (m && !inLog.has(m[1])) inLog.set(m[1], Date.now());
      }
    });
    await sleep(8000); // the controller's first resync and follow
    // K extra source addresses in the attacker namespace (ours), one per touch
    const dev = (await pexec('ip', ['netns', 'exec', NETNS, 'ip', '-o', 'link', 'show'])).stdout.split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).find((n) => n && n !== 'lo');
    const srcs = Array.from({ length: K }, (_, i) => `10.243.9.${200 + i}`);
    for (const s of srcs) await pexec('ip', ['netns', 'exec', NETNS, 'ip', 'addr', 'add', `${s}/24`, 'dev', dev]).catch(() => undefined);
    const webhook = [];
    const floor = [];
    for (const s of srcs) {
      const t0 = Date.now();
      await pexec('ip', ['netns', 'exec', NETNS, 'sshpass', '-p', `bench-${s}`, 'ssh', '-b', s, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-o', 'PreferredAuthentications=password', '-o', 'ConnectTimeout=10', `root@${IP}`, 'true']).catch(() => undefined);
      const end = Date.now() + 15_000;
      while ((!arrivals.has(s) || !inLog.has(s)) && Date.now() < end) await sleep(5);
      if (arrivals.has(s)) webhook.push(arrivals.get(s) - t0);
      if (inLog.has(s)) floor.push(inLog.get(s) - t0);
    }
    log(`touch -> webhook: ${JSON.stringify(summary(webhook))}; touch -> log line: ${JSON.stringify(summary(floor))}`);
    return { webhookMs: summary(webhook), logLineMs: summary(floor), delivered: webhook.length, touches: K };
  } finally {
    logs?.kill();
    if (ctl) {
      ctl.kill('SIGTERM');
      await new Promise((r) => ctl.once('exit', r));
    }
    await cli(['delete', 'fleet', FLEET]).catch((e) => log(`cleanup: ${e.message}`));
    await new Promise((r) => hook.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function streamRate() {
  const { startRedisServer, ClusterEventStream } = await import('@decnet/registry');
  const { ClusterStreamSink } = await import('@decnet/controller');
  const { default: Redis } = await import('ioredis');
  const srv = await startRedisServer();
  const t = Date.now();
  const events = Array.from({ length: NEV }, (_, i) => ({ time: new Date(t + i).toISOString(), host: 'bench', fleet: 'lab', decky: `d${i % 50}`, service: 'ssh', event: 'auth_attempt', src_ip: `10.0.${(i >> 8) & 255}.${i & 255}`, src_port: 1024 + (i % 60000), principal: 'root', secret: `pw${i}`, severity: 'medium' }));
  try {
    // floor: pipelined raw XADD, 500 per round trip, no dedupe
    const raw = new Redis(srv.url);
    let t0 = performance.now();
    for (let i = 0; i < events.length; i += 500) {
      const p = raw.pipeline();
      for (const e of events.slice(i, i + 500)) p.xadd('bench:raw', 'MAXLEN', '~', '1000000', '*', 'ev', JSON.stringify(e));
      await p.exec();
    }
    const rawS = (performance.now() - t0) / 1000;
    raw.disconnect();
    // the sink, as a controller runs it
    const stream = await ClusterEventStream.connect({ url: srv.url, cluster: 'bench', waitReady: true });
    const dir = mkdtempSync(join(tmpdir(), 'decnet-bench-stream-'));
    const sink = new ClusterStreamSink({ stream, stateDir: dir });
    const check = new Redis(srv.url);
    t0 = performance.now();
    for (const e of events) sink.write(e);
    while ((await check.xlen('decnet:{bench}:events')) < NEV) await sleep(20);
    const sinkS = (performance.now() - t0) / 1000;
    check.disconnect();
    await sink.close();
    await stream.close();
    rmSync(dir, { recursive: true, force: true });
    const r = { events: NEV, sinkPerS: Math.round(NEV / sinkS), rawXaddPerS: Math.round(NEV / rawS) };
    log(`cluster stream: ${JSON.stringify(r)}`);
    return r;
  } finally {
    await srv.dispose();
  }
}

try {
  const touch = await touchToWebhook();
  const stream = await streamRate();
  process.stdout.write(`${JSON.stringify({ touch, stream, ratios: { webhookOverLogLine: Number((touch.webhookMs.median / Math.max(1, touch.logLineMs.median)).toFixed(2)), sinkOverRawXadd: Number((stream.sinkPerS / stream.rawXaddPerS).toFixed(2)) } }, null, 2)}\n`);
} finally {
  rmSync(state, { recursive: true, force: true });
}
