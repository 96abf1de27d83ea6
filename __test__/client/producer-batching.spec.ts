import test from 'ava';
import { Client } from '../../src/client/client.js';
import { KafkaProtocolError } from '../../src/client/errors.js';
import { Producer } from '../../src/client/producer.js';
import { decodeRecordBatches } from '../../src/protocol/records.js';
import { FakeBroker, singleBrokerMetadata } from './fake-broker.js';

/** A one-broker cluster whose Produce answers are scripted per partition. */
async function scriptedCluster(answer: (partition: number, attempt: number) => number) {
  const produceRequests: Array<Array<{ partition: number; records: number }>> = [];
  const attempts = new Map<number, number>();
  let nextOffset = 0;
  let port = 0;
  const fake = await FakeBroker.start({
    onRequest: (r) => {
      if (r.apiKey === 3) {
        r.reply(singleBrokerMetadata(port, 'orders', 3));
        return;
      }
      if (r.apiKey !== 0) return;
      const seen: Array<{ partition: number; records: number }> = [];
      const responses = r.body.topicData.map((topic: any) => ({
        name: topic.name,
        partitionResponses: topic.partitionData.map((p: any) => {
          const count = decodeRecordBatches(p.records).reduce((sum, b) => sum + b.records.length, 0);
          seen.push({ partition: p.index, records: count });
          const attempt = attempts.get(p.index) ?? 0;
          attempts.set(p.index, attempt + 1);
          const errorCode = answer(p.index, attempt);
          const baseOffset = errorCode === 0 ? nextOffset : -1;
          if (errorCode === 0) nextOffset += count;
          return {
            index: p.index,
            errorCode,
            baseOffset,
            logAppendTimeMs: -1,
            logStartOffset: 0,
            recordErrors: [],
            errorMessage: null,
          };
        }),
      }));
      produceRequests.push(seen);
      r.reply({ responses, throttleTimeMs: 0 });
    },
  });
  port = fake.port;
  return { fake, produceRequests };
}

test('send() to several partitions of one leader goes out as one Produce request', async (t) => {
  const { fake, produceRequests } = await scriptedCluster(() => 0);
  const client = new Client({ brokers: [`127.0.0.1:${fake.port}`] });
  t.teardown(async () => {
    await client.close();
    await fake.stop();
  });
  const producer = new Producer(client, { lingerMs: 50 });
  await client.topic('orders');
  const sends = [0, 1, 2, 0, 1, 2].map((partition, i) =>
    producer.send({ topic: 'orders', partition, value: `v${i}` }),
  );
  await producer.flush();
  const results = await Promise.all(sends);
  t.is(produceRequests.length, 1);
  t.deepEqual(produceRequests[0]?.map((p) => [p.partition, p.records]).sort(), [
    [0, 2],
    [1, 2],
    [2, 2],
  ]);
  t.deepEqual(
    results.map((r) => r.partition),
    [0, 1, 2, 0, 1, 2],
  );
  // Records of one partition get consecutive offsets in send order.
  t.is((results[3]?.offset ?? 0) - (results[0]?.offset ?? 0), 1);
});

test('a retriable error for one partition of a shared request retries only that partition', async (t) => {
  const { fake, produceRequests } = await scriptedCluster((partition, attempt) =>
    partition === 2 && attempt === 0 ? 6 : 0,
  );
  const client = new Client({
    brokers: [`127.0.0.1:${fake.port}`],
    retry: { retries: 3, initialMs: 1, maxMs: 2 },
  });
  t.teardown(async () => {
    await client.close();
    await fake.stop();
  });
  const producer = new Producer(client, { lingerMs: 20 });
  await client.topic('orders');
  const sends = [0, 1, 2].map((partition) => producer.send({ topic: 'orders', partition, value: 'x' }));
  await producer.flush();
  const results = await Promise.all(sends);
  t.deepEqual(
    produceRequests.map((request) => request.map((p) => p.partition).sort()),
    [[0, 1, 2], [2]],
  );
  t.true(results.every((r) => r.offset >= 0));
});

test('a non-retriable error rejects only the records of that partition', async (t) => {
  const { fake } = await scriptedCluster((partition) => (partition === 1 ? 10 : 0));
  const client = new Client({ brokers: [`127.0.0.1:${fake.port}`] });
  t.teardown(async () => {
    await client.close();
    await fake.stop();
  });
  const producer = new Producer(client, { lingerMs: 20 });
  await client.topic('orders');
  const ok = producer.send({ topic: 'orders', partition: 0, value: 'fine' });
  const bad = producer.send({ topic: 'orders', partition: 1, value: 'too big' });
  await producer.flush();
  t.true((await ok).offset >= 0);
  const error = await t.throwsAsync(bad);
  t.true(error instanceof KafkaProtocolError);
  t.is((error as KafkaProtocolError).code, 10);
});
