import test from 'ava';
import type { Kafka } from 'kafkajs';
import type { BrokerContext } from '../../src/broker/context.js';
import { kafkaFor, startBroker } from './helpers.js';

/**
 * Reads a partition without a consumer group, through kafkajs' own cluster and broker objects
 * (its Consumer always joins a group).
 */
async function fetchAll(
  kafka: Kafka,
  topic: string,
  partition: number,
): Promise<Array<{ key: string | null; value: string; offset: string }>> {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  )!;
  // biome-ignore lint/suspicious/noExplicitAny: kafkajs' internal cluster is untyped
  const cluster: any = (kafka as any)[symbol]({});
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    const leader = cluster
      .findTopicPartitionMetadata(topic)
      .find((p: { partitionId: number }) => p.partitionId === partition).leader;
    const broker = await cluster.findBroker({ nodeId: String(leader) });
    const messages: Array<{ key: string | null; value: string; offset: string }> = [];
    let offset = '0';
    for (;;) {
      const response = await broker.fetch({
        replicaId: -1,
        maxWaitTime: 10,
        minBytes: 1,
        maxBytes: 1024 * 1024,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset, maxBytes: 64 * 1024 }] }],
      });
      const data = response.responses[0].partitions[0];
      if (data.errorCode !== 0) throw new Error(`fetch error ${data.errorCode}`);
      let next = BigInt(offset);
      for (const message of data.messages) {
        if (BigInt(message.offset) < BigInt(offset)) continue;
        next = BigInt(message.offset) + 1n;
        // Control records (a Raft leader's no-op) take an offset; kafkajs' consumer skips them.
        if (message.isControlRecord) continue;
        messages.push({
          key: message.key?.toString() ?? null,
          value: message.value.toString(),
          offset: message.offset,
        });
      }
      const highWatermark = BigInt(data.highWatermark);
      offset = String(next);
      if (next >= highWatermark) break;
    }
    return messages;
  } finally {
    await cluster.disconnect();
  }
}

test('kafkajs admin creates, lists, describes and deletes topics; metadata names this broker as leader', async (t) => {
  const broker = await startBroker(t);
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  t.true(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }] }));
  t.false(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }] }));
  t.deepEqual(await admin.listTopics(), ['orders']);
  const metadata = await admin.fetchTopicMetadata({ topics: ['orders'] });
  const partitions = metadata.topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId);
  t.deepEqual(
    partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr]),
    [0, 1, 2].map((id) => [id, broker.brokerId, [broker.brokerId], [broker.brokerId]]),
  );
  await admin.createPartitions({ topicPartitions: [{ topic: 'orders', count: 5 }] });
  const grown = await admin.fetchTopicMetadata({ topics: ['orders'] });
  t.is(grown.topics[0]!.partitions.length, 5);
  await admin.deleteTopics({ topics: ['orders'] });
  t.deepEqual(await admin.listTopics(), []);
});

test('kafkajs admin sees CreateTopics errors: bad name, replication factor above 1, unknown config', async (t) => {
  const broker = await startBroker(t);
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const badName = await t.throwsAsync(admin.createTopics({ topics: [{ topic: 'bad name!' }] }));
  t.regex(
    JSON.stringify((badName as { errors?: unknown }).errors ?? badName!.message),
    /INVALID_TOPIC_EXCEPTION|invalid/i,
  );
  const replicated = await t.throwsAsync(
    admin.createTopics({ topics: [{ topic: 'rf', replicationFactor: 3 }] }),
  );
  t.regex(
    JSON.stringify((replicated as { errors?: unknown }).errors ?? replicated!.message),
    /INVALID_REPLICATION_FACTOR|replication/i,
  );
  await t.throwsAsync(
    admin.createTopics({ topics: [{ topic: 'cfg', configEntries: [{ name: 'no.such', value: '1' }] }] }),
  );
  t.deepEqual(await admin.listTopics(), []);
});

