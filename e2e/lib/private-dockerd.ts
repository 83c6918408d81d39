/**
 * A private Docker daemon for tests that must kill or restart "the engine": the
 * machine's main dockerd is shared with other test runs and is never touched.
 * The daemon gets its own socket, data root, exec root (so its own supervised
 * containerd), pid file and containerd namespaces, its own default bridge and no
 * iptables rules; `destroy()` removes everything it made (containers, networks,
 * the daemon, its containerd, its bridge, its mounts and dirs).
 *
 * Never start a second dockerd with `--bridge none`: dockerd then deletes the host's
 * `docker0` ("removeDefaultBridgeInterface"), which breaks the main engine's default
 * network. Here the daemon gets a bridge of its own (`-b`), made before it starts.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { run, until, type ContainerInfo, type RunResult } from './cli.js';

const pexec = promisify(execFile);

export interface PrivateDockerdOptions {
  /** short name used in every path: /run/<name>, /var/lib/<name> (default decnet-faults) */
  name?: string;
  /** the daemon's own default bridge, created before it starts (default dnfaults0) */
  bridge?: string;
  /** address/prefix of that bridge (default 10.238.255.1/24) */
  bridgeCidr?: string;
}

export class PrivateDockerd {
  readonly runDir: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly sock: string;
  readonly pidFile: string;
  readonly logFile: string;
  /** DOCKER_HOST value for clients of this daemon */
  readonly host: string;
  readonly bridge: string;

  constructor(private readonly opts: PrivateDockerdOptions = {}) {
    const name = opts.name ?? 'decnet-faults';
    this.runDir = `/run/${name}`;
    this.dataRoot = `/var/lib/${name}/d`;
    this.execRoot = `${this.runDir}/exec`;
    this.sock = `${this.runDir}/d.sock`;
    this.pidFile = `${this.runDir}/d.pid`;
    this.logFile = `/var/lib/${name}/dockerd.log`;
    this.host = `unix://${this.sock}`;
    this.bridge = opts.bridge ?? 'dnfaults0';
  }

  /** Environment for a client (docker CLI, decnetctl) of this daemon. */
  get env(): Record<string, string> {
    return { DOCKER_HOST: this.host };
  }

  /** pid of the running daemon, from its pid file, if that process is alive and is a dockerd. */
  pid(): number | undefined {
    return livePid(this.pidFile, 'dockerd');
  }

  /** pid of the containerd the daemon supervises, if alive. */
  containerdPid(): number | undefined {
    return livePid(join(this.execRoot, 'containerd/containerd.pid'), 'containerd');
  }

  /**
   * Starts the daemon (reusing its supervised containerd when still alive) and waits until it
   * answers. A daemon restarted right after a SIGKILL can time out starting containerd while the
   * old one is still going away: then the leftovers are cleared and it is started once more.
   */
  async start(timeoutMs = 60_000): Promise<void> {
    try {
      await this.startOnce(timeoutMs);
    } catch (first) {
      for (const pid of [this.pid(), this.containerdPid()]) if (pid !== undefined) killQuietly(pid);
      await until(async () => this.pid() === undefined && this.containerdPid() === undefined, 15_000, 100).catch(() => undefined);
      for (const f of [this.pidFile, join(this.execRoot, 'containerd/containerd.pid'), join(this.execRoot, 'containerd/containerd.sock'), join(this.execRoot, 'containerd/containerd.sock.ttrpc')]) rmSync(f, { force: true });
      try {
        await this.startOnce(timeoutMs);
      } catch (second) {
        throw new Error(`${(second as Error).message}\n(first attempt: ${(first as Error).message.split('\n')[0]})`);
      }
    }
  }

  private async startOnce(timeoutMs: number): Promise<void> {
    if (this.pid() !== undefined) throw new Error(`private dockerd already running (pid ${this.pid()})`);
    // its own temp dir, removed with the daemon: dockerd asks an unhealthy containerd for a stack
    // dump (SIGUSR1) before killing it, and containerd writes containerd.<pid>.stacks.log to TMPDIR
    const tmp = `/var/lib/${this.opts.name ?? 'decnet-faults'}/tmp`;
    for (const d of [this.runDir, this.dataRoot, this.execRoot, tmp]) mkdirSync(d, { recursive: true });
    if ((await run('ip', ['link', 'show', this.bridge])).code !== 0) {
      await pexec('ip', ['link', 'add', 'name', this.bridge, 'type', 'bridge']);
      await pexec('ip', ['addr', 'add', this.opts.bridgeCidr ?? '10.238.255.1/24', 'dev', this.bridge]);
    }
    const log = openSync(this.logFile, 'a');
    const ns = this.opts.name ?? 'decnet-faults';
    const child = spawn(
      'dockerd',
      [
        '--host', this.host,
        '--data-root', this.dataRoot,
        '--exec-root', this.execRoot,
        '--pidfile', this.pidFile,
        '--bridge', this.bridge,
        '--iptables=false',
        '--ip-forward=false',
        '--containerd-namespace', ns,
        '--containerd-plugins-namespace', `${ns}-plugins`,
      ],
      { detached: true, stdio: ['ignore', log, log], env: { ...process.env, TMPDIR: tmp } },
    );
    closeSync(log);
    child.unref();
    try {
      await until(async () => (await this.run('version', '--format', '{{.Server.Version}}')).code === 0, timeoutMs, 200);
    } catch (e) {
      throw new Error(`private dockerd did not come up: ${(e as Error).message}\n--- log tail ---\n${this.logTail()}`);
    }
  }

