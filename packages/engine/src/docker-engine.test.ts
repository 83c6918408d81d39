/**
 * Real-engine tests: a lab fleet with two deckies built by the executor from a
 * hand-built plan, observed back, reached from the lab netns, torn down again.
 * Fleets t4a (10.240.41.0/24); containers named t4a-*; host id unique per run.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { alertSecretsPath } from './paths.js';
import { readAlertSecrets } from './alert-secrets.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import {
  canonicalHash,
  encodeDeckyLabels,
  encodeFleetLabels,
  encodeSettingsLabels,
  groupObserved,
  settingsVolumeName,
  makeDecky,
  makeFleet,
  type Op,
  type Plan,
  type ResolvedDecky,
  type ResolvedService,
} from '@decnet/api';
import { DockerEngine } from './docker-engine.js';
import { execute } from './executor.js';
import { labExec, labNames } from './lab.js';
import { cleanup, poll, run, runtimeImage } from './test-support.js';

const HOST = `t4-${randomBytes(4).toString('hex')}`;
const FLEET = 't4a';
const NET = `decnet-${FLEET}`;
const SECRET = `s-${randomBytes(6).toString('hex')}`;
let image = '';
let stateDir = '';
let engine: DockerEngine;

const fleet = makeFleet(FLEET, { network: { mode: 'macvlan', subnet: '10.240.41.0/24', gateway: '10.240.41.1' }, lab: true });

// answers each connection with "<greeting> <token> <hostname>" read from the mounted config file,
// on 8080 and on the low port 80 (bound without any capability: the base's namespace allows it)
const SERVER = [
  "const fs=require('fs'),net=require('net'),os=require('os');",
  "const c=JSON.parse(fs.readFileSync('/etc/decnet/service.json','utf8'));",
  "const h=s=>s.end(c.config.greeting+' '+c.config.token+' '+os.hostname()+'\\n');",
  "net.createServer(h).listen(8080,()=>{console.log('listening on 8080');net.createServer(h).listen(80,()=>console.log('listening on 80'))});",
].join('');

function echoService(img: string): ResolvedService {
  return { name: 'echo', image: img, ports: [{ port: 8080, proto: 'tcp' }, { port: 80, proto: 'tcp' }], config: { greeting: 'hello' }, secretKeys: ['token'], command: ['node', '-e', SERVER] };
}

function deckyOps(spec: ResolvedDecky, hasSecrets: boolean): Op[] {
  const ops: Op[] = [
    {
      op: 'create-container', wave: 2, cause: 'new decky', decky: spec.name, fleet: FLEET, role: 'base', name: spec.name, spec,
      labels: encodeDeckyLabels(spec, { hostId: HOST, role: 'base', generation: 1 }),
      container: { role: 'base', image, hostname: spec.hostname, network: NET, ip: spec.ip, sysctls: spec.sysctls },
    },
    { op: 'start-container', wave: 2, cause: 'new decky', decky: spec.name, name: spec.name },
  ];
  for (const s of spec.services) {
    const name = `${spec.name}-${s.name}`;
    ops.push(
      {
        op: 'create-container', wave: 2, cause: 'new decky', decky: spec.name, fleet: FLEET, role: 'service', service: s.name, name, spec,
        labels: encodeDeckyLabels(spec, { hostId: HOST, role: 'service', service: s.name, generation: 1 }),
        container: { role: 'service', image: s.image, baseName: spec.name, service: s, hasSecrets },
      },
      { op: 'start-container', wave: 2, cause: 'new decky', decky: spec.name, name },
    );
  }
  return ops;
}

let web: ResolvedDecky;
let bad: ResolvedDecky;

beforeAll(async () => {
  image = await runtimeImage();
  stateDir = await mkdtemp(join(tmpdir(), 't4-state-'));
  engine = new DockerEngine({ stateDir });
  await cleanup(HOST, 't4a', [FLEET]);
  web = makeDecky('t4a-web', FLEET, {
    ip: '10.240.41.10',
    hostname: 'SRV-T4-WEB',
    nmapOS: 'windows',
    sysctls: { 'net.ipv4.ip_default_ttl': '128', 'net.ipv4.tcp_timestamps': '1' },
    services: [echoService(image)],
  });
  bad = makeDecky('t4a-bad', FLEET, {
    ip: '10.240.41.11',
    services: [{ ...echoService(image), image: 'decnet/does-not-exist:t4' }],
  });
}, 120_000);

afterAll(async () => {
  await cleanup(HOST, 't4a', [FLEET]);
  await rm(stateDir, { recursive: true, force: true });
}, 120_000);

describe('DockerEngine + executor on a lab fleet', () => {
  it('builds the fleet; a decky with a missing image fails alone', async () => {
    const plan: Plan = {
      conflicts: [],
      generations: {},
      ops: [
        { op: 'ensure-lab', wave: 0, cause: 'new fleet', fleet: FLEET, subnet: fleet.network.subnet, gateway: fleet.network.gateway },
        { op: 'create-network', wave: 0, cause: 'new fleet', fleet: FLEET, name: NET, spec: fleet, labels: encodeFleetLabels(fleet, HOST) },
        ...deckyOps(web, true),
        ...deckyOps(bad, true),
      ],
    };
    const secrets = { 't4a-web': { echo: { token: SECRET } }, 't4a-bad': { echo: { token: SECRET } } };
    const s = await execute(plan, engine, { secrets });
    expect(s.fleets[FLEET]).toMatchObject({ status: 'ok', done: 2 });
    expect(s.deckies['t4a-web']).toEqual({ status: 'ok', done: 4, skipped: 0 });
    expect(s.deckies['t4a-bad']).toMatchObject({
      status: 'failed',
      done: 2,
      skipped: 1,
      failure: { op: 'create-container', target: 't4a-bad-echo', code: 'ImageNotFound' },
    });
    expect(s.writes).toBe(plan.ops.length - 1);
    // the secret lives in the config file only
    const file = await readFile(join(stateDir, 'config', FLEET, 't4a-web', 'echo.json'), 'utf8');
    expect(JSON.parse(file).config).toEqual({ greeting: 'hello', token: SECRET });
  }, 60_000);

  it('observes what it built: labels, state, ip, mac, namespace owner, network, lab', async () => {
    const o = await engine.observe(HOST);
    const names = o.containers.map((c) => c.name);
    expect(names).toEqual(['t4a-bad', 't4a-web', 't4a-web-echo']);
    const base = o.containers.find((c) => c.name === 't4a-web')!;
    const svc = o.containers.find((c) => c.name === 't4a-web-echo')!;
    expect(base.labels).toEqual(encodeDeckyLabels(web, { hostId: HOST, role: 'base', generation: 1 }));
    expect(base.state).toBe('running');
    expect(base.ip).toBe('10.240.41.10');
    expect(base.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(base.image).toBe(image);
    expect(svc.networkContainer).toBe(base.id);
    expect(svc.labels['com.decnet.service']).toBe('echo');
    expect(JSON.stringify(o.containers.map((c) => c.labels))).not.toContain(SECRET);
    expect(o.networks).toHaveLength(1);
    expect(o.networks[0]).toMatchObject({ name: NET, driver: 'macvlan', subnet: '10.240.41.0/24', gateway: '10.240.41.1', parent: labNames(FLEET).parent });
    expect(o.labs).toContain(FLEET);
    expect(o.foreignNames).not.toContain('t4a-web');
    // another host sees none of it
    const other = await engine.observe(`${HOST}-other`);
    expect(other.containers.filter((c) => c.name.startsWith('t4a'))).toEqual([]);
    expect(other.foreignNames).toEqual(expect.arrayContaining(['t4a-web', 't4a-web-echo', 't4a-bad']));
  }, 30_000);

  it('lists foreign containers by name and never reports them as owned', async () => {
    const docker = new Docker();
    await docker.createContainer({ name: 't4a-foreign', Image: image, Cmd: ['true'], Labels: { 'com.decnet.managed': 'true', 'com.decnet.host': 'someone-else' } });
    const o = await engine.observe(HOST);
    expect(o.foreignNames).toContain('t4a-foreign');
    expect(o.containers.map((c) => c.name)).not.toContain('t4a-foreign');
    expect(await engine.listContainerNames()).toEqual(expect.arrayContaining(['t4a-foreign', 't4a-web']));
    const foreign = await engine.inspectContainer('t4a-foreign');
    expect(foreign).toMatchObject({ name: 't4a-foreign', state: 'created', labels: { 'com.decnet.host': 'someone-else' } });
    expect(await engine.inspectContainer('t4a-nothing-here')).toBeUndefined();
  });

  it('serves from the decky IP to the lab namespace, with config and secret from the mounted file', async () => {
    const ns = labNames(FLEET).netns;
    const probe = `require('net').connect(8080,'10.240.41.10').on('data',d=>{process.stdout.write(d);process.exit(0)}).on('error',()=>process.exit(3))`;
    const out = await poll(async () => {
      const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', probe], { encoding: 'utf8', timeout: 5000 });
      return stdout.trim() || undefined;
    }, 15_000, 250);
    expect(out).toBe(`hello ${SECRET} SRV-T4-WEB`);
    // labExec hands back the exit code of the command run inside the netns
    const check = `require('net').connect(8080,'10.240.41.10').on('data',d=>process.exit(String(d).startsWith('hello')?0:1)).on('error',()=>process.exit(2))`;
    expect(await labExec(FLEET, [process.execPath, '-e', check], { stdio: 'ignore' })).toBe(0);
    expect(await labExec(FLEET, [process.execPath, '-e', 'process.exit(7)'], { stdio: 'ignore' })).toBe(7);
    // the bad decky's base holds its IP but nothing listens there
    const closed = `require('net').connect(8080,'10.240.41.11').on('connect',()=>process.exit(0)).on('error',()=>process.exit(5))`;
    expect(await labExec(FLEET, [process.execPath, '-e', closed], { stdio: 'ignore' })).toBe(5);
  }, 30_000);

  it('applies the OS-fingerprint sysctls to the shared namespace', async () => {
    const ttl = await run('docker', ['exec', 't4a-web', 'cat', '/proc/sys/net/ipv4/ip_default_ttl'], { encoding: 'utf8' });
    expect(ttl.stdout.trim()).toBe('128');
    const fromService = await run('docker', ['exec', 't4a-web-echo', 'node', '-p', "require('fs').readFileSync('/proc/sys/net/ipv4/ip_default_ttl','utf8').trim()"], { encoding: 'utf8' });
    expect(fromService.stdout.trim()).toBe('128');
    const bad = await run('docker', ['exec', 't4a-bad', 'cat', '/proc/sys/net/ipv4/ip_default_ttl'], { encoding: 'utf8' });
    expect(bad.stdout.trim()).toBe('64');
  });

  it('hardens service containers', async () => {
    const info = (await engine.inspectContainerRaw('t4a-web-echo'))!;
    const hc = info.HostConfig;
    expect(info.Config.User).toBe('10001:10001');
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.CapAdd ?? []).toEqual([]);
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(hc.Memory).toBe(128 * 1024 * 1024);
    expect(hc.PidsLimit).toBe(64);
    expect(hc.NanoCpus).toBe(500_000_000);
    expect(hc.RestartPolicy?.Name).toBe('unless-stopped');
    expect(hc.Privileged).toBe(false);
    expect(info.Mounts.map((m) => m.Source).join(' ')).not.toContain('docker.sock');
    const cfg = info.Mounts.find((m) => m.Destination === '/etc/decnet/service.json');
    expect(cfg?.RW).toBe(false);
    expect(info.Mounts.find((m) => m.Destination === '/quarantine')?.RW).toBe(true);
    expect(info.Config.Env ?? []).not.toEqual(expect.arrayContaining([expect.stringContaining(SECRET)]));
    // the root filesystem really is read-only; /quarantine really is writable
    const write = (p: string) =>
      run('docker', ['exec', 't4a-web-echo', 'node', '-e', `require('fs').writeFileSync('${p}','x')`]).then(() => 0, (e: { code?: number }) => e.code ?? 1);
    expect(await write('/rootfs-probe')).not.toBe(0);
    expect(await write('/quarantine/probe')).toBe(0);
  });

  it('runs every honeypot process unprivileged, with no capability, still serving its low port', async () => {
    const exec = (...cmd: string[]) => run('docker', ['exec', 't4a-web-echo', ...cmd], { encoding: 'utf8' });
    const uid = (await exec('id', '-u')).stdout.trim();
    const gid = (await exec('id', '-g')).stdout.trim();
    console.log(`in t4a-web-echo: id -u = ${uid}, id -g = ${gid}`);
    expect(uid).toBe('10001');
    expect(gid).toBe('10001');
    // every process of the container (init, the service, this exec): uid, gid and capability sets
    const ps = [
      "const fs=require('fs');const out=[];",
      "for(const p of fs.readdirSync('/proc').filter(d=>/^\\d+$/.test(d))){let st;try{st=fs.readFileSync('/proc/'+p+'/status','utf8')}catch{continue}",
      "const f=k=>(st.match(new RegExp('^'+k+':\\\\s*(.*)$','m'))||[])[1];",
      "out.push({pid:p,name:f('Name'),uid:f('Uid'),gid:f('Gid'),CapInh:f('CapInh'),CapPrm:f('CapPrm'),CapEff:f('CapEff'),CapBnd:f('CapBnd'),CapAmb:f('CapAmb'),NoNewPrivs:f('NoNewPrivs'),Seccomp:f('Seccomp')})}",
      'console.log(JSON.stringify(out))',
    ].join('');
    const procs = JSON.parse((await exec('node', '-e', ps)).stdout) as Record<string, string>[];
    console.log('in t4a-web-echo:', procs.map((p) => `${p['pid']} ${p['name']} Uid=${p['uid']} CapEff=${p['CapEff']} CapPrm=${p['CapPrm']} CapBnd=${p['CapBnd']} NoNewPrivs=${p['NoNewPrivs']} Seccomp=${p['Seccomp']}`).join('\n  '));
    expect(procs.map((p) => p['name'])).toEqual(expect.arrayContaining(['node']));
    for (const p of procs) {
      expect(p['uid']!.split(/\s+/)).toEqual(['10001', '10001', '10001', '10001']);
      expect(p['gid']!.split(/\s+/)).toEqual(['10001', '10001', '10001', '10001']);
      for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(p[k], `${p['name']} ${k}`).toBe('0000000000000000');
      expect(p['NoNewPrivs']).toBe('1');
      expect(p['Seccomp']).toBe('2'); // filter mode: Docker's default profile is on
    }
    const status = (await exec('cat', '/proc/self/status')).stdout;
    expect(status).toMatch(/^CapEff:\s+0000000000000000$/m);
    expect(status).toMatch(/^CapPrm:\s+0000000000000000$/m);
    expect(status).toMatch(/^CapBnd:\s+0000000000000000$/m);
    // writes: the root filesystem and /etc refuse, the quarantine takes them (owned by the service uid)
    const write = (p: string) =>
      exec('node', '-e', `require('fs').writeFileSync('${p}','x')`).then(() => 'ok', (e: { stderr?: string }) => /E[A-Z]+/.exec(e.stderr ?? '')?.[0] ?? 'failed');
    const results = { '/': await write('/probe'), '/etc': await write('/etc/probe'), '/etc/passwd': await write('/etc/passwd'), '/quarantine': await write('/quarantine/unpriv-probe') };
    console.log('in t4a-web-echo: writes', JSON.stringify(results));
    expect(results['/']).not.toBe('ok');
    expect(results['/etc']).not.toBe('ok');
    expect(results['/etc/passwd']).not.toBe('ok');
    expect(results['/quarantine']).toBe('ok');
    const probe = await stat(join(stateDir, 'quarantine', FLEET, 't4a-web', 'echo', 'unpriv-probe'));
    expect([probe.uid, probe.gid]).toEqual([10001, 10001]);
    // the mounted config is readable by the service, not writable
    expect(await write('/etc/decnet/service.json')).not.toBe('ok');
    // the namespace allows unprivileged low ports; the service answers on 80 from the lab namespace
    expect((await run('docker', ['exec', 't4a-web', 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start'], { encoding: 'utf8' })).stdout.trim()).toBe('0');
    const low = `require('net').connect(80,'10.240.41.10').on('data',d=>{process.stdout.write(d);process.exit(0)}).on('error',()=>process.exit(3))`;
    const out = await poll(async () => {
      const { stdout } = await run('ip', ['netns', 'exec', labNames(FLEET).netns, process.execPath, '-e', low], { encoding: 'utf8', timeout: 5000 });
      return stdout.trim() || undefined;
    }, 15_000, 250);
    console.log(`from the lab namespace, 10.240.41.10:80 answers: ${out}`);
    expect(out).toBe(`hello ${SECRET} SRV-T4-WEB`);
  }, 30_000);

  it('reads and follows container logs', async () => {
    const lines = [];
    for await (const l of engine.logs('t4a-web-echo')) lines.push(l);
    expect(lines).toContainEqual(expect.objectContaining({ stream: 'stdout', line: 'listening on 8080' }));
    expect(lines[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    const ac = new AbortController();
    const seen: string[] = [];
    for await (const l of engine.logs('t4a-web-echo', { follow: true, tail: 10, signal: ac.signal })) {
      seen.push(l.line);
      ac.abort();
    }
    expect(seen[0]).toBe('listening on 8080');
  });

  it('stops, starts and removes idempotently', async () => {
    await engine.stopContainer('t4a-bad');
    await engine.stopContainer('t4a-bad');
    expect((await engine.inspectContainer('t4a-bad'))?.state).toBe('exited');
    await engine.startContainer('t4a-bad');
    await engine.startContainer('t4a-bad');
    expect((await engine.inspectContainer('t4a-bad'))?.state).toBe('running');
    await engine.removeContainer('t4a-foreign');
    await engine.removeContainer('t4a-foreign');
    await engine.removeNetwork('decnet-t4a-nonexistent');
    expect(await engine.imageExists(image)).toBe(true);
    expect(await engine.imageExists('decnet/does-not-exist:t4')).toBe(false);
  }, 30_000);

  it('fleet settings volumes: created with their labels and the alert secrets file, observed, replaced, removed idempotently', async () => {
    const url = 'https://hooks.example/T0/SECRET-PART';
    const route = { name: 'soc', type: 'webhook' as const, minSeverity: 'low' as const, throttleMs: 60_000, maxPerMinute: 30, tlsVerify: true, secretsDigest: canonicalHash({ url }) };
    const settings = { name: FLEET, labels: { team: 'blue' }, alerts: [route] };
    const labels = encodeSettingsLabels(settings, HOST);
    const name = settingsVolumeName(FLEET, labels['com.decnet.spec-hash']!);
    const create: Op = { op: 'create-settings', wave: 0, cause: 't', fleet: FLEET, name, settings, labels };
    // without its URL the route cannot be written: nothing is created
    const refused = await execute({ ops: [create], conflicts: [], generations: {} }, engine);
    expect(refused.fleets[FLEET]?.failure).toMatchObject({ code: 'SecretUnavailable' });
    expect((await engine.observe(HOST)).volumes).toEqual([]);
    const s = await execute({ ops: [create], conflicts: [], generations: {} }, engine, { alertSecrets: { [FLEET]: { soc: { url } } } });
    expect(s.ok).toBe(true);
    const o = await engine.observe(HOST);
    expect(o.volumes?.map((v) => v.name)).toEqual([name]);
    expect(o.volumes![0]!.createdAt).toMatch(/^\d{4}-/);
    expect(JSON.stringify(o.volumes)).not.toContain('SECRET-PART');
    expect(groupObserved(o).fleets.find((f) => f.name === FLEET)?.spec).toMatchObject({ labels: { team: 'blue' }, alerts: [route] });
    const st = await stat(alertSecretsPath(stateDir, FLEET));
    expect(st.mode & 0o077).toBe(0);
    expect(await readAlertSecrets(stateDir, FLEET)).toEqual({ soc: { url } });
    // a later create keeps the stored URL when the route did not change
    await engine.removeVolume(name);
    await engine.removeVolume(name);
    expect((await execute({ ops: [create], conflicts: [], generations: {} }, engine)).ok).toBe(true);
    await engine.removeVolume(name);
    expect((await engine.observe(HOST)).volumes).toEqual([]);
  }, 60_000);

  it('tears the fleet down through the executor', async () => {
    const o = await engine.observe(HOST);
    const services = o.containers.filter((c) => c.labels['com.decnet.role'] === 'service');
    const bases = o.containers.filter((c) => c.labels['com.decnet.role'] === 'base');
    const ops: Op[] = [];
    for (const c of [...services, ...bases].sort((a, b) => a.labels['com.decnet.decky']!.localeCompare(b.labels['com.decnet.decky']!))) {
      const decky = c.labels['com.decnet.decky']!;
      ops.push({ op: 'stop-container', wave: 1, cause: 'fleet deleted', decky, name: c.name, id: c.id });
      ops.push({ op: 'remove-container', wave: 1, cause: 'fleet deleted', decky, name: c.name, id: c.id });
    }
    ops.push({ op: 'remove-network', wave: 3, cause: 'fleet deleted', fleet: FLEET, name: NET, id: o.networks[0]!.id });
    ops.push({ op: 'remove-lab', wave: 3, cause: 'fleet deleted', fleet: FLEET });
    const s = await execute({ ops, conflicts: [], generations: {} }, engine);
    expect(s.ok).toBe(true);
    const after = await engine.observe(HOST);
    expect(after).toMatchObject({ containers: [], networks: [] });
    expect(after.labs).not.toContain(FLEET);
    await expect(run('ip', ['link', 'show', 'dev', labNames(FLEET).parent])).rejects.toThrow();
  }, 60_000);
});

describe('engine unreachable', () => {
  it('is EngineUnavailable, never an empty view, for a missing socket', async () => {
    const e = new DockerEngine({ stateDir: '/nonexistent', dockerOptions: { socketPath: '/nonexistent/docker.sock' } });
    await expect(e.observe(HOST)).rejects.toMatchObject({ code: 'EngineUnavailable' });
    await expect(e.ping()).rejects.toMatchObject({ code: 'EngineUnavailable', hint: expect.stringContaining('DOCKER_HOST') });
  });
  it('honours a bogus DOCKER_HOST', async () => {
    const saved = process.env['DOCKER_HOST'];
    process.env['DOCKER_HOST'] = 'tcp://127.0.0.1:1';
    try {
      const e = new DockerEngine({ stateDir: '/nonexistent' });
      await expect(e.observe(HOST)).rejects.toMatchObject({ code: 'EngineUnavailable' });
      const s = await execute(
        { conflicts: [], generations: {}, ops: [{ op: 'remove-container', wave: 1, cause: 'x', decky: 'd', name: 'n', id: 'n' }, { op: 'remove-container', wave: 1, cause: 'x', decky: 'd', name: 'm', id: 'm' }] },
        e,
      );
      expect(s.aborted?.code).toBe('EngineUnavailable');
      expect(s.done).toBe(0);
      expect(s.skipped).toBe(1);
    } finally {
      if (saved === undefined) delete process.env['DOCKER_HOST'];
      else process.env['DOCKER_HOST'] = saved;
    }
  });
});
