/**
 * The newer versions of existing APIs the Java client 4.x sends, each with what it changes:
 * FindCoordinator v4-6 (several keys), OffsetFetch v8-10 (several groups, member fields, topic
 * ids), OffsetCommit v9-10 (GROUP_ID_NOT_FOUND, topic ids), ListOffsets v7-11 (the record with the
 * largest timestamp, the tiered-storage lookups) and Fetch v18 (the follower's high watermark).
 */
import test from 'ava';
import { maxTimestampRecord, type TimestampLookupLog } from '../../src/broker/handlers/list-offsets.js';
import { kafkaOffset } from '../../src/lib/ids.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { ATTRIBUTE_CONTROL, Codec, readBatchHeader } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { RawClient, startBroker, userBatches } from './helpers.js';

const UNKNOWN_TOPIC_ID = '0123456789abcdef0123456789abcdef';

async function setup(t: import('ava').ExecutionContext, partitions = 2) {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 't', numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  t.is(created.body.topics[0].errorCode, ErrorCode.NONE);
  const metadata = await client.request(ApiKey.Metadata, 12, {
    topics: [{ name: 't', topicId: '00000000000000000000000000000000' }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  const topicId: string = metadata.body.topics[0].topicId;
  return { broker, client, topicId };
}

/** One batch of records with the given timestamps (ms). */
function batchAt(timestamps: number[]): Buffer {
  return encodeRecordBatch({
    baseTimestamp: timestamps[0]!,
    attributes: Codec.None,
    records: timestamps.map((timestamp, i) => ({
      key: null,
      value: Buffer.from(`r${i}@${timestamp}`),
      timestamp,
    })),
  });
}

async function produce(client: RawClient, records: Buffer, partition = 0): Promise<number> {
  const reply = await client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 't', partitionData: [{ index: partition, records }] }],
  });
  const answer = reply.body.responses[0].partitionResponses[0];
  if (answer.errorCode !== ErrorCode.NONE) throw new Error(`produce failed: ${answer.errorCode}`);
  return answer.baseOffset;
}

/** Asks FindCoordinator v4 with `keys` until no answer is COORDINATOR_NOT_AVAILABLE (the first
 * lookup creates the groups topic). */
async function findCoordinators(client: RawClient, version: number, keyType: number, keys: string[]) {
  for (;;) {
    const answer = await client.request(ApiKey.FindCoordinator, version, { keyType, coordinatorKeys: keys });
    const coordinators: Array<{ key: string; errorCode: number }> = answer.body.coordinators;
    if (coordinators.every(({ errorCode }) => errorCode !== ErrorCode.COORDINATOR_NOT_AVAILABLE))
      return coordinators;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('FindCoordinator v4-6 answers every key of a batch on its own: groups with this broker, transactional ids with the transactions answer, share keys and unknown key types refused', async (t) => {
  const { broker, client } = await setup(t);
  for (const version of [4, 5, 6]) {
    const groups = await findCoordinators(client, version, 0, ['group-a', 'group-b', 'group-c']);
    t.deepEqual(
      groups.map(({ key }) => key),
      ['group-a', 'group-b', 'group-c'],
    );
    for (const answer of groups)
      t.like(answer, { errorCode: ErrorCode.NONE, nodeId: broker.brokerId, port: broker.address.port });
    const transactions = await findCoordinators(client, version, 1, ['tx-1', 'tx-2']);
    t.is(transactions.length, 2);
    for (const answer of transactions) {
      t.like(answer, { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, nodeId: -1 });
      t.regex((answer as unknown as { errorMessage: string }).errorMessage, /does not support transactions/);
    }
  }
  const share = await findCoordinators(client, 6, 2, ['group-a:topic:0']);
  t.like(share[0], { key: 'group-a:topic:0', errorCode: ErrorCode.UNSUPPORTED_VERSION, nodeId: -1 });
  const unknown = await findCoordinators(client, 6, 7, ['x']);
  t.is(unknown[0]!.errorCode, ErrorCode.INVALID_REQUEST);
  // An empty batch is answered with no coordinators.
  t.deepEqual(
    (await client.request(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: [] })).body.coordinators,
    [],
  );
});

/** A standalone commit (no membership) of `offset` for partitions 0 and 1 of `t`. */
async function commit(client: RawClient, version: number, groupId: string, offset: number, topic: object) {
  const reply = await client.request(ApiKey.OffsetCommit, version, {
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        ...topic,
        partitions: [0, 1].map((partitionIndex) => ({
          partitionIndex,
          committedOffset: offset + partitionIndex,
          committedLeaderEpoch: -1,
          committedMetadata: `${groupId}-${partitionIndex}`,
        })),
      },
    ],
  });
  return reply.body.topics[0];
}

