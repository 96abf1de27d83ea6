/**
 * librdkafka (confluent-kafka from PyPI) on the versions it negotiates with goqueue: the shared
 * round trip (interop/round-trip.ts); prints the versions it sent (its protocol debug log).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRoundTrip } from '../round-trip.js';

const here = dirname(fileURLToPath(import.meta.url));
const probe = spawnSync('python3', ['-c', 'import confluent_kafka'], { stdio: 'ignore' });
if (probe.status !== 0) {
  const install = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', 'confluent-kafka'], { stdio: 'inherit' });
  if (install.status !== 0) throw new Error('pip install confluent-kafka failed');
}
await runRoundTrip({ command: 'python3', args: [join(here, 'roundtrip.py')] });
