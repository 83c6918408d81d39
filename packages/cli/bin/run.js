#!/usr/bin/env node
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execute } from '@oclif/core';

// oclif.manifest.json (written by `npm run build`) spares importing every command at
// start-up; a manifest older than the built commands is dropped so it never hides one.
const root = join(import.meta.dirname, '..');
try {
  const manifest = statSync(join(root, 'oclif.manifest.json')).mtimeMs;
  const newest = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs), 0);
  if (newest(join(root, 'dist/commands')) > manifest) rmSync(join(root, 'oclif.manifest.json'), { force: true });
} catch {
  // no manifest: oclif scans the commands
}

await execute({ dir: import.meta.url });
