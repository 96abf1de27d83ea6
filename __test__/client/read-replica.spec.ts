/**
 * The SDK Consumer's `rack` option (KIP-392) against two fake brokers: the leader (node 1) names
 * node 2 as the preferred read replica; the consumer fetches there, keeps fetching there, goes
 * back to the leader when the replica answers an error, and never leaves the leader without a
 * rack. The consumer group's fetcher does the same.
 */
import test, { type ExecutionContext } from 'ava';
import { Client } from '../../src/client/client.js';
import { Consumer } from '../../src/client/consumer.js';
import { GroupFetcher } from '../../src/client/group-fetcher.js';
import { partitionKey } from '../../src/client/group-protocol.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { FakeBroker, type FakeRequest } from './fake-broker.js';

const TOPIC = 'nearby';

interface Node {
  fake: FakeBroker;
  /** Fetches received: their rackId and offset. */
  fetches: Array<{ rackId: string; offset: number }>;
  answer: (
    offset: number,
    rackId: string,
  ) => { errorCode: number; preferredReadReplica: number; records: Buffer | null };
}

function batchAt(offset: number, value: string): Buffer {
  return encodeRecordBatch({ baseOffset: offset, baseTimestamp: 1_700_000_000_000, records: [{ value }] });
}

async function twoBrokers(t: ExecutionContext): Promise<{ leader: Node; replica: Node; client: Client }> {
  const nodes: Node[] = [];
  const ports: number[] = [];
  const handler = (index: number) => (request: FakeRequest) => {
    const node = nodes[index]!;
    if (request.apiKey === ApiKey.Metadata) {
      request.reply({
        brokers: [1, 2].map((nodeId, at) => ({
          nodeId,
          host: '127.0.0.1',
          port: ports[at],
          rack: `r${nodeId}`,
        })),
        clusterId: 'fake',
        controllerId: 1,
        topics: [
          {
            errorCode: 0,
            name: TOPIC,
            isInternal: false,
            partitions: [
              {
                errorCode: 0,
                partitionIndex: 0,
                leaderId: 1,
                leaderEpoch: 0,
                replicaNodes: [1, 2],
                isrNodes: [1, 2],
                offlineReplicas: [],
              },
            ],
          },
        ],
      });
      return;
    }
    if (request.apiKey !== ApiKey.Fetch) throw new Error(`unexpected API ${request.apiKey}`);
    const offset = request.body.topics[0].partitions[0].fetchOffset as number;
    node.fetches.push({ rackId: request.body.rackId, offset });
    const answer = node.answer(offset, request.body.rackId);
    request.reply({
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: TOPIC,
          partitions: [
            {
              partitionIndex: 0,
              errorCode: answer.errorCode,
              highWatermark: 10,
              lastStableOffset: 10,
              logStartOffset: 0,
              abortedTransactions: [],
              preferredReadReplica: answer.preferredReadReplica,
              records: answer.records,
            },
          ],
        },
      ],
    });
  };
  for (const index of [0, 1]) {
    const fake = await FakeBroker.start({ onRequest: handler(index) });
    ports.push(fake.port);
    nodes.push({
      fake,
      fetches: [],
      answer: () => ({ errorCode: 0, preferredReadReplica: -1, records: null }),
    });
  }
  const client = new Client({
    brokers: [`127.0.0.1:${ports[0]}`],
    timeoutMs: 5_000,
    retry: { retries: 3, initialMs: 5, maxMs: 20 },
  });
  t.teardown(async () => {
    await client.close();
    for (const node of nodes) await node.fake.stop();
  });
  return { leader: nodes[0]!, replica: nodes[1]!, client };
}

test('with a rack the consumer follows the leader to its preferred read replica, stays there, and goes back on an error', async (t) => {
  const { leader, replica, client } = await twoBrokers(t);
  leader.answer = () => ({ errorCode: 0, preferredReadReplica: 2, records: null });
  replica.answer = (offset) => ({
    errorCode: 0,
    preferredReadReplica: -1,
    records: batchAt(offset, `replica-${offset}`),
  });
  const consumer = new Consumer(client, { rack: 'r2', maxWaitMs: 0 });

  const first = await consumer.fetchFrom({ topic: TOPIC, partition: 0, offset: 0 });
  t.deepEqual(
    first.messages.map((message) => message.value?.toString()),
    ['replica-0'],
  );
  t.deepEqual(leader.fetches, [{ rackId: 'r2', offset: 0 }]);
  t.deepEqual(replica.fetches, [{ rackId: 'r2', offset: 0 }]);

  // The next fetch goes straight to the replica.
  const second = await consumer.fetchFrom({ topic: TOPIC, partition: 0, offset: first.nextOffset });
  t.deepEqual(
    second.messages.map((message) => message.value?.toString()),
    ['replica-1'],
  );
  t.is(leader.fetches.length, 1);
  t.is(replica.fetches.length, 2);

  // The replica stops serving the partition: back to the leader in the same call.
  replica.answer = () => ({
    errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
    preferredReadReplica: -1,
    records: null,
  });
  leader.answer = (offset) => ({
    errorCode: 0,
    preferredReadReplica: -1,
    records: batchAt(offset, `leader-${offset}`),
  });
  const third = await consumer.fetchFrom({ topic: TOPIC, partition: 0, offset: second.nextOffset });
  t.deepEqual(
    third.messages.map((message) => message.value?.toString()),
    ['leader-2'],
  );
  t.is(leader.fetches.at(-1)?.rackId, '', 'the leader is asked without the rack after a replica failed');
  t.is(replica.fetches.length, 3);
  t.is(leader.fetches.length, 2);
  // And stays with the leader afterwards.
  await consumer.fetchFrom({ topic: TOPIC, partition: 0, offset: third.nextOffset });
  t.is(replica.fetches.length, 3);
  t.is(leader.fetches.length, 3);
});

