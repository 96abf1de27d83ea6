/**
 * Consumer example: the seed's fetchFrom, then an async-iterator stream.
 * Run after examples/producer.ts: GOQUEUE_BROKERS=127.0.0.1:9092 npx tsx examples/consumer.ts
 */
import { Client, Consumer } from '../src/client/index.js';

const client = new Client({
  brokerAddrs: (process.env.GOQUEUE_BROKERS ?? '127.0.0.1:9092').split(','),
  timeout: '5s',
});
const consumer = new Consumer(client);
try {
  const result = await consumer.fetchFrom({
    topic: 'my-topic',
    partition: 0,
    offset: 0,
    maxBytes: 1024 * 1024,
  });
  for (const msg of result.messages) {
    console.log(`Received message: key=${msg.key}, value=${msg.value}, offset=${msg.offset}`);
  }

  // Read every partition from the beginning until nothing new arrives for half a second.
  for (const partition of [0, 1, 2]) {
    const signal = AbortSignal.timeout(500);
    for await (const msg of consumer.stream({ topic: 'my-topic', partition, from: 'earliest', signal })) {
      console.log(`Streamed partition=${msg.partition} offset=${msg.offset} value=${msg.value}`);
    }
  }
} finally {
  await client.close();
}
