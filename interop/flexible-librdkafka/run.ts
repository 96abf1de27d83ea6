/**
 * librdkafka (confluent-kafka from PyPI) on the versions it negotiates with goqueue: create a
 * topic, produce, a consumer group that commits, a second group's commit, both groups' offsets
 * and ListOffsets MAX_TIMESTAMP, against a broker started here; prints the versions it sent (its
 * protocol debug log). Exits 1 unless every record comes back, the commits read back and
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
const probe = spawnSync('python3', ['-c', 'import confluent_kafka'], { stdio: 'ignore' });
if (probe.status !== 0) {
  const install = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', 'confluent-kafka'], { stdio: 'inherit' });
  if (install.status !== 0) throw new Error('pip install confluent-kafka failed');
}

const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-interop-librdkafka-'));
const broker = await Broker.start({ dataDir, host: '127.0.0.1', port: 0, logger: pino({ level: 'warn' }) });
let ok = false;
try {
  // Asynchronous: the broker runs in this process and must answer meanwhile.
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
    execFile(
      'python3',
      [join(here, 'roundtrip.py'), `${broker.address.host}:${broker.address.port}`],
      { timeout: 180_000, maxBuffer: 64 * 1024 * 1024 },
      (_error, out, err) => resolve({ stdout: out, stderr: err }),
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
  if (!ok) console.log(stderr.trim().split('\n').slice(-20).join('\n'));
} finally {
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(ok ? 'ok' : 'FAIL');
process.exit(ok ? 0 : 1);
