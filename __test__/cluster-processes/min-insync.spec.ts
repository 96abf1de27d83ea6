/**
 * `min.insync.replicas` with acks=all, as Kafka applies it: a write is refused with
 * NOT_ENOUGH_REPLICAS while fewer of the partition's replicas are in sync (a replica on a fenced
 * broker is not), and nothing of it is stored; acks=1 is not affected. Before, the setting was
 * stored and ignored: a topic of 3 replicas with min.insync.replicas=3 acknowledged acks=all
 * writes held by 2. Real broker processes; one is killed and fenced, then restarted.
 */
import test from 'ava';
import { ApiKey } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { eventually, ProcessCluster } from './harness.js';
import { proxiedBrokers } from './proxied.js';
import {
  agreedController,
  answered,
  batchOf,
  ErrorCode,
  metadataOf,
  readPartition,
  servingLeader,
  withClient,
} from './requests.js';

async function create(port: number, name: string, replicationFactor: number, minInsync: number) {
  const response = await withClient(port, (client) =>
    answered(
      client.request(ApiKey.CreateTopics, 4, {
        topics: [
          {
            name,
            numPartitions: 1,
            replicationFactor,
            assignments: [],
            configs: [{ name: 'min.insync.replicas', value: String(minInsync) }],
          },
        ],
        timeoutMs: 15_000,
        validateOnly: false,
      }),
      `CreateTopics ${name}`,
    ),
  );
  return response.body.topics[0].errorCode as number;
}

async function produceAt(
  port: number,
  topic: string,
  acks: number,
  value: string | Buffer,
  timeoutMs = 10_000,
): Promise<number> {
  const records = typeof value === 'string' ? batchOf([value]) : value;
  const response = await withClient(port, (client) =>
    answered(
      client.request(ApiKey.Produce, 7, {
        transactionalId: null,
        acks,
        timeoutMs,
        topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
      }),
      `Produce ${topic} acks=${acks}`,
    ),
  );
  return response.body.responses[0].partitionResponses[0].errorCode as number;
}

/** A one-record batch of an idempotent producer (a fresh producer id, sequence 0). */
async function idempotentBatch(port: number, value: string): Promise<Buffer> {
  const init = await withClient(port, (client) =>
    answered(
      client.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 }),
      'InitProducerId',
    ),
  );
  if (init.body.errorCode !== ErrorCode.NONE)
    throw new Error(`InitProducerId answered ${init.body.errorCode}`);
  return encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    producerId: Number(init.body.producerId),
    producerEpoch: init.body.producerEpoch as number,
    baseSequence: 0,
    records: [{ key: null, value: Buffer.from(value), timestamp: 1_700_000_000_000 }],
  });
}

async function produce(cluster: ProcessCluster, topic: string, acks: number, value: string): Promise<number> {
  const { leaderId } = await servingLeader(cluster, topic, 0);
  return produceAt(cluster.member(leaderId).clientPort, topic, acks, value);
}

