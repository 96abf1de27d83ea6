/**
 * Admin.deleteRecords and Admin.describeLogDirs against an in-process broker, and deleteRecords
 * following a new leader after NOT_LEADER_OR_FOLLOWER (two fake brokers).
 */
import test, { type ExecutionContext } from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client, type ClientClock } from '../../src/client/client.js';
import { AbortError, KafkaProtocolError } from '../../src/client/errors.js';
import { ApiKey } from '../../src/protocol/index.js';
import { assertTypeErrors, brokerWithTopic, untyped } from './admin-helpers.js';
import { FakeBroker } from './fake-broker.js';

const setup = (t: ExecutionContext) =>
  brokerWithTopic(t, { name: 'orders', partitions: 2, messagesPerPartition: 10 });

test('deleteRecords moves each partition’s log start to the offset given (-1: the high watermark) and describeTopic shows it', async (t) => {
  const { admin } = await setup(t);
  const before = await admin.describeTopic('orders');
  const end = before.partitions.map((partition) => partition.endOffset);
  const deleted = await admin.deleteRecords({
    topic: 'orders',
    partitions: [
      { partition: 0, offset: end[0]! - 4 },
      { partition: 1, offset: -1 },
    ],
  });
  t.deepEqual(deleted, [
    { partition: 0, lowWatermark: end[0]! - 4 },
    { partition: 1, lowWatermark: end[1]! },
  ]);
  // The deletion is itself a Raft entry (a control batch) and may take an offset at the end.
  const after = await admin.describeTopic('orders');
  t.deepEqual(
    after.partitions.map((partition) => partition.startOffset),
    [end[0]! - 4, end[1]!],
  );
  // An offset at or below the log start changes nothing (the start never moves back).
  t.deepEqual(await admin.deleteRecords({ topic: 'orders', partitions: [{ partition: 0, offset: 0 }] }), [
    { partition: 0, lowWatermark: end[0]! - 4 },
  ]);
});

test('deleteRecords past the high watermark or of an unknown partition rejects with the Kafka error of that partition', async (t) => {
  const { admin } = await setup(t);
  const end = (await admin.describeTopic('orders')).partitions[1]!.endOffset;
  const beyond = await t.throwsAsync(
    admin.deleteRecords({
      topic: 'orders',
      partitions: [
        { partition: 0, offset: 1 },
        { partition: 1, offset: end + 100 },
      ],
    }),
    { instanceOf: KafkaProtocolError },
  );
  t.is(beyond.code, 1);
  t.is(beyond.errorName, 'OFFSET_OUT_OF_RANGE');
  t.is(beyond.partition, 1);
  // The partition that could be done was done.
  t.is((await admin.describeTopic('orders')).partitions[0]!.startOffset, 1);

  const unknown = await t.throwsAsync(
    admin.deleteRecords({ topic: 'orders', partitions: [{ partition: 9, offset: 0 }] }),
    { instanceOf: KafkaProtocolError },
  );
  t.is(unknown.code, 3);
  const missing = await t.throwsAsync(
    admin.deleteRecords({ topic: 'missing', partitions: [{ partition: 0, offset: 0 }] }),
    { instanceOf: KafkaProtocolError },
  );
  t.is(missing.code, 3);
  t.is(missing.topic, 'missing');
});

test('describeLogDirs names the broker’s data directory and the replicas in it with their bytes', async (t) => {
  const { broker, admin } = await setup(t);
  const all = await admin.describeLogDirs();
  const one = await admin.describeLogDirs(broker.brokerId);
  t.deepEqual(all, one);
  t.is(all.length, 1);
  const directory = all[0]!;
  t.is(directory.brokerId, broker.brokerId);
  t.true(directory.logDir.length > 0);
  const orders = directory.replicas.filter((replica) => replica.topic === 'orders');
  t.deepEqual(
    orders.map((replica) => [replica.partition, replica.offsetLag, replica.isFuture]),
    [
      [0, 0, false],
      [1, 0, false],
    ],
  );
  t.true(
    orders.every((replica) => replica.sizeBytes > 0),
    JSON.stringify(orders),
  );
  const unknown = await t.throwsAsync(admin.describeLogDirs(99), { instanceOf: KafkaProtocolError });
  t.regex(unknown.message, /broker 99 is not in the cluster metadata/);
});

