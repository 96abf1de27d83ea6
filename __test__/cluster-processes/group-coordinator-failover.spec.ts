/**
 * Consumer-group coordination survives the loss of its broker: committed offsets and the group's
 * last generation live in the replicated `__consumer_offsets` topic, so after `kill -9` of the
 * coordinator's broker a new leader of the group's partition coordinates it, with every offset
 * committed before the kill.
 */
import test from 'ava';
import type { Admin, Consumer } from 'kafkajs';
import { ApiKey } from '../../src/protocol/index.js';
import { eventually, type ProcessCluster } from './harness.js';
import { clusterWithTopic, ErrorCode, withClient } from './requests.js';

const PARTITIONS = 3;

async function coordinatorOf(cluster: ProcessCluster, groupId: string): Promise<number> {
  const [first] = cluster.brokers();
  const port = Number(first!.split(':')[1]);
  return eventually(
    () =>
      withClient(port, async (client) => {
        const answer = await client.request(ApiKey.FindCoordinator, 2, { key: groupId, keyType: 0 });
        return answer.body.errorCode === ErrorCode.NONE ? (answer.body.nodeId as number) : undefined;
      }),
    30_000,
    `a coordinator for ${groupId}`,
  );
}

async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map(offsets!.partitions.map((p) => [p.partition, Number(p.offset)] as const));
}

async function endOffsets(admin: Admin, topic: string): Promise<Map<number, number>> {
  return new Map(
    (await admin.fetchTopicOffsets(topic)).map((end) => [end.partition, Number(end.high)] as const),
  );
}

test.serial(
  'kill -9 of the group coordinator: committed offsets survive, the running member keeps reading and committing through the new coordinator, and a restarted group resumes after the commits',
  async (t) => {
    t.timeout(240_000);
    const topic = 'work';
    const groupId = 'crew';
    const cluster = await clusterWithTopic(t, { name: topic, partitions: PARTITIONS });

    const kafka = cluster.kafka('failover-group');
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    t.teardown(() => producer.disconnect().catch(() => undefined));
    let next = 0;
    const produce = async (count: number): Promise<void> => {
      const messages = Array.from({ length: count }, () => ({
        partition: next % PARTITIONS,
        value: `v-${next++}`,
      }));
      await producer.send({ topic, acks: -1, messages });
    };
    await produce(60);

    const received = new Set<string>();
    const consumers: Consumer[] = [];
    t.teardown(() => Promise.all(consumers.map((consumer) => consumer.disconnect().catch(() => undefined))));
    const startMember = async (seen: Set<string>): Promise<Consumer> => {
      const consumer = kafka.consumer({
        groupId,
        maxWaitTimeInMs: 200,
        heartbeatInterval: 500,
        sessionTimeout: 10_000,
      });
      consumers.push(consumer);
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommitInterval: 200,
        eachMessage: async ({ message }) => {
          seen.add(message.value?.toString() ?? '');
        },
      });
      return consumer;
    };
    const member = await startMember(received);
    await eventually(
      () => (received.size >= 60 ? true : undefined),
      60_000,
      'the member reading 60 messages',
    );

    const admin = kafka.admin();
    await admin.connect();
    t.teardown(() => admin.disconnect().catch(() => undefined));
    const endsBefore = await endOffsets(admin, topic);
    await eventually(
      async () => {
        const committed = await committedOffsets(admin, groupId, topic);
        return [...endsBefore].every(([p, end]) => committed.get(p) === end) ? true : undefined;
      },
      30_000,
      'the member committing the end of every partition',
    );

    const coordinator = await coordinatorOf(cluster, groupId);
    await cluster.kill(coordinator);
    const survivor = [1, 2, 3].find((id) => id !== coordinator)!;
    const survivors = cluster.kafka('failover-admin');
    const survivorAdmin = survivors.admin();
    await survivorAdmin.connect();
    t.teardown(() => survivorAdmin.disconnect().catch(() => undefined));

    // Offsets committed before the kill are there at the new coordinator, never behind.
    const afterKill = await eventually(
      () => committedOffsets(survivorAdmin, groupId, topic).catch(() => undefined),
      60_000,
      'committed offsets from the new coordinator',
    );
    for (const [partition, end] of endsBefore)
      t.is(afterKill.get(partition), end, `partition ${partition}'s committed offset survived the kill`);
    const newCoordinator = await coordinatorOf(cluster, groupId);
    t.not(newCoordinator, coordinator);
    t.true([1, 2, 3].includes(newCoordinator) && newCoordinator !== coordinator, `survivor ${survivor} side`);

    // The running member keeps reading what is produced after the kill, and its commits land.
    await produce(30);
    await eventually(
      () => (received.size >= 90 ? true : undefined),
      90_000,
      'the member reading all 90 messages',
    );
    const endsAfter = await endOffsets(survivorAdmin, topic);
    await eventually(
      async () => {
        const committed = await committedOffsets(survivorAdmin, groupId, topic);
        return [...endsAfter].every(([p, end]) => committed.get(p) === end) ? true : undefined;
      },
      60_000,
      'commits through the new coordinator reaching the new ends',
    );
    await member.disconnect();

    // A restarted group resumes after its commits: it reads only what came later.
    await produce(12);
    const resumed = new Set<string>();
    await startMember(resumed);
    await eventually(
      () => (resumed.size >= 12 ? true : undefined),
      90_000,
      'the restarted group reading 12 new messages',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    t.deepEqual(
      [...resumed].sort(),
      Array.from({ length: 12 }, (_, i) => `v-${90 + i}`).sort(),
      'nothing committed was delivered again',
    );
  },
);
