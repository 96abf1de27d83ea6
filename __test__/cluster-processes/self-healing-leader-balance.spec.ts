/**
 * Leader balancing on real broker processes: after a broker restarts, the partitions it prefers
 * to lead (which the others took over while it was down) come back to it once it has caught up.
 */
import test from 'ava';
import type { Kafka } from 'kafkajs';
import { eventually, ProcessCluster } from './harness.js';
import { createTopicsOnAll, healingConfig } from './self-healing-helpers.js';

async function leaders(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin({ retry: { retries: 1 } });
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    return new Map((metadata.topics[0]?.partitions ?? []).map((p) => [p.partitionId, p.leader]));
  } finally {
    await admin.disconnect();
  }
}

function countByBroker(leaderOf: Map<number, number>): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const leader of leaderOf.values()) counts[leader] = (counts[leader] ?? 0) + 1;
  return counts;
}

test.serial('after a broker restarts, leadership returns to a balanced spread', async (t) => {
  t.timeout(240_000);
  const config = healingConfig(t, { leader_balance_interval: '1s', replica_replace_after: '1h' });
  const cluster = await ProcessCluster.create(t, 3, ['--config', config]);
  await cluster.startAll();
  await createTopicsOnAll(cluster.kafka(), 3, [{ topic: 'spread', numPartitions: 6, replicationFactor: 3 }]);
  const balanced = await eventually(
    async () => {
      const counts = countByBroker(await leaders(cluster.kafka('probe'), 'spread'));
      return counts[1] === 2 && counts[2] === 2 && counts[3] === 2 ? counts : undefined;
    },
    60_000,
    'two leaders per broker at the start',
  );
  t.deepEqual(balanced, { 1: 2, 2: 2, 3: 2 });

  // Broker 3 restarts: its partitions elect leaders among 1 and 2 meanwhile.
  await cluster.kill(3);
  await eventually(
    async () => {
      const leaderOf = await leaders(cluster.kafka('probe'), 'spread');
      return [...leaderOf.values()].every((leader) => leader === 1 || leader === 2) ? true : undefined;
    },
    60_000,
    'the others leading every partition',
  );
  await cluster.start(3);
  const after = await eventually(
    async () => {
      const counts = countByBroker(await leaders(cluster.kafka('probe'), 'spread'));
      return counts[1] === 2 && counts[2] === 2 && counts[3] === 2 ? counts : undefined;
    },
    90_000,
    'leadership back to two per broker',
  );
  t.deepEqual(after, { 1: 2, 2: 2, 3: 2 });
  const handedBack = [...cluster.members.values()].flatMap((member) =>
    member.lines.filter((line) => line.msg === 'leadership handed back to the preferred replica'),
  );
  t.true(handedBack.length >= 1, 'the controller leader handed leadership back');
});
