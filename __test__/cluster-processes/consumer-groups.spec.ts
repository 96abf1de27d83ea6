/**
 * Consumer groups against a 3-broker cluster of real processes: a KafkaJS group of two members
 * splits a 3-partition RF=3 topic, reads every message once and commits what it read; a kcat
 * balanced consumer (librdkafka's group protocol) reads everything.
 */
import { spawn } from 'node:child_process';
import test from 'ava';
import type { Consumer } from 'kafkajs';
import { eventually, type ProcessCluster } from './harness.js';
import { clusterWithTopic } from './requests.js';

const PARTITIONS = 3;
const MESSAGES = 90;

/** A 3-broker cluster holding `topic` (3 partitions, RF=3) with MESSAGES acknowledged messages. */
async function clusterWithMessages(t: import('ava').ExecutionContext, topic: string) {
  return clusterWithTopic(t, { name: topic, partitions: PARTITIONS });
}

async function produceAll(cluster: ProcessCluster, topic: string): Promise<string[]> {
  const producer = cluster.kafka('group-producer').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const values: string[] = [];
  try {
    for (let start = 0; start < MESSAGES; start += 10) {
      const messages = Array.from({ length: 10 }, (_, i) => ({
        partition: (start + i) % PARTITIONS,
        value: `v-${start + i}`,
      }));
      await producer.send({ topic, acks: -1, messages });
      values.push(...messages.map((message) => message.value));
    }
  } finally {
    await producer.disconnect();
  }
  return values;
}

test.serial(
  'a KafkaJS group of two members splits a 3-partition RF=3 topic, reads every message once and commits the end of each partition',
  async (t) => {
    t.timeout(150_000);
    const topic = 'events';
    const groupId = 'pair';
    const cluster = await clusterWithMessages(t, topic);
    const kafka = cluster.kafka('group-members');
    const received: Array<{ member: number; partition: number; value: string }> = [];
    const assignments = new Map<number, number[]>();
    const consumers: Consumer[] = [];
    t.teardown(() => Promise.all(consumers.map((consumer) => consumer.disconnect().catch(() => undefined))));
    for (const member of [0, 1]) {
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, heartbeatInterval: 500 });
      consumers.push(consumer);
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        assignments.set(member, [...(event.payload.memberAssignment[topic] ?? [])]);
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          received.push({ member, partition, value: message.value?.toString() ?? '' });
        },
      });
    }
    // Both members hold a share of one generation's assignment before anything is produced, so
    // no rebalance moves a partition while messages are read.
    await eventually(
      () => {
        const [first = [], second = []] = [assignments.get(0), assignments.get(1)];
        const all = [...first, ...second].sort();
        return first.length > 0 && second.length > 0 && all.join() === '0,1,2' ? true : undefined;
      },
      60_000,
      'both members holding disjoint shares of the three partitions',
    );
    const produced = await produceAll(cluster, topic);
    await eventually(
      () => (new Set(received.map((entry) => entry.value)).size >= MESSAGES ? true : undefined),
      60_000,
      `the group reading all ${MESSAGES} messages`,
    );
    t.deepEqual(received.map((entry) => entry.value).sort(), [...produced].sort(), 'every message once');
    for (const entry of received)
      t.true(
        assignments.get(entry.member)?.includes(entry.partition),
        `member ${entry.member} read only its own partitions`,
      );
    t.true(new Set(received.map((entry) => entry.member)).size === 2, 'both members read messages');

    // What the group committed: the end of every partition, read through the coordinator.
    const admin = kafka.admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    const ends = new Map(
      (await admin.fetchTopicOffsets(topic)).map((end) => [end.partition, Number(end.high)] as const),
    );
    const committed = await eventually(
      async () => {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const byPartition = new Map(offsets!.partitions.map((p) => [p.partition, Number(p.offset)] as const));
        return [...ends].every(([partition, end]) => byPartition.get(partition) === end)
          ? byPartition
          : undefined;
      },
      30_000,
      'the group committing the end of every partition',
    );
    t.deepEqual(
      [...committed].sort(([a], [b]) => a - b),
      [...ends].sort(([a], [b]) => a - b),
    );
  },
);

/**
 * Runs `kcat -G` (a balanced consumer) until it has printed `count` lines, then stops it: a
 * group consumer does not end at the end of the log by itself.
 */
function kcatGroupRead(brokers: string, groupId: string, topic: string, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'kcat',
      // -u: unbuffered output, or kcat holds its lines until it exits.
      ['-b', brokers, '-G', groupId, '-u', '-q', '-X', 'auto.offset.reset=earliest', '-f', '%s\n', topic],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let stderr = '';
    const lines = () => output.split('\n').filter((line) => line.length > 0);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kcat -G read ${lines().length} of ${count} messages: ${stderr}`));
    }, 90_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (lines().length >= count) {
        clearTimeout(timer);
        child.kill('SIGTERM');
        resolve(lines());
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
  });
}

test.serial('a kcat balanced consumer (-G) reads every message of a 3-partition RF=3 topic', async (t) => {
  t.timeout(150_000);
  const topic = 'lines';
  const cluster = await clusterWithMessages(t, topic);
  const produced = await produceAll(cluster, topic);
  const read = await kcatGroupRead(cluster.brokers().join(','), 'kcat-group', topic, MESSAGES);
  t.deepEqual([...read].sort(), [...produced].sort());
});
