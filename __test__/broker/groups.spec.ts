import test from 'ava';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { bootstrap, kafkaFor, kcat, RawClient, startBroker } from './helpers.js';

async function createTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
  await admin.disconnect();
}

async function produce(kafka: Kafka, topic: string, values: string[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
  await producer.disconnect();
}

/** Runs `consumer` until `count` messages arrived; returns them as `partition:value`. */
async function consumeUntil(
  consumer: Consumer,
  topic: string,
  count: number,
  received: string[] = [],
): Promise<string[]> {
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    if (received.length >= count) resolve();
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          received.push(`${partition}:${message.value!.toString()}`);
          if (received.length >= count) resolve();
        },
      })
      .catch(reject);
  });
  return received;
}

function offsetsByPartition(
  partitions: Array<{ partition: number; offset: string }>,
): Record<number, number> {
  return Object.fromEntries(partitions.map(({ partition, offset }) => [partition, Number(offset)]));
}

/** Each partition's high watermark (what a consumer that read everything commits). */
async function endOffsets(admin: Admin, topic: string): Promise<Record<number, number>> {
  return Object.fromEntries(
    (await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [partition, Number(high)]),
  );
}

const values = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

test('a kafkajs consumer group reads every message, commits, and a restarted member resumes after the commit', async (t) => {
  const broker = await startBroker(t);
  const kafka = kafkaFor(broker);
  await createTopic(kafka, 'jobs', 3);
  await produce(kafka, 'jobs', values(60));
  const first = kafka.consumer({ groupId: 'workers', heartbeatInterval: 500 });
  const seen = await consumeUntil(first, 'jobs', 60);
  t.deepEqual(seen.map((entry) => entry.split(':')[1]).sort(), values(60).sort());
  await first.disconnect(); // commits and leaves the group
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  // Every partition's commit is its end: the high watermark (which also counts the leader's
  // no-op control batch, so not simply the records read there).
  const committed = await admin.fetchOffsets({ groupId: 'workers', topics: ['jobs'] });
  t.deepEqual(offsetsByPartition(committed[0]!.partitions), await endOffsets(admin, 'jobs'));
  await produce(kafka, 'jobs', values(9, 'late'));
  const second = kafka.consumer({ groupId: 'workers', heartbeatInterval: 500 });
  t.teardown(() => second.disconnect());
  const resumed = await consumeUntil(second, 'jobs', 9);
  t.deepEqual(resumed.map((entry) => entry.split(':')[1]).sort(), values(9, 'late').sort());
  const groups = await admin.listGroups();
  t.deepEqual(
    groups.groups.map((group) => group.groupId),
    ['workers'],
  );
  const described = await admin.describeGroups(['workers']);
  t.is(described.groups[0]!.state, 'Stable');
  t.is(described.groups[0]!.members.length, 1);
});

test('two kafkajs consumers in one group split the partitions and together read each message once', async (t) => {
  const broker = await startBroker(t);
  const kafka = kafkaFor(broker);
  await createTopic(kafka, 'split', 4);
  const a = kafka.consumer({ groupId: 'pair', heartbeatInterval: 300, maxWaitTimeInMs: 200 });
  const b = kafka.consumer({ groupId: 'pair', heartbeatInterval: 300, maxWaitTimeInMs: 200 });
  t.teardown(async () => {
    await a.disconnect();
    await b.disconnect();
  });
  const received: string[] = [];
  const assigned = new Map<string, number[]>();
  for (const [name, consumer] of [
    ['a', a],
    ['b', b],
  ] as const) {
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      assigned.set(name, event.payload.memberAssignment.split ?? []);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: ['split'], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push(`${name}:${partition}:${message.value!.toString()}`);
      },
    });
  }
  // Once both members are in one generation their latest assignments split the topic.
  const split = () => [...(assigned.get('a') ?? []), ...(assigned.get('b') ?? [])].sort().join(',');
  while (split() !== '0,1,2,3' || !assigned.get('a')?.length || !assigned.get('b')?.length) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await produce(kafka, 'split', values(80));
  while (received.length < 80) await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(received.map((entry) => entry.split(':')[2]).sort(), values(80).sort());
  const readers = new Set(received.map((entry) => entry.split(':')[0]));
  t.deepEqual([...readers].sort(), ['a', 'b']);
});

