import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { Consumer } from '../../src/client/consumer.js';
import { KafkaProtocolError } from '../../src/client/errors.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { Producer } from '../../src/client/producer.js';
import { bootstrap, startBroker } from '../broker/helpers.js';
import { assertFirstRecordFollowsControlBatches } from './control-batches.js';

async function setup(t: Parameters<typeof startBroker>[0]) {
  const broker = await startBroker(t);
  const client = new Client({ brokers: [bootstrap(broker)], clientId: 'roundtrip', timeoutMs: 5_000 });
  t.teardown(() => client.close());
  return {
    broker,
    client,
    admin: new Admin(client),
    producer: new Producer(client),
    consumer: new Consumer(client),
  };
}

test('produceMessage returns consecutive offsets and fetchFrom reads the same keys, values and headers back', async (t) => {
  const { admin, client, producer, consumer } = await setup(t);
  await admin.createTopic({ name: 'orders', partitions: 1 });
  const first = await producer.produceMessage({
    topic: 'orders',
    partition: 0,
    messages: [
      { key: 'k1', value: 'hello', headers: { source: 'test' } },
      { key: null, value: Buffer.from([0, 1, 2]) },
      { key: 'k3', value: null },
    ],
  });
  // The first record follows the partition leader's no-op (a control batch at offset 0).
  const base = first.baseOffset;
  await assertFirstRecordFollowsControlBatches(t, client, 'orders', 0, base);
  t.deepEqual(first.offsets, [base, base + 1, base + 2]);
  const second = await producer.produceMessage({
    topic: 'orders',
    partition: 0,
    messages: [{ value: 'again' }],
  });
  t.deepEqual(second.offsets, [base + 3]);

  const fetched = await consumer.fetchFrom({
    topic: 'orders',
    partition: 0,
    offset: base + 1,
    maxBytes: 1 << 20,
  });
  t.deepEqual(
    fetched.messages.map((m) => [m.offset, m.key?.toString() ?? null, m.value?.toString('hex') ?? null]),
    [
      [base + 1, null, '000102'],
      [base + 2, 'k3', null],
      [base + 3, null, Buffer.from('again').toString('hex')],
    ],
  );
  t.is(fetched.nextOffset, base + 4);
  t.is(fetched.highWatermark, base + 4);
  // From offset 0 the control batch is skipped: the first message is the first record.
  const all = await consumer.fetchFrom({ topic: 'orders', partition: 0, offset: 0 });
  t.is(all.messages[0]?.offset, base);
  t.deepEqual(
    all.messages[0]?.headers.map((h) => [h.key, h.value?.toString()]),
    [['source', 'test']],
  );
});

test('keyed messages land on the partition the Java default partitioner picks', async (t) => {
  const { admin, producer, consumer } = await setup(t);
  await admin.createTopic({ name: 'keyed', partitions: 5 });
  const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
  for (const key of keys) {
    const result = await producer.produceMessage({ topic: 'keyed', messages: [{ key, value: `v-${key}` }] });
    t.is(result.partition, partitionForKey(Buffer.from(key), 5), key);
  }
  for (let partition = 0; partition < 5; partition++) {
    const fetched = await consumer.fetchFrom({ topic: 'keyed', partition, offset: 0, maxWaitMs: 0 });
    for (const message of fetched.messages) {
      t.is(partitionForKey(message.key as Buffer, 5), partition);
    }
  }
});

test('send() batches records, resolves each with its offset, and flush() waits for all', async (t) => {
  const { admin, client, consumer } = await setup(t);
  await admin.createTopic({ name: 'batched', partitions: 1 });
  const producer = new Producer(client, { lingerMs: 20, batchBytes: 1_000 });
  const sends = Array.from({ length: 100 }, (_, i) =>
    producer.send({ topic: 'batched', partition: 0, value: `message-${i}` }),
  );
  await producer.flush();
  const results = await Promise.all(sends);
  const base = results[0]?.offset ?? -1;
  await assertFirstRecordFollowsControlBatches(t, client, 'batched', 0, base);
  t.deepEqual(
    results.map((r) => r.offset),
    Array.from({ length: 100 }, (_, i) => base + i),
  );
  const seen: string[] = [];
  let offset = 0;
  while (seen.length < 100) {
    const fetched = await consumer.fetchFrom({ topic: 'batched', partition: 0, offset, maxWaitMs: 0 });
    seen.push(...fetched.messages.map((m) => m.value?.toString() ?? ''));
    offset = fetched.nextOffset;
  }
  t.deepEqual(
    seen,
    Array.from({ length: 100 }, (_, i) => `message-${i}`),
  );
});

