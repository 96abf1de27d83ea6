/**
 * The controller group snapshots its metadata (every `controllerSnapshotEntries` applied
 * entries) and a restarted broker starts from that snapshot plus the entries after it.
 */
import { join } from 'node:path';
import test from 'ava';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../../src/broker/broker.js';
import { nativeStorage } from '../../src/broker/native-storage.js';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { temporaryDirectory } from './helpers.js';

function kafkaOf(broker: Broker): Kafka {
  return new Kafka({ brokers: [`127.0.0.1:${broker.address.port}`], logLevel: logLevel.NOTHING });
}

test('the controller snapshots its metadata and a restart rebuilds every topic from the snapshot and the entries after it', async (t) => {
  const dataDir = temporaryDirectory(t);
  const options = {
    dataDir,
    port: 0,
    controllerSnapshotEntries: 4,
    brokerHeartbeatIntervalMs: 50,
    brokerSessionTimeoutMs: 5000,
  };
  let broker = await Broker.start(options);
  let admin = kafkaOf(broker).admin();
  await admin.connect();
  for (let i = 0; i < 8; i++)
    await admin.createTopics({
      topics: [
        {
          topic: `s-${i}`,
          numPartitions: 2,
          configEntries: [{ name: 'retention.ms', value: String(1000 + i) }],
        },
      ],
    });
  await admin.deleteTopics({ topics: ['s-3'] });
  // Let the periodic task take a snapshot covering these entries.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await admin.disconnect();
  await broker.stop();
  const controllerDir = join(dataDir, 'controller');
  const storage = new DurableRaftStorage({
    log: nativeStorage.openLog(controllerDir, {
      segmentBytes: 1 << 20,
      segmentMs: 86_400_000,
      maxBatchBytes: 1 << 20,
    }),
    dir: controllerDir,
    initialConfState: { voters: [], learners: [] },
  });
  const snapshot = storage.snapshot();
  await storage.close();
  t.true(snapshot.metadata.index > 10, `snapshot at ${snapshot.metadata.index}`);
  t.true(snapshot.data.length > 8, 'the snapshot carries the metadata');

  broker = await Broker.start(options);
  t.teardown(() => broker.stop());
  admin = kafkaOf(broker).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const topics = (await admin.listTopics()).filter((name) => name.startsWith('s-')).sort();
  t.deepEqual(topics, ['s-0', 's-1', 's-2', 's-4', 's-5', 's-6', 's-7']);
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: 2, name: 's-7', configNames: ['retention.ms'] }],
  });
  t.is(configs.resources[0]?.configEntries[0]?.configValue, '1007');
  // And it keeps working: a new topic after the restart.
  await admin.createTopics({ topics: [{ topic: 'after', numPartitions: 1 }] });
  t.true((await admin.listTopics()).includes('after'));
});
