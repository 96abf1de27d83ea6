/**
 * The SDK's `rack` option on real broker processes (KIP-392): three brokers in racks r1-r3 with
 * enable_follower_read. An SDK Consumer (and a ConsumerGroup member) in the rack of a follower is
 * sent to that follower by the leader (`preferredReadReplica`), reads there, and gets exactly the
 * data; the brokers' own counters (GET /v1/broker) prove who served it.
 */
import test from 'ava';
import { Client } from '../../src/client/client.js';
import { Consumer } from '../../src/client/consumer.js';
import { ConsumerGroup } from '../../src/client/consumer-group.js';
import { Producer } from '../../src/client/producer.js';
import { eventually, ProcessCluster } from './harness.js';
import { servingLeader } from './requests.js';
import { createTopicsOnAll, startWithAdmin } from './self-healing-helpers.js';

interface Stats {
  servedAsFollower: number;
  redirected: number;
}

async function brokerStats(port: number): Promise<Stats> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/broker`);
  return ((await response.json()) as { followerReads: Stats }).followerReads;
}

test.serial(
  "an SDK consumer with rack set to a follower's rack reads from that follower and gets exactly the data",
  async (t) => {
    t.timeout(240_000);
    const cluster = await ProcessCluster.create(t, 3, []);
    const httpPorts = await startWithAdmin(
      t,
      cluster,
      { enable_follower_read: true, leader_balance_interval: 0 },
      (id) => ['--rack', `r${id}`],
    );
    await createTopicsOnAll(cluster.kafka(), 3, [
      { topic: 'nearby', replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] },
    ]);
    const client = new Client({
      brokers: cluster.brokers(),
      clientId: 'sdk-rack',
      retry: { retries: 20, initialMs: 100, maxMs: 1_000 },
    });
    t.teardown(() => client.close());
    const producer = new Producer(client, { acks: -1 });
    const values = Array.from({ length: 100 }, (_, i) => `value-${i}`);
    for (let i = 0; i < values.length; i += 10)
      await producer.produceMessage({
        topic: 'nearby',
        partition: 0,
        messages: values.slice(i, i + 10).map((value) => ({ value })),
      });
    const { leaderId } = await servingLeader(cluster, 'nearby', 0);
    const [near, far] = [1, 2, 3].filter((id) => id !== leaderId) as [number, number];
    t.is((await brokerStats(httpPorts.get(near)!)).servedAsFollower, 0);
    // A leader's redirect is answered at once, not parked for maxWaitMs (and counted again).
    const probe = new Consumer(client, { rack: `r${near}`, maxWaitMs: 10_000 });
    await probe.fetchFrom({ topic: 'nearby', partition: 0, offset: 0 });
    t.is((await brokerStats(httpPorts.get(leaderId)!)).redirected, 1, 'one fetch, one redirect');

    // The plain Consumer: reads from the start until it has every value (the follower applies
    // commits a moment after the leader).
    const consumer = new Consumer(client, { rack: `r${near}`, maxWaitMs: 100 });
    const read: string[] = [];
    let offset = 0;
    await eventually(
      async () => {
        const result = await consumer.fetchFrom({ topic: 'nearby', partition: 0, offset });
        for (const message of result.messages) read.push(message.value?.toString() ?? '');
        offset = result.nextOffset;
        return read.length >= values.length ? true : undefined;
      },
      60_000,
      `every value through the r${near} replica`,
    );
    t.deepEqual(read, values, 'exactly the data, in order');
    const afterConsumer = await brokerStats(httpPorts.get(near)!);
    t.true(afterConsumer.servedAsFollower > 0, `broker ${near} served fetches as a follower`);
    t.true((await brokerStats(httpPorts.get(leaderId)!)).redirected > 0, 'the leader named the read replica');
    t.is((await brokerStats(httpPorts.get(far)!)).servedAsFollower, 0, `broker ${far} served none`);

    // A consumer group member with the same rack reads there too.
    const group = new ConsumerGroup(client, {
      groupId: 'sdk-rack-group',
      rackId: `r${near}`,
      fromBeginning: true,
      maxWaitMs: 100,
    });
    group.subscribe('nearby');
    const fromGroup: string[] = [];
    for await (const message of group.messages()) {
      fromGroup.push(message.value?.toString() ?? '');
      if (fromGroup.length >= values.length) break;
    }
    await group.close();
    t.deepEqual(fromGroup, values, 'the group member reads exactly the data');
    const afterGroup = await brokerStats(httpPorts.get(near)!);
    t.true(
      afterGroup.servedAsFollower > afterConsumer.servedAsFollower,
      `broker ${near} served the group member's fetches`,
    );
    t.is((await brokerStats(httpPorts.get(far)!)).servedAsFollower, 0, `broker ${far} served none`);
  },
);