test('kafkajs describeConfigs returns topic overrides and broker configs', async (t) => {
  const broker = await startBroker(t);
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({
    topics: [{ topic: 'cfg', configEntries: [{ name: 'retention.ms', value: '60000' }] }],
  });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      { type: 2, name: 'cfg' },
      { type: 4, name: String(broker.brokerId) },
    ],
  });
  const topicEntries = described.resources[0]!.configEntries;
  t.is(topicEntries.find((e) => e.configName === 'retention.ms')?.configValue, '60000');
  t.truthy(topicEntries.find((e) => e.configName === 'segment.bytes'));
  const brokerEntries = described.resources[1]!.configEntries;
  t.is(brokerEntries.find((e) => e.configName === 'broker.id')?.configValue, String(broker.brokerId));
});

test('kafkajs producer (acks -1 and 1, gzip) writes messages a fetch reads back with keys, values and offsets', async (t) => {
  const broker = await startBroker(t);
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const first = await producer.send({
    topic: 'events',
    acks: -1,
    messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
  });
  t.is(first[0]!.errorCode, 0);
  // The leader's no-op (a control batch) may come first: offsets count from the first produce's.
  const base = Number(first[0]!.baseOffset);
  const at = (delta: number) => String(base + delta);
  const second = await producer.send({
    topic: 'events',
    acks: 1,
    compression: 1,
    messages: Array.from({ length: 50 }, (_, i) => ({ key: null, value: `gz${i}` })),
  });
  t.is(second[0]!.baseOffset, at(50));
  const messages = await fetchAll(kafka, 'events', 0);
  t.is(messages.length, 100);
  t.deepEqual(messages.slice(0, 2), [
    { key: 'k0', value: 'v0', offset: at(0) },
    { key: 'k1', value: 'v1', offset: at(1) },
  ]);
  t.deepEqual(messages.at(-1), { key: null, value: 'gz49', offset: at(99) });
  const offsets = await (async () => {
    const a = kafka.admin();
    await a.connect();
    try {
      return await a.fetchTopicOffsets('events');
    } finally {
      await a.disconnect();
    }
  })();
  t.deepEqual(
    offsets.map((o) => [o.partition, o.low, o.high]),
    [[0, '0', at(100)]],
  );
});

test('kafkajs idempotent producer (InitProducerId, sequenced batches) writes each message exactly once', async (t) => {
  const broker = await startBroker(t);
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'once' }] });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  for (let i = 0; i < 5; i++) await producer.send({ topic: 'once', messages: [{ value: `m${i}` }] });
  const messages = await fetchAll(kafka, 'once', 0);
  t.deepEqual(
    messages.map((m) => m.value),
    ['m0', 'm1', 'm2', 'm3', 'm4'],
  );
});

test('deleting a topic removes its partition directories; topics and configs survive an embedded restart', async (t) => {
  const { existsSync } = await import('node:fs');
  const { partitionDirectory } = await import('../../src/broker/topics.js');
  const first = await startBroker(t);
  // Partition directories are keyed by topic id, which kafkajs' metadata does not carry.
  const topicId = (name: string): string => {
    const internals = first as unknown as { context: BrokerContext };
    const id = internals.context.topics.get(name)?.record.topicId;
    if (id === undefined) throw new Error(`no topic ${name}`);
    return id;
  };
  const dataDir = first.config.dataDir;
  const admin = kafkaFor(first).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'keep', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '1234' }] },
      { topic: 'drop', numPartitions: 2 },
    ],
  });
  const [dropId, keepId] = [topicId('drop'), topicId('keep')];
  t.not(dropId, keepId);
  const directories = (id: string) => [0, 1].map((partition) => partitionDirectory(dataDir, id, partition));
  t.deepEqual(directories(dropId).map(existsSync), [true, true]);
  await admin.deleteTopics({ topics: ['drop'] });
  await admin.disconnect();
  t.deepEqual(directories(dropId).map(existsSync), [false, false]);
  t.deepEqual(directories(keepId).map(existsSync), [true, true]);
  await first.stop();
  const second = await startBroker(t, { dataDir });
  const again = kafkaFor(second).admin();
  await again.connect();
  t.teardown(() => again.disconnect());
  t.deepEqual(await again.listTopics(), ['keep']);
  t.deepEqual(directories(keepId).map(existsSync), [true, true]);
  const described = await again.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: 2, name: 'keep', configNames: ['retention.ms'] }],
  });
  t.is(described.resources[0]!.configEntries[0]!.configValue, '1234');
});
