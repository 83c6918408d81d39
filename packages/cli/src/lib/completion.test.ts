import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { completionCommands, fishScript, zshScript } from './completion.js';

const root = join(import.meta.dirname, '../..');
const bin = join(root, 'bin/run.js');
const hasShell = (sh: string) => spawnSync('sh', ['-c', `command -v ${sh}`]).status === 0;

/** Complete `line` (words before the cursor + the current word) with the real bash script. */
function bashComplete(words: string[]): string[] {
  const script = `source <(node ${JSON.stringify(bin)} completion bash); COMP_WORDS=(decnetctl "$@"); COMP_CWORD=$#; _decnetctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script, '_', ...words], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('completion', () => {
  it('bash completes command ids, sub-commands, flags, flag values and get kinds', () => {
    expect(bashComplete(['ge'])).toEqual(['get']);
    expect(bashComplete(['images', ''])).toEqual(['build', 'pull']);
    expect(bashComplete(['get', ''])).toEqual(expect.arrayContaining(['deckies', 'fleets']));
    expect(bashComplete(['get', '--o'])).toEqual(['--output']);
    expect(bashComplete(['get', '-o', ''])).toEqual(['table', 'wide', 'json', 'yaml', 'name']);
    expect(bashComplete(['get', '--output', '=', 'ya'])).toEqual(['yaml']);
    expect(bashComplete(['explain', '--rec'])).toEqual(['--recursive']);
    expect(bashComplete(['completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  it('builds from oclif commands (ids with : become words, boolean flags take no value)', () => {
    const cmds = completionCommands([
      { id: 'images:build', flags: { quiet: { type: 'boolean', char: 'q' }, tag: { type: 'option' } }, args: {} },
      { id: 'get', flags: { output: { type: 'option', char: 'o', options: ['table', 'json'] } }, args: { kind: { options: ['deckies'] } } },
    ]);
    expect(cmds.map((c) => c.id)).toEqual(['get', 'images build']);
    expect(cmds[1]!.flags).toEqual([
      { name: 'quiet', char: 'q', takesValue: false },
      { name: 'tag', takesValue: true },
    ]);
    expect(fishScript(cmds)).toContain(`complete -c decnetctl -n '__fish_seen_subcommand_from get' -l output -s o -x -a 'table json'`);
  });

  it.skipIf(!hasShell('zsh'))('zsh script parses', () => {
    expect(spawnSync('zsh', ['-n'], { input: zshScript(completionCommands([{ id: 'get', flags: {}, args: {} }])) }).status).toBe(0);
  });

  it.skipIf(!hasShell('fish'))('fish script parses', () => {
    expect(spawnSync('fish', ['-n'], { input: fishScript(completionCommands([{ id: 'get', flags: {}, args: {} }])) }).status).toBe(0);
  });
});
