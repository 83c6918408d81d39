/**
 * Scratch dirs for tests: tmpdir()/<prefix>XXXXXX, removed when the test file that made
 * them ends, so a test run leaves nothing behind (scripts/leftovers.mjs checks).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const dirs: string[] = [];

export function scratchDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

// registered while the importing test file is collected: runs after that file's tests
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
