/**
 * `decnetctl controller` as a child process of the test: started with an env
 * (host id, state dir, DOCKER_HOST...), its stderr (pino JSON) kept in `log`,
 * stopped with a signal of the test's choice (SIGKILL for crash tests). Only the
 * process started here is ever signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, until } from './cli.js';

export interface ControllerProcessOptions {
  env: Record<string, string>;
  /** port of /healthz, /readyz and /metrics on 127.0.0.1 (default: a random one in 19000..19899) */
  port?: number;
  /** extra flags, e.g. ['--no-events'] (default ['--resync', '5s', '--no-mutate']) */
  args?: string[];
  /** pino level of the child (default info) */
  logLevel?: string;
}

export class ControllerProcess {
  readonly port: number;
  /** stderr of every run, appended */
  log = '';
  private child: ChildProcess | undefined;

  constructor(private readonly opts: ControllerProcessOptions) {
    this.port = opts.port ?? 19000 + Math.floor(Math.random() * 900);
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  start(): ChildProcess {
    if (this.pid !== undefined) throw new Error('controller already running');
    const args = this.opts.args ?? ['--resync', '5s', '--no-mutate'];
    const child = spawn(process.execPath, [CLI, 'controller', '--metrics-addr', `127.0.0.1:${this.port}`, ...args], {
      env: { ...process.env, ...this.opts.env, DECNET_LOG_LEVEL: this.opts.logLevel ?? 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child = child;
    return child;
  }

  /**
   * Sends the signal to the process started here (if still running) and waits for its exit,
   * at most `timeoutMs` (then it is killed with SIGKILL). Resolves false when it had to be killed.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000): Promise<boolean> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return true;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!inTime) {
      c.kill('SIGKILL');
      await exited;
    }
    return inTime;
  }

  async http(path: string): Promise<{ status: number; text: string }> {
    const r = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return { status: r.status, text: await r.text() };
  }

  /** Waits until /readyz answers 200. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    await until(async () => (await this.http('/readyz').catch(() => ({ status: 0 }))).status === 200, timeoutMs);
  }

  logTail(chars = 3000): string {
    return this.log.slice(-chars);
  }
}
