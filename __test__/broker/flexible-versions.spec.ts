/**
 * The broker on flexible versions (KIP-482) over the wire: Produce v9+, Fetch v12+ (topic ids,
 * the diverging-epoch check, KIP-951 leader hints with endpoints), ApiVersions v3+.
 */
import test from 'ava';
import { ApiKey, ErrorCode, SERVED_APIS } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { latestOffset, RawClient, startBroker, userBatches } from './helpers.js';

function batch(values: string[]): Buffer {
  return encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    records: values.map((value) => ({ key: null, value: Buffer.from(value) })),
  });
}

async function setup(t: import('ava').ExecutionContext) {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const created = await client.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  t.like(created.body.topics[0], { name: 't', errorCode: 0, numPartitions: 1, replicationFactor: 1 });
  const reply = await client.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records: batch(['a', 'b', 'c']) }] }],
  });
  t.like(reply.body.responses[0].partitionResponses[0], { index: 0, errorCode: ErrorCode.NONE });
  const metadata = await client.request(ApiKey.Metadata, 12, { topics: [{ name: 't' }] });
  const topicId: string = metadata.body.topics[0].topicId;
  t.regex(topicId, /^[0-9a-f]{32}$/);
  t.not(topicId, '0'.repeat(32));
  return { broker, client, topicId };
}

function fetchBody(partition: Record<string, unknown>, topic: Record<string, unknown>) {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      { ...topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, ...partition }] },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

const fetchMax = SERVED_APIS.find((api) => api.apiKey === ApiKey.Fetch)!.maxVersion;

test('Fetch v12 by name and v13+ by topic id read the same records as v11', async (t) => {
  const { client, topicId } = await setup(t);
  const v11 = await client.request(ApiKey.Fetch, 11, fetchBody({}, { topic: 't' }));
  const expected = v11.body.responses[0].partitions[0].records;
  t.deepEqual(
    userBatches(expected).flatMap((b) => b.records.map((r) => r.value?.toString())),
    ['a', 'b', 'c'],
  );
  const v12 = await client.request(ApiKey.Fetch, 12, fetchBody({}, { topic: 't' }));
  t.is(v12.body.responses[0].topic, 't');
  t.deepEqual(v12.body.responses[0].partitions[0].records, expected);
  for (let version = 13; version <= fetchMax; version++) {
    const reply = await client.request(ApiKey.Fetch, version, fetchBody({}, { topicId }));
    t.is(reply.body.responses[0].topicId, topicId, `v${version}`);
    t.like(
      reply.body.responses[0].partitions[0],
      { errorCode: ErrorCode.NONE, records: expected },
      `v${version}`,
    );
  }
});

test('Fetch v13+ with an unknown topic id answers UNKNOWN_TOPIC_ID with empty records', async (t) => {
  const { client } = await setup(t);
  const unknown = '0123456789abcdef0123456789abcdef';
  const reply = await client.request(ApiKey.Fetch, 13, fetchBody({}, { topicId: unknown }));
  t.is(reply.body.responses[0].topicId, unknown);
  t.like(reply.body.responses[0].partitions[0], {
    errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
    records: Buffer.alloc(0),
  });
});

test('Fetch v12: a last fetched epoch this log does not have gets the diverging epoch and no records', async (t) => {
  const { client } = await setup(t);
  const { offset, leaderEpoch } = await latestOffset(client, 't');
  // The fetcher claims a batch of a later epoch at the log end: our log ends `leaderEpoch` at
  // the high watermark, so that is where the fetcher's log diverges.
  const reply = await client.request(
    ApiKey.Fetch,
    12,
    fetchBody({ fetchOffset: offset, lastFetchedEpoch: leaderEpoch + 5 }, { topic: 't' }),
  );
  t.like(reply.body.responses[0].partitions[0], {
    errorCode: ErrorCode.NONE,
    divergingEpoch: { epoch: leaderEpoch, endOffset: offset },
    records: Buffer.alloc(0),
  });
  // A last fetched epoch our log has, ending at or after the fetch offset: records as usual.
  const agreeing = await client.request(
    ApiKey.Fetch,
    12,
    fetchBody({ fetchOffset: 0, lastFetchedEpoch: leaderEpoch }, { topic: 't' }),
  );
  t.like(agreeing.body.responses[0].partitions[0], { divergingEpoch: { epoch: -1, endOffset: -1 } });
  t.true(agreeing.body.responses[0].partitions[0].records.length > 0);
});

