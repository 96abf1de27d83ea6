/**
 * The Java AdminClient 4.4 moving a replica on a four-broker goqueue cluster (in process):
 * alterPartitionReassignments, listPartitionReassignments, describeTopics until the move is
 * done, the refusals (NoReassignmentInProgressException, InvalidReplicaAssignmentException),
 * electLeaders PREFERRED and UNCLEAN. Exits 1 unless every step answers as Kafka would (unclean:
 * InvalidRequestException, goqueue's documented answer). Uses interop/flexible/java's Maven
 * dependencies (kafka-clients 4.4).
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Broker } from '../../src/broker/broker.js';

const here = dirname(fileURLToPath(import.meta.url));
const classpathFile = join(tmpdir(), 'goqueue-interop-reassignments-classpath.txt');
const build = spawnSync('mvn', ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`], {
  cwd: join(here, '..', 'flexible', 'java'),
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (build.status !== 0) throw new Error('mvn dependency:build-classpath failed');
const classpath = readFileSync(classpathFile, 'utf8').trim();

const expected = [
  /^created \[1, 2, 3\]$/m,
  /^listed (already done|replicas \[4, 2, 1, 3\] adding \[4\] removing \[3\])$/m,
  /^moved \[4, 2, 1\]$/m,
  /^cancel-without-move NoReassignmentInProgressException$/m,
  /^broker-twice InvalidReplicaAssignmentException$/m,
  /^elect-preferred none$/m,
  /^leader-is-preferred true$/m,
  /^elect-unclean InvalidRequestException$/m,
];

const cluster = await Broker.startCluster({
  brokers: 4,
  brokerOptions: { logger: pino({ level: 'warn' }), leaderBalanceIntervalMs: 0 },
});
let ok = false;
try {
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
    execFile(
      'java',
      ['-cp', classpath, join(here, 'Reassign.java'), cluster.bootstrap.join(',')],
      { timeout: 240_000, maxBuffer: 64 * 1024 * 1024 },
      (_error, out, err) => resolve({ stdout: out, stderr: err }),
    ),
  );
  console.log(stdout.trim());
  const missing = expected.filter((line) => !line.test(stdout));
  ok = missing.length === 0;
  if (!ok) {
    console.log(`missing: ${missing.map(String).join(', ')}`);
    console.log(stderr.trim().split('\n').slice(-30).join('\n'));
  }
} finally {
  await cluster.stop();
}
console.log(ok ? 'ok' : 'FAIL');
process.exit(ok ? 0 : 1);
