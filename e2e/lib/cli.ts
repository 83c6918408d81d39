/**
 * Helpers for end-to-end tests: run the built `decnetctl` as a user would and
 * inspect the real Docker engine. No mocks.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { scratchDir } from '../../test-scratch.js';

const pexec = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'packages/cli/bin/run.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

/** Run decnetctl with args; never throws on a non-zero exit. */
export function decnetctl(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], opts);
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // EPIPE when the child exits without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await pexec('docker', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/**
 * A fresh temp dir (tmpdir()/decnet-<tag>-XXXXXX) removed when the test file ends: a test
 * run leaves nothing behind (scripts/leftovers.mjs checks).
 */
export function tempDir(tag: string): string {
  return scratchDir(`decnet-${tag}-`);
}

/** A temp dir holding the given files (removed when the test file ends); returns its path. */
export function writeManifests(files: Record<string, string>): string {
  const dir = tempDir('e2e');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Poll fn until it returns a truthy value or the timeout passes. */
export async function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, stepMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export interface ContainerInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: string;
}

/**
 * All containers (running or not) carrying a label filter, e.g. com.decnet.fleet=x. A container
 * removed between the list and the inspect (a controller healing meanwhile) means: list again.
 */
export async function containers(filter: string): Promise<ContainerInfo[]> {
  for (let attempt = 1; ; attempt++) {
    const ids = (await docker('ps', '-aq', '--no-trunc', '--filter', `label=${filter}`)).split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    let text: string;
    try {
      text = await docker('inspect', ...ids);
    } catch (err) {
      if (attempt < 10 && /No such object/.test(String(err))) continue;
      throw err;
    }
    const inspected = JSON.parse(text) as Array<{
      Id: string;
      Name: string;
      Config: { Labels: Record<string, string> };
      State: { Status: string };
    }>;
    return inspected
      .map((c) => ({ id: c.Id, name: c.Name.replace(/^\//, ''), labels: c.Config.Labels ?? {}, state: c.State.Status }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** name -> id for a label filter: handy for "nothing was recreated" checks. */
export async function idsByName(filter: string): Promise<Record<string, string>> {
  return Object.fromEntries((await containers(filter)).map((c) => [c.name, c.id]));
}

export async function netnsExists(name: string): Promise<boolean> {
  const { stdout } = await pexec('ip', ['netns', 'list']);
  return stdout.split('\n').some((l) => l.split(' ')[0] === name);
}

export async function linkExists(name: string): Promise<boolean> {
  try {
    await pexec('ip', ['link', 'show', name]);
    return true;
  } catch {
    return false;
  }
}
