/**
 * Replica balancing on real broker processes: a fourth broker joins (`--join`) a 3-broker
 * cluster holding a topic of 6 partitions at RF 2 (4 replicas per broker) while a producer
 * writes; the controller leader moves replicas to it, one membership change at a time, until it
 * holds its share (3 of 12), and every acknowledged write is read back afterwards.
 */
import test from 'ava';
import { eventually, freePort, ProcessCluster } from './harness.js';
import {
  addJoiningMember,
  createTopicsOnAll,
  healingConfig,
  partitionReplicas,
  produceThroughout,
  readValues,
  startWithAdmin,
} from './self-healing-helpers.js';

const SETTINGS = { offsets_topic_num_partitions: 1, leader_balance_interval: '2s' };

test('a joined broker receives its share of the replicas while a producer writes; nothing acknowledged is lost', async (t) => {
  t.timeout(300_000);
  const cluster = await ProcessCluster.create(t, 3);
  await startWithAdmin(t, cluster, SETTINGS);
  const kafka = cluster.kafka();
  await createTopicsOnAll(kafka, 3, [{ topic: 'spread', numPartitions: 6, replicationFactor: 2 }]);
  const before = await partitionReplicas(kafka, 'spread');
  t.is(before.size, 6);
  t.false([...before.values()].some((replicas) => replicas.includes(4)));

  const writer = produceThroughout(kafka, 'spread', 6);
  await eventually(() => (writer.acknowledged.size >= 50 ? true : undefined), 60_000, 'first writes');

  await addJoiningMember(cluster, 4);
  await cluster.start(4, [
    ...cluster.args(4),
    '--config',
    healingConfig(t, { ...SETTINGS, 'server.http_port': await freePort() }),
  ]);

  // Broker 4 ends with 3 replicas (12 ÷ 4), every partition keeps 2, and the moves are done.
  const after = await eventually(
    async () => {
      const replicas = await partitionReplicas(cluster.kafka('probe'), 'spread');
      const onFour = [...replicas.values()].filter((list) => list.includes(4)).length;
      const perBroker = [1, 2, 3, 4].map(
        (id) => [...replicas.values()].filter((list) => list.includes(id)).length,
      );
      return onFour === 3 && [...replicas.values()].every((list) => list.length === 2)
        ? perBroker
        : undefined;
    },
    180_000,
    'broker 4 holding three replicas',
  );
  t.deepEqual(after, [3, 3, 3, 3]);
  const moved = cluster.member(1).lines.concat(cluster.member(2).lines, cluster.member(3).lines);
  t.true(moved.some((line) => line.msg === 'moving a replica to balance brokers'));

  const countAtBalance = writer.acknowledged.size;
  await eventually(
    () => (writer.acknowledged.size >= countAtBalance + 50 ? true : undefined),
    60_000,
    'writes after the moves',
  );
  const acknowledged = await writer.stop();
  const read = await readValues(cluster.kafka('reader'), 'spread', acknowledged);
  t.deepEqual(
    [...acknowledged].filter((value) => !read.has(value)),
    [],
    'every acknowledged write is there',
  );
  // Nothing keeps moving once balanced: the same placement a few heartbeats later.
  const settled = await partitionReplicas(cluster.kafka('probe'), 'spread');
  t.deepEqual(
    [1, 2, 3, 4].map((id) => [...settled.values()].filter((list) => list.includes(id)).length),
    [3, 3, 3, 3],
  );
});
