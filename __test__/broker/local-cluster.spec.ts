/**
 * Broker.startCluster: three brokers in this process form one cluster on free ports; the SDK
 * round-trips an RF=3 topic through them, and stop() stops all and removes the temporary data.
 */
import { existsSync } from 'node:fs';
import test from 'ava';
import { Broker } from '../../src/broker/broker.js';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';

test('Broker.startCluster({ brokers: 3 }) serves an RF=3 topic to the SDK; stop() removes its data', async (t) => {
  t.timeout(180_000);
  const cluster = await Broker.startCluster({ brokers: 3 });
  t.teardown(() => cluster.stop());
  t.deepEqual(
    cluster.brokers.map((broker) => broker.brokerId),
    [1, 2, 3],
  );
  t.is(new Set(cluster.bootstrap).size, 3);

  const client = new Client({ brokers: cluster.bootstrap });
  await new Admin(client).createTopic({ name: 'replicated', partitions: 1, replicationFactor: 3 });
  const sent = await new Producer(client, { acks: -1 }).produceMessage({
    topic: 'replicated',
    partition: 0,
    messages: [{ key: 'k', value: 'on three brokers' }],
  });
  const { messages } = await new Consumer(client).fetchFrom({
    topic: 'replicated',
    partition: 0,
    offset: sent.baseOffset,
  });
  t.deepEqual(
    messages.map((message) => message.value?.toString()),
    ['on three brokers'],
  );
  const described = await new Admin(client).describeTopic('replicated');
  t.deepEqual([...(described.partitions[0]?.replicas ?? [])].sort(), [1, 2, 3]);
  await client.close();

  await cluster.stop();
  t.false(existsSync(cluster.dataDir), 'the temporary data is removed');
});