test('Fetch v16: FENCED_LEADER_EPOCH names the current leader and its endpoint (KIP-951)', async (t) => {
  const { broker, client, topicId } = await setup(t);
  const { leaderEpoch } = await latestOffset(client, 't');
  t.true(leaderEpoch >= 1);
  const reply = await client.request(
    ApiKey.Fetch,
    16,
    fetchBody({ currentLeaderEpoch: leaderEpoch - 1 }, { topicId }),
  );
  t.like(reply.body.responses[0].partitions[0], {
    errorCode: ErrorCode.FENCED_LEADER_EPOCH,
    currentLeader: { leaderId: broker.brokerId, leaderEpoch },
    records: Buffer.alloc(0),
  });
  t.deepEqual(reply.body.nodeEndpoints, [
    { nodeId: broker.brokerId, host: broker.address.host, port: broker.address.port, rack: null },
  ]);
});

test('Metadata v12 looks a topic up by id; an unknown id is UNKNOWN_TOPIC_ID with a null name', async (t) => {
  const { client, topicId } = await setup(t);
  const unknown = '0123456789abcdef0123456789abcdef';
  const reply = await client.request(ApiKey.Metadata, 12, {
    topics: [
      { name: null, topicId },
      { name: null, topicId: unknown },
    ],
    allowAutoTopicCreation: false,
  });
  t.like(reply.body.topics[0], { errorCode: ErrorCode.NONE, name: 't', topicId });
  t.is(reply.body.topics[0].partitions.length, 1);
  t.like(reply.body.topics[1], { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: unknown });
  const v13 = await client.request(ApiKey.Metadata, 13, { topics: null });
  t.is(v13.body.errorCode, ErrorCode.NONE);
  t.deepEqual(
    v13.body.topics.map((topic: { name: string; topicId: string }) => [topic.name, topic.topicId]),
    [['t', topicId]],
  );
});

test('Produce v13 names topics by id and is answered by id; an unknown id is UNKNOWN_TOPIC_ID', async (t) => {
  const { client, topicId } = await setup(t);
  const unknown = '0123456789abcdef0123456789abcdef';
  const reply = await client.request(ApiKey.Produce, 13, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [
      { topicId, partitionData: [{ index: 0, records: batch(['d']) }] },
      { topicId: unknown, partitionData: [{ index: 0, records: batch(['e']) }] },
    ],
  });
  t.is(reply.body.responses[0].topicId, topicId);
  t.like(reply.body.responses[0].partitionResponses[0], {
    index: 0,
    errorCode: ErrorCode.NONE,
    baseOffset: 4,
  });
  t.is(reply.body.responses[1].topicId, unknown);
  t.like(reply.body.responses[1].partitionResponses[0], { index: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_ID });
  const fetched = await client.request(ApiKey.Fetch, 13, fetchBody({ fetchOffset: 4 }, { topicId }));
  t.deepEqual(
    userBatches(fetched.body.responses[0].partitions[0].records).flatMap((b) =>
      b.records.map((r) => r.value?.toString()),
    ),
    ['d'],
  );
});

test('DescribeCluster v0 and v1 list this broker, the cluster id and the controller; controller endpoints are UNSUPPORTED_ENDPOINT_TYPE', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const metadata = await client.request(ApiKey.Metadata, 12, { topics: null });
  for (const version of [0, 1]) {
    const reply = await client.request(ApiKey.DescribeCluster, version, {
      includeClusterAuthorizedOperations: false,
    });
    t.like(reply.body, {
      errorCode: ErrorCode.NONE,
      clusterId: metadata.body.clusterId,
      controllerId: metadata.body.controllerId,
    });
    t.deepEqual(reply.body.brokers, [
      { brokerId: broker.brokerId, host: broker.address.host, port: broker.address.port, rack: null },
    ]);
  }
  const controllers = await client.request(ApiKey.DescribeCluster, 1, {
    includeClusterAuthorizedOperations: false,
    endpointType: 2,
  });
  t.is(controllers.body.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
});

test('ApiVersions v3 and v4 answer in a v0 response header with every served range', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  for (const version of [3, 4]) {
    const reply = await client.request(ApiKey.ApiVersions, version, {
      clientSoftwareName: 'spec',
      clientSoftwareVersion: '1.0',
    });
    t.is(reply.body.errorCode, ErrorCode.NONE);
    t.like(
      reply.body.apiKeys.find((api: { apiKey: number }) => api.apiKey === ApiKey.Fetch),
      { maxVersion: fetchMax },
    );
  }
});
