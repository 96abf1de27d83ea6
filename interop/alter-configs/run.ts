/**
 * The Java AdminClient 4.4 altering configs on a three-broker goqueue cluster (in process):
 * incrementalAlterConfigs SET / APPEND / DELETE on a topic and SET on the cluster-wide broker
 * resource, describeConfigs with sources, types, synonyms and documentation, validateOnly, and
 * Kafka's exceptions for an unknown key, APPEND to a number and a read-only broker key. Exits 1
 * unless every step answers as recorded. Uses interop/flexible/java's Maven dependencies
 * (kafka-clients 4.4).
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Broker } from '../../src/broker/broker.js';

const here = dirname(fileURLToPath(import.meta.url));
const classpathFile = join(tmpdir(), 'goqueue-interop-alter-configs-classpath.txt');
const build = spawnSync('mvn', ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`], {
  cwd: join(here, '..', 'flexible', 'java'),
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (build.status !== 0) throw new Error('mvn dependency:build-classpath failed');
const classpath = readFileSync(classpathFile, 'utf8').trim();

const expected = [
  /^retention\.ms 123456 DYNAMIC_TOPIC_CONFIG LONG synonyms \[DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG\] documented$/m,
  /^retention\.bytes 1048576 DYNAMIC_DEFAULT_BROKER_CONFIG LONG synonyms \[DYNAMIC_DEFAULT_BROKER_CONFIG, DEFAULT_CONFIG\] documented$/m,
  /^cleanup\.policy delete DYNAMIC_TOPIC_CONFIG LIST synonyms \[DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG\] documented$/m,
  /^after validate-only 123456$/m,
  /^unknown-key InvalidConfigurationException: unknown topic config no\.such\.key$/m,
  /^append-to-number InvalidConfigurationException: retention\.ms is not a list/m,
  /^read-only-broker-key InvalidRequestException: broker config log\.segment\.bytes is read-only/m,
  /^after delete \d+ DEFAULT_CONFIG LONG synonyms \[DEFAULT_CONFIG\] documented$/m,
];

const cluster = await Broker.startCluster({ brokers: 3, brokerOptions: { logger: pino({ level: 'warn' }) } });
let ok = false;
try {
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
    execFile(
      'java',
      ['-cp', classpath, join(here, 'AlterConfigs.java'), cluster.bootstrap.join(',')],
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