test('kcat (librdkafka) balanced consumer joins a group, reads everything and its commits survive a restart', async (t) => {
  const broker = await startBroker(t, { autoCreateTopics: true, defaultPartitions: 2 });
  const dataDir = broker.config.dataDir;
  const sent = values(500);
  await kcat(
    ['-b', bootstrap(broker), '-P', '-t', 'feed', '-K', ':'],
    `${sent.map((v, i) => `${i}:${v}`).join('\n')}\n`,
  );
  const read = await kcat([
    '-b',
    bootstrap(broker),
    '-G',
    'readers',
    'feed',
    '-o',
    'beginning',
    '-c',
    '500',
    '-q',
    '-X',
    'enable.auto.commit=true',
    '-X',
    'auto.commit.interval.ms=100',
  ]);
  t.deepEqual(read.split('\n').slice(0, -1).sort(), [...sent].sort());
  // The ends before the restart: the restarted leader adds its own no-op after them.
  const before = kafkaFor(broker).admin();
  await before.connect();
  const ends = await endOffsets(before, 'feed');
  await before.disconnect();
  t.is(Object.keys(ends).length, 2);
  await broker.stop();
  const restarted = await startBroker(t, { dataDir });
  const admin = kafkaFor(restarted).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const committed = await admin.fetchOffsets({ groupId: 'readers', topics: ['feed'] });
  t.deepEqual(offsetsByPartition(committed[0]!.partitions), ends);
});

