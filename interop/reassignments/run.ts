/**
 * The Java AdminClient 4.4 moving a replica on a four-broker goqueue cluster (in process):
 * alterPartitionReassignments, listPartitionReassignments, describeTopics until the move is
 * done, the refusals (NoReassignmentInProgressException, InvalidReplicaAssignmentException),
 * electLeaders PREFERRED and UNCLEAN. Exits 1 unless every step answers as Kafka would (unclean:
 * InvalidRequestException, goqueue's documented answer). Runs through interop/java-admin.ts.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { checkAndExit, javaClasspath } from '../java-admin.js';

const here = dirname(fileURLToPath(import.meta.url));
const classpath = javaClasspath('reassignments');

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
  brokerOptions: { logger: pino({ level: 'warn' }), leaderBalanceIntervalMs: 0, replicaBalance: false },
});
await checkAndExit({
  classpath,
  source: join(here, 'Reassign.java'),
  bootstrap: cluster.bootstrap.join(','),
  expected,
  stop: () => cluster.stop(),
});