test('OffsetFetch v8-10 answers several groups in one request, each its own (v9 member fields ignored for classic groups, v10 topics by id)', async (t) => {
  const { client, topicId } = await setup(t);
  await client.findCoordinator('group-a');
  await client.findCoordinator('group-b');
  for (const group of [
    ['group-a', 10],
    ['group-b', 20],
  ] as const) {
    const answer = await commit(client, 8, group[0], group[1], { name: 't' });
    t.deepEqual(
      answer.partitions.map((partition: { errorCode: number }) => partition.errorCode),
      [0, 0],
    );
  }
  const committed = (offset: number, groupId: string) =>
    [0, 1].map((partitionIndex) => ({
      partitionIndex,
      committedOffset: offset + partitionIndex,
      committedLeaderEpoch: -1,
      metadata: `${groupId}-${partitionIndex}`,
      errorCode: 0,
    }));

  const v8 = await client.request(ApiKey.OffsetFetch, 8, {
    groups: [
      { groupId: 'group-a', topics: [{ name: 't', partitionIndexes: [0, 1] }] },
      { groupId: 'group-b', topics: null },
      { groupId: 'group-none', topics: [{ name: 't', partitionIndexes: [0] }] },
    ],
    requireStable: true,
  });
  t.deepEqual(v8.body.groups, [
    { groupId: 'group-a', errorCode: 0, topics: [{ name: 't', partitions: committed(10, 'group-a') }] },
    { groupId: 'group-b', errorCode: 0, topics: [{ name: 't', partitions: committed(20, 'group-b') }] },
    {
      groupId: 'group-none',
      errorCode: 0,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
          ],
        },
      ],
    },
  ]);

  // v9: a classic group answers whatever member id and epoch the request names, as Kafka does.
  const v9 = await client.request(ApiKey.OffsetFetch, 9, {
    groups: [
      {
        groupId: 'group-a',
        memberId: 'someone',
        memberEpoch: 12,
        topics: [{ name: 't', partitionIndexes: [1] }],
      },
    ],
    requireStable: false,
  });
  t.deepEqual(v9.body.groups[0].topics[0].partitions, [committed(10, 'group-a')[1]]);

  // v10: topics by id; an unknown id is UNKNOWN_TOPIC_ID, every topic (null) comes back by id.
  const v10 = await client.request(ApiKey.OffsetFetch, 10, {
    groups: [
      {
        groupId: 'group-a',
        memberId: null,
        memberEpoch: -1,
        topics: [
          { topicId, partitionIndexes: [0] },
          { topicId: UNKNOWN_TOPIC_ID, partitionIndexes: [3] },
        ],
      },
      { groupId: 'group-b', memberId: null, memberEpoch: -1, topics: null },
    ],
    requireStable: false,
  });
  t.deepEqual(v10.body.groups[0].topics, [
    { topicId, partitions: [committed(10, 'group-a')[0]] },
    {
      topicId: UNKNOWN_TOPIC_ID,
      partitions: [
        {
          partitionIndex: 3,
          committedOffset: -1,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
        },
      ],
    },
  ]);
  t.deepEqual(v10.body.groups[1].topics, [{ topicId, partitions: committed(20, 'group-b') }]);
});

