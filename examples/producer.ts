/**
 * Producer example: the seed's produceMessage, then the batching send() path.
 * Run after examples/admin.ts: GOQUEUE_BROKERS=127.0.0.1:9092 npx tsx examples/producer.ts
 */
import { Client, Producer } from '../src/client/index.js';

const client = new Client({
  brokerAddrs: (process.env.GOQUEUE_BROKERS ?? '127.0.0.1:9092').split(','),
  timeout: '5s',
});
const producer = new Producer(client, { lingerMs: 5 });
try {
  // One call, one batch, one partition: resolves with every message's offset.
  const result = await producer.produceMessage({
    topic: 'my-topic',
    partition: 0,
    messages: [{ key: 'key1', value: 'Hello, World!' }],
  });
  console.log(`Message produced at offset: ${result.baseOffset}`);

  // The throughput path: records are batched per partition; keys pick the partition
  // exactly as Kafka's Java client would.
  const sent = await Promise.all(
    ['alice', 'bob', 'carol'].map((user) =>
      producer.send({ topic: 'my-topic', key: user, value: `login ${user}` }),
    ),
  );
  for (const record of sent) console.log(`Sent to partition ${record.partition} at offset ${record.offset}`);
  await producer.close();
} finally {
  await client.close();
}
