/**
 * The consumer-group coordinator (src/broker/group-coordinator.ts) in scripted scenarios against a
 * fake `__consumer_offsets` partition whose proposals commit only when the test says so (so the
 * order of records in the log is the test's). Each of these failed on the first version of the
 * replicated coordinator.
 */
import test from 'ava';
import pino from 'pino';
import { GroupCoordinator, type GroupHome, type GroupHomes } from '../../src/broker/group-coordinator.js';
import { encodeGroupRecord, type GroupLogRecord, GroupLogState } from '../../src/broker/group-log.js';
import { ErrorCode } from '../../src/protocol/index.js';

const DAY_MS = 24 * 3_600_000;

/** One partition of `__consumer_offsets` led by this broker: proposals wait in `queue` until
 * `commitAll` applies them, in proposal order, to the state every replica would hold. */
class FakePartition implements GroupHomes {
  readonly state = new GroupLogState();
  readonly queue: Array<{ record: GroupLogRecord; resolve: () => void }> = [];

  lookup(_groupId: string): GroupHome {
    return {
      kind: 'owner',
      partition: 0,
      epoch: 1,
      state: this.state,
      persist: (record) => new Promise<void>((resolve) => this.queue.push({ record, resolve })),
    };
  }

  owned(): Array<Extract<GroupHome, { kind: 'owner' }>> {
    return [this.lookup('') as Extract<GroupHome, { kind: 'owner' }>];
  }

  commitAll(): void {
    for (const { record, resolve } of this.queue.splice(0)) {
      this.state.apply(record);
      resolve();
    }
  }
}

function coordinatorOn(partition: FakePartition, nowMs: () => number): GroupCoordinator {
  return new GroupCoordinator({
    homes: partition,
    logger: pino({ level: 'silent' }),
    offsetsRetentionMs: DAY_MS,
    nowMs,
  });
}

/** The coordinator's periodic sweep (expiry), run now instead of on its 1 s timer. */
function sweepNow(coordinator: GroupCoordinator): void {
  (coordinator as unknown as { sweep(): void }).sweep();
}

test('an offset commit acknowledged while its group expires is not deleted by the expiry', async (t) => {
  // Group "standalone" last committed 10 days ago and has no members: it is due to expire.
  const partition = new FakePartition();
  partition.state.apply({
    kind: 'offsets',
    groupId: 'standalone',
    commitTimestampMs: 0,
    offsets: [{ topic: 'jobs', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }],
  });
  const now = 10 * DAY_MS;
  const coordinator = coordinatorOn(partition, () => now);
  t.teardown(() => coordinator.shutdown());
  // 1. A standalone consumer commits offset 42 (proposed, not yet committed).
  const committing = coordinator.commitOffsets({
    groupId: 'standalone',
    generationId: -1,
    memberId: '',
    offsets: [{ topic: 'jobs', partition: 0, offset: 42, leaderEpoch: -1, metadata: null }],
  });
  // 2. The expiry sweep reads the applied state (the commit is not in it yet) and proposes a
  //    deletion of the group after it.
  sweepNow(coordinator);
  await new Promise((resolve) => setImmediate(resolve));
  // 3. Both commit, in that order; the client is told its commit succeeded.
  partition.commitAll();
  t.is(await committing, ErrorCode.NONE);
  // The acknowledged offset must still be there.
  const fetched = coordinator.fetchOffsets('standalone', [{ name: 'jobs', partitionIndexes: [0] }]);
  t.true('topics' in fetched);
  if ('topics' in fetched) t.is(fetched.topics[0]?.partitions[0]?.[1]?.offset, 42);
});