test('stream() yields from earliest, then follows new messages as they are produced', async (t) => {
  const { admin, producer, consumer } = await setup(t);
  await admin.createTopic({ name: 'live', partitions: 1 });
  await producer.produceMessage({ topic: 'live', partition: 0, messages: [{ value: 'a' }, { value: 'b' }] });
  const controller = new AbortController();
  const seen: string[] = [];
  const reading = (async () => {
    for await (const message of consumer.stream({
      topic: 'live',
      partition: 0,
      from: 'earliest',
      maxWaitMs: 50,
      signal: controller.signal,
    })) {
      seen.push(message.value?.toString() ?? '');
      if (seen.length === 2) {
        await producer.produceMessage({ topic: 'live', partition: 0, messages: [{ value: 'c' }] });
      }
      if (seen.length === 3) break;
    }
  })();
  await reading;
  controller.abort();
  t.deepEqual(seen, ['a', 'b', 'c']);
});

test("stream() from 'latest' skips what is already there; a number starts at that offset", async (t) => {
  const { admin, producer, consumer } = await setup(t);
  await admin.createTopic({ name: 'positions', partitions: 1 });
  const old = await producer.produceMessage({
    topic: 'positions',
    partition: 0,
    messages: [{ value: 'old-0' }, { value: 'old-1' }, { value: 'old-2' }],
  });
  const [, second, third] = old.offsets as [number, number, number];
  t.is(await consumer.resolveOffset('positions', 0, 'latest'), third + 1);
  // The log starts at 0, with the partition leader's no-op (a control batch) before old-0.
  t.is(await consumer.resolveOffset('positions', 0, 'earliest'), 0);
  const fromOne: string[] = [];
  for await (const message of consumer.stream({
    topic: 'positions',
    partition: 0,
    from: second,
    maxWaitMs: 10,
  })) {
    fromOne.push(message.value?.toString() ?? '');
    if (fromOne.length === 2) break;
  }
  t.deepEqual(fromOne, ['old-1', 'old-2']);
  const latest = consumer.stream({ topic: 'positions', partition: 0, from: 'latest', maxWaitMs: 10 });
  const next = latest.next();
  next.catch(() => undefined); // awaited below; keeps a failure from counting as unhandled meanwhile
  await new Promise((resolve) => setTimeout(resolve, 50));
  await producer.produceMessage({ topic: 'positions', partition: 0, messages: [{ value: 'new' }] });
  t.is((await next).value?.value?.toString(), 'new');
  await latest.return(undefined);
});

test('batches() hands over whole fetched batches with the lag behind the high watermark', async (t) => {
  const { admin, producer, consumer } = await setup(t);
  await admin.createTopic({ name: 'bulk', partitions: 1 });
  const offsets: number[] = [];
  for (let i = 0; i < 3; i++) {
    const result = await producer.produceMessage({
      topic: 'bulk',
      partition: 0,
      messages: Array.from({ length: 10 }, (_, j) => ({ value: `${i}-${j}` })),
    });
    offsets.push(...result.offsets);
  }
  // The high watermark counts the leader's no-op (a control batch) too: one past the last record.
  const highWatermark = (offsets[offsets.length - 1] ?? -1) + 1;
  let total = 0;
  for await (const batch of consumer.batches({
    topic: 'bulk',
    partition: 0,
    from: 'earliest',
    maxWaitMs: 10,
  })) {
    t.true(batch.messages.length > 0);
    t.is(batch.highWatermark, highWatermark);
    total += batch.messages.length;
    t.is(batch.lag, 30 - total);
    t.is(batch.messages[batch.messages.length - 1]?.offset, offsets[total - 1]);
    if (total === 30) break;
  }
  t.is(total, 30);
});

