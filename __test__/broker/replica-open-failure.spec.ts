/**
 * Opening a partition replica can fail at any step (a file that cannot be read, a state that
 * does not decode). The reconciler retries it with backoff; for the retry to work, a failed open
 * must leave nothing behind: no log left open beside the next attempt's, and no Raft group left
 * on the node (the retry then failed with "group N exists" forever and the partition was never
 * served). Each step is made to fail once here, in an embedded broker.
 */
import test from 'ava';
import type { Broker } from '../../src/broker/broker.js';
import type { BrokerContext } from '../../src/broker/context.js';
import { PartitionReplica } from '../../src/broker/partition-replica.js';
import { NativeLog } from '../../src/storage/native-log.js';
import { kafkaFor, nativeStorageAvailable, startBroker } from './helpers.js';

/** Directories this process holds open more than once (a failed open leaked its log). */
function openedTwice(): string[] {
  const seen = new Map<string, number>();
  for (const log of NativeLog.openLogs()) seen.set(log.directory, (seen.get(log.directory) ?? 0) + 1);
  return [...seen].filter(([, count]) => count > 1).map(([directory]) => directory);
}

function topicsOf(broker: Broker): BrokerContext['topics'] {
  return (broker as unknown as { context: BrokerContext }).context.topics;
}

/** Produces one record to partition 0 of `topic` and reads it back, retrying while it opens. */
async function servedRoundTrip(broker: Broker, topic: string): Promise<string[]> {
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer();
  await producer.connect();
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await producer.send({ topic, acks: -1, messages: [{ value: 'served' }] });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await producer.disconnect();
  }
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('nothing read back in 30 s')), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value?.toString() ?? '');
          clearTimeout(timer);
          resolve();
        },
      });
    });
    return values;
  } finally {
    await consumer.disconnect();
  }
}

test('a replica whose open fails after its Raft group was added opens on the retry and is served', async (t) => {
  t.timeout(90_000);
  const broker = await startBroker(t);
  const original = PartitionReplica.prototype.restoreLogStart;
  let failures = 0;
  PartitionReplica.prototype.restoreLogStart = function (this: PartitionReplica, ...args) {
    if (this.topic === 'fails-after-add' && failures === 0) {
      failures++;
      throw new Error('injected: restoring the log start failed');
    }
    return original.apply(this, args);
  };
  t.teardown(() => {
    PartitionReplica.prototype.restoreLogStart = original;
  });
  t.deepEqual(await servedRoundTrip(broker, 'fails-after-add'), ['served']);
  t.is(failures, 1, 'the first open failed');
  if (nativeStorageAvailable) t.deepEqual(openedTwice(), [], 'no log is open twice');
});

test('a replica whose open fails after its log was opened opens on the retry and is served', async (t) => {
  t.timeout(90_000);
  const broker = await startBroker(t);
  const topics = topicsOf(broker);
  const before = topics.beforeOpen;
  let failures = 0;
  topics.beforeOpen = async (directory, log) => {
    // The broker is new: the first replica it opens is the topic's (groups come later).
    if (failures === 0) {
      failures++;
      throw new Error('injected: restoring committed entries failed');
    }
    await before?.(directory, log);
  };
  t.deepEqual(await servedRoundTrip(broker, 'fails-before-add'), ['served']);
  t.is(failures, 1, 'the first open failed');
  if (nativeStorageAvailable) t.deepEqual(openedTwice(), [], 'no log is open twice');
});
