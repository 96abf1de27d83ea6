/**
 * A 3-broker cluster of real processes on loopback, formed with the CLI's --initial-cluster:
 * RF=3 topics through KafkaJS with acks=all, kill -9 of a partition leader mid-stream and of
 * the controller leader, restart and catch-up, topic deletion on every broker.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { Kafka } from 'kafkajs';
import { kcat } from '../broker/helpers.js';
import { eventually, ProcessCluster } from './harness.js';

async function leaderOf(kafka: Kafka, topic: string, partition: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const found = metadata.topics[0]?.partitions.find((p) => p.partitionId === partition);
    if (found === undefined || found.leader < 0) throw new Error('no leader yet');
    return found.leader;
  } finally {
    await admin.disconnect();
  }
}

async function readAll(kafka: Kafka, topic: string, expected: number): Promise<Map<number, string[]>> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}`, maxWaitTimeInMs: 200 });
  const byPartition = new Map<number, string[]>();
  let count = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${count} of ${expected} messages`)), 60_000);
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const list = byPartition.get(partition) ?? [];
          list.push(message.value?.toString() ?? '');
          byPartition.set(partition, list);
          if (++count >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return byPartition;
}

test.serial(
  'three brokers form one cluster; an RF=3 topic survives kill -9 of its leader mid-stream with no acknowledged write lost',
  async (t) => {
    t.timeout(240_000);
    const cluster = await ProcessCluster.create(t, 3);
    await cluster.startAll();
    const kafka = cluster.kafka();
    const admin = kafka.admin();
    await admin.connect();
    // Every broker registers with the controller; Metadata then names all three.
    const described = await eventually(
      async () => {
        const cluster = await admin.describeCluster();
        return cluster.brokers.length === 3 && cluster.controller !== null && cluster.controller > 0
          ? cluster
          : undefined;
      },
      30_000,
      'three live brokers',
    );
    t.deepEqual(described.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
    await admin.createTopics({
      topics: [{ topic: 'orders', numPartitions: 1, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    const metadata = await admin.fetchTopicMetadata({ topics: ['orders'] });
    t.deepEqual([...(metadata.topics[0]?.partitions[0]?.replicas ?? [])].sort(), [1, 2, 3]);
    await admin.disconnect();

    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    await producer.connect();
    const acknowledged: string[] = [];
    let killed = -1;
    for (let i = 0; i < 300; i++) {
      if (i === 100) {
        killed = await leaderOf(kafka, 'orders', 0);
        await cluster.kill(killed);
      }
      const value = `m-${i}`;
      await producer.send({ topic: 'orders', acks: -1, messages: [{ value }] });
      acknowledged.push(value);
    }
    await producer.disconnect();
    t.is(acknowledged.length, 300);
    const newLeader = await leaderOf(cluster.kafka(), 'orders', 0);
    t.not(newLeader, killed, 'a new leader was elected');

    // Restart the killed broker: it catches up; then kill the new leader too and read everything
    // back through whichever of the other two leads now.
    await cluster.start(killed);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await cluster.kill(newLeader);
    const read = await readAll(cluster.kafka('reader'), 'orders', 300);
    const values = read.get(0) ?? [];
    const firstSeen = [...new Set(values)];
    t.deepEqual(
      firstSeen.filter((v) => acknowledged.includes(v)),
      acknowledged,
      'every acknowledged message is there once, in order',
    );
  },
);

test.serial(
  'kill -9 of the controller leader: admin requests work again within seconds; topic deletion reaches a broker that was down',
  async (t) => {
    t.timeout(240_000);
    const cluster = await ProcessCluster.create(t, 3);
    await cluster.startAll();
    let kafka = cluster.kafka();
    let admin = kafka.admin();
    await admin.connect();
    const controller = await eventually(
      async () => {
        const described = await admin.describeCluster();
        return described.brokers.length === 3 && (described.controller ?? -1) > 0
          ? described.controller!
          : undefined;
      },
      30_000,
      'a controller',
    );
    await admin.createTopics({
      topics: [{ topic: 'doomed', numPartitions: 2, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    await cluster.kill(controller);
    const started = Date.now();
    // A client that still names the dead controller fails over to another broker, as a user's
    // would after a metadata refresh; each attempt is a fresh admin client with short retries.
    await eventually(
      async () => {
        const attempt = cluster.kafka('after-failover').admin({ retry: { retries: 2 } });
        await attempt.connect();
        try {
          await attempt.createTopics({
            topics: [{ topic: 'after-failover', numPartitions: 1, replicationFactor: 2 }],
            waitForLeaders: false,
          });
        } finally {
          await attempt.disconnect();
        }
        return true;
      },
      30_000,
      'topic creation after the controller leader died',
    );
    kafka = cluster.kafka();
    admin = kafka.admin();
    await admin.connect();
    t.log(`admin available again ${Date.now() - started} ms after the kill`);
    const topics = await eventually(
      async () => {
        try {
          return await admin.listTopics();
        } catch (error) {
          const raw = cluster.kafka('probe').admin({ retry: { retries: 0 } });
          await raw.connect();
          const m = await raw.fetchTopicMetadata({ topics: ['after-failover'] }).catch((e) => String(e));
          t.log(Date.now() - started, JSON.stringify(m));
          for (const member of cluster.members.values())
            t.log(member.id, JSON.stringify(member.lines.filter((l) => l.msg === 'placing new replicas')));
          t.log(await kcat(['-L', '-b', cluster.brokers().join(',')]).catch((e) => String(e)));

          await raw.disconnect();
          throw error;
        }
      },
      30_000,
      'topics listed',
    );
    t.true(topics.includes('after-failover'));
    // Its replicas went to the two live brokers, so it elects a leader and takes writes.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'after-failover', acks: -1, messages: [{ value: 'x' }] });
    await producer.disconnect();
    // Delete a topic while the killed broker is down; its replicas must go when it returns.
    await admin.deleteTopics({ topics: ['doomed'] });
    await admin.disconnect();
    const downDir = join(cluster.member(controller).dataDir, 'partitions');
    const before = readdirSync(downDir).length;
    t.true(before >= 2, 'the down broker still holds the deleted topic replicas');
    await cluster.start(controller);
    await eventually(
      () => (readdirSync(downDir).length < before ? true : undefined),
      30_000,
      'the returning broker deleting its replicas of the deleted topic',
    );
    const check = cluster.kafka('check').admin();
    await check.connect();
    const placed =
      (await check.fetchTopicMetadata({ topics: ['after-failover'] })).topics[0]?.partitions[0]?.replicas ??
      [];
    await check.disconnect();
    for (const member of cluster.members.values()) {
      const dir = join(member.dataDir, 'partitions');
      const remaining = existsSync(dir) ? readdirSync(dir) : [];
      t.is(
        remaining.length,
        placed.includes(member.id) ? 1 : 0,
        `broker ${member.id} keeps only its after-failover replica, if any: ${remaining}`,
      );
    }
  },
);

test.serial('kcat produces and consumes through the cluster with acks=all', async (t) => {
  t.timeout(120_000);
  const cluster = await ProcessCluster.create(t, 3);
  await cluster.startAll();
  const admin = cluster.kafka().admin();
  await admin.connect();
  await eventually(
    async () => ((await admin.describeCluster()).brokers.length === 3 ? true : undefined),
    30_000,
    'brokers',
  );
  await admin.createTopics({
    topics: [{ topic: 'lines', numPartitions: 3, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const brokers = cluster.brokers().join(',');
  const input = Array.from({ length: 50 }, (_, i) => `line-${i}`).join('\n');
  await kcat(['-P', '-b', brokers, '-t', 'lines', '-X', 'acks=all', '-K', ':'], `${input}\n`);
  const output = await kcat(['-C', '-b', brokers, '-t', 'lines', '-e', '-q', '-f', '%s\n']);
  t.deepEqual(output.trim().split('\n').sort(), input.split('\n').sort());
});
