/**
 * @platformatic/kafka 1.x against the broker. It implements flexible versions only, and for
 * several APIs only versions above what goqueue served before (FindCoordinator 4-6, CreateTopics
 * 7, OffsetFetch 8-9, InitProducerId 3-5), so its admin, producer and consumer group could not run; it picks the
 * newest version it implements within the broker's range, and the spec pins what that is.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import test from 'ava';
import { ApiKey } from '../../src/protocol/index.js';
import { bootstrap, startBroker } from './helpers.js';

/** The version @platformatic/kafka 1.x uses of each API against goqueue (its newest within ours). */
const EXPECTED_VERSIONS: Record<number, number> = {
  [ApiKey.Produce]: 11,
  [ApiKey.Fetch]: 17,
  [ApiKey.ListOffsets]: 9,
  [ApiKey.Metadata]: 12,
  [ApiKey.OffsetCommit]: 9,
  [ApiKey.OffsetFetch]: 9,
  [ApiKey.FindCoordinator]: 6,
  [ApiKey.JoinGroup]: 6,
  [ApiKey.Heartbeat]: 4,
  [ApiKey.LeaveGroup]: 4,
  [ApiKey.SyncGroup]: 4,
  [ApiKey.ApiVersions]: 3,
  [ApiKey.CreateTopics]: 7,
  [ApiKey.InitProducerId]: 5, // its producer is idempotent by default once InitProducerId 3+ is served
};

/** Every (API key, version) the library sends while `work` runs, seen on its diagnostics channel. */
async function recordVersions(work: () => Promise<void>): Promise<Map<number, Set<number>>> {
  const used = new Map<number, Set<number>>();
  const subscriber = {
    start(message: unknown) {
      const { apiKey, apiVersion } = message as { apiKey?: number; apiVersion?: number };
      if (apiKey === undefined || apiVersion === undefined) return;
      if (!used.has(apiKey)) used.set(apiKey, new Set());
      used.get(apiKey)!.add(apiVersion);
    },
    end() {},
    asyncStart() {},
    asyncEnd() {},
    error() {},
  };
  const channel = tracingChannel('plt:kafka:connections:api');
  channel.subscribe(subscriber);
  try {
    await work();
  } finally {
    channel.unsubscribe(subscriber);
  }
  return used;
}

/** Reads `count` values of the group's stream, committing each, then leaves the group. */
async function consumeAndCommit(
  bootstrapBrokers: string[],
  groupId: string,
  count: number,
  topic = 'plt',
): Promise<string[]> {
  const consumer = new Consumer({
    groupId,
    clientId: 'spec-consumer',
    bootstrapBrokers,
    deserializers: stringDeserializers,
  });
  const values: string[] = [];
  try {
    const stream = await consumer.consume({
      autocommit: false,
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
      maxWaitTime: 200,
    });
    for await (const message of stream) {
      values.push(message.value);
      await message.commit();
      if (values.length === count) break;
    }
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return values;
}

test('@platformatic/kafka 1.x: admin creates a topic, a producer writes, a consumer group reads and commits, the next member resumes after the commit, admin reads two groups and the max-timestamp offset; each API at the newest version it implements within ours', async (t) => {
  const broker = await startBroker(t);
  const bootstrapBrokers = [bootstrap(broker)];
  const admin = new Admin({ clientId: 'spec-admin', bootstrapBrokers });
  const producer = new Producer({
    clientId: 'spec-producer',
    bootstrapBrokers,
    serializers: stringSerializers,
  });
  t.teardown(async () => {
    await producer.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  });
  const send = (from: number, to: number) =>
    producer.send({
      messages: Array.from({ length: to - from }, (_, at) => ({
        topic: 'plt',
        key: `k${from + at}`,
        value: `v${from + at}`,
        partition: 0,
        timestamp: BigInt(1_000 + from + at),
      })),
    });

  const used = await recordVersions(async () => {
    await admin.createTopics({ topics: ['plt'], partitions: 1, replicas: 1 });
    await send(0, 10);
    t.deepEqual(
      await consumeAndCommit(bootstrapBrokers, 'plt-group', 10),
      Array.from({ length: 10 }, (_, at) => `v${at}`),
    );
    await send(10, 12);
    // A new member of the group starts after the last commit (OffsetFetch), not from the start.
    t.deepEqual(await consumeAndCommit(bootstrapBrokers, 'plt-group', 2), ['v10', 'v11']);
    await consumeAndCommit(bootstrapBrokers, 'plt-other', 1);

    const [latest] = await admin.listOffsets({
      topics: [{ name: 'plt', partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    });
    const end = latest!.partitions[0]!.offset; // after the 12 records (the leader's no-op is first)
    const groups = await admin.listConsumerGroupOffsets({ groups: ['plt-group', 'plt-other'] });
    const committed = new Map(
      groups.map((group) => [group.groupId, group.topics[0]?.partitions[0]?.committedOffset]),
    );
    t.is(committed.get('plt-group'), end);
    t.is(committed.get('plt-other'), end - 11n);

    // The largest timestamp is the last record's (1011).
    const [listed] = await admin.listOffsets({
      topics: [{ name: 'plt', partitions: [{ partitionIndex: 0, timestamp: -3n }] }],
    });
    t.like(listed!.partitions[0], { timestamp: 1011n, offset: end - 1n });
  });

  const observed = Object.fromEntries([...used].map(([apiKey, versions]) => [apiKey, [...versions]]));
  const expected = Object.fromEntries(
    [...used.keys()].map((apiKey) => [apiKey, [EXPECTED_VERSIONS[apiKey]]]),
  );
  t.deepEqual(observed, expected);
  for (const apiKey of [ApiKey.CreateTopics, ApiKey.FindCoordinator, ApiKey.OffsetFetch, ApiKey.OffsetCommit])
    t.true(used.has(apiKey), `API ${apiKey} was used`);
});

test('@platformatic/kafka 1.x idempotent producer: it implements only InitProducerId 3-5, gets a producer id and writes each record once', async (t) => {
  const broker = await startBroker(t);
  const bootstrapBrokers = [bootstrap(broker)];
  const admin = new Admin({ clientId: 'spec-admin', bootstrapBrokers });
  const producer = new Producer({
    clientId: 'spec-idempotent',
    bootstrapBrokers,
    serializers: stringSerializers,
    idempotent: true,
  });
  t.teardown(async () => {
    await producer.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  });
  await admin.createTopics({ topics: ['plt-idempotent'], partitions: 1, replicas: 1 });
  const used = await recordVersions(async () => {
    for (const at of [0, 1, 2]) {
      await producer.send({
        messages: [{ topic: 'plt-idempotent', value: `v${at}`, partition: 0 }],
      });
    }
  });
  t.deepEqual([...(used.get(ApiKey.InitProducerId) ?? [])], [5]);
  t.deepEqual(await consumeAndCommit(bootstrapBrokers, 'plt-idempotent-group', 3, 'plt-idempotent'), [
    'v0',
    'v1',
    'v2',
  ]);
});
