/**
 * Reading manifests from files and directories (`-f FILE|DIR`, repeatable, `-` for
 * stdin). A directory applies every *.yaml / *.yml in it, sorted by name.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DecnetError, parseManifests, type ParseResult, type SourceText } from '@decnet/api';

export async function readSources(paths: readonly string[]): Promise<SourceText[]> {
  const out: SourceText[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ file: '<stdin>', text: await readStdin() });
      continue;
    }
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new DecnetError('FileNotFound', `${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const names = (await readdir(p)).filter((n) => /\.ya?ml$/.test(n)).sort();
      if (names.length === 0) throw new DecnetError('NoManifests', `${p}: no *.yaml files in this directory`);
      for (const n of names) out.push({ file: join(p, n), text: await readFile(join(p, n), 'utf8') });
    } else {
      out.push({ file: p, text: await readFile(p, 'utf8') });
    }
  }
  return out;
}

export async function loadManifests(paths: readonly string[]): Promise<ParseResult> {
  return parseManifests(await readSources(paths));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
