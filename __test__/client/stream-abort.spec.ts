import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { bootstrap, startBroker } from '../broker/helpers.js';

test('aborting a stream stops it at the abort, not at the end of the fetched batch', async (t) => {
  const broker = await startBroker(t);
  const client = new Client({ brokers: [bootstrap(broker)], timeoutMs: 10_000 });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'abort', partitions: 1 });
  // One batch of 500 messages: one fetch returns all of them.
  await new Producer(client).produceMessage({
    topic: 'abort',
    partition: 0,
    messages: Array.from({ length: 500 }, (_, i) => ({ value: `m${i}` })),
  });
  const controller = new AbortController();
  const received: string[] = [];
  for await (const message of new Consumer(client).stream({
    topic: 'abort',
    partition: 0,
    from: 'earliest',
    signal: controller.signal,
  })) {
    received.push(String(message.value));
    if (received.length === 10) controller.abort();
  }
  t.deepEqual(
    received,
    Array.from({ length: 10 }, (_, i) => `m${i}`),
  );
});
