import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Config, Parser } from '@oclif/core';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const repo = join(root, '../..');
const bin = join(root, 'bin/run.js');

/** Split an example like a shell would (quotes), dropping redirections and pipes. */
function argv(example: string): string[] {
  const words = example.match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
  const out: string[] = [];
  for (const w of words) {
    if (/^(>|>>|\||2>|&&|;)/.test(w)) break;
    out.push(w.replace(/^(["'])(.*)\1$/, '$2'));
  }
  if (out[0] === 'decnetctl') out.shift();
  return out;
}

const config = await Config.load(root);
const commands = await Promise.all(config.commands.map(async (c) => ({ id: c.id, cls: await c.load() })));
const examples = commands.flatMap(({ id, cls }) =>
  (cls.examples ?? []).map((e) => ({ id, example: typeof e === 'string' ? e : e.command })),
);
/** Commands that need no engine, registry or Docker: their examples run for real. */
const OFFLINE = new Set(['explain', 'services', 'archetypes', 'distros', 'version', 'validate', 'completion']);

describe('static examples', () => {
  it('every command has been found', () => {
    expect(commands.map((c) => c.id)).toEqual(expect.arrayContaining(['get', 'explain', 'completion', 'images:build']));
  });

  it.each(examples)('$id: $example parses', async ({ id, example }) => {
    const words = argv(example.replace(/<%= config.bin %>/g, 'decnetctl'));
    const idWords = id.split(':');
    expect(words.slice(0, idWords.length), `${id}: example "${example}" does not start with its command`).toEqual(idWords);
    const cls = commands.find((c) => c.id === id)!.cls;
    try {
      await Parser.parse(words.slice(idWords.length), { flags: cls.flags ?? {}, args: cls.args ?? {}, strict: cls.strict ?? true, context: undefined });
    } catch (err) {
      throw new Error(`${id}: example "${example}" does not parse: ${(err as Error).message}`);
    }
  });

  it.each(examples.filter((e) => OFFLINE.has(e.id)))('$id: $example runs (exit 0)', ({ example }) => {
    const r = spawnSync(process.execPath, [bin, ...argv(example)], { cwd: repo, encoding: 'utf8' });
    expect(r.status, `${example}\n${r.stderr}`).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
  });
});