test('JoinGroup requests that never complete leave no groups behind (bounded memory, ListGroups)', async (t) => {
  const partition = new FakePartition();
  const coordinator = coordinatorOn(partition, () => 0);
  t.teardown(() => coordinator.shutdown());
  for (let i = 0; i < 100; i++) {
    // KIP-394 first join (v4+): answered MEMBER_ID_REQUIRED; the client never comes back.
    const result = await coordinator.join(
      {
        groupId: `probe-${i}`,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: '',
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      },
      { clientId: 'c', clientHost: '/127.0.0.1', requireKnownMemberId: true },
    );
    t.is(result.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  }
  // A JoinGroup refused for its session timeout, too.
  const refused = await coordinator.join(
    {
      groupId: 'bad-timeout',
      sessionTimeoutMs: 1,
      rebalanceTimeoutMs: 1,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    },
    { clientId: 'c', clientHost: '/127.0.0.1', requireKnownMemberId: false },
  );
  t.is(refused.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  // None of these groups exists (no member, nothing stored): ListGroups must not show them, and
  // the coordinator must not keep them (nor their pending member ids) forever.
  t.deepEqual(coordinator.list(), []);
});

test('KIP-345: a JoinGroup from a replaced static instance is fenced, not told to rejoin as new', async (t) => {
  const partition = new FakePartition();
  const coordinator = coordinatorOn(partition, () => 0);
  t.teardown(() => coordinator.shutdown());
  const join = (memberId: string) =>
    coordinator.join(
      {
        groupId: 'static',
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId,
        groupInstanceId: 'instance-1',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.from([1]) }],
      },
      { clientId: 'c', clientHost: '/127.0.0.1', requireKnownMemberId: true },
    );
  // Process A joins as instance-1 and forms generation 1 (Stable once stored).
  const first = await join('');
  t.is(first.errorCode, ErrorCode.NONE);
  const synced = coordinator.sync({
    groupId: 'static',
    generationId: first.generationId,
    memberId: first.memberId,
    groupInstanceId: 'instance-1',
    assignments: [{ memberId: first.memberId, assignment: Buffer.from([7]) }],
  });
  partition.commitAll();
  t.is((await synced).errorCode, ErrorCode.NONE);
  // Process B starts with the same instance id and takes the slot.
  const second = join('');
  await new Promise((resolve) => setImmediate(resolve));
  partition.commitAll();
  const taken = await second;
  t.is(taken.errorCode, ErrorCode.NONE);
  t.not(taken.memberId, first.memberId);
  // Process A (replaced) sends JoinGroup with its old member id: Kafka answers FENCED_INSTANCE_ID
  // (fatal for the client). UNKNOWN_MEMBER_ID makes the client rejoin with an empty member id and
  // take the slot back from B, and so on.
  const stale = await join(first.memberId);
  t.is(stale.errorCode, ErrorCode.FENCED_INSTANCE_ID);
});

test('a group stored with members whose consumers are gone is emptied by the next coordinator (then it can expire)', async (t) => {
  // The previous coordinator stored generation 3 with one member (session 1 s), then died; the
  // member's process is gone too. Nothing ever names the group again.
  const partition = new FakePartition();
  partition.state.apply({
    kind: 'group',
    groupId: 'abandoned',
    group: {
      generationId: 3,
      protocolType: 'consumer',
      protocolName: 'range',
      leaderId: 'm-1',
      timestampMs: 0,
      members: [
        {
          memberId: 'm-1',
          groupInstanceId: null,
          clientId: 'c',
          clientHost: '/127.0.0.1',
          sessionTimeoutMs: 1_000,
          rebalanceTimeoutMs: 1_000,
          metadata: Buffer.alloc(0),
          assignment: Buffer.alloc(0),
        },
      ],
    },
  });
  const now = 10 * DAY_MS;
  const coordinator = coordinatorOn(partition, () => now);
  t.teardown(() => coordinator.shutdown());
  // The new coordinator runs its sweeps for longer than the member's session.
  for (let i = 0; i < 4; i++) {
    sweepNow(coordinator);
    await new Promise((resolve) => setTimeout(resolve, 500));
    partition.commitAll();
  }
  sweepNow(coordinator);
  await new Promise((resolve) => setImmediate(resolve));
  partition.commitAll();
  // Kafka times out the members of every group it loads when it becomes coordinator, and stores
  // the emptied generation (from then the group expires after offsets_retention_minutes). Here
  // nothing loads the group: its member stays stored forever, it is listed as Stable and never
  // expires.
  t.deepEqual(partition.state.group('abandoned')?.members ?? [], []);
  t.notDeepEqual(
    coordinator.list().map((group) => group.groupState),
    ['Stable'],
  );
});

test('a commit of many partitions is stored as several records inside the batch limit, all applied', async (t) => {
  const partition = new FakePartition();
  const coordinator = coordinatorOn(partition, () => 0);
  t.teardown(() => coordinator.shutdown());
  const offsets = Array.from({ length: 6_000 }, (_, i) => ({
    topic: `topic-${i % 7}`,
    partition: i,
    offset: i * 10,
    leaderEpoch: 3,
    metadata: 'x'.repeat(100),
  }));
  const committing = coordinator.commitOffsets({ groupId: 'wide', generationId: -1, memberId: '', offsets });
  // Records are proposed one after another: commit each as it arrives.
  let records = 0;
  for (let i = 0; i < 100 && records < 1_000; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    for (const { record } of partition.queue) t.true(encodeGroupRecord(record).length < 300 * 1024);
    records += partition.queue.length;
    partition.commitAll();
  }
  t.is(await committing, ErrorCode.NONE);
  t.true(records > 1, `split into ${records} records`);
  t.is(partition.state.offset('wide', `topic-${5_999 % 7}`, 5_999)?.offset, 59_990);
  t.is(partition.state.offset('wide', 'topic-0', 0)?.offset, 0);
});
