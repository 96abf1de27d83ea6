/**
 * Runs benchmarks: `npm run bench` runs every `bench/*.bench.ts`; `npm run bench -- crc32c`
 * runs those whose name contains "crc32c". Each benchmark compares two things in one run and
 * prints the ratio; copy the figures into bench/RESULTS.md with the command that made them.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(' ')}`);
  process.exit(1);
}
let failed = 0;
for (const name of files) {
  console.log(`\n=== ${name}`);
  const run = spawnSync(process.execPath, ['--import=tsx', '--expose-gc', join(here, name)], {
    stdio: 'inherit',
  });
  if (run.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
