/**
 * Kafka's own command-line tools (kafka-tools 4.4 from Maven, run as classes) moving a replica on
 * a four-broker goqueue cluster (in process): kafka-topics creates a partition on [1,2,3],
 * kafka-reassign-partitions --execute moves it to [4,2,1] and --verify reports it completed,
 * kafka-topics --describe shows the new replicas, kafka-leader-election elects the preferred
 * replica (or finds it already elected) and is refused an unclean election. Exits 1 unless each
 * step prints what Kafka's tools print against Kafka.
 *
 * After reporting the move completed, --verify clears replication throttles with
 * IncrementalAlterConfigs (deleting `leader.replication.throttled.rate` and its kin on every
 * broker); while goqueue refuses those broker configs as unknown, the tool then prints that
 * error and exits 1. The check reads what it printed, not its exit status.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Broker } from '../../src/broker/broker.js';

const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'goqueue-interop-reassign-tools-'));
const classpathFile = join(work, 'classpath.txt');
const build = spawnSync('mvn', ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`], {
  cwd: here,
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (build.status !== 0) throw new Error('mvn dependency:build-classpath failed');
const classpath = readFileSync(classpathFile, 'utf8').trim();

const cluster = await Broker.startCluster({
  brokers: 4,
  brokerOptions: { logger: pino({ level: 'warn' }), leaderBalanceIntervalMs: 0, replicaBalance: false },
});
const bootstrap = cluster.bootstrap.join(',');

/** Runs one tool (asynchronously: the brokers run in this process) and returns what it printed. */
function tool(name: string, args: string[]): Promise<string> {
  return new Promise((resolve) =>
    execFile(
      'java',
      ['-cp', classpath, `org.apache.kafka.tools.${name}`, '--bootstrap-server', bootstrap, ...args],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (_error, out, err) => {
        const printed = `${out}${err}`;
        console.log(`$ ${name.split('.').at(-1)} ${args.join(' ')}\n${printed.trim()}\n`);
        resolve(printed);
      },
    ),
  );
}

const failures: string[] = [];
function expect(printed: string, pattern: RegExp, step: string): void {
  if (!pattern.test(printed)) failures.push(`${step}: expected ${pattern}`);
}

try {
  const moveFile = join(work, 'move.json');
  writeFileSync(
    moveFile,
    JSON.stringify({ version: 1, partitions: [{ topic: 'tools', partition: 0, replicas: [4, 2, 1] }] }),
  );
  expect(
    await tool('TopicCommand', ['--create', '--topic', 'tools', '--replica-assignment', '1:2:3']),
    /Created topic tools\./,
    'kafka-topics --create',
  );
  expect(
    await tool('reassign.ReassignPartitionsCommand', ['--reassignment-json-file', moveFile, '--execute']),
    /Successfully started partition reassignment for tools-0/,
    'kafka-reassign-partitions --execute',
  );
  let verified = '';
  for (let attempt = 0; attempt < 30 && !/tools-0 is completed/.test(verified); attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
    verified = await tool('reassign.ReassignPartitionsCommand', ['--reassignment-json-file', moveFile, '--verify']);
  }
  expect(verified, /Reassignment of partition tools-0 is completed\./, 'kafka-reassign-partitions --verify');
  expect(
    await tool('TopicCommand', ['--describe', '--topic', 'tools']),
    /Partition: 0\s+Leader: \d+\s+Replicas: 4,2,1\s/,
    'kafka-topics --describe',
  );
  expect(
    await tool('LeaderElectionCommand', ['--election-type', 'PREFERRED', '--topic', 'tools', '--partition', '0']),
    /Successfully completed leader election \(PREFERRED\) for partitions tools-0|Valid replica already elected for partitions tools-0/,
    'kafka-leader-election PREFERRED',
  );
  expect(
    await tool('LeaderElectionCommand', ['--election-type', 'UNCLEAN', '--topic', 'tools', '--partition', '0']),
    /unclean leader election is not supported/,
    'kafka-leader-election UNCLEAN',
  );
} finally {
  await cluster.stop();
  rmSync(work, { recursive: true, force: true });
}
for (const failure of failures) console.log(`missing: ${failure}`);
console.log(failures.length === 0 ? 'ok' : 'FAIL');
process.exit(failures.length === 0 ? 0 : 1);