test('OffsetCommit v9 answers GROUP_ID_NOT_FOUND to a membership commit for a group that does not exist (v8 keeps UNKNOWN_MEMBER_ID); v10 commits by topic id', async (t) => {
  const { client, topicId } = await setup(t);
  await client.findCoordinator('group-x');
  const membershipCommit = (version: number) =>
    client.request(ApiKey.OffsetCommit, version, {
      groupId: 'group-x',
      generationId: 3,
      memberId: 'member-1',
      groupInstanceId: null,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    });
  t.is((await membershipCommit(9)).body.topics[0].partitions[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  t.is((await membershipCommit(8)).body.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

  const byId = await commit(client, 10, 'group-x', 40, { topicId });
  t.deepEqual(byId, {
    topicId,
    partitions: [
      { partitionIndex: 0, errorCode: 0 },
      { partitionIndex: 1, errorCode: 0 },
    ],
  });
  const unknown = await commit(client, 10, 'group-x', 50, { topicId: UNKNOWN_TOPIC_ID });
  t.deepEqual(
    unknown.partitions.map((partition: { errorCode: number }) => partition.errorCode),
    [ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.UNKNOWN_TOPIC_ID],
  );
  // The commit by id is the group's offset, read back by name; the unknown id stored nothing.
  const fetched = await client.request(ApiKey.OffsetFetch, 8, {
    groups: [{ groupId: 'group-x', topics: null }],
    requireStable: false,
  });
  t.deepEqual(
    fetched.body.groups[0].topics[0].partitions.map(
      (partition: { committedOffset: number }) => partition.committedOffset,
    ),
    [40, 41],
  );
  // A simple commit (generation -1) to a new group still creates it at v9.
  t.deepEqual(
    (await commit(client, 9, 'group-new', 7, { name: 't' })).partitions.map(
      (p: { errorCode: number }) => p.errorCode,
    ),
    [0, 0],
  );
});

async function listOffsets(client: RawClient, version: number, timestamp: number) {
  const reply = await client.request(ApiKey.ListOffsets, version, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
    timeoutMs: 1000,
  });
  return reply.body.topics[0].partitions[0];
}

test('ListOffsets v7 MAX_TIMESTAMP finds the first record with the largest timestamp, past the leader no-op whose election time is later', async (t) => {
  const { client } = await setup(t, 1);
  // Timestamps from 1970 + a few seconds: the Raft leader's no-op (a control batch at offset 0)
  // carries its election time, far later than any of them, and must not be the answer.
  const first = await produce(client, batchAt([1000, 3000, 2000, 3000]));
  await produce(client, batchAt([1500, 2500]));
  const answer = await listOffsets(client, 7, -3);
  t.like(answer, { errorCode: ErrorCode.NONE, offset: first + 1, timestamp: 3000 });
  t.true(answer.leaderEpoch >= 1, 'the batch leader epoch is answered');

  // A later record carrying the largest timestamp of all batches (no-op included) is found by
  // the time index alone.
  const future = await produce(client, batchAt([4_000_000_000_000, 1200]));
  t.like(await listOffsets(client, 11, -3), {
    errorCode: ErrorCode.NONE,
    offset: future,
    timestamp: 4_000_000_000_000,
  });

  // Before v7, -3 is not a lookup of that version: refused, never read as a timestamp.
  t.like(await listOffsets(client, 6, -3), { errorCode: ErrorCode.UNSUPPORTED_VERSION, offset: -1 });
});

/** A committed log of `batches` (in offset order) that counts the bytes read from it. */
function countingLog(batches: Buffer[]): TimestampLookupLog & { bytesRead: number } {
  const headers = batches.map((batch) => readBatchHeader(batch));
  const log = {
    bytesRead: 0,
    offsetForTimestamp: async (timestampMs: number) => {
      const at = headers.findIndex((header) => header.maxTimestamp >= timestampMs);
      return at < 0 ? undefined : kafkaOffset(headers[at]!.baseOffset);
    },
    // Whole batches from the one holding `fromOffset`, at least one, up to `maxBytes`.
    read: async (fromOffset: number, maxBytes: number) => {
      const first = headers.findIndex((header) => header.baseOffset + header.lastOffsetDelta >= fromOffset);
      const chosen: Buffer[] = [];
      let bytes = 0;
      for (let at = Math.max(first, 0); first >= 0 && at < batches.length; at++) {
        if (chosen.length > 0 && bytes + batches[at]!.length > maxBytes) break;
        chosen.push(batches[at]!);
        bytes += batches[at]!.length;
      }
      log.bytesRead += bytes;
      return Buffer.concat(chosen);
    },
  };
  return log;
}

test('MAX_TIMESTAMP reads the log about once (plus one read per probe) when every leader no-op is later than the data (records written with old event times)', async (t) => {
  // Offsets 0..: a leader no-op (control, "now"), then data batches of 3 records with old
  // timestamps, a no-op after every tenth: the index's largest timestamp is a no-op's, and
  // the first batch reaching any timestamp above the data is the first no-op, at the start.
  const now = 1_800_000_000_000;
  const batches: Buffer[] = [];
  let offset = 0;
  let expected = { offset: -1, timestamp: -1 };
  for (let at = 0; at < 300; at++) {
    const control = at % 10 === 0;
    const timestamps = control ? [now + at] : [1000 + at, 5000 + ((at * 7919) % 3000), 2000 + at];
    const batch = encodeRecordBatch({
      baseOffset: offset,
      partitionLeaderEpoch: at,
      attributes: control ? ATTRIBUTE_CONTROL : Codec.None,
      baseTimestamp: timestamps[0]!,
      records: timestamps.map((timestamp) => ({ key: null, value: Buffer.alloc(3000, 120), timestamp })),
    });
    if (!control && timestamps[1]! > expected.timestamp)
      expected = { offset: offset + 1, timestamp: timestamps[1]! };
    batches.push(batch);
    offset += timestamps.length;
  }
  const log = countingLog(batches);
  const logBytes = batches.reduce((sum, batch) => sum + batch.length, 0);
  const found = await maxTimestampRecord(log, undefined as never);
  t.like(found, expected);
  // Once over the log, plus at most one read (64 KiB) per probe of the binary search: 1.03
  // times this 2.5 MB log. Probes that each scanned from their first batch read it 39 times.
  t.true(log.bytesRead <= 3 * logBytes, `read ${log.bytesRead} bytes of a ${logBytes}-byte log`);
});

test('ListOffsets v8-11: EARLIEST_LOCAL is the log start, the tiered-storage lookups find nothing (no tiered storage), each refused below its version', async (t) => {
  const { client } = await setup(t, 1);
  const first = await produce(client, batchAt([1000, 2000]));
  const earliest = await listOffsets(client, 8, -2);
  t.like(await listOffsets(client, 8, -4), {
    errorCode: ErrorCode.NONE,
    offset: earliest.offset,
    timestamp: -1,
  });
  t.like(await listOffsets(client, 9, -5), {
    errorCode: ErrorCode.NONE,
    offset: -1,
    timestamp: -1,
    leaderEpoch: -1,
  });
  t.like(await listOffsets(client, 11, -6), {
    errorCode: ErrorCode.NONE,
    offset: -1,
    timestamp: -1,
    leaderEpoch: -1,
  });
  t.is((await listOffsets(client, 7, -4)).errorCode, ErrorCode.UNSUPPORTED_VERSION);
  t.is((await listOffsets(client, 8, -5)).errorCode, ErrorCode.UNSUPPORTED_VERSION);
  t.is((await listOffsets(client, 10, -6)).errorCode, ErrorCode.UNSUPPORTED_VERSION);
  // The other lookups answer at v10/v11 as before.
  t.like(await listOffsets(client, 10, -1), { errorCode: ErrorCode.NONE, offset: first + 2 });
  t.like(await listOffsets(client, 11, 1500), {
    errorCode: ErrorCode.NONE,
    offset: first + 1,
    timestamp: 2000,
  });
});

test('Fetch v18 (a follower high watermark sent as a tagged field) reads records as v17 does', async (t) => {
  const { client, topicId } = await setup(t, 1);
  const first = await produce(client, batchAt([1000, 2000]));
  const reply = await client.request(ApiKey.Fetch, 18, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topicId,
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: first,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 1 << 20,
            highWatermark: 5,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  const partition = reply.body.responses[0].partitions[0];
  t.is(partition.errorCode, ErrorCode.NONE);
  t.deepEqual(
    userBatches(partition.records).flatMap((batch) =>
      batch.records.map((record) => record.value?.toString()),
    ),
    ['r0@1000', 'r1@2000'],
  );
});
