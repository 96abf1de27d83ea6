/**
 * Hand-checked bytes for the newer versions' new fields, written from Kafka's message JSON
 * definitions (the Java golden fixtures check whole bodies; these pin the pieces a reader of the
 * definitions would check first).
 */
import test from 'ava';
import { decodeRequestBody, decodeRequestHeader, encodeRequest } from '../../src/protocol/index.js';

function bodyBytes(apiKey: number, apiVersion: number, body: object): Buffer {
  const frame = encodeRequest({ apiKey, apiVersion, correlationId: 1, clientId: null }, body).subarray(4);
  return frame.subarray(decodeRequestHeader(frame).bodyOffset);
}

function decodeBody(apiKey: number, apiVersion: number, body: Buffer): Record<string, unknown> {
  // A flexible request header v2: apiKey, apiVersion, correlationId, null clientId, no tags.
  const header = Buffer.from([0, apiKey, 0, apiVersion, 0, 0, 0, 1, 0xff, 0xff, 0]);
  const frame = Buffer.concat([header, body]);
  return decodeRequestBody(apiKey, apiVersion, frame, header.length) as Record<string, unknown>;
}

test('FindCoordinator v4 request: keyType int8, then coordinatorKeys as a compact array of compact strings, then no tags', (t) => {
  const bytes = bodyBytes(10, 4, { keyType: 0, coordinatorKeys: ['a', 'bc'] });
  t.deepEqual([...bytes], [0, 3, 2, 0x61, 3, 0x62, 0x63, 0]);
});

test('OffsetFetch v9 request: groups (groupId, nullable memberId, memberEpoch, nullable topics), then requireStable', (t) => {
  const bytes = bodyBytes(9, 9, {
    groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics: null }],
    requireStable: true,
  });
  // groups: 1 element → 2; "g" → 2 0x67; memberId null → 0; memberEpoch -1; topics null → 0;
  // group tags 0; requireStable 1; body tags 0.
  t.deepEqual([...bytes], [2, 2, 0x67, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0]);
});

test('Fetch v18: the follower high watermark is tag 1 of a partition, and an absent one reads as the 2^63-1 default (written never)', (t) => {
  const partition = {
    partition: 0,
    currentLeaderEpoch: -1,
    fetchOffset: 5,
    lastFetchedEpoch: -1,
    logStartOffset: -1,
    partitionMaxBytes: 100,
  };
  const request = (extra: object) => ({
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 100,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topicId: '0102030405060708090a0b0c0d0e0f10', partitions: [{ ...partition, ...extra }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const without = bodyBytes(1, 18, request({}));
  const withHighWatermark = bodyBytes(1, 18, request({ highWatermark: 7 }));
  // The partition's tag section grows from [0] to [1, tag 1, size 8, int64 7].
  t.is(withHighWatermark.length - without.length, 1 + 1 + 8);
  const tags = Buffer.from([1, 1, 8, 0, 0, 0, 0, 0, 0, 0, 7]);
  t.true(withHighWatermark.includes(tags));
  const decoded = decodeBody(1, 18, without) as {
    topics: Array<{ partitions: Array<{ highWatermark: number }> }>;
  };
  t.is(decoded.topics[0]!.partitions[0]!.highWatermark, 2 ** 63);
  t.deepEqual(bodyBytes(1, 18, decoded), without);
});

test('ListOffsets v10 request ends with timeoutMs after the topics; OffsetCommit v10 names a topic by its 16-byte id', (t) => {
  const listOffsets = bodyBytes(2, 10, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [],
    timeoutMs: 0x01020304,
  });
  // replicaId -1, isolationLevel 0, topics [] → 1, timeoutMs, tags 0.
  t.deepEqual([...listOffsets], [0xff, 0xff, 0xff, 0xff, 0, 1, 1, 2, 3, 4, 0]);
  const commit = bodyBytes(8, 10, {
    groupId: 'g',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ topicId: '0102030405060708090a0b0c0d0e0f10', partitions: [] }],
  });
  const topic = Buffer.from([2, ...Array.from({ length: 16 }, (_, at) => at + 1), 1, 0]);
  t.true(commit.subarray(commit.length - topic.length - 1).equals(Buffer.concat([topic, Buffer.from([0])])));
});
