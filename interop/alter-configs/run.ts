/**
 * The Java AdminClient 4.4 altering configs on a three-broker goqueue cluster (in process):
 * incrementalAlterConfigs SET / APPEND / DELETE on a topic and SET on the cluster-wide broker
 * resource, describeConfigs with sources, types, synonyms and documentation, validateOnly, and
 * Kafka's exceptions for an unknown key, APPEND to a number and a read-only broker key. Exits 1
 * unless every step answers as recorded. Runs through interop/java-admin.ts.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { checkAndExit, javaClasspath } from '../java-admin.js';

const here = dirname(fileURLToPath(import.meta.url));
const classpath = javaClasspath('alter-configs');

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
await checkAndExit({
  classpath,
  source: join(here, 'AlterConfigs.java'),
  bootstrap: cluster.bootstrap.join(','),
  expected,
  stop: () => cluster.stop(),
});
