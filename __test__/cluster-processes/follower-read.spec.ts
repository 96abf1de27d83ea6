/**
 * Follower reads on real broker processes (KIP-392): three brokers in racks r1, r2, r3 with
 * enable_follower_read. kcat with client.rack=r2 is sent to the replica in r2 by the leader
 * (preferredReadReplica) and reads there exactly what a leader read gets; the brokers' own
 * counters (GET /v1/broker) prove who served it.
 */
import test, { type ExecutionContext } from 'ava';
import { kcat } from '../broker/helpers.js';
import { eventually, ProcessCluster } from './harness.js';
import { servingLeader } from './requests.js';
import { createTopicsOnAll, startWithAdmin } from './self-healing-helpers.js';

interface Stats {
  servedAsFollower: number;
  redirected: number;
  confirmedByReadIndex: number;
}

async function brokerStats(port: number): Promise<Stats> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/broker`);
  return ((await response.json()) as { followerReads: Stats }).followerReads;
}

/** Every value of `topic` from the start, one kcat run (it stops at the end it is told of). */
function readAllFrom(bootstrap: string, topic: string, extra: string[] = []): Promise<string> {
  return kcat(['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', ...extra]);
}

/** Brokers 1-3 in racks r1-r3 with follower reads on, and `topic` led by broker 1. */
async function rackCluster(t: ExecutionContext, topic: string, settings: Record<string, unknown>) {
  const cluster = await ProcessCluster.create(t, 3, []);
  const httpPorts = await startWithAdmin(
    t,
    cluster,
    { enable_follower_read: true, leader_balance_interval: 0, ...settings },
    (id) => ['--rack', `r${id}`],
  );
  await createTopicsOnAll(cluster.kafka(), 3, [
    { topic, replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] },
  ]);
  return { cluster, httpPorts };
}

test.serial(
  "kcat with client.rack set to a follower's rack reads from that follower (its fetch counter moves) and gets exactly what a leader read gets",
  async (t) => {
    t.timeout(240_000);
    // Broker 1 (rack r1) leads; brokers 2 and 3 follow.
    const { cluster, httpPorts } = await rackCluster(t, 'nearby', {});
    const producer = cluster.kafka().producer();
    await producer.connect();
    const values = Array.from({ length: 100 }, (_, i) => `value-${i}`);
    for (let i = 0; i < values.length; i += 10)
      await producer.send({
        topic: 'nearby',
        acks: -1,
        messages: values.slice(i, i + 10).map((value) => ({ value })),
      });
    await producer.disconnect();

    const bootstrap = cluster.brokers().join(',');
    const leaderRead = await readAllFrom(bootstrap, 'nearby');
    t.deepEqual(leaderRead.trim().split('\n'), values);
    // Broker 1 is the preferred leader; on a loaded machine another may lead: the client's rack is
    // that of a follower, whichever broker leads.
    const { leaderId } = await servingLeader(cluster, 'nearby', 0);
    const [near, far] = [1, 2, 3].filter((id) => id !== leaderId) as [number, number];
    const before = await brokerStats(httpPorts.get(near)!);
    t.is(before.servedAsFollower, 0, `nothing was read from broker ${near} before`);

    // Followers apply commits a moment after the leader: read until the nearby replica has them all.
    const followerRead = await eventually(
      async () => {
        const out = await readAllFrom(bootstrap, 'nearby', ['-X', `client.rack=r${near}`]);
        const lines = out.trim().split('\n');
        return lines.length >= values.length ? lines : undefined;
      },
      60_000,
      `a complete read through the r${near} replica`,
    );
    t.deepEqual(followerRead, leaderRead.trim().split('\n'), 'the follower read equals the leader read');
    const follower = await brokerStats(httpPorts.get(near)!);
    const leader = await brokerStats(httpPorts.get(leaderId)!);
    const other = await brokerStats(httpPorts.get(far)!);
    t.true(follower.servedAsFollower > 0, `broker ${near} served fetches as a follower`);
    t.true(leader.redirected > 0, 'the leader named a preferred read replica');
    t.is(other.servedAsFollower, 0, `broker ${far} (rack r${far}) served none`);
  },
);

test.serial(
  'strict follower reads (ReadIndex): a read from the r2 follower right after each acknowledgement returns everything acknowledged',
  async (t) => {
    t.timeout(240_000);
    const { cluster, httpPorts } = await rackCluster(t, 'strict', { follower_read_consistency: 'strict' });
    const producer = cluster.kafka().producer();
    await producer.connect();
    const bootstrap = cluster.brokers().join(',');
    const acknowledged: string[] = [];
    for (let round = 0; round < 5; round++) {
      const batch = Array.from({ length: 20 }, (_, i) => `strict-${round}-${i}`);
      await producer.send({ topic: 'strict', acks: -1, messages: batch.map((value) => ({ value })) });
      acknowledged.push(...batch);
      // One read, no retry: kcat stops at the end the follower reports.
      const out = await readAllFrom(bootstrap, 'strict', ['-X', 'client.rack=r2']);
      t.deepEqual(out.trim().split('\n'), acknowledged, `round ${round}: every acknowledged write`);
    }
    await producer.disconnect();
    // On a loaded machine the leader may judge the follower behind, or its read index may come
    // late, for every round above (the client is then served by the leader, correctly): more
    // reads, each held to the same standard, until the follower has served some.
    const follower = await eventually(
      async () => {
        const stats = await brokerStats(httpPorts.get(2)!);
        if (stats.servedAsFollower > 0) return stats;
        const out = await readAllFrom(bootstrap, 'strict', ['-X', 'client.rack=r2']);
        t.deepEqual(out.trim().split('\n'), acknowledged, 'a further read: every acknowledged write');
        return undefined;
      },
      60_000,
      'broker 2 serving a strict follower read',
    );
    t.true(follower.servedAsFollower > 0, 'broker 2 served the reads');
    t.is(follower.confirmedByReadIndex, follower.servedAsFollower, 'each one confirmed by a read index');
  },
);