test.serial(
  'acks=all is refused with NOT_ENOUGH_REPLICAS while fewer replicas than min.insync.replicas are in sync, and accepted again once they are',
  async (t) => {
    t.timeout(180_000);
    const cluster = await ProcessCluster.create(t, 3, ['--broker-session-timeout', '3s']);
    await cluster.startAll();
    await agreedController(cluster, 3);
    const port = cluster.member(1).clientPort;
    t.is(await create(port, 'all-three', 3, 3), ErrorCode.NONE);
    t.is(await create(port, 'two-of-three', 3, 2), ErrorCode.NONE);
    t.is(await create(port, 'single', 1, 2), ErrorCode.NONE);

    t.is(await produce(cluster, 'all-three', -1, 'a1'), ErrorCode.NONE);
    t.is(await produce(cluster, 'two-of-three', -1, 'b1'), ErrorCode.NONE);
    // As in Kafka: fewer replicas than min.insync.replicas can never take an acks=all write.
    t.is(await produce(cluster, 'single', -1, 'refused'), ErrorCode.NOT_ENOUGH_REPLICAS);
    t.is(await produce(cluster, 'single', 1, 'c1'), ErrorCode.NONE);

    // One broker that leads neither replicated topic goes down and is fenced.
    const leaders = new Set([
      (await servingLeader(cluster, 'all-three', 0)).leaderId,
      (await servingLeader(cluster, 'two-of-three', 0)).leaderId,
    ]);
    const down = [3, 2, 1].find((id) => !leaders.has(id)) as number;
    await cluster.kill(down);
    const up = [1, 2, 3].filter((id) => id !== down);
    await eventually(
      async () =>
        (await metadataOf(cluster.member(up[0]!).clientPort)).brokers.length === 2 ? true : undefined,
      60_000,
      `broker ${down} fenced`,
    );

    t.is(await produce(cluster, 'all-three', -1, 'refused'), ErrorCode.NOT_ENOUGH_REPLICAS);
    t.is(await produce(cluster, 'all-three', 1, 'a2'), ErrorCode.NONE, 'acks=1 is not held to it');
    t.is(await produce(cluster, 'two-of-three', -1, 'b2'), ErrorCode.NONE, '2 of 3 are in sync');

    await cluster.start(down);
    await eventually(
      async () => ((await produce(cluster, 'all-three', -1, 'a3')) === ErrorCode.NONE ? true : undefined),
      60_000,
      'acks=all accepted once the third replica is back in sync',
    );
    const values = await readPartition(cluster, 'all-three', 0);
    t.deepEqual(
      values.filter((value) => value !== 'a3'),
      ['a1', 'a2'],
      'nothing of a refused write is stored',
    );
    t.true(values.includes('a3'));
    t.deepEqual(await readPartition(cluster, 'single', 0), ['c1']);
  },
);

test.serial(
  'with min.insync.replicas above a majority, an acks=all write that a quorum committed but a replica in sync has not confirmed is answered NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  async (t) => {
    t.timeout(180_000);
    // A long session: the cut-off broker stays unfenced (so counted in sync) throughout.
    const { processes, cuts } = await proxiedBrokers(t, 3, ['--broker-session-timeout', '60s']);
    const port = (id: number) => processes.member(id).clientPort;
    await eventually(
      async () => ((await metadataOf(port(1))).brokers.length === 3 ? true : undefined),
      60_000,
      '3 live brokers',
    );
    t.is(await create(port(1), 'all-three', 3, 3), ErrorCode.NONE);
    const leader = await eventually(
      async () => {
        const view = await metadataOf(port(1), ['all-three']);
        const id = view.topics[0]?.partitions[0]?.leaderId ?? -1;
        if (id <= 0) return undefined;
        return (await produceAt(port(id), 'all-three', -1, 'before')) === ErrorCode.NONE ? id : undefined;
      },
      60_000,
      'a leader of all-three that takes a write',
    );
    // The follower's answers to the leader are dropped; the leader's appends still reach it. So
    // the leader sees it streaming (in sync) but never learns that it holds the new write.
    const follower = processes.ids.find((id) => id !== leader) as number;
    const batch = await idempotentBatch(port(leader), 'during the cut');
    cuts.cutOneWay(follower, leader);
    const answer = await produceAt(port(leader), 'all-three', -1, batch, 3_000);
    t.log(`acks=all during the cut answered ${answer}`);
    t.is(answer, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    // The producer retries (the error is retriable): its batch is a duplicate now, and is held
    // to the same rule, not acknowledged because the original committed.
    t.is(
      await produceAt(port(leader), 'all-three', -1, batch, 3_000),
      ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
      'the idempotent retry',
    );
    t.is(await produceAt(port(leader), 'all-three', 1, 'acks=1 during the cut'), ErrorCode.NONE);
  },
);
