/**
 * An idempotent KafkaJS producer (acks=all, one request in flight) keeps producing while the
 * partition's leader is killed with kill -9: after the failover every acknowledged message is in
 * the partition exactly once, in the order it was sent.
 */
import test from 'ava';
import { ApiKey } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import type { RawClient } from '../broker/helpers.js';
import { eventually, ProcessCluster } from './harness.js';
import {
  agreedController,
  answered,
  createTopicThrough,
  ErrorCode,
  readPartition,
  servingLeader,
  withClient,
} from './requests.js';

const MESSAGES = 300;
const KILL_AFTER = 100;

test.serial(
  'an idempotent producer writing through kill -9 of the partition leader leaves every acknowledged message exactly once, in order',
  async (t) => {
    t.timeout(150_000);
    const topic = 'exactly-once';
    const cluster = await ProcessCluster.create(t, 3);
    await cluster.startAll();
    await agreedController(cluster, 3);
    t.like(
      await createTopicThrough(cluster.member(1).clientPort, {
        name: topic,
        partitions: 1,
        replicationFactor: 3,
      }),
      { errorCode: ErrorCode.NONE },
    );
    const { leaderId } = await servingLeader(cluster, topic, 0);

    const producer = cluster.kafka('idempotent').producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    await producer.connect();
    t.teardown(() => producer.disconnect());
    const acknowledged: string[] = [];
    const producing = (async () => {
      for (let i = 0; i < MESSAGES; i++) {
        const value = `m-${i}`;
        await producer.send({ topic, acks: -1, messages: [{ value }] });
        acknowledged.push(value);
      }
    })();
    producing.catch(() => undefined);
    // Kill the leader while the producer is mid-stream: with one request always in flight, the
    // kill lands between a request and its answer.
    await eventually(() => (acknowledged.length >= KILL_AFTER ? true : undefined), 60_000, 'the first acks');
    await cluster.kill(leaderId);
    await producing;
    t.is(acknowledged.length, MESSAGES);
    const { leaderId: newLeader } = await servingLeader(cluster, topic, 0);
    t.not(newLeader, leaderId, 'a new leader serves the partition');

    const stored = await readPartition(cluster, topic, 0);
    const copies = new Map<string, number>();
    for (const value of stored) copies.set(value, (copies.get(value) ?? 0) + 1);
    const duplicated = [...copies].filter(([, count]) => count > 1).map(([value]) => value);
    t.deepEqual(duplicated, [], 'no message is stored twice');
    t.deepEqual(stored, acknowledged, 'every acknowledged message once, in the order sent');
  },
);

function idempotentBatch(
  value: string,
  producer: { producerId: number; producerEpoch: number },
  sequence: number,
) {
  return encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    producerId: producer.producerId,
    producerEpoch: producer.producerEpoch,
    baseSequence: sequence,
    records: [{ key: null, value: Buffer.from(value), timestamp: 1_700_000_000_000 }],
  });
}

async function produceIdempotent(
  client: RawClient,
  topic: string,
  producer: { producerId: number; producerEpoch: number },
  value: string,
  sequence: number,
): Promise<{ errorCode: number; baseOffset: number }> {
  const response = await answered(
    client.request(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 15_000,
      topicData: [
        { name: topic, partitionData: [{ index: 0, records: idempotentBatch(value, producer, sequence) }] },
      ],
    }),
    `Produce of sequence ${sequence}`,
  );
  return response.body.responses[0].partitionResponses[0];
}

// Known failing: the sequence state of idempotent producers lives only in the leader's memory
// (src/broker/producer-state.ts, filled by the produce handler on the leader), so a new leader
// knows no producer: it appends a retried batch a second time and accepts any sequence. DESIGN
// section 6 wants that state derived from the log and carried in the group's snapshots, so that
// every replica that becomes leader has it. The KafkaJS test above passes only when the kill
// misses the window in which the followers already hold the in-flight batch.
test.serial.failing(
  'after kill -9 of the leader, the new leader answers a retry of an acknowledged idempotent batch with its original offset and refuses a sequence gap',
  async (t) => {
    t.timeout(120_000);
    const topic = 'retried';
    const cluster = await ProcessCluster.create(t, 3);
    await cluster.startAll();
    await agreedController(cluster, 3);
    t.like(
      await createTopicThrough(cluster.member(1).clientPort, {
        name: topic,
        partitions: 1,
        replicationFactor: 3,
      }),
      { errorCode: ErrorCode.NONE },
    );
    const { leaderId } = await servingLeader(cluster, topic, 0);
    const leaderPort = cluster.member(leaderId).clientPort;
    const producer = await withClient(leaderPort, async (client) => {
      const init = await answered(
        client.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 }),
        'InitProducerId',
      );
      t.is(init.body.errorCode, ErrorCode.NONE);
      return { producerId: Number(init.body.producerId), producerEpoch: init.body.producerEpoch as number };
    });
    const written = await withClient(leaderPort, async (client) => {
      const first = await produceIdempotent(client, topic, producer, 'a', 0);
      const second = await produceIdempotent(client, topic, producer, 'b', 1);
      t.is(first.errorCode, ErrorCode.NONE);
      t.is(second.errorCode, ErrorCode.NONE);
      return second.baseOffset;
    });

    // The leader dies; a producer whose answer for sequence 1 was lost retries it at the new one.
    await cluster.kill(leaderId);
    const { leaderId: newLeader } = await servingLeader(cluster, topic, 0);
    t.not(newLeader, leaderId);
    await withClient(cluster.member(newLeader).clientPort, async (client) => {
      const retried = await produceIdempotent(client, topic, producer, 'b', 1);
      t.deepEqual(
        { errorCode: retried.errorCode, baseOffset: retried.baseOffset },
        { errorCode: ErrorCode.NONE, baseOffset: written },
        'the retry is answered with the original offset',
      );
      const gap = await produceIdempotent(client, topic, producer, 'skipped', 5);
      t.is(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a sequence gap is refused');
      const next = await produceIdempotent(client, topic, producer, 'c', 2);
      t.is(next.errorCode, ErrorCode.NONE);
    });
    t.deepEqual(await readPartition(cluster, topic, 0), ['a', 'b', 'c']);
  },
);
