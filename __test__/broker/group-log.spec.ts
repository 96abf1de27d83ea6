import test from 'ava';
import {
  decodeGroupRecord,
  encodeGroupRecord,
  type GroupLogRecord,
  GroupLogState,
  groupPartition,
} from '../../src/broker/group-log.js';

const generation: GroupLogRecord = {
  kind: 'group',
  groupId: 'workers',
  group: {
    generationId: 7,
    protocolType: 'consumer',
    protocolName: 'range',
    leaderId: 'm-1',
    timestampMs: 1_000,
    members: [
      {
        memberId: 'm-1',
        groupInstanceId: null,
        clientId: 'c',
        clientHost: '/127.0.0.1',
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 30_000,
        metadata: Buffer.from([0, 1, 2]),
        assignment: Buffer.from([9]),
      },
    ],
  },
};

const commit = (offset: number, commitTimestampMs: number): GroupLogRecord => ({
  kind: 'offsets',
  groupId: 'workers',
  commitTimestampMs,
  offsets: [
    { topic: 'jobs', partition: 0, offset, leaderEpoch: 3, metadata: null },
    { topic: 'jobs', partition: 1, offset: offset + 1, leaderEpoch: 3, metadata: 'm' },
  ],
});

test('every group record kind survives encode and decode unchanged', (t) => {
  const records: GroupLogRecord[] = [
    generation,
    commit(10, 2_000),
    { kind: 'delete-group', groupId: 'old', timestampMs: 5 },
    { kind: 'delete-offsets', groupId: 'workers', partitions: [{ topic: 'jobs', partition: 1 }] },
    { kind: 'expire-group', groupId: 'idle', lastActivityMs: 77 },
  ];
  for (const record of records) t.deepEqual(decodeGroupRecord(encodeGroupRecord(record)), record);
});

test('a truncated or unknown group record is refused with a message naming what is wrong', (t) => {
  const bytes = encodeGroupRecord(commit(10, 2_000));
  t.throws(() => decodeGroupRecord(bytes.subarray(0, bytes.length - 3)));
  const unknownKind = Buffer.from(bytes);
  unknownKind[1] = 42;
  t.throws(() => decodeGroupRecord(unknownKind), { message: /kind 42/ });
  const hugeCount = Buffer.from(encodeGroupRecord(commit(1, 1)));
  // count field sits after version, kind, groupId (2 + 7 bytes) and the timestamp (8).
  hugeCount.writeInt32BE(2 ** 30, 2 + 2 + 7 + 8);
  t.throws(() => decodeGroupRecord(hugeCount), { message: /count/ });
});

test('applied records give the latest offset per partition; delete-offsets and delete-group remove them', (t) => {
  const state = new GroupLogState();
  state.apply(generation);
  state.apply(commit(10, 2_000));
  state.apply(commit(20, 3_000));
  t.is(state.offset('workers', 'jobs', 0)?.offset, 20);
  t.is(state.offset('workers', 'jobs', 1)?.metadata, 'm');
  t.is(state.group('workers')?.generationId, 7);
  state.apply({ kind: 'delete-offsets', groupId: 'workers', partitions: [{ topic: 'jobs', partition: 0 }] });
  t.is(state.offset('workers', 'jobs', 0), undefined);
  t.is(state.offset('workers', 'jobs', 1)?.offset, 21);
  state.apply({ kind: 'delete-group', groupId: 'workers', timestampMs: 4_000 });
  t.false(state.has('workers'));
  t.deepEqual(state.offsets('workers'), []);
});

test('a snapshot carries every offset with its own commit time, the generation and the applied index', (t) => {
  const state = new GroupLogState();
  state.apply(generation);
  state.apply(commit(10, 2_000));
  state.apply({
    kind: 'offsets',
    groupId: 'workers',
    commitTimestampMs: 9_000,
    offsets: [{ topic: 'other', partition: 4, offset: 99, leaderEpoch: -1, metadata: null }],
  });
  state.appliedIndex = 1234;
  const copy = GroupLogState.decodeSnapshot(state.encodeSnapshot());
  t.is(copy.appliedIndex, 1234);
  t.deepEqual(copy.offsets('workers'), state.offsets('workers'));
  t.deepEqual(copy.group('workers'), state.group('workers'));
  t.is(copy.offset('workers', 'jobs', 0)?.commitTimestampMs, 2_000);
  t.is(copy.offset('workers', 'other', 4)?.commitTimestampMs, 9_000);
});

test('only groups without members expire, counted from their newest commit or generation', (t) => {
  const state = new GroupLogState();
  state.apply(generation); // one member, at 1_000
  state.apply({ ...commit(1, 1_000), groupId: 'idle' });
  state.apply({ ...commit(1, 5_000), groupId: 'recent' });
  const names = (list: Array<{ groupId: string }>) => list.map((entry) => entry.groupId).sort();
  t.deepEqual(names(state.expired(4_000, 2_000)), ['idle']);
  state.apply({
    kind: 'group',
    groupId: 'workers',
    group: { ...generation.group, members: [], timestampMs: 1_500 },
  });
  t.deepEqual(names(state.expired(4_000, 2_000)), ['idle', 'workers']);
  // An expiry applies only if nothing newer happened to the group in between.
  state.apply({ ...commit(2, 3_000), groupId: 'idle' });
  state.apply({ kind: 'expire-group', groupId: 'idle', lastActivityMs: 1_000 });
  t.true(state.has('idle'), 'a commit that raced the expiry keeps the group');
  state.apply({ kind: 'expire-group', groupId: 'idle', lastActivityMs: 3_000 });
  t.false(state.has('idle'));
});

test('a group maps to the partition Kafka picks: abs(Java hashCode) mod partitions', (t) => {
  // Java: "hello".hashCode() == 99162322; "polygenelubricants".hashCode() == Integer.MIN_VALUE.
  t.is(groupPartition('hello', 50), 99162322 % 50);
  t.is(groupPartition('polygenelubricants', 50), 0);
  t.is(groupPartition('', 16), 0);
  for (const id of ['a', 'group-1', 'ééé', 'x'.repeat(300)]) {
    const p = groupPartition(id, 16);
    t.true(p >= 0 && p < 16);
  }
});
