/**
 * Writes crds/ from the zod schemas. Run from the repository root after a build:
 * `npm run build && npm run gen:crds` (node packages/api/dist/gen-crds.js).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCrdFiles } from './crds.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const files = generateCrdFiles();
const wanted = new Set(files.map((f) => f.path));
for (const dir of ['crds', 'crds/schemas']) {
  mkdirSync(join(root, dir), { recursive: true });
  for (const name of readdirSync(join(root, dir))) {
    const rel = `${dir}/${name}`;
    if (/\.(ya?ml|json)$/.test(name) && !wanted.has(rel)) rmSync(join(root, rel));
  }
}
for (const f of files) writeFileSync(join(root, f.path), f.content);
console.log(`wrote ${files.length} files under crds/`);
