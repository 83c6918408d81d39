import { basename } from 'node:path';
import { defineConfig } from 'vitest/config';

/** Shared vitest settings: every package writes a JSON report that scripts/test.sh sums up. */
export function packageConfig(dir: string, extra: { testTimeout?: number; serial?: boolean; include?: string[] } = {}) {
  const name = basename(dir);
  return defineConfig({
    test: {
      include: extra.include ?? ['src/**/*.test.ts'],
      testTimeout: extra.testTimeout ?? 20_000,
      hookTimeout: extra.testTimeout ?? 60_000,
      fileParallelism: !extra.serial,
      passWithNoTests: true,
      reporters: ['default', 'json'],
      outputFile: { json: `${dir}/../../.reports/${name}.json` },
    },
  });
}