test('admin: list, describe (leader, replicas, ISR, offsets), add partitions, describe cluster, delete', async (t) => {
  const { broker, admin, producer, consumer } = await setup(t);
  await admin.createTopic({ name: 'admin-a', partitions: 2 });
  await admin.createTopic({ name: 'admin-b', partitions: 1 });
  t.deepEqual(
    (await admin.listTopics()).map((x) => [x.name, x.partitions]),
    [
      ['admin-a', 2],
      ['admin-b', 1],
    ],
  );
  const produced = await producer.produceMessage({
    topic: 'admin-a',
    partition: 1,
    messages: [{ value: '1' }, { value: '2' }],
  });
  const described = await admin.describeTopic('admin-a');
  t.is(described.partitions.length, 2);
  const p1 = described.partitions[1];
  t.is(p1?.leader, broker.brokerId);
  t.deepEqual(p1?.replicas, [broker.brokerId]);
  t.deepEqual(p1?.isr, [broker.brokerId]);
  t.is(p1?.startOffset, 0);
  t.is(p1?.endOffset, (produced.offsets[1] ?? -1) + 1);
  // Partition 0 holds no message, only its leader's no-op: its end offset is where the next
  // message lands.
  const p0 = described.partitions[0];
  t.is(p0?.startOffset, 0);
  t.deepEqual(
    (await consumer.fetchFrom({ topic: 'admin-a', partition: 0, offset: 0, maxWaitMs: 0 })).messages,
    [],
  );
  const next = await producer.produceMessage({ topic: 'admin-a', partition: 0, messages: [{ value: '0' }] });
  t.is(p0?.endOffset, next.baseOffset);

  await admin.createPartitions({ topic: 'admin-b', count: 3 });
  t.is((await admin.describeTopic('admin-b')).partitions.length, 3);

  const cluster = await admin.describeCluster();
  t.is(cluster.controllerId, broker.brokerId);
  t.deepEqual(
    cluster.brokers.map((b) => [b.nodeId, b.port]),
    [[broker.brokerId, broker.address.port]],
  );

  await admin.deleteTopic('admin-b');
  t.deepEqual(
    (await admin.listTopics()).map((x) => x.name),
    ['admin-a'],
  );
});

test('creating an existing topic fails with TOPIC_ALREADY_EXISTS, not retried', async (t) => {
  const { admin } = await setup(t);
  await admin.createTopic({ name: 'twice', partitions: 1 });
  const error = await t.throwsAsync(admin.createTopic({ name: 'twice', partitions: 1 }));
  t.true(error instanceof KafkaProtocolError);
  t.is((error as KafkaProtocolError).code, 36);
  t.false((error as KafkaProtocolError).retriable);
});

test('producing to or fetching from an unknown topic fails with UNKNOWN_TOPIC_OR_PARTITION and a hint', async (t) => {
  const { producer, consumer } = await setup(t);
  const produced = await t.throwsAsync(
    producer.produceMessage({ topic: 'missing', messages: [{ value: 'x' }] }),
  );
  t.true(produced instanceof KafkaProtocolError);
  t.is((produced as KafkaProtocolError).code, 3);
  t.regex(produced.message, /topic "missing".*create the topic first/);
  const fetched = await t.throwsAsync(consumer.fetchFrom({ topic: 'missing', partition: 0, offset: 0 }));
  t.is((fetched as KafkaProtocolError).code, 3);
});

test('fetching past the end of the log fails with OFFSET_OUT_OF_RANGE', async (t) => {
  const { admin, producer, consumer } = await setup(t);
  await admin.createTopic({ name: 'short', partitions: 1 });
  await producer.produceMessage({ topic: 'short', partition: 0, messages: [{ value: 'only' }] });
  const error = await t.throwsAsync(
    consumer.fetchFrom({ topic: 'short', partition: 0, offset: 50, maxWaitMs: 0 }),
  );
  t.is((error as KafkaProtocolError).code, 1);
});

test('a partition beyond the topic fails without retries, naming the partition count', async (t) => {
  const { admin, producer } = await setup(t);
  await admin.createTopic({ name: 'two', partitions: 2 });
  const error = await t.throwsAsync(
    producer.produceMessage({ topic: 'two', partition: 7, messages: [{ value: 'x' }] }),
  );
  t.regex(error.message, /partition 7.*2 partitions/);
});

test('a { timestamp } start position begins at the first message at or after that time', async (t) => {
  const { admin, producer, consumer } = await setup(t);
  await admin.createTopic({ name: 'timed', partitions: 1 });
  const timed = await producer.produceMessage({
    topic: 'timed',
    partition: 0,
    messages: [
      { value: 'early', timestamp: 1_000_000 },
      { value: 'middle', timestamp: 2_000_000 },
      { value: 'late', timestamp: 3_000_000 },
    ],
  });
  const [, middle, late] = timed.offsets as [number, number, number];
  t.is(await consumer.resolveOffset('timed', 0, { timestamp: 1_500_000 }), middle);
  t.is(
    await consumer.resolveOffset('timed', 0, { timestamp: 9_000_000 }),
    late + 1,
    'past the last message: the end',
  );
  const first = await consumer
    .stream({ topic: 'timed', partition: 0, from: { timestamp: 2_500_000 }, maxWaitMs: 10 })
    .next();
  t.is(first.value?.value?.toString(), 'late');
  t.is(first.value?.timestamp, 3_000_000);
});

