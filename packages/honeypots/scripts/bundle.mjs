// Bundle the honeypot runtime (all services + their dependencies) into one
// ESM file, dist/honeypot.mjs, which is all the image needs besides node.
// ssh2's optional native pieces (cpu-features, the sshcrypto addon) stay
// external: ssh2 catches their absence and uses its pure-JS/WASM paths.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function bundle(outfile = join(root, 'dist', 'honeypot.mjs')) {
  await build({
    entryPoints: [join(root, 'src', 'runtime', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: false,
    legalComments: 'none',
    external: ['cpu-features', '*.node'],
    // CJS dependencies call require() for node builtins: give the ESM bundle one
    // (and __dirname/__filename, which some of them read)
    banner: {
      js: [
        "import { createRequire as __decnetCreateRequire } from 'node:module';",
        "import { fileURLToPath as __decnetFileURLToPath } from 'node:url';",
        "import { dirname as __decnetDirname } from 'node:path';",
        'const require = __decnetCreateRequire(import.meta.url);',
        'const __filename = __decnetFileURLToPath(import.meta.url);',
        'const __dirname = __decnetDirname(__filename);',
      ].join(' '),
    },
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = process.argv[2];
  if (arg && arg.startsWith('-')) {
    console.error('usage: node scripts/bundle.mjs [OUTFILE]   (default: dist/honeypot.mjs)');
    process.exit(arg === '-h' || arg === '--help' ? 0 : 2);
  }
  const out = await bundle(arg);
  console.error(`bundled ${out}`);
}