/** A clock whose sleeps return at once. */
const instantClock: ClientClock = {
  nowMs: () => 0,
  sleep: async (_ms, signal) => {
    if (signal?.aborted) throw new AbortError('sleep');
  },
};

test('deleteRecords refreshes metadata after NOT_LEADER_OR_FOLLOWER and retries on the new leader', async (t) => {
  let leader = 1;
  const ports = new Map<number, number>();
  const deletesAt: number[] = [];
  const fakeFor = (nodeId: number) =>
    FakeBroker.start({
      onRequest: (request) => {
        if (request.apiKey === ApiKey.Metadata) {
          request.reply({
            brokers: [...ports].map(([id, port]) => ({ nodeId: id, host: '127.0.0.1', port, rack: null })),
            clusterId: 'fake',
            controllerId: 1,
            topics: [
              {
                errorCode: 0,
                name: 'orders',
                isInternal: false,
                partitions: [
                  {
                    errorCode: 0,
                    partitionIndex: 0,
                    leaderId: leader,
                    leaderEpoch: leader,
                    replicaNodes: [1, 2],
                    isrNodes: [1, 2],
                    offlineReplicas: [],
                  },
                ],
              },
            ],
          });
        } else if (request.apiKey === ApiKey.DeleteRecords) {
          deletesAt.push(nodeId);
          // Broker 1 has just lost leadership to broker 2.
          const errorCode = nodeId === 1 ? 6 : 0;
          if (nodeId === 1) leader = 2;
          request.reply({
            topics: [
              {
                name: 'orders',
                partitions: [{ partitionIndex: 0, lowWatermark: errorCode ? -1 : 42, errorCode }],
              },
            ],
          });
        }
      },
    });
  const first = await fakeFor(1);
  const second = await fakeFor(2);
  ports.set(1, first.port);
  ports.set(2, second.port);
  const client = new Client({ brokers: [`127.0.0.1:${first.port}`], clock: instantClock, timeoutMs: 5_000 });
  t.teardown(async () => {
    await client.close();
    await first.stop();
    await second.stop();
  });
  const deleted = await new Admin(client).deleteRecords({
    topic: 'orders',
    partitions: [{ partition: 0, offset: 42 }],
  });
  t.deepEqual(deleted, [{ partition: 0, lowWatermark: 42 }]);
  t.deepEqual(deletesAt, [1, 2]);
});

test('wrong deleteRecords and describeLogDirs arguments throw a TypeError naming the field', async (t) => {
  await assertTypeErrors(t, [
    [
      (admin) => admin.deleteRecords(untyped({ topic: '', partitions: [{ partition: 0, offset: 1 }] })),
      /admin\.deleteRecords\(request\)\.topic must be a non-empty string/,
    ],
    [
      (admin) => admin.deleteRecords(untyped({ topic: 'orders', partitions: [] })),
      /admin\.deleteRecords\(request\)\.partitions must be a non-empty array/,
    ],
    [
      (admin) =>
        admin.deleteRecords(untyped({ topic: 'orders', partitions: [{ partition: 0, offset: -2 }] })),
      /partitions\[0\]\.offset must be a non-negative integer or -1 \(the high watermark\)/,
    ],
    [
      (admin) =>
        admin.deleteRecords(untyped({ topic: 'orders', partitions: [{ partition: '0', offset: 1 }] })),
      /partitions\[0\]\.partition must be a non-negative integer/,
    ],
    [
      (admin) =>
        admin.deleteRecords(
          untyped({
            topic: 'orders',
            partitions: [
              { partition: 0, offset: 1 },
              { partition: 0, offset: 2 },
            ],
          }),
        ),
      /partitions names partition 0 more than once/,
    ],
    [
      (admin) => admin.describeLogDirs(untyped('1')),
      /admin\.describeLogDirs\(brokerId\) must be a broker id/,
    ],
  ]);
});
