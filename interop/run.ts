/**
 * Runs the checks against real Kafka clients that are too slow or too heavy for `npm test`
 * (Java from Maven, Go modules, Python packages): `npm run interop` runs every
 * `interop/<name>/run.ts`; `npm run interop -- transactions` runs those whose folder name
 * contains "transactions". Each check exits non-zero when a client does not behave as recorded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const checks = readdirSync(here, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(here, entry.name, 'run.ts')))
  .map((entry) => entry.name)
  .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
  .sort();
if (checks.length === 0) {
  console.error(`no interop check matches ${filters.join(' ')}`);
  process.exit(1);
}
let failed = 0;
for (const name of checks) {
  console.log(`\n=== interop/${name}`);
  const run = spawnSync(process.execPath, ['--import=tsx', join(here, name, 'run.ts')], { stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
