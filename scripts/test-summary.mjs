// Sums the vitest JSON reports in .reports/ and prints the closing line CI reads.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.reports';
let passed = 0, failed = 0, skipped = 0, suitesFailed = 0;
const failures = [];
let files = [];
try { files = readdirSync(dir).filter((f) => f.endsWith('.json')); } catch { /* none */ }
for (const f of files.sort()) {
  const r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  for (const s of r.testResults ?? []) {
    if (s.status === 'failed' && (s.assertionResults ?? []).every((a) => a.status !== 'failed')) {
      suitesFailed += 1;
      failures.push(`${f}: ${s.name}: ${String(s.message ?? '').split('\n')[0]}`);
    }
    for (const a of s.assertionResults ?? []) if (a.status === 'failed') failures.push(`${f}: ${a.fullName}`);
  }
}
for (const line of failures) console.log(`FAILED ${line}`);
console.log(`reports: ${files.join(', ') || 'none'}`);
console.log(`${passed} passed, ${failed + suitesFailed} failed, ${skipped} skipped`);
process.exit(files.length === 0 || failed + suitesFailed > 0 ? 1 : 0);
