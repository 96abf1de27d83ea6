import test from 'ava';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { Consumer } from '../../src/client/consumer.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { Producer } from '../../src/client/producer.js';
import { bootstrap, startBroker } from '../broker/helpers.js';

test("keys sent by KafkaJS's Java-compatible partitioner are on the partitions the SDK computes, and the SDK reads them", async (t) => {
  const broker = await startBroker(t);
  const client = new Client({ brokers: [bootstrap(broker)] });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'mixed', partitions: 6 });

  const kafka = new Kafka({ brokers: [bootstrap(broker)], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const keys = Array.from({ length: 40 }, (_, i) => `customer-${i * 7919}`);
  await producer.send({
    topic: 'mixed',
    messages: keys.map((key) => ({ key, value: `from kafkajs ${key}` })),
  });

  const consumer = new Consumer(client);
  let read = 0;
  for (let partition = 0; partition < 6; partition++) {
    const { messages } = await consumer.fetchFrom({ topic: 'mixed', partition, offset: 0, maxWaitMs: 0 });
    for (const message of messages) {
      const key = message.key?.toString() ?? '';
      t.is(partitionForKey(Buffer.from(key), 6), partition, key);
      t.is(message.value?.toString(), `from kafkajs ${key}`);
      read++;
    }
  }
  t.is(read, keys.length);

  // And the SDK's own keyed produce agrees with where KafkaJS put the same key.
  const again = await new Producer(client).produceMessage({
    topic: 'mixed',
    messages: [{ key: keys[3], value: 'sdk' }],
  });
  t.is(again.partition, partitionForKey(Buffer.from(keys[3] as string), 6));
});
