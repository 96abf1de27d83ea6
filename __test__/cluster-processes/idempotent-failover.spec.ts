/**
 * Idempotent producers through kill -9 of a partition leader, at the moment that tests
 * idempotence: the leader has committed a batch and answered, the answer never reached the
 * producer, and the producer retries at the new leader. Every acknowledged message must be in
 * the partition exactly once, in the order it was sent.
 */
import test from 'ava';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import type { RawClient } from '../broker/helpers.js';
import { eventually, ProcessCluster } from './harness.js';
import { killAfterLostAnswer, proxyEachMember } from './kafka-proxy.js';
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
const LOSE_ANSWER_AFTER = 100;

// Every replica derives idempotent producers' sequences from the entries it applies
// (PartitionReplica.appliedProducer), and a new leader checks a batch only after it has
// committed an entry of its own term, so a retry of a batch its predecessor committed is
// answered with the original offset. (When the state lived only in the leader's memory, this
// stored the in-flight message twice on every run; with a kill at a random instant instead of
// this chosen one, 3 runs in 8.)
test.serial(
  'an idempotent KafkaJS producer (acks=all, one in flight) whose answer is lost when the leader dies by kill -9 leaves every acknowledged message exactly once, in order',
  async (t) => {
    t.timeout(150_000);
    const topic = 'exactly-once';
    const cluster = await ProcessCluster.create(t, 3);
    // Each broker advertises a proxy in front of its Kafka listener, so the test can lose the
    // leader's answer to one produce on its way to the producer.
    const { proxies, start } = await proxyEachMember(t, cluster);
    await Promise.all([...proxies.keys()].map(start));
    await agreedController(cluster, 3);
    t.like(
      await createTopicThrough(cluster.member(1).clientPort, {
        name: topic,
        partitions: 1,
        replicationFactor: 3,
      }),
      { errorCode: ErrorCode.NONE },
    );
    await servingLeader(cluster, topic, 0);

    const kafka = new Kafka({
      clientId: 'idempotent',
      brokers: [...proxies.values()].map((proxy) => `127.0.0.1:${proxy.port}`),
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
      connectionTimeout: 2000,
    });
    const producer = kafka.producer({
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
    await eventually(
      () => (acknowledged.length >= LOSE_ANSWER_AFTER ? true : undefined),
      60_000,
      'the first acks',
    );
    // The leader answers the next produce (acks=all: the batch is committed on a quorum), the
    // answer is lost, and the leader dies; the producer retries the batch at the new leader.
    // Every proxy is armed, so the broker that answered is the leader even if leadership moved.
    const answeredBy = await killAfterLostAnswer(cluster, proxies);
    await producing;
    t.is(acknowledged.length, MESSAGES);
    const { leaderId: newLeader } = await servingLeader(cluster, topic, 0);
    t.not(newLeader, answeredBy, 'a new leader serves the partition');

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

/**
 * One idempotent batch sent to the partition's current leader, again at the next leader while
 * the answer is NOT_LEADER_OR_FOLLOWER (as a client retries after refreshing metadata).
 */
function produceAtLeader(
  cluster: ProcessCluster,
  topic: string,
  producer: { producerId: number; producerEpoch: number },
  value: string,
  sequence: number,
): Promise<{ errorCode: number; baseOffset: number; leaderId: number }> {
  return eventually(
    async () => {
      const { leaderId } = await servingLeader(cluster, topic, 0);
      const answer = await withClient(cluster.member(leaderId).clientPort, (client) =>
        produceIdempotent(client, topic, producer, value, sequence),
      );
      return answer.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER
        ? undefined
        : { errorCode: answer.errorCode, baseOffset: Number(answer.baseOffset), leaderId };
    },
    45_000,
    `produce of sequence ${sequence} at the leader`,
  );
}

// The same from the wire: before, the new leader stored the retried batch again (at a new offset)
// and accepted a sequence gap.
test.serial(
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
    const producer = await withClient(cluster.member(1).clientPort, async (client) => {
      const init = await answered(
        client.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 }),
        'InitProducerId',
      );
      t.is(init.body.errorCode, ErrorCode.NONE);
      return { producerId: Number(init.body.producerId), producerEpoch: init.body.producerEpoch as number };
    });
    const first = await produceAtLeader(cluster, topic, producer, 'a', 0);
    const second = await produceAtLeader(cluster, topic, producer, 'b', 1);
    t.is(first.errorCode, ErrorCode.NONE);
    t.is(second.errorCode, ErrorCode.NONE);

    // The leader dies; a producer whose answer for sequence 1 was lost retries it at the new one.
    await cluster.kill(second.leaderId);
    const retried = await produceAtLeader(cluster, topic, producer, 'b', 1);
    t.not(retried.leaderId, second.leaderId);
    t.deepEqual(
      { errorCode: retried.errorCode, baseOffset: retried.baseOffset },
      { errorCode: ErrorCode.NONE, baseOffset: second.baseOffset },
      'the retry is answered with the original offset',
    );
    const gap = await produceAtLeader(cluster, topic, producer, 'skipped', 5);
    t.is(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a sequence gap is refused');
    const next = await produceAtLeader(cluster, topic, producer, 'c', 2);
    t.is(next.errorCode, ErrorCode.NONE);
    t.deepEqual(await readPartition(cluster, topic, 0), ['a', 'b', 'c']);
  },
);
