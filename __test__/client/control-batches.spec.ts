import test from 'ava';
import { Broker } from '../../src/broker/broker.js';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { memoryStorage } from '../broker/fixtures/memory-storage.js';
import { nativeStorageAvailable, temporaryDirectory } from '../broker/helpers.js';
import { storedBatches } from './control-batches.js';

test('the consumer never surfaces a Raft leader no-op: control batches at the start and mid-log are skipped and fetching moves past them', async (t) => {
  const dataDir = temporaryDirectory(t);
  const storage = nativeStorageAvailable ? {} : { storage: memoryStorage };
  let broker = await Broker.start({ dataDir, host: '127.0.0.1', port: 0, ...storage });
  const port = broker.address.port;
  t.teardown(() => broker.stop());
  const connect = (): Client => new Client({ brokers: [`127.0.0.1:${port}`] });
  let client = connect();
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'terms', partitions: 1 });
  const before = await new Producer(client).produceMessage({
    topic: 'terms',
    partition: 0,
    messages: [{ value: 'first term' }],
  });

  // A restart elects the partition's leader again (a new term), which appends another no-op.
  await client.close();
  await broker.stop();
  broker = await Broker.start({ dataDir, host: '127.0.0.1', port, ...storage });
  client = connect();
  const after = await new Producer(client).produceMessage({
    topic: 'terms',
    partition: 0,
    messages: [{ value: 'second term' }],
  });

  // The stored log: a control batch, the first record, a control batch, the second record.
  const stored = await storedBatches(client, 'terms', 0, 0);
  t.deepEqual(
    stored.map((batch) => [batch.baseOffset, batch.isControl]),
    [
      [0, true],
      [before.baseOffset, false],
      [before.baseOffset + 1, true],
      [after.baseOffset, false],
    ],
  );

  const consumer = new Consumer(client);
  const all = await consumer.fetchFrom({ topic: 'terms', partition: 0, offset: 0, maxWaitMs: 0 });
  t.deepEqual(
    all.messages.map((message) => [message.offset, message.value?.toString()]),
    [
      [before.baseOffset, 'first term'],
      [after.baseOffset, 'second term'],
    ],
  );
  t.is(all.nextOffset, after.baseOffset + 1);

  // A fetch whose answer is only the second leader's control batch (one batch fits in one
  // byte's worth: the broker always returns the first whole batch) gives no message and moves on.
  const onlyControl = await consumer.fetchFrom({
    topic: 'terms',
    partition: 0,
    offset: before.baseOffset + 1,
    maxBytes: 1,
    maxWaitMs: 0,
  });
  t.deepEqual(onlyControl.messages, []);
  t.is(onlyControl.nextOffset, before.baseOffset + 2);

  // A stream from the start reads both messages and nothing else.
  const streamed: Array<[number, string | undefined]> = [];
  for await (const message of consumer.stream({
    topic: 'terms',
    partition: 0,
    from: 'earliest',
    maxWaitMs: 10,
  })) {
    streamed.push([message.offset, message.value?.toString()]);
    if (streamed.length === 2) break;
  }
  t.deepEqual(streamed, [
    [before.baseOffset, 'first term'],
    [after.baseOffset, 'second term'],
  ]);
});