test('keyless send() sticks to one partition per batch (sticky partitioner)', async (t) => {
  const { admin, client } = await setup(t);
  await admin.createTopic({ name: 'sticky', partitions: 4 });
  const producer = new Producer(client, { lingerMs: 1_000, batchBytes: 1 << 20 });
  const sends = Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'sticky', value: `v${i}` }));
  await producer.flush();
  const partitions = new Set((await Promise.all(sends)).map((r) => r.partition));
  t.is(partitions.size, 1);
});

test('describeConfigs returns the topic configs the broker reports', async (t) => {
  const { admin } = await setup(t);
  await admin.createTopic({ name: 'configured', partitions: 1, configs: { 'retention.ms': '60000' } });
  const entries = await admin.describeConfigs({ type: 'topic', name: 'configured' });
  const retention = entries.find((e) => e.name === 'retention.ms');
  t.is(retention?.value, '60000');
  t.false(retention?.isDefault);
});

test('a batch above the broker max_message_size fails with MESSAGE_TOO_LARGE at once, with a hint', async (t) => {
  const broker = await startBroker(t, { maxMessageBytes: 64 * 1024 });
  const client = new Client({
    brokers: [bootstrap(broker)],
    retry: { retries: 5, initialMs: 1_000, maxMs: 1_000 },
  });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'small', partitions: 1 });
  const error = await t.throwsAsync(
    new Producer(client).produceMessage({
      topic: 'small',
      partition: 0,
      messages: [{ value: Buffer.alloc(100 * 1024) }],
    }),
  );
  t.true(error instanceof KafkaProtocolError);
  t.is((error as KafkaProtocolError).code, 10);
  t.false((error as KafkaProtocolError).retriable);
  t.regex(error.message, /max_message_size/);
});

test('send() keeps call order within a partition even while the topic metadata is still loading', async (t) => {
  const { admin, broker } = await setup(t);
  await admin.createTopic({ name: 'ordered', partitions: 1 });
  // A fresh client: nothing cached, so the first sends wait for metadata.
  const client = new Client({ brokers: [bootstrap(broker)] });
  t.teardown(() => client.close());
  const producer = new Producer(client, { lingerMs: 10_000 });
  const sends = Array.from({ length: 30 }, (_, i) =>
    i % 3 === 0
      ? producer.send({ topic: 'ordered', partition: 0, value: `${i}` })
      : producer.send({ topic: 'ordered', key: i % 2 ? 'odd' : null, value: `${i}` }),
  );
  let settled = 0;
  for (const sent of sends) void sent.then(() => settled++);
  await producer.flush();
  await new Promise((resolve) => setImmediate(resolve));
  // flush() covered the sends still waiting for metadata (the linger alone would take 10 s).
  t.is(settled, 30);
  const offsets = (await Promise.all(sends)).map((r) => r.offset);
  const base = offsets[0] ?? -1;
  await assertFirstRecordFollowsControlBatches(t, client, 'ordered', 0, base);
  t.deepEqual(
    offsets,
    Array.from({ length: 30 }, (_, i) => base + i),
  );
});

test('admin calls on a missing topic fail with UNKNOWN_TOPIC_OR_PARTITION without retrying', async (t) => {
  const broker = await startBroker(t);
  const sleeps: number[] = [];
  const client = new Client({
    brokers: [bootstrap(broker)],
    clock: {
      nowMs: () => performance.now(),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  });
  t.teardown(() => client.close());
  const admin = new Admin(client);
  for (const call of [
    () => admin.describeConfigs({ type: 'topic', name: 'ghost' }),
    () => admin.deleteTopic('ghost'),
    () => admin.createPartitions({ topic: 'ghost', count: 3 }),
    () => admin.describeTopic('ghost'),
  ]) {
    const error = await t.throwsAsync(call());
    t.is((error as KafkaProtocolError).code, 3);
    t.regex(error.message, /ghost/);
  }
  t.deepEqual(sleeps, []);
});