test('OFFSET_NOT_AVAILABLE from the read replica is retried there; without a rack the leader is never left', async (t) => {
  const { leader, replica, client } = await twoBrokers(t);
  leader.answer = () => ({ errorCode: 0, preferredReadReplica: 2, records: null });
  let behind = 1;
  replica.answer = (offset) =>
    behind-- > 0
      ? { errorCode: ErrorCode.OFFSET_NOT_AVAILABLE, preferredReadReplica: -1, records: null }
      : { errorCode: 0, preferredReadReplica: -1, records: batchAt(offset, `replica-${offset}`) };
  const consumer = new Consumer(client, { rack: 'r2', maxWaitMs: 0 });
  const read = await consumer.fetchFrom({ topic: TOPIC, partition: 0, offset: 0 });
  t.deepEqual(
    read.messages.map((message) => message.value?.toString()),
    ['replica-0'],
  );
  t.is(leader.fetches.length, 1, 'the retry went to the replica, not the leader');
  t.is(replica.fetches.length, 2);

  const plain = new Consumer(client, { maxWaitMs: 0 });
  leader.answer = (offset) => ({
    errorCode: 0,
    preferredReadReplica: 2,
    records: batchAt(offset, `leader-${offset}`),
  });
  const fromLeader = await plain.fetchFrom({ topic: TOPIC, partition: 0, offset: 0 });
  t.deepEqual(
    fromLeader.messages.map((message) => message.value?.toString()),
    ['leader-0'],
  );
  t.is(leader.fetches.at(-1)?.rackId, '');
  t.is(replica.fetches.length, 2);
});

test('the group fetcher follows the preferred read replica and goes back to the leader when it answers an error', async (t) => {
  const { leader, replica, client } = await twoBrokers(t);
  // A leader as the broker is: it names the replica only to a client that names its rack.
  leader.answer = (offset, rackId) =>
    rackId === 'r2'
      ? { errorCode: 0, preferredReadReplica: 2, records: null }
      : { errorCode: 0, preferredReadReplica: -1, records: batchAt(offset, `leader-${offset}`) };
  replica.answer = (offset) =>
    offset < 3
      ? { errorCode: 0, preferredReadReplica: -1, records: batchAt(offset, `replica-${offset}`) }
      : { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, preferredReadReplica: -1, records: null };
  const fetcher = new GroupFetcher(client, {
    maxBytes: 1 << 20,
    maxBytesPerPartition: 1 << 20,
    maxWaitMs: 0,
    minBytes: 1,
    autoOffsetReset: 'earliest',
    rack: 'r2',
    readReplicaLeaseMs: 300_000,
  });
  t.teardown(() => fetcher.stop());
  await client.refreshMetadata([TOPIC]);
  fetcher.assign([{ topic: TOPIC, partition: 0 }], new Map([[partitionKey(TOPIC, 0), 0]]));
  const values: string[] = [];
  while (values.length < 4) {
    const ready = await fetcher.next();
    if (ready === null) break;
    for (const message of ready.batch.messages) values.push(message.value?.toString() ?? '');
  }
  // From offset 3 the replica refuses: the leader is asked without the rack and serves itself.
  t.deepEqual(values, ['replica-0', 'replica-1', 'replica-2', 'leader-3']);
  t.is(leader.fetches.at(-1)?.rackId, '');
  t.is(replica.fetches.filter((fetch) => fetch.offset === 3).length, 1, 'no bouncing between the two');
  t.true(replica.fetches.every((fetch) => fetch.rackId === 'r2'));
  t.deepEqual(
    replica.fetches.filter((fetch) => fetch.offset < 3).map((fetch) => fetch.offset),
    [0, 1, 2],
  );
});
