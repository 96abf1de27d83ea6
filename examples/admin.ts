/**
 * Admin example: create a topic, list topics, describe one.
 * Run: GOQUEUE_BROKERS=127.0.0.1:9092 npx tsx examples/admin.ts
 * (In your own project, import from 'goqueue' instead of '../src/client/index.js'.)
 */
import { Admin, Client, KafkaProtocolError } from '../src/client/index.js';

const client = new Client({
  brokerAddrs: (process.env.GOQUEUE_BROKERS ?? '127.0.0.1:9092').split(','),
  timeout: '5s',
});
const admin = new Admin(client);
try {
  try {
    const created = await admin.createTopic({ name: 'my-topic', partitions: 3, replicas: 1 });
    console.log(`Topic created: ${created.name}`);
  } catch (error) {
    // Running the example twice is fine: the topic is already there.
    if (!(error instanceof KafkaProtocolError && error.errorName === 'TOPIC_ALREADY_EXISTS')) throw error;
    console.log('Topic exists: my-topic');
  }

  for (const topic of await admin.listTopics()) {
    console.log(`Topic: ${topic.name}, Partitions: ${topic.partitions}`);
  }

  const described = await admin.describeTopic('my-topic');
  for (const p of described.partitions) {
    console.log(
      `Partition ${p.partition}: leader ${p.leader}, isr [${p.isr}], offsets ${p.startOffset}..${p.endOffset}`,
    );
  }
} finally {
  await client.close();
}