  /** SIGKILL the daemon (its containerd and containers stay, as after a crash) and wait until it is gone. */
  async kill(): Promise<number> {
    const pid = this.pid();
    if (pid === undefined) throw new Error('private dockerd is not running');
    process.kill(pid, 'SIGKILL');
    await until(async () => !alive(pid), 10_000, 50);
    rmSync(this.pidFile, { force: true }); // a crashed daemon leaves it; the next start refuses while it names a live pid
    // its supervised containerd goes down with it (parent-death signal): wait for that, so a
    // restart does not race the old containerd for its socket
    await until(async () => this.containerdPid() === undefined, 15_000, 100).catch(() => undefined);
    return pid;
  }

  /** Graceful stop (SIGTERM), waiting for the daemon to exit. */
  async stop(timeoutMs = 30_000): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    process.kill(pid, 'SIGTERM');
    try {
      await until(async () => !alive(pid), timeoutMs, 100);
    } catch {
      process.kill(pid, 'SIGKILL');
      await until(async () => !alive(pid), 10_000, 50);
    }
  }

  /** docker CLI against this daemon; never throws. */
  run(...args: string[]): Promise<RunResult> {
    return run('docker', ['--host', this.host, ...args], { timeoutMs: 120_000 });
  }

  /** docker CLI against this daemon; throws on a non-zero exit. */
  async docker(...args: string[]): Promise<string> {
    const r = await this.run(...args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} (private daemon): exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Copies images from the main engine into this daemon (skips those already present). */
  async loadImages(images: readonly string[]): Promise<void> {
    const missing: string[] = [];
    for (const img of images) if ((await this.run('image', 'inspect', img)).code !== 0) missing.push(img);
    if (missing.length === 0) return;
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    await pexec('bash', ['-o', 'pipefail', '-c', `docker save ${missing.map(q).join(' ')} | docker --host ${q(this.host)} load -q`], { maxBuffer: 16 << 20 });
  }

  /** Containers of this daemon matching a label filter (all states), sorted by name. */
  async containers(filter: string): Promise<ContainerInfo[]> {
    const ids = (await this.docker('ps', '-aq', '--no-trunc', '--filter', `label=${filter}`)).split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const inspected = JSON.parse(await this.docker('inspect', ...ids)) as Array<{ Id: string; Name: string; Config: { Labels: Record<string, string> | null }; State: { Status: string } }>;
    return inspected.map((c) => ({ id: c.Id, name: c.Name.replace(/^\//, ''), labels: c.Config.Labels ?? {}, state: c.State.Status })).sort((a, b) => a.name.localeCompare(b.name));
  }

  logTail(bytes = 3000): string {
    try {
      const t = readFileSync(this.logFile, 'utf8');
      return t.slice(-bytes);
    } catch {
      return '(no log)';
    }
  }

  /**
   * Removes everything: all containers and networks of this daemon (it is ours alone),
   * the daemon, its containerd, leftover mounts under its roots, and its dirs.
   */
  async destroy(): Promise<void> {
    if (this.pid() === undefined && existsSync(this.dataRoot)) await this.start().catch(() => undefined);
    if (this.pid() !== undefined) {
      const ids = (await this.run('ps', '-aq')).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await this.run('rm', '-f', ...ids);
      const nets = (await this.run('network', 'ls', '--format', '{{.Name}}')).stdout.split('\n').filter((n) => n && !['none', 'host', 'bridge'].includes(n));
      if (nets.length > 0) await this.run('network', 'rm', ...nets);
      await this.stop();
    }
    const cpid = this.containerdPid();
    if (cpid !== undefined) {
      process.kill(cpid, 'SIGTERM');
      await until(async () => !alive(cpid), 15_000, 100).catch(() => process.kill(cpid, 'SIGKILL'));
    }
    // shims of containers that outlived everything (only ours: they name our exec root's socket)
    const shims = await pexec('pgrep', ['-f', `containerd-shim.*${this.execRoot}`]).then((r) => r.stdout.split('\n').filter(Boolean).map(Number), () => []);
    for (const p of shims) if (alive(p)) process.kill(p, 'SIGKILL');
    const roots = [this.runDir, `/var/lib/${this.opts.name ?? 'decnet-faults'}`];
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => roots.some((r) => m.startsWith(`${r}/`)));
    for (const m of mounts.sort((a, b) => b.length - a.length)) await pexec('umount', ['-l', m]).catch(() => undefined);
    for (const r of roots) rmSync(r, { recursive: true, force: true });
    if ((await run('ip', ['link', 'show', this.bridge])).code === 0) await pexec('ip', ['link', 'del', this.bridge]);
  }
}

/** The process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function livePid(file: string, comm: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (!(pid > 0) || !alive(pid)) return undefined;
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm ? pid : undefined;
  } catch {
    return undefined;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
