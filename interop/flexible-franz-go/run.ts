/**
 * franz-go (the Go client) on the versions it negotiates with goqueue: create a topic, produce,
 * a consumer group that commits, a second group's commit, both groups' offsets in one OffsetFetch
 * and ListOffsets MAX_TIMESTAMP, against a broker started here; prints the versions it wrote
 * (its own debug log). Exits 1 unless every record comes back, the commits read back and
 * max-timestamp finds a record.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Broker } from '../../src/broker/broker.js';

const here = dirname(fileURLToPath(import.meta.url));
const binary = join(mkdtempSync(join(tmpdir(), 'goqueue-interop-franz-')), 'franzgo');
const build = spawnSync('go', ['build', '-o', binary, '.'], { cwd: join(here, 'go'), stdio: 'inherit' });
if (build.status !== 0) throw new Error('go build failed');

const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-interop-franz-'));
const broker = await Broker.start({ dataDir, host: '127.0.0.1', port: 0, logger: pino({ level: 'warn' }) });
let ok = false;
try {
  // Asynchronous: the broker runs in this process and must answer meanwhile.
  const stdout = await new Promise<string>((resolve) =>
    execFile(binary, [`${broker.address.host}:${broker.address.port}`], { timeout: 180_000 }, (_error, out) =>
      resolve(out),
    ),
  );
  console.log(stdout.trim());
  const match = stdout.match(/produced (\d+) consumed (\d+) committed-offsets-sum (\d+) other-group-sum (\d+)/);
  const maxTimestamp = stdout.match(/list-offsets max-timestamp offset (-?\d+)/);
  ok =
    match !== null &&
    match[1] === match[2] &&
    Number(match[3]) >= Number(match[1]) &&
    match[4] === '3' &&
    maxTimestamp !== null &&
    Number(maxTimestamp[1]) >= 0;
} finally {
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(dirname(binary), { recursive: true, force: true });
}
console.log(ok ? 'ok' : 'FAIL');
process.exit(ok ? 0 : 1);