test('a member that stops heartbeating is dropped after its session timeout and the group empties', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const join = (memberId: string) =>
    client.request(ApiKey.JoinGroup, 5, {
      groupId: 'lapsed',
      sessionTimeoutMs: 1000,
      rebalanceTimeoutMs: 1000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
    });
  await client.findCoordinator('lapsed');
  const first = await join('');
  t.is(first.body.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const joined = await join(first.body.memberId);
  t.like(joined.body, {
    errorCode: ErrorCode.NONE,
    generationId: 1,
    leader: first.body.memberId,
    protocolName: 'range',
  });
  t.deepEqual(
    joined.body.members.map((m: { memberId: string }) => m.memberId),
    [first.body.memberId],
  );
  const synced = await client.request(ApiKey.SyncGroup, 3, {
    groupId: 'lapsed',
    generationId: 1,
    memberId: first.body.memberId,
    groupInstanceId: null,
    assignments: [{ memberId: first.body.memberId, assignment: Buffer.from('mine') }],
  });
  t.is(synced.body.assignment.toString(), 'mine');
  const heartbeat = await client.request(ApiKey.Heartbeat, 3, {
    groupId: 'lapsed',
    generationId: 1,
    memberId: first.body.memberId,
    groupInstanceId: null,
  });
  t.is(heartbeat.body.errorCode, ErrorCode.NONE);
  // No more heartbeats: the session (1 s) lapses and the member is removed.
  let state = 'Stable';
  while (state !== 'Empty') {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const described = await client.request(ApiKey.DescribeGroups, 2, { groups: ['lapsed'] });
    state = described.body.groups[0].groupState;
  }
  const late = await client.request(ApiKey.Heartbeat, 3, {
    groupId: 'lapsed',
    generationId: 1,
    memberId: first.body.memberId,
    groupInstanceId: null,
  });
  t.is(late.body.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test("DeleteGroups refuses a group with members and deletes an empty one with its offsets; OffsetDelete removes one partition's commit", async (t) => {
  const broker = await startBroker(t);
  const kafka = kafkaFor(broker);
  await createTopic(kafka, 'gone', 2);
  await produce(kafka, 'gone', values(4));
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const member = kafka.consumer({ groupId: 'doomed', heartbeatInterval: 300 });
  await consumeUntil(member, 'gone', 4);
  const nonEmpty = await admin
    .deleteGroups(['doomed'])
    .catch((error: { groups?: unknown[] }) => error.groups);
  t.like((nonEmpty as Array<{ errorCode: number }>)[0], { errorCode: ErrorCode.NON_EMPTY_GROUP });
  await member.disconnect();

  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await client.findCoordinator('doomed');
  const deletedOffset = await client.request(ApiKey.OffsetDelete, 0, {
    groupId: 'doomed',
    topics: [{ name: 'gone', partitions: [{ partitionIndex: 1 }] }],
  });
  t.like(deletedOffset.body, { errorCode: ErrorCode.NONE });
  t.is(deletedOffset.body.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  const [remaining] = await admin.fetchOffsets({ groupId: 'doomed', topics: ['gone'] });
  const byPartition = offsetsByPartition(remaining!.partitions);
  t.true(byPartition[0]! > 0, 'partition 0 keeps its commit');
  t.is(byPartition[1], -1, 'partition 1 has none');

  t.deepEqual(await admin.deleteGroups(['doomed']), [{ groupId: 'doomed', errorCode: 0 }]);
  const [after] = await admin.fetchOffsets({ groupId: 'doomed', topics: ['gone'] });
  t.deepEqual(Object.values(offsetsByPartition(after!.partitions)), [-1, -1]);
  const missing = await admin.deleteGroups(['doomed']).catch((error: { groups?: unknown[] }) => error.groups);
  t.like((missing as Array<{ errorCode: number }>)[0], { errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
});

test('requests naming groups that do not exist leave nothing behind: no group is created, ListGroups stays empty', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  for (let i = 0; i < 40; i++) {
    const groupId = `ghost-${i}`;
    await client.findCoordinator(groupId);
    const beat = await client.request(ApiKey.Heartbeat, 3, {
      groupId,
      generationId: 1,
      memberId: 'nobody',
      groupInstanceId: null,
    });
    t.is(beat.body.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  }
  const listed = await client.request(ApiKey.ListGroups, 2, {});
  t.deepEqual(listed.body.groups, []);
  const described = await client.request(ApiKey.DescribeGroups, 4, {
    groups: ['ghost-0'],
    includeAuthorizedOperations: false,
  });
  t.is(described.body.groups[0].groupState, 'Dead');
});

test('static membership (KIP-345): a restarted static member takes its place without a rebalance, and the replaced instance is fenced', async (t) => {
  const broker = await startBroker(t);
  const first = await RawClient.open(broker.address.port);
  const second = await RawClient.open(broker.address.port);
  t.teardown(() => {
    first.close();
    second.close();
  });
  await first.findCoordinator('statics');
  const join = (client: RawClient, memberId: string, groupInstanceId: string) =>
    client.request(ApiKey.JoinGroup, 5, {
      groupId: 'statics',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId,
      groupInstanceId,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from(`meta-${groupInstanceId}`) }],
    });
  // Static member a forms generation 1 alone and leads; b joins, a rejoins: generation 2.
  const alone = await join(first, '', 'a');
  const leaderId: string = alone.body.memberId;
  const pendingB = join(second, '', 'b');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const [a, b] = await Promise.all([join(first, leaderId, 'a'), pendingB]);
  const generationId: number = a.body.generationId;
  t.is(b.body.generationId, generationId);
  t.is(a.body.leader, leaderId);
  const sync = (client: RawClient, memberId: string, groupInstanceId: string, assignments: object[]) =>
    client.request(ApiKey.SyncGroup, 3, {
      groupId: 'statics',
      generationId,
      memberId,
      groupInstanceId,
      assignments,
    });
  await Promise.all([
    sync(first, leaderId, 'a', [
      { memberId: leaderId, assignment: Buffer.from('L') },
      { memberId: b.body.memberId, assignment: Buffer.from('F') },
    ]),
    sync(second, b.body.memberId, 'b', []),
  ]);

  // b's process restarts: same instance id, no member id, same subscription.
  const back = await join(second, '', 'b');
  t.like(back.body, { errorCode: ErrorCode.NONE, generationId });
  t.not(back.body.memberId, b.body.memberId);
  const resynced = await sync(second, back.body.memberId, 'b', []);
  t.deepEqual(resynced.body.assignment, Buffer.from('F'), 'it gets its assignment back');
  const beat = (memberId: string, groupInstanceId: string) =>
    first.request(ApiKey.Heartbeat, 3, { groupId: 'statics', generationId, memberId, groupInstanceId });
  t.is((await beat(leaderId, 'a')).body.errorCode, ErrorCode.NONE, 'no rebalance');
  t.is(
    (await beat(b.body.memberId, 'b')).body.errorCode,
    ErrorCode.FENCED_INSTANCE_ID,
    'the old process is fenced',
  );
});
