/**
 * The SDK's idempotent producer on a 3-broker cluster of real processes, pipelining batches to
 * two partitions through three faults: a leader commits a batch and dies by kill -9 before its
 * answer reaches the producer (lost by a proxy in front of each broker), and then every broker
 * dies by kill -9 at once and the cluster restarts. Every message the producer was told is
 * delivered is in the topic exactly once, and each partition holds its messages in send order.
 */
import test from 'ava';
import { Client } from '../../src/client/client.js';
import { Producer } from '../../src/client/producer.js';
import { eventually, ProcessCluster } from './harness.js';
import { killAfterLostAnswer, proxyEachMember } from './kafka-proxy.js';
import { agreedController, createTopicThrough, ErrorCode, readPartition, servingLeader } from './requests.js';

const PARTITIONS = 2;
/** send() calls outstanding at once: several batches per partition on the wire. */
const OUTSTANDING = 40;

test.serial(
  'an SDK idempotent producer through a lost answer with a leader kill -9 and a kill -9 of every broker with a restart: every delivered message exactly once, in order',
  async (t) => {
    t.timeout(300_000);
    const topic = 'sdk-exactly-once';
    const cluster = await ProcessCluster.create(t, 3);
    // Each broker advertises a proxy in front of its Kafka listener (see kafka-proxy.ts).
    const { proxies, start } = await proxyEachMember(t, cluster);
    await Promise.all([...proxies.keys()].map(start));
    await agreedController(cluster, 3);
    t.like(
      await createTopicThrough(cluster.member(1).clientPort, {
        name: topic,
        partitions: PARTITIONS,
        replicationFactor: 3,
      }),
      { errorCode: ErrorCode.NONE },
    );
    for (let partition = 0; partition < PARTITIONS; partition++)
      await servingLeader(cluster, topic, partition);

    const client = new Client({
      brokers: [...proxies.values()].map((proxy) => `127.0.0.1:${proxy.port}`),
      clientId: 'idempotent-sdk',
      timeoutMs: 10_000,
      retry: { retries: 10, initialMs: 100, maxMs: 1_000 },
    });
    t.teardown(() => client.close());
    const producer = new Producer(client, {
      idempotent: true,
      lingerMs: 2,
      deliveryTimeoutMs: 180_000,
      // A produce whose answer a proxy swallowed is given up (and retried) after 3 + 5 s.
      timeoutMs: 3_000,
    });

    const delivered: string[][] = Array.from({ length: PARTITIONS }, () => []);
    const deliveredCount = () => delivered.reduce((sum, values) => sum + values.length, 0);
    const failures: string[] = [];
    const startedMs = performance.now();
    let stop = false;
    const producing = (async () => {
      const pending = new Set<Promise<void>>();
      for (let i = 0; !stop; i++) {
        const value = `s-${i}`;
        const partition = i % PARTITIONS;
        const send = producer.send({ topic, partition, value }).then(
          () => {
            delivered[partition]!.push(value);
          },
          (error: Error) => {
            failures.push(`${value}: ${error.message}`);
          },
        );
        pending.add(send);
        void send.finally(() => pending.delete(send));
        if (pending.size >= OUTSTANDING) await Promise.race(pending);
      }
      await Promise.all(pending);
    })();

    // 1. A leader commits a batch, its answer is lost, and it dies: the producer retries the
    // batch (same sequence) at the new leader, which answers with the original offset.
    await eventually(() => (deliveredCount() >= 200 ? true : undefined), 60_000, '200 deliveries');
    const answeredBy = await killAfterLostAnswer(cluster, proxies);
    const afterLeaderKill = deliveredCount();
    await eventually(
      () => (deliveredCount() >= afterLeaderKill + 200 ? true : undefined),
      90_000,
      'deliveries after the leader kill',
    );
    await start(answeredBy);
    t.log(`leader kill done after ${Math.round(performance.now() - startedMs)} ms`);

    // 2. Every broker dies at once and the cluster restarts; the producer keeps its id and
    // sequences, and the brokers rebuild its state from their logs.
    await Promise.all([...proxies.keys()].map((id) => cluster.kill(id)));
    for (const proxy of proxies.values()) proxy.closeConnections();
    const beforeRestart = deliveredCount();
    await Promise.all([...proxies.keys()].map(start));
    await eventually(
      () => (deliveredCount() >= beforeRestart + 200 ? true : undefined),
      120_000,
      'deliveries after the full restart',
    );
    t.log(`restart done after ${Math.round(performance.now() - startedMs)} ms`);
    stop = true;
    await producing;
    await producer.close();

    t.deepEqual(failures, [], 'every send was delivered');
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const stored = await readPartition(cluster, topic, partition);
      const copies = new Map<string, number>();
      for (const value of stored) copies.set(value, (copies.get(value) ?? 0) + 1);
      const duplicated = [...copies].filter(([, count]) => count > 1).map(([value]) => value);
      t.deepEqual(duplicated, [], `no message stored twice in partition ${partition}`);
      const lost = delivered[partition]!.filter((value) => !copies.has(value));
      t.deepEqual(lost, [], `every delivered message stored in partition ${partition}`);
      // Sends to one partition are stored in the order they were made.
      const order = (value: string) => Number(value.slice(2));
      t.deepEqual(
        stored,
        [...stored].sort((a, b) => order(a) - order(b)),
        `partition ${partition} in send order`,
      );
    }
  },
);
